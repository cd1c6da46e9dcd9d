"""Fixtures for the tests that need the built site, and the markers that select them.

The site is built once per test run, by `mkdocs build --strict` with SITE_URL set to the
address of a local web server and a path prefix (tests/site_browser.py, PREFIX): the pages'
code blocks run once at build time (and once more as pytest items, docs/*.md), and every site
check, the offline copy included, reads that one build.

Markers, set here from the fixtures a test uses (pyproject.toml registers them):
`site` needs the built site (the build takes minutes), `browser` drives Chromium, `slow` is
either. `pytest -m "not site"` is the quick inner loop: no build, no browser.
"""

from __future__ import annotations

import functools
import http.server
import os
import pathlib
import threading
import urllib.parse
import zipfile

import pytest

from hooks.offline_copy import FOLDER, write_offline_zip
from tests.docs_helpers import build_site, load_build
from tests.site_browser import CHROMIUM, CHROMIUM_ARGS, PREFIX, Browser, PrefixHandler


def pytest_collection_modifyitems(items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "chromium" in names:
            item.add_marker(pytest.mark.browser)
        if "built_site" in names:
            item.add_marker(pytest.mark.site)
        if names & {"chromium", "built_site"}:
            item.add_marker(pytest.mark.slow)


def pytest_addoption(parser):
    parser.addoption(
        "--built-site", metavar="DIR", default=None,
        help="test a site built earlier by `python -m tests.docs_helpers DIR http://127.0.0.1:PORT/PREFIX/` "
             "instead of building one (the browser tests again and again); DIR.build.json is its build")


@pytest.fixture(scope="session")
def site_server(request, tmp_path_factory):
    """(server, site folder, site URL): a web server bound to a free port before the site is
    built (the build needs the URL), serving the folder under its path prefix once
    `served_site` starts it. With --built-site, the folder, port and prefix of that build."""
    reuse = request.config.getoption("--built-site")
    if reuse:
        site = pathlib.Path(reuse)
        url = load_build(site)[1]
        address = urllib.parse.urlsplit(url)
        assert address.hostname == "127.0.0.1" and address.path.endswith("/"), url
        port, prefix = address.port, address.path
    else:
        site, port, prefix = tmp_path_factory.mktemp("site"), 0, PREFIX
    handler = functools.partial(PrefixHandler, directory=str(site), prefix=prefix)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.started = threading.Event()
    yield server, site, f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    if server.started.is_set():
        server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def once_cache(tmp_path_factory) -> dict[str, str]:
    """The environment that makes `cnnref.experiments.once` keep its results in a folder of this
    test run: the site build and the notebooks' kernels share them, so an experiment runs once."""
    from cnnref.experiments import CACHE_VARIABLE

    # a folder already named in the environment is kept (a site built earlier, --built-site, with it)
    return {CACHE_VARIABLE: os.environ.get(CACHE_VARIABLE) or str(tmp_path_factory.mktemp("once-cache"))}


@pytest.fixture(scope="session")
def built_site(request, site_server, once_cache):
    """(site folder, CompletedProcess): the whole site, built once per test run."""
    _, site, url = site_server
    if request.config.getoption("--built-site"):
        return site, load_build(site)[0]
    return site, build_site(site, site_url=url, env=once_cache)


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
