"""The convolution explorer (docs/explorer.*.md) in Chromium, checked against torch.

The built site, served on 127.0.0.1 under the suite's path prefix (`served_site`), is opened in
the session's Chromium (`chromium`, tests/conftest.py) through playwright. Random
configurations of every mode are set through the explorer's URL query (its
``window.cnnrefExplorer.set(query)`` reads a query exactly as a page load does) in one page
session; what the page then carries (``data-input``, ``data-weight``, ``data-output``, the cells it
highlights) is compared in one batch with ``torch.nn.functional`` and torch's autograd, and the
checkerboard counts with loops in NumPy. Refused configurations must show cnnref's own message:
on the English page word for word; on the Chinese page the calculator's Chinese words, which
``CHINESE`` below maps to each of cnnref's messages.
"""

from __future__ import annotations

import collections
import json
import re
import urllib.parse

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnref import nn, shapes
from tests.docs_helpers import ROOT, page_url
from tests.site_browser import Browser

pytestmark = pytest.mark.browser

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
MODES = ("conv", "transposed", "maxpool", "avgpool")
DEFAULTS = dict(mode="conv", h="5", w="5", kh="3", kw="3", s="", p="0", d="1", g="1", cin="1", cout="1",
                op="0", ceil="0", seed="1", view="scatter", flip="0", layers="1", at="0")
HEAT_LIMIT = 64  # the largest checkerboard map the explorer draws


# --- the explorer page in Chromium --------------------------------------------------------------

class Explorer(Browser):
    """A Browser whose visits open the explorer page and wait until it has drawn."""

    def open(self, language: str, query: str = "", width: int = 1280):
        """Open the explorer page with a query, with fresh logs."""
        path = page_url(language, "explorer") + (f"?{query}" if query else "")
        page = super().open(path, width=width)
        page.wait_for_selector(".cnnref-explorer[data-ready='1']")
        return page


@pytest.fixture(scope="module")
def visit(chromium, served_site):
    """One page on the served site for the module; console warnings count as errors too."""
    explorer = Explorer.new(chromium, served_site, height=900, console=("error", "warning"))
    yield explorer
    explorer.close()


# What the page carries after set(query), read in the page for many queries at once.
READ = """queries => queries.map(q => {
  const root = window.cnnrefExplorer.set(q), d = root.dataset;
  const cells = sel => Array.from(root.querySelectorAll('.cx-main ' + sel), e => e.dataset.cell).sort();
  return {input: d.input, weight: d.weight, output: d.output, shape: d.shape, cell: d.cell, field: d.field,
          winner: d.winner, overlap: d.overlap, resize: d.resizeOverlap, view: d.view, error: d.error,
          code: d.errorCode, errorShown: !root.querySelector('.cx-error').hidden,
          bodyShown: !root.querySelector('.cx-body').hidden,
          hotIn: cells('[data-role=input] rect.cx-hot[data-cell]'),
          hotOut: cells('[data-role=output] rect.cx-hot[data-cell]'),
          cur: cells('rect.cx-cur[data-cell]'), win: cells('rect.cx-win[data-cell]')};
})"""


def read(page, queries: list[str]) -> list[dict]:
    return page.evaluate(READ, queries)


def query(config: dict) -> str:
    return urllib.parse.urlencode(config)


# --- the reference: cnnref's checks, torch's numbers --------------------------------------------

def as_value(text: str):
    """A query value as Python sees it: an int where the text spells one, else the text."""
    return int(text) if re.fullmatch(r"[+-]?\d+", text) else text


def refusal(config: dict) -> str | None:
    """cnnref's message for a configuration it refuses (channels as cnnref.nn checks them, then the
    sizes with cnnref.shapes), or None."""
    c = {**DEFAULTS, **config}
    v = {k: as_value(c[k]) for k in ("h", "w", "kh", "kw", "s", "p", "d", "g", "cin", "cout", "op")}
    pool = c["mode"] in ("maxpool", "avgpool")
    padding = v["p"] if isinstance(v["p"], str) else (v["p"], v["p"])
    stride = (v["s"], v["s"]) if c["s"] else (None if pool else 1)
    try:
        if not pool:
            layer = nn.ConvTranspose2d if c["mode"] == "transposed" else nn.Conv2d
            layer(v["cin"], v["cout"], 1, groups=v["g"])          # checks only the channels and groups
        size, kernel = (v["h"], v["w"]), (v["kh"], v["kw"])
        if c["mode"] == "conv":
            shapes.conv_output_size(size, kernel, stride=stride, padding=padding, dilation=(v["d"], v["d"]))
        elif c["mode"] == "transposed":
            shapes.conv_transpose_output_size(size, kernel, stride=stride, padding=padding,
                                              output_padding=(v["op"], v["op"]), dilation=(v["d"], v["d"]))
        else:
            extra = {"dilation": (v["d"], v["d"])} if c["mode"] == "maxpool" else {}
            shapes.pool_output_size(size, kernel, stride=stride, padding=padding, ceil_mode=c["ceil"] == "1", **extra)
    except (TypeError, ValueError) as error:
        return str(error)
    return None


def torch_op(config: dict, weight: torch.Tensor | None):
    """The torch.nn.functional call the page claims to compute, as a function of x: (N, C, H, W)."""
    c = {**DEFAULTS, **config}
    s = int(c["s"]) if c["s"] else None
    p = c["p"] if c["p"] in ("same", "valid") else int(c["p"])
    d, g, ceil, kernel = int(c["d"]), int(c["g"]), c["ceil"] == "1", (int(c["kh"]), int(c["kw"]))
    if c["mode"] == "conv":
        w = weight.flip(-1, -2) if c["flip"] == "1" else weight
        return lambda x: F.conv2d(x, w, stride=s or 1, padding=p, dilation=d, groups=g)
    if c["mode"] == "transposed":
        return lambda x: F.conv_transpose2d(x, weight, stride=s or 1, padding=p, output_padding=int(c["op"]),
                                            groups=g, dilation=d)
    if c["mode"] == "maxpool":
        return lambda x: F.max_pool2d(x, kernel, stride=s, padding=p, dilation=d, ceil_mode=ceil)
    return lambda x: F.avg_pool2d(x, kernel, stride=s, padding=p, ceil_mode=ceil)


def cells(items) -> set[tuple[int, ...]]:
    return {tuple(int(v) for v in (item.split(",") if isinstance(item, str) else item)) for item in items}


def nonzero(t: torch.Tensor) -> set[tuple[int, ...]]:
    return {tuple(i) for i in torch.nonzero(t).tolist()}


def overlaps_transposed(h, w, kh, kw, s, p, d, op, layers):
    """Kernel taps landing on each output cell of a stack of transposed convolutions (all-ones input
    and kernel), in NumPy: each tap adds the input, s apart, to an uncropped output; then crop p."""
    x = np.ones((h, w))
    for _ in range(layers):
        H, W = x.shape
        Ho, Wo = (H - 1) * s - 2 * p + d * (kh - 1) + op + 1, (W - 1) * s - 2 * p + d * (kw - 1) + op + 1
        if min(Ho, Wo) < 1 or max(Ho, Wo) > HEAT_LIMIT:
            return None
        full = np.zeros((Ho + 2 * p, Wo + 2 * p))
        for ky in range(kh):
            for kx in range(kw):
                full[ky * d:ky * d + (H - 1) * s + 1:s, kx * d:kx * d + (W - 1) * s + 1:s] += x
        x = full[p:p + Ho, p:p + Wo]
    return x


def overlaps_resize(h, w, kh, kw, s, d, layers):
    """The same for "nearest resize by s, then a convolution with padding='same'": the sum of the
    resized map shifted by every tap, with torch's padding (the smaller half first)."""
    x = np.ones((h, w))
    for _ in range(layers):
        up = np.repeat(np.repeat(x, s, axis=0), s, axis=1)
        H, W = up.shape
        if max(H, W) > HEAT_LIMIT:
            return None
        th, tw = d * (kh - 1), d * (kw - 1)
        padded = np.pad(up, ((th // 2, th - th // 2), (tw // 2, tw - tw // 2)))
        x = sum(padded[ky * d:ky * d + H, kx * d:kx * d + W] for ky in range(kh) for kx in range(kw))
    return x


def random_config(rng, mode: str) -> dict:
    c = dict(mode=mode, h=rng.integers(1, 10), w=rng.integers(1, 10), kh=rng.integers(1, 6), kw=rng.integers(1, 6),
             s=rng.integers(1, 4), p=rng.integers(0, 4), d=rng.integers(1, 4), seed=rng.integers(0, 10**6))
    if mode in ("conv", "transposed"):
        g = int(rng.choice([1, 1, 2]))
        c.update(g=g, cin=g * rng.integers(1, 3), cout=g * rng.integers(1, 3))
    if mode == "conv":
        if rng.random() < 0.25:
            c["p"] = str(rng.choice(["same", "valid"]))
            c["s"] = 1 if c["p"] == "same" else c["s"]
        c["flip"] = int(rng.random() < 0.3)
    elif mode == "transposed":
        c.update(op=rng.integers(0, 3), view=str(rng.choice(["scatter", "gather"])), layers=rng.integers(1, 3))
    else:
        c.update(cin=rng.integers(1, 3), ceil=rng.integers(0, 2), p=rng.integers(0, 3))
        if rng.random() < 0.3:
            del c["s"]                                   # torch's default: the kernel size
        if mode == "avgpool":
            del c["d"]
    return {k: str(v) for k, v in c.items()}


def valid_configs(rng, mode: str, count: int) -> list[dict]:
    found = []
    while len(found) < count:
        config = random_config(rng, mode)
        if refusal(config) is None:
            found.append(config)
    return found


def steps(config: dict) -> int:
    """How many steps the explorer takes: one per output cell, or per input cell when a transposed
    convolution is drawn as a scatter."""
    c = {**DEFAULTS, **config}
    v = {k: int(c[k]) for k in ("h", "w", "kh", "kw", "p", "d", "cin", "cout", "op") if c[k] not in ("same", "valid")}
    s = int(c["s"]) if c["s"] else None
    if c["mode"] == "transposed":
        if c["view"] == "scatter":
            return v["cin"] * v["h"] * v["w"]
        out = shapes.conv_transpose_output_size((v["h"], v["w"]), (v["kh"], v["kw"]), stride=s or 1, padding=v["p"],
                                                output_padding=v["op"], dilation=v["d"])
    elif c["mode"] == "conv":
        out = shapes.conv_output_size((v["h"], v["w"]), (v["kh"], v["kw"]), stride=s or 1,
                                      padding=c["p"] if c["p"] in ("same", "valid") else v["p"], dilation=v["d"])
    else:
        out = shapes.pool_output_size((v["h"], v["w"]), (v["kh"], v["kw"]), stride=s, padding=v["p"],
                                      dilation=v["d"] if c["mode"] == "maxpool" else 1, ceil_mode=c["ceil"] == "1")
    return (v["cout"] if c["mode"] in ("conv", "transposed") else v["cin"]) * out[0] * out[1]


# --- every mode against torch -------------------------------------------------------------------

PER_MODE = 52


def test_random_configurations_equal_torch(visit):
    rng = np.random.default_rng(14)
    configs = [config for mode in MODES for config in valid_configs(rng, mode, PER_MODE)]
    for config in configs:   # the step shown: a random cell of each configuration
        config["at"] = str(rng.integers(0, steps(config)))
    page = visit.open("en")
    results = read(page, [query(c) for c in configs])
    checked = collections.Counter()
    for config, r in zip(configs, results):
        assert r["error"] is None and r["bodyShown"] and not r["errorShown"], (config, r["error"])
        x = torch.tensor(json.loads(r["input"]), dtype=torch.float64)
        c = {**DEFAULTS, **config}
        assert x.shape == (int(c["cin"]), int(c["h"]), int(c["w"]))
        assert torch.equal(x, x.round()) and x.abs().max() <= 3          # small integers
        weight = None if r["weight"] is None else torch.tensor(json.loads(r["weight"]), dtype=torch.float64)
        if weight is not None:
            assert bool((weight != 0).all())                                  # so every tap has a gradient
        op = torch_op(config, weight)
        expected = op(x[None])[0]
        output = torch.tensor([[[-np.inf if v is None else v for v in row] for row in ch]
                               for ch in json.loads(r["output"])], dtype=torch.float64)
        assert json.loads(r["shape"]) == list(expected.shape) == list(output.shape), config
        torch.testing.assert_close(output, expected, rtol=0, atol=1e-9, msg=lambda m: f"{config}: {m}")

        # the current cell, and what the page highlights for it
        cell = tuple(json.loads(r["cell"]))
        scatter = c["mode"] == "transposed" and r["view"] == "scatter"
        assert cell == tuple(int(v) for v in np.unravel_index(int(config["at"]), x.shape if scatter else expected.shape))
        assert cells(r["cur"]) == {cell}
        field = cells(json.loads(r["field"]))
        assert cells(r["hotOut"] if scatter else r["hotIn"]) == field, config
        if scatter:   # the outputs this input writes to: d y / d x[cell] != 0 (a Jacobian column, by autograd)
            tangent = torch.zeros_like(x)
            tangent[cell] = 1
            _, column = torch.autograd.functional.jvp(lambda t: op(t[None])[0], x, tangent)
            assert field == nonzero(column), config
        else:         # the inputs this output reads: d y[cell] / d x != 0
            xg = x.clone().requires_grad_(True)
            op(xg[None])[0][cell].backward()
            gradient = nonzero(xg.grad)
            if c["mode"] == "maxpool":   # the gradient reaches the winner; the window is what can change y[cell]
                winner = json.loads(r["winner"])
                if winner is None:   # a dilated window over padding only: torch's max is -inf, and its
                    # backward sends the gradient to the index its loop starts from, outside the window
                    assert expected[cell] == -np.inf and r["win"] == [], query(config)
                else:
                    assert cells(r["win"]) == gradient == {tuple(winner)}, query(config)
                bumped = x.repeat(x.numel(), 1, 1, 1)
                bumped.view(x.numel(), -1)[torch.arange(x.numel()), torch.arange(x.numel())] += 100
                changed = op(bumped)[(slice(None), *cell)] != expected[cell]
                assert field == {tuple(int(v) for v in np.unravel_index(n, x.shape)) for n in torch.nonzero(changed).flatten().tolist()}, config
            else:
                assert field == gradient, config
        if c["mode"] == "transposed":
            args = [int(c[k]) for k in ("h", "w", "kh", "kw", "s", "p", "d", "op", "layers")]
            for key, numpy_counts in (("overlap", overlaps_transposed(*args)),
                                      ("resize", overlaps_resize(*args[:5], args[6], args[8]))):
                page_counts = json.loads(r[key])
                if numpy_counts is None:
                    assert page_counts is None, config
                else:
                    np.testing.assert_array_equal(np.array(page_counts), numpy_counts, err_msg=str(config))
                    checked["checkerboard"] += 1
        checked[c["mode"] + ("-" + r["view"] if c["mode"] == "transposed" else "")] += 1
        checked["flip" if c["flip"] == "1" and c["mode"] == "conv" else "plain"] += 1
    modes = {mode: sum(n for key, n in checked.items() if key.startswith(mode)) for mode in MODES}
    assert all(n >= 50 for n in modes.values()) and sum(modes.values()) >= 200, checked
    assert min(checked["transposed-scatter"], checked["transposed-gather"], checked["flip"]) >= 10, checked
    assert checked["checkerboard"] >= 40, checked
    # the URL follows the state: it now holds the last configuration
    page.wait_for_function("q => new URLSearchParams(location.search).get('seed') === q", arg=configs[-1]["seed"])
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)["mode"] == [configs[-1]["mode"]]
    assert visit.errors == [] and visit.external == []


# --- refused configurations ---------------------------------------------------------------------

# One configuration per refusal, each a change from the defaults (a 3×3 convolution on 5×5).
REFUSED = [
    dict(h="abc"), dict(kw="2.5"), dict(h="0"), dict(w="-3"), dict(kh="0"), dict(s="0"), dict(d="0"),
    dict(p="-1"), dict(p="2.5"), dict(p="same", s="2"), dict(h="3", w="3", kh="5", kw="5"),
    dict(h="4", w="9", kh="4", kw="3", d="2"),
    dict(mode="transposed", p="same"), dict(mode="transposed", op="2", s="2"), dict(mode="transposed", op="-1"),
    dict(mode="transposed", h="1", w="1", kh="1", kw="1", p="1"),
    dict(mode="maxpool", p="2"), dict(mode="maxpool", p="same"), dict(mode="avgpool", h="2", w="2", s="1"),
    dict(cin="x"), dict(g="0"), dict(cout="0"), dict(cin="3", g="2"), dict(cin="2", cout="3", g="2"),
    dict(mode="transposed", cin="2", cout="3", g="2"),
]

# cnnref's message -> the words the Chinese page must use for it (the calculator's, conv-rules.js)
CHINESE = [
    (r"must be an int or a tuple of ints, got", "必须是整数"),
    (r"padding must be an int, a tuple, 'same' or 'valid'", "padding 必须是整数、'same' 或 'valid'"),
    (r"padding must be an int or a tuple for transposed", "转置卷积的 padding 必须是整数"),
    (r"groups must be a positive integer", "groups 必须是正整数"),
    (r"in_channels and out_channels must be positive", "in_channels 和 out_channels 必须是正数"),
    (r"must be an int, got", "必须是整数"),
    (r"in_channels=\d+ must be divisible", "in_channels（"),
    (r"out_channels=\d+ must be divisible", "out_channels（"),
    (r"must be positive, got", "必须是正数"),
    (r"must be non-negative, got", "不能是负数"),
    (r"padding='same' is not supported for strided", "padding='same' 只能配 stride 1"),
    (r"is larger than the padded input size", "比填充后的输入"),
    (r"output_padding must be smaller than either stride or dilation", "必须小于 stride"),
    (r"padding \d+ is too large for kernel_size", "padding 太大"),
    (r"padding should be at most half of kernel_size", "最多是 kernel_size"),
    (r"the window is larger than the padded input", "窗口比填充后的输入还大"),
]


def chinese_words(message: str) -> str:
    return next(words for pattern, words in CHINESE if re.search(pattern, message))


def random_refusals(rng, count: int) -> list[dict]:
    found = []
    while len(found) < count:
        config = random_config(rng, str(rng.choice(MODES)))
        if refusal(config) is not None:
            found.append(config)
    return found


def test_refused_configurations_show_cnnrefs_message(visit):
    configs = REFUSED + random_refusals(np.random.default_rng(6), 40)
    messages = [refusal(c) for c in configs]
    assert all(messages) and {chinese_words(m) for m in messages} == {words for _, words in CHINESE}
    page = visit.open("en")
    for config, message, r in zip(configs, messages, read(page, [query(c) for c in configs])):
        assert r["error"] == message and r["errorShown"] and not r["bodyShown"], (config, r["error"], message)
        assert r["output"] is None and r["shape"] is None
    assert page.inner_text(".cx-error") == messages[-1]
    # what only the explorer refuses (not a torch argument, or more than it draws) names the key
    own = [(dict(mode="conv2d"), "mode must be"), (dict(mode="maxpool", cin="0"), "C_in must be"),
           (dict(h="17"), "the explorer draws"), (dict(seed="x"), "seed must be"), (dict(xv="1,2"), "xv must be")]
    for (config, words), r in zip(own, read(page, [query(c) for c, _ in own])):
        assert refusal(config) is None and words in r["error"] and r["errorShown"], (config, r["error"])
    page = visit.open("zh")
    for config, message, r in zip(configs, messages, read(page, [query(c) for c in configs])):
        assert chinese_words(message) in r["error"] and r["errorShown"] and not r["bodyShown"], (config, r["error"])
        assert re.search(r"[\u4e00-\u9fff]", r["error"]) and message != r["error"]
    assert visit.errors == [] and visit.external == []


# --- the URL, the seed, the keyboard, editing ---------------------------------------------------

EXAMPLE = "mode=transposed&h=5&w=5&kh=3&kw=3&s=2&p=1&seed=3"


def attributes(page) -> dict:
    return page.evaluate("() => Object.assign({}, document.querySelector('.cnnref-explorer').dataset)")


def test_the_url_holds_the_state_and_the_seed_gives_the_numbers(visit):
    page = visit.open("en", EXAMPLE)
    first = attributes(page)
    x, w = (torch.tensor(json.loads(first[k]), dtype=torch.float64) for k in ("input", "weight"))
    expected = F.conv_transpose2d(x[None], w, stride=2, padding=1)[0]
    assert json.loads(first["shape"]) == [1, 9, 9]
    torch.testing.assert_close(torch.tensor(json.loads(first["output"]), dtype=torch.float64), expected, rtol=0, atol=1e-9)
    # a control changes the URL; opening that URL again gives the same numbers
    page.fill(".cx-controls [name=h]", "4")
    page.wait_for_function("() => new URLSearchParams(location.search).get('h') === '4'")
    changed = attributes(page)
    assert json.loads(changed["shape"]) == [1, 7, 9]
    page.goto(page.url, wait_until="load")
    page.wait_for_selector(".cnnref-explorer[data-ready='1']")
    assert attributes(page)["input"] == changed["input"] and attributes(page)["output"] == changed["output"]
    # the site search links a result as page/?h=words (Material's search.highlight): not a height
    page = visit.open("en", "h=stride+padding")
    assert attributes(page).get("error") is None and json.loads(attributes(page)["shape"]) == [1, 3, 3]
    page = visit.open("en", "h=4&w=5")      # an h of ours: the marks the search puts around "4" are undone
    page.wait_for_selector(".cnnref-explorer[data-unmarked]", state="attached")
    assert page.locator("article mark").count() == 0 and "&#39;" not in page.inner_text("article")
    assert json.loads(attributes(page)["shape"]) == [1, 2, 3]
    # the seed decides the numbers: the same seed the same numbers, another seed others
    again = read(page, [EXAMPLE, EXAMPLE.replace("seed=3", "seed=4"), EXAMPLE])
    assert again[0]["input"] == again[2]["input"] == first["input"] and again[1]["input"] != first["input"]
    assert visit.errors == [] and visit.external == []


def test_keyboard_steps_plays_and_edits(visit):
    page = visit.open("en", "h=4&w=4&seed=5")
    root = ".cnnref-explorer"
    assert page.get_attribute(root, "data-at") == "0"
    # Tab reaches the forward button; Enter presses it
    page.focus(".cx-player [data-act=back]")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.act") == "forward"
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{root}[data-at='1']")
    # the arrow keys step once the figure has the focus
    page.focus(".cx-main")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector(f"{root}[data-at='2']")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector(f"{root}[data-at='3']")     # back from 0 wraps to the last of 2×2 cells
    # play advances by itself until paused
    page.focus(".cx-player [data-act=play]")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{root}[data-at='0']")
    page.wait_for_selector(f"{root}[data-at='1']")
    page.keyboard.press("Enter")
    page.wait_for_selector(".cx-player [data-act=play][aria-pressed=false]")
    # edit an input value in the written-out arithmetic: the input, the output and the URL follow
    box = page.locator(".cx-arith input[data-edit^='x:']").first
    index = int(box.get_attribute("data-edit").split(":")[1])
    box.fill("7")
    box.press("Enter")
    box.evaluate("e => e.blur()")
    page.wait_for_function("i => JSON.parse(document.querySelector('.cnnref-explorer').dataset.input).flat(2)[i] === 7",
                           arg=index)
    data = attributes(page)
    x, w = (torch.tensor(json.loads(data[k]), dtype=torch.float64) for k in ("input", "weight"))
    torch.testing.assert_close(torch.tensor(json.loads(data["output"]), dtype=torch.float64), F.conv2d(x[None], w)[0],
                               rtol=0, atol=1e-9)
    page.wait_for_function("() => new URLSearchParams(location.search).has('xv')")
    assert visit.errors == [] and visit.external == []


# --- both languages, two widths: what a reader sees ---------------------------------------------

LABELS = {"zh": ("输入", "卷积核", "输出", "棋盘格"), "en": ("input", "kernel", "output", "Checkerboard")}


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("language", ["zh", "en"])
def test_both_languages_at_phone_and_desktop_width(visit, language, width):
    # wider than a phone when drawn at full size: a 17×17 zero-stuffed input
    page = visit.open(language, EXAMPLE.replace("h=5&w=5", "h=8&w=8") + "&view=gather&cin=2&cout=2&g=2&at=40", width=width)
    text = page.inner_text(".cnnref-explorer")
    assert all(label in text for label in LABELS[language]), text[:400]
    if language == "zh":
        assert "input" not in page.inner_text(".cx-main figcaption")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"explorer-{language}-{width}.png"
    page.screenshot(path=path, full_page=True)
    page.locator(".cnnref-explorer").screenshot(path=SCREENSHOTS / f"explorer-widget-{language}-{width}.png")
    assert path.stat().st_size > 10_000
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert visit.errors == [] and visit.external == []
