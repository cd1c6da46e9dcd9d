"""cnnref.explain, cnnref.images and ``cnnref explain`` against torch, and every bad input.

The references are computed here without cnnref.explain: a model's children run one by one on
the input (or torch.nn.functional for the layers an in-place ReLU would overwrite), the
parameters counted with ``numel``, the classes ranked with ``torch.softmax``; the test inputs
are ``cnnref.data.make_dataset``'s.
"""

from __future__ import annotations

import html.parser
import json
import pathlib
import pickle
import re
import subprocess
import sys
import time
import urllib.parse

import numpy as np
import pytest
import torch
from PIL import Image

from cnnref.checkpoint import CHECKPOINT_FORMAT, CheckpointError, checkpoint_state, save_checkpoint
from cnnref.cli import main
from cnnref.config import TrainConfig
from cnnref.data import DIGITS_MEAN, DIGITS_STD, load_digits, make_dataset
from cnnref.explain import explain, explain_checkpoint, load_model, meta_copy
from cnnref.explain_html import MAP_SIDE, MAX_MAPS, activation_image, write_html
from cnnref.images import area_weights, digit_from_ink, ink_from_picture, load_digit, prepare_digit, read_picture
from cnnref.models import MODELS, get_model, make_cnn
from cnnref.summary import summary
from tests.docs_helpers import ROOT

MEASURED: dict[str, object] = {}


@pytest.fixture(scope="module", autouse=True)
def report_measurements():
    """Print what the tests measured (HTML size and seconds per architecture); pytest -s shows it."""
    yield
    if MEASURED:
        print("\nexplain HTML, measured:", json.dumps(MEASURED, indent=1))


def children_outputs(model, x):
    """Each child's output, running the children one by one (no hooks); x: (C, H, W)."""
    outputs, y = {}, x[None]
    with torch.no_grad():
        for name, child in model.named_children():
            y = child(y)
            outputs[name] = y[0].clone()
    return outputs


# --------------------------------------------------------------------------- the Python API

def test_activations_logits_and_table_are_torchs():
    torch.manual_seed(0)
    model = get_model("lenet5").eval()
    x = torch.randn(1, 32, 32)
    e = explain(model, x)
    expected = children_outputs(model, x)
    assert list(e.activations) == list(expected)
    for name, out in expected.items():
        assert torch.equal(e.activations[name], out), name
    with torch.no_grad():
        assert torch.equal(e.logits, model(x[None])[0])
    assert [(r.name, r.output_shape[1:], r.params) for r in e.table.rows] == \
        [(n, tuple(expected[n].shape), sum(p.numel() for p in c.parameters())) for n, c in model.named_children()]
    assert e.edges == [(a, b, tuple(s.shape)) for a, b, s in
                       zip(["input", *expected], list(expected), [x, *expected.values()])]
    probabilities = torch.softmax(e.logits.double(), 0)
    values, index = probabilities.topk(5)
    assert e.top(5) == [(str(i), float(v)) for v, i in zip(values, index.tolist())]
    assert e.top(50) == e.top(10) and len(e.top(10)) == 10


def test_outputs_are_kept_before_an_in_place_relu_changes_them():
    torch.manual_seed(1)
    model = make_cnn(n=1, m=1, k=0, image_size=8, channels=3)            # conv1_1, relu1_1 (in place), ...
    x = torch.randn(1, 8, 8)
    e = explain(model, x)
    conv = torch.nn.functional.conv2d(x[None], model.conv1_1.weight, model.conv1_1.bias, padding=1)[0]
    assert (conv < 0).any()
    assert torch.equal(e.activations["conv1_1"], conv)                   # not the ReLU'd tensor
    assert torch.equal(e.activations["relu1_1"], conv.clamp(min=0))


def test_training_mode_is_restored_and_dropout_is_off():
    model = get_model("alexnet", num_classes=10).train()               # dropout after fc6 and fc7
    x = torch.randn(3, 227, 227)
    a, b = explain(model, x), explain(model, x)
    assert model.training and torch.equal(a.logits, b.logits)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Dropout(0.9), torch.nn.Linear(4, 2)).train()
    with torch.no_grad():
        assert torch.equal(explain(net, torch.ones(1, 2, 2)).logits, net.eval()(torch.ones(1, 1, 2, 2))[0])


def test_table_of_googlenet_is_the_summary_of_the_real_model():
    torch.manual_seed(0)
    model = get_model("googlenet", num_classes=10).eval()
    e = explain(model, torch.randn(3, 224, 224))
    assert e.table.rows == summary(model).rows
    assert tuple(e.activations["inception5b"].shape) == (1024, 7, 7)


def test_meta_copy_has_the_shapes_and_leaves_the_model_alone():
    model = get_model("alexnet", num_classes=10)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    twin = meta_copy(model)
    assert all(p.is_meta for p in twin.parameters())
    assert [(k, v.shape) for k, v in twin.state_dict().items()] == [(k, v.shape) for k, v in before.items()]
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("x, error, message", [
    (torch.zeros(1, 32, 32, dtype=torch.int64), TypeError, "floating-point"),
    ([[0.0]], TypeError, "floating-point"),
    (torch.zeros(2, 1, 32, 32), ValueError, r"shape \(2, 1, 32, 32\), expected one input"),
    (torch.zeros(32, 32), ValueError, "expected one input"),
    (torch.zeros(1, 28, 28), ValueError, r"expected \(1, 32, 32\)"),
    (torch.full((1, 32, 32), float("nan")), ValueError, "NaN or infinity"),
    (torch.full((1, 32, 32), float("inf")), ValueError, "NaN or infinity"),
])
def test_bad_inputs_are_refused(x, error, message):
    with pytest.raises(error, match=message):
        explain(get_model("lenet5"), x)


def test_other_float_dtypes_are_cast_to_the_models():
    model = get_model("lenet5").eval()
    x = torch.randn(1, 32, 32)
    assert torch.equal(explain(model, x.double()).logits, explain(model, x).logits)
    half = x.half()
    assert torch.equal(explain(model, half).logits, explain(model, half.float()).logits)


# --------------------------------------------------------------------------- pictures

def test_area_weights_average_blocks_and_rows_sum_to_one():
    x = np.random.default_rng(0).random((32, 32))
    w = area_weights(32, 8)
    np.testing.assert_allclose(w @ x @ w.T, x.reshape(8, 4, 8, 4).mean(axis=(1, 3)), atol=1e-15)
    for n, m in ((3, 8), (13, 8), (8, 8), (100, 7)):
        np.testing.assert_allclose(area_weights(n, m).sum(1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(area_weights(2, 8) @ np.array([1.0, 2.0]), [1.0] * 4 + [2.0] * 4)


def test_a_32x32_bitmap_of_the_digits_blocks_gives_the_digit_back():
    """A digit's 8x8 values spread over 4x4 blocks: its ink spans the rows, so the crop and the
    average give it back exactly (when the box centred in the square lands where it was)."""
    raw, _ = load_digits("test")
    checked = 0
    for digit in raw[:, 0]:
        cols = np.flatnonzero((digit >= 0.25).any(0))
        if not ((digit[0] >= 0.25).any() and (digit[7] >= 0.25).any()):
            continue
        margin = 8 - (cols[-1] - cols[0] + 1)                             # empty columns beside the box
        if margin % 2 or cols[0] != margin // 2 or digit[:, :cols[0]].any() or digit[:, cols[-1] + 1:].any():
            continue                      # not centred to the pixel, or faint ink outside the box (cut off)
        ink = np.kron(digit, np.ones((4, 4)))                           # (32, 32)
        np.testing.assert_allclose(digit_from_ink(ink), digit, atol=1e-12)
        checked += 1
    assert checked > 100


def test_prepare_digit_is_what_training_sees():
    raw, _ = load_digits("test")
    for size, channels in ((32, 1), (28, 1), (227, 3)):
        test = make_dataset("digits", "test", size=size, channels=channels)
        for k in (0, 17, 449):
            assert torch.equal(prepare_digit(raw[k, 0], size, channels), test[k][0])
    x = prepare_digit(np.zeros((8, 8)))
    assert torch.equal(x, torch.full((1, 32, 32), (0 - DIGITS_MEAN) / DIGITS_STD, dtype=torch.float32))


def test_dark_ink_on_paper_is_inverted_and_stretched():
    light = np.zeros((20, 20))
    light[4:16, 8:12] = 0.6                                              # faint light ink on black
    paper = 0.9 - 0.8 * light / 0.6                                      # dark ink on light paper
    np.testing.assert_allclose(ink_from_picture(light), light / 0.6)
    np.testing.assert_allclose(ink_from_picture(paper), light / 0.6, atol=1e-12)
    np.testing.assert_allclose(ink_from_picture(paper, invert="yes"), light / 0.6, atol=1e-12)
    with pytest.raises(ValueError, match="no ink"):
        ink_from_picture(paper, invert="no")                             # nothing brighter than the paper
    with pytest.raises(ValueError, match="invert must be one of"):
        ink_from_picture(paper, invert="maybe")


def save(image: np.ndarray, path: pathlib.Path, mode: str | None = None) -> pathlib.Path:
    Image.fromarray(image, mode).save(path) if mode else Image.fromarray(image).save(path)
    return path


def test_read_picture_modes(tmp_path):
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (9, 7), dtype=np.uint8)
    np.testing.assert_allclose(read_picture(save(grey, tmp_path / "g.png")), grey / 255)
    rgb = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    np.testing.assert_allclose(read_picture(save(rgb, tmp_path / "c.png")), rgb @ [0.299, 0.587, 0.114] / 255)
    rgba = np.zeros((9, 7, 4), dtype=np.uint8)
    rgba[..., 3] = 0
    rgba[2:5, 2:5] = (0, 0, 0, 255)                                       # black ink on a transparent page
    got = read_picture(save(rgba, tmp_path / "a.png"))
    assert got[3, 3] == 0.0 and got[0, 0] == 1.0                          # laid on white
    sixteen = (rng.integers(0, 65536, (9, 7))).astype(np.uint16)
    Image.fromarray(sixteen).save(tmp_path / "w.png")
    np.testing.assert_allclose(read_picture(tmp_path / "w.png"), sixteen / 65535, atol=1e-9)
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    assert read_picture(tmp_path / "p.png").shape == (9, 7)
    np.save(tmp_path / "a.npy", grey)
    np.testing.assert_allclose(read_picture(tmp_path / "a.npy"), grey / 255)
    np.save(tmp_path / "b.npy", (rgb / 255).transpose(2, 0, 1))
    np.testing.assert_allclose(read_picture(tmp_path / "b.npy"), rgb @ [0.299, 0.587, 0.114] / 255)


@pytest.fixture
def bad_pictures(tmp_path):
    """name -> (path, the message's words)."""
    text = tmp_path / "notes.png"
    text.write_text("not a picture at all\n")
    Image.new("CMYK", (8, 8), (0, 0, 0, 255)).save(tmp_path / "cmyk.jpg")
    np.save(tmp_path / "two.npy", np.zeros((2, 8, 8)))
    np.save(tmp_path / "big.npy", np.full((8, 8), 3.0))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    frames = [Image.new("L", (8, 8), v) for v in (0, 255)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    save(np.full((8, 8), 255, dtype=np.uint8), tmp_path / "blank.png")
    truncated = tmp_path / "cut.png"
    save(np.zeros((64, 64), dtype=np.uint8), tmp_path / "whole.png")
    truncated.write_bytes((tmp_path / "whole.png").read_bytes()[:60])
    return {
        "not an image": (text, "not a picture"),
        "CMYK channels": (tmp_path / "cmyk.jpg", "mode CMYK (4 channels"),
        "2-channel array": (tmp_path / "two.npy", "2 channels"),
        "values outside [0, 1]": (tmp_path / "big.npy", "outside"),
        "object array": (tmp_path / "objects.npy", "not a NumPy array file"),
        "several frames": (tmp_path / "anim.gif", "2 frames"),
        "blank page": (tmp_path / "blank.png", "no ink"),
        "truncated file": (truncated, "is damaged"),
        "missing file": (tmp_path / "nothing.png", "no file"),
    }


def test_bad_pictures_give_one_line_errors(bad_pictures):
    for name, (path, words) in bad_pictures.items():
        with pytest.raises(ValueError) as info:
            load_digit(path)
        message = str(info.value)
        assert words in message and "\n" not in message and str(path) in message, (name, message)


# --------------------------------------------------------------------------- checkpoints and the command

def make_checkpoint(path: pathlib.Path, name: str, dataset: str = "digits") -> torch.nn.Module:
    """A checkpoint as `fit` writes it (checkpoint_state), of an untrained model: the big
    architectures cost seconds to build, hours to train here."""
    from cnnref.data import num_classes

    torch.manual_seed(0)
    model = get_model(name, num_classes=num_classes(dataset))
    cfg = TrainConfig(model=name, dataset=dataset, epochs=1)
    optimizer = torch.optim.Adam(model.parameters())
    state = checkpoint_state(cfg, model, optimizer, None, torch.amp.GradScaler("cpu", enabled=False), 1, [],
                             {"epoch": 1, "val_accuracy": 0.5, "val_loss": 1.0})
    save_checkpoint(state, path)
    return model.eval()


class Report(html.parser.HTMLParser):
    """The parts of an explain HTML file the tests read: table rows, edges, top classes, images."""

    def __init__(self, text: str):
        super().__init__()
        self.rows, self.edges, self.top, self.images, self.layers = [], [], [], [], []
        self._row, self._cell = None, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-layer" in a:
            self._row = [a["data-layer"]]
        elif tag == "td" and self._row is not None:
            self._cell = ""
        elif tag == "tr" and "data-class" in a:
            self.top.append((a["data-class"], float(a["data-probability"])))
        elif tag == "div" and a.get("class") == "edge":
            self.edges.append((a["data-from"], a["data-to"], a["data-shape"]))
        elif tag == "div" and a.get("class") == "layer":
            self.layers.append(a["data-layer"])
        elif tag == "img":
            self.images.append(a["src"])

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag == "td" and self._row is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None


def run(capsys, *argv) -> tuple[int, str, str]:
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit:  # argparse's own errors
        status = exit.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def check_report(text: str, model, x: torch.Tensor, labels: list[str]) -> None:
    """The HTML against torch: shapes on every edge, table rows, top-5."""
    report = Report(text)
    outputs = children_outputs(model, x)
    shape = lambda t: "(" + ", ".join(map(str, t.shape)) + (",)" if t.dim() == 1 else ")")  # noqa: E731
    names = ["input", *outputs]
    assert report.edges[:-1] == [(a, b, shape(t)) for a, b, t in zip(names, names[1:], [x, *outputs.values()])]
    with torch.no_grad():
        logits = model(x[None])[0]
    assert report.edges[-1] == (names[-1], "output", shape(logits))
    assert [r[0] for r in report.rows] == list(outputs)
    for row, (name, child) in zip(report.rows, model.named_children()):
        assert row[1:4] == [name, type(child).__name__, shape(outputs[name])]
        assert int(row[4].replace(",", "")) == sum(p.numel() for p in child.parameters())
    p = torch.softmax(logits.double(), 0)
    values, index = p.topk(min(5, p.numel()))
    assert [c for c, _ in report.top] == [labels[i] for i in index.tolist()]
    np.testing.assert_allclose([q for _, q in report.top], values.numpy(), rtol=1e-12)
    assert report.layers == ["input", *outputs] and len(report.images) == len(outputs) + 1
    assert all(src.startswith("data:image/png;base64,") for src in report.images)
    assert "http://" not in text and "https://" not in text and "<script" not in text


FAMILIES = ["lenet5", "lenet1989", "caffe_lenet", "cnn", "googlenet", "alexnet", "zfnet", "vgg11", "nin", "resnet18"]


def test_every_family_of_models_is_a_test_case():
    assert {name.rstrip("0123456789") for name in MODELS} == {name.rstrip("0123456789") for name in FAMILIES}


@pytest.mark.parametrize("name", FAMILIES)
def test_explain_every_architecture_at_its_input_size(tmp_path, capsys, name):
    model = make_checkpoint(tmp_path / "best.pt", name)
    size, channels = model.input_size[-1], model.input_size[0]
    start = time.perf_counter()
    status, out, err = run(capsys, "explain", "--from", tmp_path / "best.pt", "--input-index", 4,
                           "--out", tmp_path / "e.html")
    seconds = time.perf_counter() - start
    assert (status, err) == (0, ""), err
    assert out.startswith(f"wrote {tmp_path / 'e.html'}") and out.count("\n") == 1
    text = (tmp_path / "e.html").read_text("utf8")
    check_report(text, model, make_dataset("digits", "test", size, channels)[4][0], [str(d) for d in range(10)])
    MEASURED[name] = {"html KiB": round(len(text.encode()) / 1024), "seconds": round(seconds, 1)}
    assert len(text.encode()) < 2_000_000                                # at most 64 maps of 32x32 a layer


def test_trained_checkpoint_from_the_command_line_with_a_picture(tmp_path, capsys):
    """`cnnref train` (a tiny run) then `cnnref explain --image` on a PNG of a test digit."""
    status, _, err = run(capsys, "train", "--model", "lenet5", "--dataset", "digits-5-9", "--epochs", 1,
                         "--per-class", 5, "--val-fraction", 0, "--device", "cpu", "--quiet",
                         "--out", tmp_path / "run")
    assert status == 0, err
    raw, _ = load_digits("test", classes=range(5, 10))
    picture = (255 - np.kron(raw[0, 0], np.ones((6, 6))) * 255).round().astype(np.uint8)   # dark on white
    save(picture, tmp_path / "digit.png")
    status, out, err = run(capsys, "explain", "--from", tmp_path / "run" / "best.pt", "--image",
                           tmp_path / "digit.png", "--out", tmp_path / "d.html")
    assert (status, err) == (0, ""), err
    loaded = load_model(tmp_path / "run" / "best.pt")
    assert loaded.labels == ["5", "6", "7", "8", "9"] and loaded.dataset == "digits-5-9"
    x = load_digit(tmp_path / "digit.png")
    check_report((tmp_path / "d.html").read_text("utf8"), loaded.model, x, loaded.labels)
    e, _ = explain_checkpoint(tmp_path / "run" / "best.pt", image=tmp_path / "digit.png")
    assert f"predicts {e.top(1)[0][0]} " in out


@pytest.fixture(scope="module")
def lenet_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lenet")
    make_checkpoint(folder / "best.pt", "lenet5")
    return folder / "best.pt"


class Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


@pytest.fixture
def bad_checkpoints(tmp_path):
    """name -> (path, words of the message)."""
    state = get_model("lenet5").state_dict()
    torch.save(state, tmp_path / "state_dict.pt")
    torch.save({"format": CHECKPOINT_FORMAT, "model_name": "lenet5", "num_classes": 10,
                "model": get_model("caffe_lenet").state_dict()}, tmp_path / "other.pt")
    torch.save({"format": CHECKPOINT_FORMAT, "model_name": "resnet9000", "num_classes": 10, "model": state},
               tmp_path / "unknown.pt")
    torch.save({"model": {"c1.weight": Payload(tmp_path / "marker")}}, tmp_path / "evil.pt")
    (tmp_path / "garbage.pt").write_bytes(b"\x80\x04garbage" * 10)
    return {
        "a state dict, not a checkpoint": (tmp_path / "state_dict.pt", "is not a cnnref checkpoint"),
        "weights of another model": (tmp_path / "other.pt", "do not fit lenet5 with 10 classes"),
        "unknown architecture": (tmp_path / "unknown.pt", "names the architecture 'resnet9000'"),
        "malicious pickle": (tmp_path / "evil.pt", "refusing to unpickle"),
        "not a checkpoint file": (tmp_path / "garbage.pt", "is not a readable checkpoint"),
        "missing": (tmp_path / "none.pt", "no checkpoint at"),
    }


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")     # the garbage file starts like protocol 4
def test_bad_checkpoints_end_with_one_line(tmp_path, capsys, bad_checkpoints):
    for name, (path, words) in bad_checkpoints.items():
        status, out, err = run(capsys, "explain", "--from", path, "--input-index", 0, "--out", tmp_path / "x.html")
        assert status == 1 and out == "", name
        assert err.startswith("cnnref explain: error: ") and err.count("\n") == 1 and words in err, (name, err)
        assert not (tmp_path / "x.html").exists()
    assert not (tmp_path / "marker").exists()                            # the payload never ran


def test_bad_pictures_end_with_one_line(tmp_path, capsys, lenet_checkpoint, bad_pictures):
    for name, (path, words) in bad_pictures.items():
        status, out, err = run(capsys, "explain", "--from", lenet_checkpoint, "--image", path,
                               "--out", tmp_path / "x.html")
        assert status == 1 and out == "", name
        assert err.startswith("cnnref explain: error: ") and err.count("\n") == 1 and words in err, (name, err)
        assert not (tmp_path / "x.html").exists()


def test_bad_options(tmp_path, capsys, lenet_checkpoint):
    out = tmp_path / "x.html"
    cases = [
        (["--input-index", 450], 1, "input index must be in 0..449"),
        (["--input-index", -1], 2, "argument --input-index: expected an int >= 0"),
        (["--input-index", "two"], 2, "argument --input-index"),
        (["--input-index", 1, "--image", "a.png"], 2, "not allowed with argument"),
        ([], 2, "one of the arguments --image --input-index is required"),
        (["--input-index", 0, "--invert", "maybe"], 2, "argument --invert"),
    ]
    for extra, code, words in cases:
        status, _, err = run(capsys, "explain", "--from", lenet_checkpoint, *extra, "--out", out)
        assert status == code and words in err and err.count("\n") == 1, (extra, err)
        assert not out.exists()


def test_nothing_saved_is_overwritten(tmp_path, capsys, lenet_checkpoint):
    out = tmp_path / "mine.html"
    out.write_text("my notes")
    status, _, err = run(capsys, "explain", "--from", lenet_checkpoint, "--input-index", 0, "--out", out)
    assert status == 1 and "exists" in err and "--overwrite" in err and out.read_text() == "my notes"
    status, _, err = run(capsys, "explain", "--from", lenet_checkpoint, "--input-index", 0, "--out", out, "--overwrite")
    assert status == 0 and out.read_text().startswith("<!DOCTYPE html>")
    before = lenet_checkpoint.read_bytes()
    for target in (lenet_checkpoint, lenet_checkpoint.parent / ".." / lenet_checkpoint.parent.name / "best.pt"):
        status, _, err = run(capsys, "explain", "--from", lenet_checkpoint, "--input-index", 0, "--out", target,
                             "--overwrite")
        assert status == 1 and "is the --from file" in err
    link = tmp_path / "link.pt"
    link.symlink_to(lenet_checkpoint)
    status, _, err = run(capsys, "explain", "--from", link, "--input-index", 0, "--out", lenet_checkpoint, "--overwrite")
    assert status == 1 and "is the --from file" in err
    assert lenet_checkpoint.read_bytes() == before
    picture = save(np.kron(np.eye(4), np.ones((4, 4))).astype(np.uint8) * 255, tmp_path / "p.png")
    status, _, err = run(capsys, "explain", "--from", lenet_checkpoint, "--image", picture, "--out", picture, "--overwrite")
    assert status == 1 and "is the --image file" in err
    status, _, err = run(capsys, "explain", "--from", lenet_checkpoint, "--input-index", 0, "--out", tmp_path)
    assert status == 1 and "is a folder" in err


def test_write_html_never_replaces_a_file_that_appears(tmp_path, monkeypatch):
    out = tmp_path / "r.html"
    import os

    real_link = os.link

    def link_after_someone_else_wrote(src, dst):
        pathlib.Path(dst).write_text("theirs")                           # appears between the check and the link
        return real_link(src, dst)

    monkeypatch.setattr(os, "link", link_after_someone_else_wrote)
    with pytest.raises(FileExistsError):
        write_html("<p>mine</p>", out)
    assert out.read_text() == "theirs" and list(tmp_path.iterdir()) == [out]


def test_activation_images_are_bounded():
    uri, width, note = activation_image(torch.randn(512, 224, 224))
    assert width == 8 * MAP_SIDE + 7 and f"the first {MAX_MAPS} of 512 maps" in note
    assert len(uri) < 200_000
    uri, width, note = activation_image(torch.randn(4096))
    assert width == 64 and note == ""


def test_cli_in_a_fresh_process_prints_no_traceback(tmp_path, lenet_checkpoint):
    (tmp_path / "x.png").write_text("text")
    result = subprocess.run([sys.executable, "-m", "cnnref", "explain", "--from", str(lenet_checkpoint), "--image",
                             str(tmp_path / "x.png"), "--out", str(tmp_path / "x.html")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "not a picture" in result.stderr


# --------------------------------------------------------------------------- the HTML in Chromium

def explain_reports(folder: pathlib.Path, capsys, lenet_checkpoint) -> list[pathlib.Path]:
    make_checkpoint(folder / "g.pt", "googlenet")
    reports = []
    for name, path in (("lenet5", lenet_checkpoint), ("googlenet", folder / "g.pt")):
        status, _, err = run(capsys, "explain", "--from", path, "--input-index", 2, "--out", folder / f"{name}.html")
        assert status == 0, err
        reports.append(folder / f"{name}.html")
    return reports


@pytest.mark.browser
def test_report_opens_from_file_without_network_or_errors(tmp_path, capsys, lenet_checkpoint, chromium):
    reports = explain_reports(tmp_path, capsys, lenet_checkpoint)

    def visit(report: pathlib.Path):
        page = chromium.new_page()
        requests, errors = [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(report.as_uri(), wait_until="load")
            images = page.eval_on_selector_all("img", "els => els.map(e => e.complete && e.naturalWidth > 0)")
            rows = page.locator("table.layers tr[data-layer]").count()
            return requests, errors, images, rows, page.content()
        finally:
            page.close()

    for report in reports:
        requests, errors, images, rows, content = visit(report)
        assert images and all(images), report.name
        assert errors == [], report.name
        assert {urllib.parse.urlsplit(u).scheme for u in requests} <= {"file", "data"}
        assert [u for u in requests if u.startswith("file:")] == [report.as_uri()]
        assert rows == len(Report(content).rows) > 0
