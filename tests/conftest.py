"""Fixtures for the tests that need the built site, and the markers that select them.

The site is built once per test run, by `mkdocs build --strict` with SITE_URL set to the
address of a local web server and a path prefix (tests/site_browser.py, PREFIX): the pages'
code blocks run once at build time (and once more in the notebooks' kernels), and every site
check, the offline copy included, reads that one build. The build starts in the background as
soon as the tests are collected, and the tests that need it run last: it takes one core while
the others run on the second.

Markers, set here from the fixtures a test uses (pyproject.toml registers them):
`site` needs the built site (the build takes minutes), `browser` drives Chromium, `slow` is
either. `pytest -m "not site"` is the quick inner loop: no build, no browser.
"""

from __future__ import annotations

import functools
import http.server
import os
import pathlib
import shutil
import tempfile
import threading
import urllib.parse
import zipfile

import pytest

from hooks.offline_copy import FOLDER, write_offline_zip
from tests.docs_helpers import finish_build, load_build, start_build
from cnnref.experiments import CACHE_VARIABLE
from tests.site_browser import CHROMIUM, CHROMIUM_ARGS, PREFIX, Browser, PrefixHandler


BUILD = pytest.StashKey[dict]()


def pytest_collection_modifyitems(items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "chromium" in names:
            item.add_marker(pytest.mark.browser)
        if "built_site" in names:
            item.add_marker(pytest.mark.site)
        if names & {"chromium", "built_site"}:
            item.add_marker(pytest.mark.slow)
    # the tests that need the site last (a stable sort keeps the order of the rest): the build
    # started by pytest_collection_finish runs beside the others. Among them, the one that starts
    # the notebooks' kernels first and the ones that wait for them last: the kernels run beside
    # the browser tests
    items.sort(key=phase)


def needs_site(item) -> bool:
    return "built_site" in getattr(item, "fixturenames", ())


def phase(item) -> int:
    if not needs_site(item):
        return 0
    if item.get_closest_marker("starts_background"):
        return 1
    return 3 if item.get_closest_marker("waits_for_background") else 2


def pytest_collection_finish(session):
    """Start the site build now when a selected test needs it and no --built-site is given."""
    config = session.config
    if config.getoption("--built-site") or config.option.collectonly or not any(map(needs_site, session.items)):
        return
    folder = pathlib.Path(tempfile.mkdtemp(prefix="cnnref-site-"))
    site, server = folder / "site", make_server(folder / "site", 0, PREFIX)
    cache = {CACHE_VARIABLE: os.environ.get(CACHE_VARIABLE) or str(folder / "once-cache")}
    url = f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    config.stash[BUILD] = dict(folder=folder, site=site, server=server, url=url, cache=cache,
                               build=start_build(site, site_url=url, env=cache))


def pytest_sessionfinish(session):
    build = session.config.stash.get(BUILD, None)
    if build:
        build["build"].process.kill()             # an interrupted run leaves no build behind
        build["build"].process.wait()
        shutil.rmtree(build["folder"], ignore_errors=True)


def make_server(site: pathlib.Path, port: int, prefix: str) -> http.server.ThreadingHTTPServer:
    """A web server bound to ``port`` (0: a free one) that will serve ``site`` under ``prefix``
    once `served_site` starts it."""
    handler = functools.partial(PrefixHandler, directory=str(site), prefix=prefix)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.started = threading.Event()
    return server


def pytest_addoption(parser):
    parser.addoption(
        "--built-site", metavar="DIR", default=None,
        help="test a site built earlier by `python -m tests.docs_helpers DIR http://127.0.0.1:PORT/PREFIX/` "
             "instead of building one (the browser tests again and again); DIR.build.json is its build")


@pytest.fixture(scope="session")
def site_server(request):
    """(server, site folder, site URL): the server bound before the build (which needs the URL)
    by pytest_collection_finish, or with --built-site, one on the port and prefix of that build."""
    build = request.config.stash.get(BUILD, None)
    if build:
        server, site, url = build["server"], build["site"], build["url"]
    else:
        reuse = request.config.getoption("--built-site")
        assert reuse, "no site build was started: the test that needs it was not collected as such"
        site = pathlib.Path(reuse)
        url = load_build(site)[1]
        address = urllib.parse.urlsplit(url)
        assert address.hostname == "127.0.0.1" and address.path.endswith("/"), url
        server = make_server(site, address.port, address.path)
    yield server, site, url
    if server.started.is_set():
        server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def once_cache(request, tmp_path_factory) -> dict[str, str]:
    """The environment that makes `cnnref.experiments.once` keep its results in a folder of this
    test run: the site build and the notebooks' kernels share them, so an experiment runs once."""
    build = request.config.stash.get(BUILD, None)
    if build:
        return build["cache"]
    # a folder already named in the environment is kept (a site built earlier, --built-site, with it)
    return {CACHE_VARIABLE: os.environ.get(CACHE_VARIABLE) or str(tmp_path_factory.mktemp("once-cache"))}


@pytest.fixture(scope="session")
def built_site(request, site_server):
    """(site folder, CompletedProcess): the whole site, built once per test run (in the background
    since the tests were collected: this waits for it)."""
    _, site, url = site_server
    if request.config.getoption("--built-site"):
        return site, load_build(site)[0]
    return site, finish_build(request.config.stash[BUILD]["build"])


def require_build(built_site):
    site, result = built_site
    assert result.returncode == 0, result.stderr[-3000:]
    return site


@pytest.fixture(scope="session")
def served_site(built_site, site_server):
    """The URL of the built site (no trailing slash), served from a thread."""
    require_build(built_site)
    server, _, url = site_server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.started.set()
    return url.rstrip("/")


@pytest.fixture(scope="session")
def offline_site(built_site, tmp_path_factory) -> pathlib.Path:
    """The offline copy of the built site (what `make offline` writes), unzipped: its folder."""
    site = require_build(built_site)
    folder = tmp_path_factory.mktemp("offline")
    archive = write_offline_zip(site, folder / "site-offline.zip")
    with zipfile.ZipFile(archive) as z:
        z.extractall(folder)
    return folder / FOLDER


@pytest.fixture(scope="session")
def chromium():
    """The run's one Chromium (a playwright Browser, on the main thread): every browser test
    opens its pages in contexts of it (Browser.new)."""
    assert pathlib.Path(CHROMIUM).exists(), f"{CHROMIUM} missing: `make test` installs Debian's chromium"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def browser(chromium, served_site):
    """One page on the served site, reused by every test (each visit clears its logs)."""
    browser = Browser.new(chromium, served_site)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def offline_browser(chromium, offline_site):
    """One page on the offline copy, opened from file://."""
    browser = Browser.new(chromium, offline_site.as_uri())
    yield browser
    browser.close()
