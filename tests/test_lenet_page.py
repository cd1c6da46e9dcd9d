"""The "Look inside LeNet-5" page in Chromium, against torch.

The built site, served on 127.0.0.1 under the suite's path prefix (`served_site`), is visited
by the session's Chromium (`chromium`, tests/conftest.py) through playwright. The reference is
torch: `cnnref.models.lenet5` loaded with the weights the site serves
(`cnnref.lenet_asset.read_asset`), its children's outputs taken with forward hooks, and the
inputs prepared by `cnnref.data.make_dataset` (the example button) or `cnnref.images` (a drawing,
from the bitmap the page drew).
"""

from __future__ import annotations

import hashlib
import json
import pathlib

import numpy as np
import pytest
import torch
from cnnref.data import make_dataset
from cnnref.images import digit_from_ink, prepare_digit
from cnnref.lenet_asset import read_asset, trained_lenet5, weights_bytes
from cnnref.shapes import receptive_field
from cnnref.summary import count_parameters
from tests.docs_helpers import ROOT
from tests.site_browser import Browser

pytestmark = pytest.mark.browser

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
EXPLORER = ".lenet-explorer"
TOLERANCE = 1e-4
# what the tests measured, printed at the end of the module (pytest -s shows it)
MEASURED: dict[str, object] = {}


@pytest.fixture(scope="module")
def site(built_site) -> pathlib.Path:
    folder, result = built_site
    assert result.returncode == 0, result.stderr[-3000:]
    return pathlib.Path(folder)


@pytest.fixture(scope="module", autouse=True)
def report_measurements():
    yield
    if MEASURED:
        print("\nlenet page, measured:", json.dumps(MEASURED, indent=1, default=str))


@pytest.fixture(scope="module")
def reference(site):
    """(torch LeNet-5 with the served weights, model.json, test digits (N, 8, 8))."""
    return read_asset(site / "assets" / "lenet5")


class LenetPage(Browser):
    """A Browser whose visits wait until the page's LeNet-5 is ready, and that reads what it shows.
    Its logs gather every visit's (open does not clear them)."""

    def open(self, path: str):
        page = super().open(path, width=self.page.viewport_size["width"], fresh=False)
        page.wait_for_selector(f"{EXPLORER}[data-state=ready]")
        return page

    def state(self) -> dict:
        """What the page shows now: logits, predicted class, input, activations, bitmap, source."""
        return self.page.evaluate(f"""() => {{
            const root = document.querySelector("{EXPLORER}");
            return {{logits: root.hasAttribute("data-logits") ? JSON.parse(root.getAttribute("data-logits")) : null,
                     predicted: root.getAttribute("data-predicted"), source: root.getAttribute("data-source"),
                     input: window.cnnref.input(), activations: window.cnnref.activations(),
                     bitmap: window.cnnref.bitmap()}};
        }}""")


@pytest.fixture(scope="module")
def visit(chromium, served_site):
    """The English page in one browser context, shared by the tests that change its state."""
    v = LenetPage.new(chromium, served_site, height=900)
    v.open("/en/lenet/")
    yield v
    v.close()


def torch_forward(model, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Logits and every child's output (forward hooks) for one input (1, 32, 32)."""
    outputs = {}
    hooks = [child.register_forward_hook(lambda m, i, o, name=name: outputs.__setitem__(name, o[0].clone()))
             for name, child in model.named_children()]
    try:
        with torch.no_grad():
            logits = model(x[None].float())[0]
    finally:
        for h in hooks:
            h.remove()
    return logits, outputs


def compare(model, state: dict, x: torch.Tensor, worst: dict[str, float]) -> None:
    """The page's logits and activations against torch on input x; the largest differences go into worst."""
    logits, outputs = torch_forward(model, x)
    page_logits = torch.tensor(state["logits"], dtype=torch.float64)
    diff = float((page_logits - logits.double()).abs().max())
    worst["logits"] = max(worst.get("logits", 0.0), diff)
    assert diff < TOLERANCE, f"logits differ by {diff}"
    assert int(state["predicted"]) == int(logits.argmax()) == int(page_logits.argmax())
    assert list(state["activations"]) == list(outputs)
    for name, out in outputs.items():
        ours = torch.tensor(state["activations"][name], dtype=torch.float64)
        assert tuple(ours.shape) == tuple(out.shape), name
        d = float((ours - out.double()).abs().max())
        worst[name] = max(worst.get(name, 0.0), d)
        assert d < TOLERANCE, f"{name} differs by {d}"


# --------------------------------------------------------------------------- the weights

def test_weights_asset_is_small_and_comes_from_the_pages_training_code(site, reference):
    folder = site / "assets" / "lenet5"
    model, meta, digits = reference
    weights = (folder / "weights.bin").read_bytes()
    MEASURED["asset bytes"] = {f.name: f.stat().st_size for f in sorted(folder.iterdir())}
    assert len(weights) < 300_000
    assert len(weights) == 4 * count_parameters(model) == 4 * 61_706
    assert hashlib.sha256(weights).hexdigest() == meta["weights"]["sha256"]
    # the same bytes as the model the page's code trains (trained again here, in this process)
    assert weights_bytes(trained_lenet5().model) == weights
    assert meta["training"]["code"] == "cnnref.lenet_asset.trained_lenet5"
    # the digits of the example button are the data set's test digits
    test = make_dataset("digits", "test")
    assert digits.shape == (len(test), 8, 8) and meta["digits"]["labels"] == test.labels.tolist()


# --------------------------------------------------------------------------- the example button

def test_example_digits_give_torchs_inputs_logits_and_activations(visit, reference):
    model, _, _ = reference
    test = make_dataset("digits", "test")
    page, worst = visit.page, {}
    indices = list(range(0, len(test), 9))[:50]
    assert len(indices) == 50
    for k in indices:
        page.fill(f"{EXPLORER} input[name=k]", str(k))
        page.click(f"{EXPLORER} .le-example")
        page.wait_for_function(f"() => document.querySelector('{EXPLORER}').getAttribute('data-source')"
                               f".startsWith('example {k} #')")
        state = visit.state()
        x, label = test[k]
        ours = torch.tensor(state["input"], dtype=torch.float64)
        worst["input"] = max(worst.get("input", 0.0), float((ours - x.double()).abs().max()))
        assert worst["input"] < 1e-6, f"input of test digit {k}"
        compare(model, state, x, worst)
        assert page.inner_text(f"{EXPLORER} .le-status").endswith(f"{int(label)})")
        assert page.input_value(f"{EXPLORER} input[name=k]") == str(k + 1)   # the button moves on
    MEASURED["example digits: largest |page - torch|"] = worst
    assert visit.errors == [] and visit.external == []


# --------------------------------------------------------------------------- drawing

# Digits as strokes, points as (x, y) fractions of the canvas.
STROKES = {
    "1": [[(0.45, 0.2), (0.55, 0.12), (0.55, 0.85)]],
    "7": [[(0.25, 0.2), (0.75, 0.2)], [(0.75, 0.2), (0.45, 0.85)]],
    "0": [[(0.5 + 0.22 * np.sin(t), 0.5 - 0.32 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 25)]],
    "4": [[(0.6, 0.15), (0.25, 0.6), (0.75, 0.6)], [(0.6, 0.15), (0.6, 0.88)]],
    "3": [[(0.3, 0.2), (0.65, 0.2), (0.45, 0.45), (0.7, 0.65), (0.5, 0.85), (0.3, 0.8)]],
    "2": [[(0.3, 0.3), (0.5, 0.15), (0.7, 0.3), (0.3, 0.85), (0.75, 0.85)]],
    "small 5": [[(0.7, 0.1), (0.45, 0.1), (0.42, 0.28), (0.62, 0.3), (0.62, 0.42), (0.42, 0.45)]],
    "8": [[(0.5 + 0.15 * np.sin(t), 0.32 - 0.16 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 17)],
          [(0.5 + 0.2 * np.sin(t), 0.66 - 0.2 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 17)]],
    "9": [[(0.5 + 0.18 * np.sin(t), 0.35 - 0.18 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 17)],
          [(0.68, 0.35), (0.62, 0.88)]],
}
DISPATCH = """([selector, points, type, id]) => {
    const canvas = document.querySelector(selector), r = canvas.getBoundingClientRect();
    const send = (kind, [x, y]) => canvas.dispatchEvent(new PointerEvent(kind, {
        pointerId: id, pointerType: type, isPrimary: true, bubbles: true, cancelable: true,
        clientX: r.left + x * r.width, clientY: r.top + y * r.height,
        button: 0, buttons: kind === "pointerup" ? 0 : 1, pressure: kind === "pointerup" ? 0 : 0.5}));
    send("pointerdown", points[0]);
    for (const p of points.slice(1)) send("pointermove", p);
    send("pointerup", points[points.length - 1]);
}"""


def check_drawing(visit, model, worst) -> dict:
    """The page's input from its own bitmap equals cnnref.images', and its network equals torch."""
    state = visit.state()
    bitmap = np.array(state["bitmap"], dtype=np.float64)
    x = prepare_digit(digit_from_ink(bitmap))
    ours = torch.tensor(state["input"], dtype=torch.float64)
    worst["input"] = max(worst.get("input", 0.0), float((ours - x.double()).abs().max()))
    assert worst["input"] < 1e-6
    compare(model, state, x, worst)
    return state


def test_strokes_of_mouse_pen_and_touch_pointers_give_torchs_logits(visit, reference):
    model, _, _ = reference
    page, worst, strokes, predictions = visit.page, {}, 0, {}
    types = ["mouse", "pen", "touch"]
    for digit, lines in STROKES.items():
        page.click(f"{EXPLORER} .le-clear")
        page.wait_for_function(f"() => !document.querySelector('{EXPLORER}').hasAttribute('data-logits')")
        for line in lines:
            before = page.get_attribute(EXPLORER, "data-source")
            page.evaluate(DISPATCH, [f"{EXPLORER} .le-canvas", [list(map(float, p)) for p in line],
                                     types[strokes % 3], 10 + strokes])
            page.wait_for_function(f"b => document.querySelector('{EXPLORER}').getAttribute('data-source') !== b",
                                   arg=before)
            strokes += 1
            state = check_drawing(visit, model, worst)
        predictions[digit] = int(state["predicted"])
    assert strokes >= 10
    MEASURED["drawn strokes"] = strokes
    MEASURED["drawn digits: predicted"] = predictions
    MEASURED["drawn strokes: largest |page - torch|"] = worst
    assert visit.errors == [] and visit.external == []


def test_trusted_mouse_drag_draws(visit, reference):
    """Real mouse input (playwright's, trusted, with coalesced events) reaches the same code."""
    model, _, _ = reference
    page = visit.page
    page.click(f"{EXPLORER} .le-clear")
    box = page.locator(f"{EXPLORER} .le-canvas").bounding_box()
    before = page.get_attribute(EXPLORER, "data-source")
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.15 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.85 * box["height"], steps=12)
    page.mouse.up()
    page.wait_for_function(f"b => document.querySelector('{EXPLORER}').getAttribute('data-source') !== b", arg=before)
    state = check_drawing(visit, model, {})
    column = np.array(state["bitmap"])[:, 16]
    assert column[6:26].all()        # the vertical line is in the bitmap


def test_clear_empties_the_canvas_and_the_prediction(visit):
    page = visit.page
    page.click(f"{EXPLORER} .le-clear")
    page.wait_for_function(f"() => !document.querySelector('{EXPLORER}').hasAttribute('data-logits')")
    state = visit.state()
    assert np.array(state["bitmap"]).sum() == 0 and state["input"] is None and state["activations"] is None


def test_preprocessing_equals_python_on_random_ink(visit):
    """The page's digitFromInk + prepareDigit against cnnref.images on inks of many shapes."""
    rng = np.random.default_rng(0)
    inks = [rng.random((32, 32)) * (rng.random((32, 32)) < 0.1) for _ in range(5)]
    inks += [np.zeros((32, 32)), np.ones((3, 17)), np.eye(9)[:, :4] * 0.3, np.pad(np.ones((1, 1)), 5)]
    inks += [(rng.random((h, w)) > 0.7) * 1.0 for h, w in ((8, 8), (5, 40), (60, 7), (31, 29))]
    for ink in inks:
        got = visit.page.evaluate("ink => window.cnnref.lenet.prepareInk(ink)", ink.tolist())
        try:
            digit = digit_from_ink(ink)
        except ValueError:
            assert got == {"digit": None, "input": None}
            continue
        np.testing.assert_allclose(np.array(got["digit"]), digit, atol=1e-12)
        np.testing.assert_allclose(np.array(got["input"]), prepare_digit(digit).double().numpy(), atol=1e-6)


# --------------------------------------------------------------------------- what the page shows

def test_shapes_and_parameter_counts_on_the_page_are_torchs(visit, reference):
    model, _, _ = reference
    page = visit.page
    page.fill(f"{EXPLORER} input[name=k]", "3")
    page.click(f"{EXPLORER} .le-example")
    page.wait_for_function(f"() => document.querySelector('{EXPLORER}').getAttribute('data-source').startsWith('example 3 #')")
    _, outputs = torch_forward(model, make_dataset("digits", "test")[3][0])
    for name, child in model.named_children():
        block = page.locator(f'{EXPLORER} .le-layer[data-layer="{name}"]')
        assert block.get_attribute("data-shape") == str(tuple(outputs[name].shape))
        assert str(tuple(outputs[name].shape)) in block.inner_text()
        edge = page.locator(f'{EXPLORER} .le-edge[data-to="{name}"]')
        assert int(edge.get_attribute("data-params")) == count_parameters(child)
        if count_parameters(child):
            assert f"{count_parameters(child):,}" in edge.inner_text()
    assert page.locator(f'{EXPLORER} .le-layer[data-layer="input"]').get_attribute("data-shape") == "(1, 32, 32)"
    # the first layer's filters: one drawing per filter
    assert page.locator(f"{EXPLORER} .le-filters canvas").count() == model.c1.out_channels


def test_pointing_at_a_position_marks_its_receptive_field(visit, reference):
    model, _, _ = reference
    page = visit.page
    windows = [(n, m) for n, m in model.named_children() if hasattr(m, "kernel_size")]
    steps = [((m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]),
              (m.stride if isinstance(m.stride, int) else m.stride[0])) for _, m in windows]
    fields = dict(zip([n for n, _ in windows], receptive_field(steps)))
    fields["tanh3"] = fields["c3"]
    overlay = page.locator(f"{EXPLORER} .le-rf")
    for name, channel, i, j in [("c1", 0, 0, 0), ("c1", 5, 27, 13), ("s2", 2, 7, 3), ("c3", 9, 4, 8),
                                ("tanh3", 15, 9, 0), ("s4", 1, 2, 4)]:
        canvas = page.locator(f'{EXPLORER} canvas[data-layer="{name}"][data-channel="{channel}"]')
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        h, w = {"c1": 28, "s2": 14, "c3": 10, "tanh3": 10, "s4": 5}[name], None
        w = h
        page.mouse.move(box["x"] + (j + 0.5) * box["width"] / w, box["y"] + (i + 0.5) * box["height"] / h)
        page.wait_for_function(f"c => document.querySelector('{EXPLORER} .le-rf').getAttribute('data-cell') === c",
                               arg=f"{name},{channel},{i},{j}")
        f = fields[name]
        assert overlay.get_attribute("data-rf") == f"{i * f.jump},{j * f.jump},{f.size}"
        # the mark covers those input pixels on the drawn input
        field_box, input_box = overlay.bounding_box(), page.locator(f'{EXPLORER} canvas[data-layer="input"]').bounding_box()
        px = input_box["width"] / 32
        assert abs(field_box["x"] - (input_box["x"] + j * f.jump * px)) < 1.5
        assert abs(field_box["width"] - min(f.size, 32 - j * f.jump) * px) < 1.5
    # c5's units see the whole input
    strip = page.locator(f'{EXPLORER} canvas[data-layer="c5"]')
    strip.scroll_into_view_if_needed()
    box = strip.bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.wait_for_function(f"() => (document.querySelector('{EXPLORER} .le-rf').getAttribute('data-cell') || '').startsWith('c5,')")
    assert overlay.get_attribute("data-rf") == f"0,0,{fields['c5'].size}" == "0,0,32"


# --------------------------------------------------------------------------- both languages, phones, speed

@pytest.mark.parametrize("language, path", [("zh", "/lenet/"), ("en", "/en/lenet/")])
def test_page_loads_fast_without_errors_or_outside_requests(chromium, served_site, language, path):
    visit = LenetPage.new(chromium, served_site, height=900)
    try:
        paints = []
        for _ in range(3):  # the best of three loads: the machine may be busy with other work
            visit.open(path)
            paints.append(visit.page.evaluate(
                "() => performance.getEntriesByName('first-contentful-paint')[0].startTime"))
        MEASURED[f"first contentful paint, {language} (ms, 3 loads)"] = [round(p) for p in paints]
        assert min(paints) < 1000
        assert visit.errors == [] and visit.external == []
        assert visit.page.get_attribute("html", "lang") == language
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        visit.page.evaluate(f"() => window.scrollTo(0, document.querySelector('{EXPLORER}').offsetTop - 60)")
        visit.page.screenshot(path=str(SCREENSHOTS / f"lenet-{language}-1280.png"))
        visit.page.locator(EXPLORER).screenshot(path=str(SCREENSHOTS / f"lenet-{language}-1280-explorer.png"))
    finally:
        visit.close()


def touch(cdp, kind: str, x: float, y: float | None = None) -> None:
    points = [] if kind == "touchEnd" else [{"x": x, "y": y}]
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})


@pytest.mark.parametrize("language, path", [("zh", "/lenet/"), ("en", "/en/lenet/")])
def test_phone_width_touch_drawing(chromium, served_site, reference, language, path):
    model, _, _ = reference
    visit = LenetPage.new(chromium, served_site, width=375, height=900, touch=True)
    try:
        page = visit.open(path)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375   # nothing sticks out
        canvas = page.locator(f"{EXPLORER} .le-canvas")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        assert box["width"] >= 200                  # room to draw with a finger
        page.click(f"{EXPLORER} .le-clear")
        page.wait_for_function(f"() => !document.querySelector('{EXPLORER}').hasAttribute('data-logits')")
        scroll = page.evaluate("() => window.scrollY")
        cdp = page.context.new_cdp_session(page)
        x = box["x"] + 0.5 * box["width"]
        touch(cdp, "touchStart", x, box["y"] + 0.15 * box["height"])
        for f in np.linspace(0.15, 0.85, 10):
            touch(cdp, "touchMove", x, box["y"] + f * box["height"])
        touch(cdp, "touchEnd", 0)
        page.wait_for_function(f"() => document.querySelector('{EXPLORER}').hasAttribute('data-logits')")
        assert page.evaluate("() => window.scrollY") == scroll   # the finger drew instead of scrolling
        check_drawing(visit, model, {})
        assert visit.errors == [] and visit.external == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"lenet-{language}-375.png"))
        page.locator(EXPLORER).screenshot(path=str(SCREENSHOTS / f"lenet-{language}-375-explorer.png"))
    finally:
        visit.close()
