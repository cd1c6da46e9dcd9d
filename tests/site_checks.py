"""What the browser tests check on a page of the built site, shared by tests/test_browser.py
(the served site) and tests/test_deploy.py (its offline copy): a page's language, formulas and
footer; Material's search results; the convolution calculator against cnnref.shapes."""

from __future__ import annotations

import re
import urllib.parse

import numpy
import torch
from playwright.sync_api import expect

from cnnref import shapes
from tests.docs_helpers import page_url


def language_root(language: str) -> str:
    """The site path of a language's home: "/" (Chinese, the default) or "/en/"."""
    return page_url(language, "index")


def site_path(browser, url: str) -> str:
    """The site path ("/en/conv-shapes/") of a URL of the served site."""
    assert url.startswith(browser.base + "/"), url
    return urllib.parse.urlsplit(url[len(browser.base):]).path


def visible_text(page) -> str:
    return page.inner_text("article.md-content__inner")


def check_page(browser, page, language: str):
    """What every page shows once loaded: its language, every formula rendered by the vendored
    KaTeX (none left raw or in error), and the footer with the build date and the versions."""
    assert page.get_attribute("html", "lang") == language
    if browser.wait_for_math():
        assert page.locator(".arithmatex .katex").count() == page.locator(".arithmatex").count()
        assert page.locator(".katex-error").count() == 0
        text = visible_text(page)
        assert "\\(" not in text and "\\[" not in text and "$$" not in text
    footer = page.inner_text(".cnnref-build-info")
    label = "构建于" if language == "zh" else "Built on"
    assert re.search(rf"{label} \d{{4}}-\d{{2}}-\d{{2}}", footer), footer
    assert f"torch {torch.__version__}" in footer and f"numpy {numpy.__version__}" in footer, footer


# reads the scroll position on the animation frame after a scroll event, so the flag is set two
# frames after that event (or two frames from now, when the position did not change).
SCROLL = """(el, top) => {
    el.cnnrefScrolled = false;
    const frames = () => requestAnimationFrame(() => requestAnimationFrame(() => { el.cnnrefScrolled = true; }));
    const before = el.scrollTop;
    el.scrollTo({top, behavior: "instant"});
    if (el.scrollTop === before) frames(); else el.addEventListener("scroll", frames, {once: true});
}"""


def scroll(page, element, top: int):
    element.evaluate(SCROLL, top)
    page.wait_for_function("el => el.cnnrefScrolled", arg=element.element_handle())


def search_results(browser, query: str) -> list[str]:
    """Type `query` into Material's search box of the open page; the URLs of every page found.

    Material sends the query to its search worker once the index is loaded, and renders ten
    results, then four more each time the list is scrolled to its bottom; the count it shows
    ("22 matching documents") says how many to wait for."""
    page = browser.page
    box = page.locator("input.md-search__input")
    box.click()
    meta = page.locator(".md-search-result__meta")
    placeholder = meta.inner_text()  # "type to start searching", until the query is answered
    box.fill(query)
    box.press("End")  # Material reads the box on keyup (as after an IME commits the Chinese words)
    page.wait_for_function("([el, text]) => el.innerText !== text", arg=[meta.element_handle(), placeholder])
    number = re.search(r"\d+", meta.inner_text())
    total = int(number.group(0)) if number else 0
    items = page.locator(".md-search-result__item")
    scroller = page.locator(".md-search__scrollwrap")
    while items.count() < total:  # leave the bottom of the list and come back: four more
        shown = items.count()
        scroll(page, scroller, 0)
        scroll(page, scroller, 10**6)
        page.wait_for_function("([selector, shown]) => document.querySelectorAll(selector).length > shown",
                               arg=[".md-search-result__item", shown])
    assert items.count() == total, meta.inner_text()
    return page.eval_on_selector_all(".md-search-result__item > a", "els => els.map(e => e.href)")


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


def check_widget(page, case):
    """Type one case into the page's calculator and check what it shows against cnnref.shapes."""
    widget = fill_widget(page, case)
    mode, n, k, s, p, d, op, ceil = case
    expected = expected_calculation(dict(mode=mode, size=n, kernel=k, stride=s, padding=p, dilation=d,
                                         output_padding=op, ceil_mode=ceil))
    error = widget.locator("[data-error]")
    if expected is None:
        expect(error, str(case)).to_be_visible()
        expect(error, str(case)).to_have_text(re.compile(r"\S"))
        expect(widget.locator("[data-out]")).to_have_text("—")
        expect(widget.locator("svg")).to_have_count(0)
        return
    expect(error, str(case)).to_be_hidden()
    out, rf = expected
    expect(widget.locator("[data-out]"), str(case)).to_have_text(str(out))
    if rf is not None:
        expect(widget.locator("[data-rf-size]"), str(case)).to_have_text(str(rf[0]))
        expect(widget.locator("[data-rf-jump]"), str(case)).to_have_text(str(rf[1]))
    # the drawing: move the window to its last position; its k taps light up, with the
    # output cell they feed (for a transposed convolution: the input cell and the k outputs)
    slider = widget.locator("[name=position]")
    last = (n if mode == "transposed" else out) - 1
    expect(slider, str(case)).to_have_attribute("max", str(last))
    slider.fill(str(last))
    expect(widget.locator("svg .cc-hot"), str(case)).to_have_count(k + 1)  # k taps and the one cell they meet
