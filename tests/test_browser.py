"""The built site in a real browser: Debian's Chromium, headless, driven by playwright.

The site is built once per test run (the `built_site` fixture), served on 127.0.0.1 from a
thread, and visited by one browser page that every test reuses. Every request the page makes
is recorded; requests to any other host are aborted and fail the test of that page.
`make test` installs Chromium (and a CJK font, so the screenshots show Chinese) when missing.
"""

from __future__ import annotations

import functools
import http.server
import itertools
import pathlib
import re
import shutil
import subprocess
import threading
import urllib.parse

import numpy
import pytest
import torch
from playwright.sync_api import sync_playwright

from cnnref import shapes
from tests.docs_helpers import LANGUAGES, ROOT, page_url, pages

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
TOPICS = sorted(pages("zh"))
OTHER = {"zh": "en", "en": "zh"}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class Browser:
    """One Chromium, one page; records what each visit requests, logs and fails to load."""

    def __init__(self, page, base: str):
        self.page, self.base = page, base
        self.requests: list[str] = []
        self.external: list[str] = []
        self.errors: list[str] = []
        context = page.context
        context.on("request", lambda request: self.requests.append(request.url))
        context.on("response", lambda response: response.status >= 400 and self.errors.append(
            f"HTTP {response.status} {response.url}"))
        context.route("**/*", self._route)
        page.on("console", lambda message: message.type == "error" and self.errors.append(
            f"console: {message.text} ({message.location.get('url')})"))
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

    def _route(self, route):
        if self.is_local(route.request.url):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def is_local(self, url: str) -> bool:
        scheme = urllib.parse.urlsplit(url).scheme
        return url.startswith(self.base + "/") or scheme in ("data", "blob", "about")

    def open(self, path: str, width: int = 1280, wait: str = "networkidle"):
        """Visit a site path ("/en/conv-shapes/") with fresh logs."""
        if self.page.viewport_size["width"] != width:
            self.page.set_viewport_size({"width": width, "height": 800})
        self.requests.clear(), self.external.clear(), self.errors.clear()
        self.page.goto(self.base + path, wait_until=wait)
        return self.page


@pytest.fixture(scope="session")
def browser(built_site):
    site, result = built_site
    assert result.returncode == 0, result.stderr[-3000:]
    assert pathlib.Path(CHROMIUM).exists(), f"{CHROMIUM} missing: `make test` installs Debian's chromium"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=site))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = chromium.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(20_000)
        yield Browser(page, f"http://127.0.0.1:{server.server_address[1]}")
        chromium.close()
    server.shutdown()
    server.server_close()


def visible_text(page) -> str:
    return page.inner_text("article.md-content__inner")


# --- every page -------------------------------------------------------------------------

def test_the_browser_visits_every_page_the_site_has(built_site):
    site, _ = built_site
    built = {"/" + "".join(f"{part}/" for part in p.parent.relative_to(site).parts) for p in site.rglob("index.html")}
    assert built == {page_url(lang, topic) for lang in LANGUAGES for topic in TOPICS}


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_page_loads_offline_without_errors_with_math_and_versions(browser, built_site, language, topic):
    page = browser.open(page_url(language, topic))
    assert browser.external == [], "requests outside localhost"
    assert browser.errors == []
    assert any(url.endswith("/search/search_index.json") for url in browser.requests)
    assert page.get_attribute("html", "lang") == language
    # math: every arithmatex span rendered by the vendored KaTeX, none left raw or in error
    formulas = page.locator(".arithmatex").count()
    if formulas:
        assert page.locator(".arithmatex .katex").count() == formulas
        assert page.locator(".katex-error").count() == 0
        text = visible_text(page)
        assert "\\(" not in text and "\\[" not in text and "$$" not in text
    # the footer: build date, and the versions the outputs came from, in the page's language
    footer = page.inner_text(".cnnref-build-info")
    label = "构建于" if language == "zh" else "Built on"
    assert re.search(rf"{label} \d{{4}}-\d{{2}}-\d{{2}}", footer), footer
    assert f"torch {torch.__version__}" in footer and f"numpy {numpy.__version__}" in footer, footer


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


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_language_switcher_leads_to_the_same_page(browser, language, topic):
    page = browser.open(page_url(language, topic), wait="load")
    page.hover(".md-header__option .md-select")
    page.click(f".md-select__link[hreflang={OTHER[language]}]")
    page.wait_for_url(browser.base + page_url(OTHER[language], topic))
    assert page.get_attribute("html", "lang") == OTHER[language]
    assert page.locator("article h1").count() == 1


# --- search -----------------------------------------------------------------------------

# query -> (language of the page it is typed on, topics that must be among the results).
# A topic whose page does not exist (yet) is left out; every query must find something.
SEARCHES = {
    "卷积": ("zh", ["conv-shapes", "convolution", "glossary"]),
    "池化": ("zh", ["pooling", "glossary"]),
    "微调": ("zh", ["fine-tuning", "glossary"]),
    "神经网络": ("zh", ["index"]),
    "convolution": ("en", ["conv-shapes", "convolution", "glossary"]),
    "pooling": ("en", ["pooling", "glossary"]),
    "fine-tuning": ("en", ["fine-tuning", "glossary"]),
    "conv2d": ("en", ["conv-shapes", "convolution"]),
}


def search(browser, language: str, query: str) -> set[str]:
    """Type `query` into Material's search box on the home page; the site paths of the pages found."""
    page = browser.open(page_url(language, "index"))  # network idle: the search index is loaded
    box = page.locator("input.md-search__input")
    box.click()
    meta = page.locator(".md-search-result__meta")
    placeholder = meta.inner_text()  # "type to start searching", until the query is answered
    box.fill(query)
    box.press("End")  # Material reads the box on keyup (as after an IME commits the Chinese words)
    page.wait_for_function("([el, text]) => el.innerText !== text", arg=[meta.element_handle(), placeholder])
    items = page.locator(".md-search-result__item")
    count = -1
    scroller = page.locator(".md-search__scrollwrap")
    while items.count() != count:  # Material renders ten results, then four more each time the
        count = items.count()      # list is scrolled to its bottom: leave the bottom, come back
        scroller.evaluate("el => el.scrollTo(0, 0)")
        page.wait_for_timeout(100)
        scroller.evaluate("el => el.scrollTo(0, el.scrollHeight)")
        page.wait_for_timeout(300)
    links = page.eval_on_selector_all(".md-search-result__item > a", "els => els.map(e => e.href)")
    return {urllib.parse.urlsplit(link).path for link in links}


@pytest.mark.parametrize("query", SEARCHES)
def test_search_finds_the_right_pages(browser, query):
    language, topics = SEARCHES[query]
    found = search(browser, language, query)
    assert found, f"no results for {query!r}"
    expected = {page_url(language, topic) for topic in topics if topic in TOPICS}
    assert expected <= found, " ".join(sorted(found))


# --- the convolution calculator ---------------------------------------------------------

def expected_calculation(case: dict):
    """What cnnref.shapes says for one calculator case: (output size, (rf size, jump)), or None
    where it refuses the arguments (the rf part is None for a transposed convolution)."""
    mode, n, k, s, p, d = (case[key] for key in ("mode", "size", "kernel", "stride", "padding", "dilation"))
    try:
        if mode == "conv":
            out = shapes.conv_output_size(n, k, stride=s, padding=p, dilation=d)
        elif mode == "transposed":
            out = shapes.conv_transpose_output_size(n, k, stride=s, padding=p, dilation=d,
                                                    output_padding=case["output_padding"])
        else:
            out = shapes.pool_output_size(n, k, stride=s, padding=p, dilation=d, ceil_mode=case["ceil_mode"])
    except ValueError:
        return None
    if mode == "transposed":
        return out, None
    field = shapes.receptive_field([(k, k if s is None else s, d)])[-1]
    return out, (field.size, field.jump)


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
    page = browser.open(page_url("zh", "conv-shapes"), wait="load")
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


# Cases typed into the widget: (mode, size, kernel, stride, padding, dilation, output_padding, ceil_mode).
WIDGET_CASES = [
    ("conv", 7, 2, 1, 0, 1, 0, False),      # the notes' example, height: 6
    ("conv", 32, 3, 2, 1, 1, 0, False),     # 16
    ("conv", 32, 3, 1, 2, 2, 0, False),     # dilation keeps the size
    ("conv", 3, 5, 1, 0, 1, 0, False),      # kernel larger than the input: refused
    ("conv", 0, 3, 1, 0, 1, 0, False),      # refused
    ("transposed", 16, 3, 2, 1, 1, 1, False),   # 32
    ("transposed", 6, 2, 1, 0, 1, 0, False),     # back to 7
    ("transposed", 4, 3, 2, 1, 1, 2, False),     # output_padding >= stride: refused
    ("transposed", 1, 1, 1, 1, 1, 0, False),     # output size -1: refused
    ("pool", 5, 2, None, 0, 1, 0, False),   # 2
    ("pool", 5, 2, None, 0, 1, 0, True),    # 3
    ("pool", 6, 3, 2, 1, 1, 0, True),       # the last window would start in the padding: dropped
    ("pool", 8, 2, 2, 2, 1, 0, False),      # padding more than half the kernel: refused
    ("pool", 13, 3, 3, 1, 2, 0, True),
]


def fill_widget(page, case):
    mode, n, k, s, p, d, op, ceil = case
    widget = page.locator(".conv-calc")
    widget.locator("[name=mode]").select_option(mode)
    for name, value in (("size", n), ("kernel", k), ("stride", s), ("padding", p), ("dilation", d)):
        widget.locator(f"[name={name}]").fill("" if value is None else str(value))
    if mode == "transposed":
        widget.locator("[name=output_padding]").fill(str(op))
    if mode == "pool":
        widget.locator("[name=ceil_mode]").set_checked(ceil)
    return widget


@pytest.mark.parametrize("language", LANGUAGES)
def test_calculator_widget_shows_what_cnnref_shapes_computes(browser, language):
    page = browser.open(page_url(language, "conv-shapes"), wait="load")
    widget = page.locator(".conv-calc")
    assert widget.count() == 1
    assert widget.locator("[data-out]").inner_text() == "4"  # the defaults: 7, kernel 3, stride 2, padding 1
    for case in WIDGET_CASES:
        fill_widget(page, case)
        mode, n, k, s, p, d, op, ceil = case
        expected = expected_calculation(dict(mode=mode, size=n, kernel=k, stride=s, padding=p, dilation=d,
                                             output_padding=op, ceil_mode=ceil))
        error = widget.locator("[data-error]")
        if expected is None:
            assert error.is_visible() and error.inner_text().strip(), case
            assert widget.locator("[data-out]").inner_text() == "—"
            assert widget.locator("svg").count() == 0
            continue
        assert not error.is_visible(), (case, error.inner_text())
        out, rf = expected
        assert widget.locator("[data-out]").inner_text() == str(out), case
        if rf is not None:
            assert widget.locator("[data-rf-size]").inner_text() == str(rf[0]), case
            assert widget.locator("[data-rf-jump]").inner_text() == str(rf[1]), case
        # the drawing: move the window to its last position; its k taps light up, with the
        # output cell they feed (for a transposed convolution: the input cell and the k outputs)
        slider = widget.locator("[name=position]")
        last = (n if mode == "transposed" else out) - 1
        assert slider.get_attribute("max") == str(last)
        slider.fill(str(last))
        assert widget.locator("svg .cc-hot").count() == k + 1, case  # k taps and the one cell they meet


# --- screenshots ------------------------------------------------------------------------

SHOTS = [topic for topic in ("index", "conv-shapes", "convolution", "fine-tuning", "glossary", "performance")
         if topic in TOPICS]


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
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{topic}-{language}-{width}.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 10_000
    assert page.evaluate("document.documentElement.scrollWidth") <= width
