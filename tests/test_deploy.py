"""The site as it is published and handed out: under a path prefix (SITE_URL), as an offline
copy opened from file:// (`make offline`), built by the plain `mkdocs` command; and `make test`
failing whenever pytest does.

The suite's one build (tests/conftest.py) is the prefixed one: SITE_URL is the address of the
local server plus a path prefix (tests/site_browser.py, PREFIX), and the browser tests (tests/test_browser.py) visit it there. The
offline copy is derived from that build by hooks/offline_copy.py, as `make offline` does.
"""

from __future__ import annotations

import ast
import json
import os
import pathlib
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree

import pytest
from playwright.sync_api import expect

from tests.docs_helpers import DOCS, LANGUAGES, ROOT, markdown_parser, page_url, pages, start_tags
from tests.site_checks import WIDGET_CASES, check_page, check_widget, search_results

TOPICS = sorted(pages("zh"))
OTHER = {"zh": "en", "en": "zh"}


# --- SITE_URL and the path prefix ------------------------------------------------------

def test_site_url_comes_from_the_environment_with_a_local_default(monkeypatch):
    from mkdocs.config import load_config

    monkeypatch.delenv("SITE_URL", raising=False)
    assert load_config(str(ROOT / "mkdocs.yml")).site_url == "http://127.0.0.1:8000/"
    monkeypatch.setenv("SITE_URL", "https://example.org/cnn/docs")
    assert load_config(str(ROOT / "mkdocs.yml")).site_url == "https://example.org/cnn/docs/"


def test_canonical_links_and_sitemap_name_the_prefixed_site(built_site, site_server):
    site, _ = built_site
    site_url = site_server[2]
    assert len(urllib.parse.urlsplit(site_url).path) > 1, f"{site_url}: built without a path prefix"
    expected = {site_url + page_url(language, topic).lstrip("/") for language in LANGUAGES for topic in TOPICS}
    canonical = set()
    for url in expected:
        html = (site / url[len(site_url):] / "index.html").read_text("utf8")
        canonical.update(re.findall(r'<link rel="canonical" href="([^"]*)">', html))
    assert canonical == expected
    sitemap = ElementTree.parse(site / "sitemap.xml").getroot()
    namespace = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    locations = {loc.text for loc in sitemap.findall("s:url/s:loc", namespace)}
    alternates = {link.get("href") for link in sitemap.findall("s:url/x:link", namespace)}
    assert locations | alternates == expected


def test_the_server_serves_the_site_under_the_prefix_only(served_site):
    """So the browser tests' "no request outside the site" checks that nothing escapes the prefix."""
    address = urllib.parse.urlsplit(served_site)
    root = f"{address.scheme}://{address.netloc}"
    assert served_site.startswith(root + "/") and len(served_site) > len(root) + 1
    with urllib.request.urlopen(served_site + "/en/") as response:
        assert response.status == 200 and b'<html lang="en"' in response.read()
    for outside in ("/en/", "/index.html", "/assets/javascripts/workers/"):
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(root + outside)
        assert error.value.code == 404


# --- the offline copy ------------------------------------------------------------------

def links(text: str) -> list[str]:
    """The href and src attributes of a page's elements, but links within the page."""
    return [value for _, attrs in start_tags(text) for name, value in attrs.items()
            if name in ("href", "src") and value and value[0] != "#"]


def test_offline_copy_links_name_files_inside_the_copy(offline_site):
    """Every link and asset of every page resolves to a file of the copy (a folder would open a
    folder listing from file://); other hosts are linked to, never loaded (test_browser)."""
    folder = offline_site
    pages_found = sorted(folder.rglob("*.html"))
    assert len(pages_found) > 2 * len(TOPICS)
    broken = []
    for page in pages_found:
        for link in links(page.read_text("utf8")):
            if re.match(r"^[a-z]+:", link):
                continue
            target = (page.parent / link.split("#")[0].split("?")[0]).resolve()
            if link.startswith("/") or not target.is_file() or folder.resolve() not in target.parents:
                broken.append(f"{page.relative_to(folder)}: {link}")
    assert broken == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_offline_search_index_is_a_script_whose_locations_name_files(offline_site, language):
    root = offline_site / page_url(language, "index").lstrip("/")
    script = (root / "search" / "search_index.js").read_text("utf8")
    assert script.startswith("var __index = ")
    index = json.loads(script[len("var __index = "):])
    assert index == json.loads((root / "search" / "search_index.json").read_text("utf8"))
    assert len(index["docs"]) > 2 * len(TOPICS)
    for doc in index["docs"]:
        assert (root / doc["location"].split("#")[0]).is_file(), doc["location"]


def open_file(browser, path: str):
    """Open a file of the offline copy ("en/index.html") with fresh logs."""
    browser.requests.clear(), browser.external.clear(), browser.errors.clear()
    browser.page.goto(browser.url("/" + path))
    return browser.page


@pytest.mark.parametrize("language", LANGUAGES)
def test_offline_copy_works_from_file_urls(offline_browser, language):
    browser = offline_browser
    home = page_url(language, "index").lstrip("/") + "index.html"
    page = open_file(browser, home)
    check_page(browser, page, language)
    # navigation: the sidebar's link to the shapes page, then the language switcher
    shapes = page_url(language, "conv-shapes").lstrip("/") + "index.html"
    page.locator(f".md-sidebar--primary a.md-nav__link[href$='conv-shapes/index.html']").first.click()
    page.wait_for_url(browser.url("/" + shapes))
    check_page(browser, page, language)
    assert browser.wait_for_math() >= 3
    # the calculator
    expect(page.locator(".conv-calc [data-out]")).to_have_text("4")
    for case in WIDGET_CASES[:4] + WIDGET_CASES[5:6] + WIDGET_CASES[9:12]:
        check_widget(page, case)
    # search, in the page's language: the shapes page among the results, nothing of the other language
    found = search_results(browser, {"zh": "卷积", "en": "convolution"}[language])
    assert browser.url("/" + shapes) in {url.split("?")[0].split("#")[0] for url in found}
    other_root = browser.url("/" + page_url("en", "index").lstrip("/"))
    assert all(url.startswith(other_root) == (language == "en") for url in found), found
    page.keyboard.press("Escape")  # close the search, which covers the header
    expect(page.locator("[data-md-toggle=search]")).not_to_be_checked()
    page.hover(".md-header__option .md-select")
    page.click(f".md-select__link[hreflang={OTHER[language]}]")
    page.wait_for_url(browser.url("/" + page_url(OTHER[language], "conv-shapes").lstrip("/") + "index.html"))
    check_page(browser, page, OTHER[language])
    assert browser.external == [], "requests outside the copy"
    assert browser.errors == []
    assert all(url.startswith(browser.base + "/") or url.startswith(("data:", "about:", "blob:"))
               for url in browser.requests), browser.requests


# --- the plain `mkdocs` command --------------------------------------------------------

def imported_modules(code: str) -> set[str]:
    """Top-level names of the modules a piece of Python code imports (relative imports aside)."""
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def build_time_imports() -> dict[str, str]:
    """module -> a file that imports it, for the code that runs inside `mkdocs build`: every
    python fence of every page (those marked notest too) and the hooks mkdocs.yml names."""
    found = {}
    for page in sorted(DOCS.rglob("*.md")):
        for token in markdown_parser().parse(page.read_text("utf8")):
            if token.type == "fence" and token.info.split()[:1] in (["python"], ["py"]):
                for name in imported_modules(token.content):
                    found.setdefault(name, str(page.relative_to(ROOT)))
    hooks = re.findall(r"^\s*-\s*(hooks/\S+\.py)\s*$", (ROOT / "mkdocs.yml").read_text("utf8"), re.M)
    assert hooks, "no hooks found in mkdocs.yml"
    for hook in hooks:
        for name in imported_modules((ROOT / hook).read_text("utf8")):
            found.setdefault(name, hook)
    return found


def test_pages_and_hooks_import_nothing_of_the_repository_but_cnnref(tmp_path):
    """`mkdocs build` and `mkdocs serve`, the console scripts, do not put the repository root
    on sys.path (`python -m mkdocs` does): at build time only the installed cnnref and installed
    packages can be imported, never benchmarks/, tests/ or hooks/ as modules. Checked in a
    Python whose path holds this checkout's cnnref and nothing else of the repository."""
    found = build_time_imports()
    assert {"cnnref", "numpy", "torch"} <= set(found)
    importable = tmp_path / "importable"
    importable.mkdir()
    (importable / "cnnref").symlink_to(ROOT / "cnnref")
    probe = ("import importlib.util, sys\n"
             "print(' '.join(n for n in sys.argv[1:] if importlib.util.find_spec(n) is None))")
    result = subprocess.run([sys.executable, "-c", probe, *sorted(found)], cwd=tmp_path, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(importable)}, check=True)
    missing = result.stdout.split()
    assert missing == [], "not importable by the mkdocs command: " + ", ".join(
        f"{name} (imported by {found[name]})" for name in missing)


# --- make test fails when pytest does ----------------------------------------------------

@pytest.mark.parametrize("status", [0, 1, 5])
def test_ci_run_and_make_test_fail_exactly_when_pytest_does(tmp_path, status):
    """.ci/run runs `make test`, which runs pytest: its exit status, 5 (no test collected)
    included, must fail the run. The venv's python is replaced by a script that exits `status`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python"
    fake.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path / 'args'}\nexit {status}\n")
    fake.chmod(0o755)
    stamp = tmp_path / "installed"
    stamp.touch()  # newer than pyproject.toml: setup has nothing to do
    # make reads variable overrides from MAKEFLAGS: the real venv and apt-get stay untouched
    env = {**os.environ, "MAKEFLAGS": f"BIN={bin_dir} STAMP={stamp} BROWSER_PACKAGES="}
    result = subprocess.run([str(ROOT / ".ci" / "run")], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert (tmp_path / "args").read_text().split()[:2] == ["-m", "pytest"], result.stderr
    assert (result.returncode == 0) == (status == 0), (result.returncode, result.stderr[-500:])
