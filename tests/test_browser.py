"""The built site in a real browser: Debian's Chromium, headless, driven by playwright.

The site is built once per test run (the `built_site` fixture), served on 127.0.0.1 under a
path prefix, and visited by one browser page that every test reuses (tests/conftest.py,
tests/site_browser.py). Every request the page makes is recorded; requests to any other host,
or outside the site's path, are aborted and fail the test of that page.

A test waits for what it checks (a request, an element, a rendered formula), never for a
fixed time: the machine may be busy.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import urllib.parse

import pytest
from playwright.sync_api import expect

from tests.docs_helpers import LANGUAGES, ROOT, built_page, page_url, pages, start_tags
from tests.site_checks import (WIDGET_CASES, check_page, check_widget, expected_calculation, language_root,
                               search_results, site_path)

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
TOPICS = sorted(pages("zh"))
OTHER = {"zh": "en", "en": "zh"}


# --- every page -------------------------------------------------------------------------

def test_the_browser_visits_every_page_the_site_has(built_site):
    site, _ = built_site
    built = {"/" + "".join(f"{part}/" for part in p.parent.relative_to(site).parts) for p in site.rglob("index.html")}
    assert built == {page_url(lang, topic) for lang in LANGUAGES for topic in TOPICS}


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_page_loads_offline_without_errors_with_math_and_versions(browser, language, topic):
    index = browser.url(language_root(language) + "search/search_index.json")
    # Material asks for its language's search index once its scripts run, after "load" when busy
    with browser.page.expect_response(index) as response:
        page = browser.open(page_url(language, topic))
    assert response.value.ok
    check_page(browser, page, language)
    assert browser.external == [], "requests outside the site"
    assert browser.errors == []
    other_index = browser.url(language_root(OTHER[language]) + "search/search_index.json")
    assert other_index not in browser.requests


EXTERNAL = r"(?:https?:)?//(?!127\.0\.0\.1[:/]|localhost[:/])"
EXTERNAL_LOADS = [
    re.compile(rf'<(?:script|img|iframe|source|video|audio|embed|track|input)\b[^>]*\bsrc="{EXTERNAL}'),
    re.compile(rf'<link\b[^>]*\brel="(?:stylesheet|icon|preload|prefetch|modulepreload|manifest)"[^>]*\bhref="{EXTERNAL}'),
    re.compile(rf'<link\b[^>]*\bhref="{EXTERNAL}[^"]*"[^>]*\brel="(?:stylesheet|icon|preload|prefetch|modulepreload|manifest)"'),
    re.compile(rf"url\(\s*['\"]?{EXTERNAL}"),
    re.compile(rf"@import\s+['\"]{EXTERNAL}"),
]


def test_built_pages_and_styles_load_nothing_from_other_hosts(built_site):
    """What the browser test cannot see (an image below the fold loads lazily): no page or
    stylesheet of the built site names a resource on another host."""
    site, _ = built_site
    files = sorted(site.rglob("*.html")) + sorted(site.rglob("*.css"))
    assert len(files) > 2 * len(TOPICS)
    found = [f"{path.relative_to(site)}: {match.group(0)}" for path in files
             for pattern in EXTERNAL_LOADS for match in pattern.finditer(path.read_text("utf8", errors="replace"))]
    assert found == []


def test_pages_with_formulas_are_checked(built_site):
    """The math check above is not vacuous: the conv-shapes page has formulas in both languages."""
    site, _ = built_site
    for language in LANGUAGES:
        html = (site / page_url(language, "conv-shapes").lstrip("/") / "index.html").read_text("utf8")
        assert html.count('class="arithmatex"') >= 3


def switcher(text: str) -> dict[str | None, str | None]:
    """The language switcher of a built page: hreflang -> href of its links."""
    return {attrs.get("hreflang"): attrs.get("href") for tag, attrs in start_tags(text)
            if tag == "a" and "md-select__link" in (attrs.get("class") or "").split()}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_pages_language_switcher_names_the_same_page_in_the_other_language(built_site, site_server, language):
    site, _ = built_site
    prefix = urllib.parse.urlsplit(site_server[2]).path.rstrip("/")     # the home page's links are absolute
    wrong = []
    for topic in TOPICS:
        url, other = prefix + page_url(language, topic), prefix + page_url(OTHER[language], topic)
        links = switcher(built_page(site, language, topic).read_text("utf8"))
        if OTHER[language] not in links or urllib.parse.urljoin(url, links[OTHER[language]]) != other:
            wrong.append(f"{url}: {links}")
    assert wrong == []


# the switcher is one template: a click on a few kinds of page (home, topic, API, widget page)
# shows it works in the browser; the test above reads where it leads on every page
SWITCHED = ["index", "convolution", "api/functional", "lenet"]


@pytest.mark.parametrize("topic", SWITCHED)
@pytest.mark.parametrize("language", LANGUAGES)
def test_language_switcher_leads_to_the_same_page(browser, language, topic):
    page = browser.open(page_url(language, topic))
    page.hover(".md-header__option .md-select")
    page.click(f".md-select__link[hreflang={OTHER[language]}]")
    page.wait_for_url(browser.base + page_url(OTHER[language], topic))
    assert page.get_attribute("html", "lang") == OTHER[language]
    assert page.locator("article h1").count() == 1


# --- search -----------------------------------------------------------------------------

# (language of the site the query is typed on, query, topics that must be among the results).
# A topic whose page does not exist (yet) is left out; every query must find something, and
# only pages of the site's own language.
SEARCHES = [
    ("zh", "卷积", ["conv-shapes", "convolution", "glossary"]),
    ("zh", "池化", ["pooling", "glossary"]),
    ("zh", "微调", ["fine-tuning", "glossary"]),
    ("zh", "神经网络", ["index"]),
    ("zh", "conv2d", ["conv-shapes", "convolution"]),
    ("en", "convolution", ["conv-shapes", "convolution", "glossary"]),
    ("en", "pooling", ["pooling", "glossary"]),
    ("en", "fine-tuning", ["fine-tuning", "glossary"]),
    ("en", "conv2d", ["conv-shapes", "convolution"]),
]


# Scroll an element to `top`; `el.cnnrefScrolled` turns true once Material has seen it: Material
@pytest.mark.parametrize("language, query, topics", SEARCHES)
def test_search_finds_the_right_pages_in_the_sites_language(browser, language, query, topics):
    browser.open(page_url(language, "index"))
    found = {site_path(browser, url) for url in search_results(browser, query)}
    assert found, f"no results for {query!r}"
    expected = {page_url(language, topic) for topic in topics if topic in TOPICS}
    assert expected <= found, " ".join(sorted(found))
    english = {path for path in found if path.startswith(language_root("en"))}
    assert english == (found if language == "en" else set()), " ".join(sorted(found))
    assert browser.external == [] and browser.errors == []


# --- the convolution calculator ---------------------------------------------------------

def calculator_cases():
    cases = []
    grid = itertools.product([1, 2, 3, 5, 8, 13], [1, 2, 3, 4, 5], [1, 2, 3], [0, 1, 2, 3], [1, 2, 3])
    for n, k, s, p, d in grid:
        base = dict(size=n, kernel=k, stride=s, padding=p, dilation=d, output_padding=0, ceil_mode=False)
        cases.append({**base, "mode": "conv"})
        cases += [{**base, "mode": "transposed", "output_padding": op} for op in (0, 1, 2)]
        cases += [{**base, "mode": "pool", "ceil_mode": c} for c in (False, True)]
        if s == 1:
            cases += [{**base, "mode": "pool", "stride": None, "ceil_mode": c} for c in (False, True)]
    # arguments below their minimum: refused in every mode
    for mode, (key, value) in itertools.product(["conv", "transposed", "pool"], [
            ("size", 0), ("kernel", 0), ("stride", 0), ("padding", -1), ("dilation", 0), ("size", -3)]):
        cases.append({"mode": mode, "size": 7, "kernel": 3, "stride": 2, "padding": 1, "dilation": 1,
                      "output_padding": 0, "ceil_mode": False, key: value})
    cases.append({"mode": "transposed", "size": 7, "kernel": 3, "stride": 2, "padding": 1, "dilation": 1,
                  "output_padding": -1, "ceil_mode": False})
    return cases


def test_calculator_arithmetic_matches_cnnref_shapes(browser):
    page = browser.open(page_url("zh", "conv-shapes"))
    cases = calculator_cases()
    results = page.evaluate("cases => cases.map(c => window.cnnrefConvCalculator.compute(c))", cases)
    refused = 0
    for case, result in zip(cases, results):
        expected = expected_calculation(case)
        if expected is None:
            refused += 1
            assert not result["ok"] and result["error"], case
        else:
            rf = result["rf"] and (result["rf"]["size"], result["rf"]["jump"])
            assert result["ok"] and (result["out"], rf) == expected, (case, result, expected)
    assert len(cases) > 5000 and 500 < refused < len(cases) - 3000  # both kinds of case are well covered


@pytest.mark.parametrize("language", LANGUAGES)
def test_calculator_widget_shows_what_cnnref_shapes_computes(browser, language):
    page = browser.open(page_url(language, "conv-shapes"))
    widget = page.locator(".conv-calc")
    expect(widget).to_have_count(1)
    expect(widget.locator("[data-out]")).to_have_text("4")  # the defaults: 7, kernel 3, stride 2, padding 1
    for case in WIDGET_CASES:
        check_widget(page, case)


# --- screenshots ------------------------------------------------------------------------

SHOTS = [topic for topic in ("index", "conv-shapes", "convolution", "fine-tuning", "glossary", "performance")
         if topic in TOPICS]


@pytest.mark.browser
def test_a_cjk_font_is_installed():
    """Without one, headless Chromium draws Chinese as boxes in the screenshots."""
    assert shutil.which("fc-list"), "fontconfig missing"
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
    assert fonts.strip(), "no Chinese font: `make test` installs Debian's fonts-noto-cjk"


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("topic", SHOTS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_screenshot_without_sideways_scrolling(browser, language, topic, width):
    page = browser.open(page_url(language, topic), width=width)
    # what changes the page's width and look after "load": the formulas, then the web fonts
    browser.wait_for_math()
    page.evaluate("document.fonts.ready.then(() => true)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{topic}-{language}-{width}.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 10_000
    assert page.evaluate("document.documentElement.scrollWidth") <= width
