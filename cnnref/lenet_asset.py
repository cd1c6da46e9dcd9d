"""The LeNet-5 of the "Look inside LeNet-5" page: trained on the digits, written for the browser.

`trained_lenet5` trains `cnnref.models.lenet5` on the digits with `cnnref.train.fit` (seeded,
on the CPU, a few seconds). The page calls it and prints what it got; the build hook
``hooks/lenet_weights.py`` calls it again after the pages are built and, thanks to
`cnnref.experiments.once`, gets the same model object, which `write_asset` writes into the
site as ``assets/lenet5/``:

- ``weights.bin``: every tensor of the state dict, float32 little-endian, one after the other;
- ``digits-test.bin``: the test digits of `cnnref.data.load_digits` as 8x8 counts 0..16
  (uint8), which the page's example button loads;
- ``model.json``: the layers (type and arguments), each tensor's name, shape and offset, the
  standardisation constants, the test labels and the training record.

`read_asset` loads the files back into a torch LeNet-5 (the tests compare the page with it).

Examples:
    >>> import torch
    >>> from cnnref.models import lenet5
    >>> net = lenet5()
    >>> m = manifest(net)
    >>> [layer["name"] for layer in m["layers"]][:3], m["tensors"][0]
    (['c1', 'tanh1', 's2'], {'name': 'c1.weight', 'shape': [6, 1, 5, 5], 'offset': 0})
    >>> len(weights_bytes(net)) == 4 * sum(p.numel() for p in net.parameters())
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cnnref.data import DIGITS_MEAN, DIGITS_STD, load_digits
from cnnref.experiments import once

__all__ = ["EPOCHS", "SEED", "ASSET_FORMAT", "PageModel", "trained_lenet5", "layer_spec", "manifest",
           "weights_bytes", "write_asset", "read_asset"]

EPOCHS = 12
"""Epochs of the page's training run (a few seconds on a CPU; the page prints the test accuracy)."""
SEED = 0
"""Seed of the page's training run (weights, batches, augmentation)."""
ASSET_FORMAT = "cnnref-lenet5-web-v1"


@dataclass
class PageModel:
    """The page's trained network: the model (eval mode, CPU), ``fit``'s metrics, and its
    ``best.pt`` checkpoint as a dict (the page feeds it to ``cnnref explain``)."""

    model: nn.Module
    metrics: dict[str, Any]
    checkpoint: dict[str, Any]


@once
def trained_lenet5() -> PageModel:
    """Train LeNet-5 on the digits: `EPOCHS` epochs, seed `SEED`, the defaults of
    `cnnref.config.TrainConfig` otherwise (Adam, cosine schedule, 2-pixel shifts), no
    validation split, on the CPU with one thread (a network this small gains nothing from more,
    and one thread gives the same sums on every machine). Called once per process
    (`cnnref.experiments.once`): the page and the build hook get the same object; treat it as
    read-only.
    """
    from cnnref.checkpoint import load_checkpoint
    from cnnref.config import TrainConfig
    from cnnref.timing import threads
    from cnnref.train import fit

    with tempfile.TemporaryDirectory() as folder, threads(1):
        cfg = TrainConfig(model="lenet5", dataset="digits", epochs=EPOCHS, seed=SEED, val_fraction=0.0,
                          device="cpu", out=folder, verbose=False, progress=False)
        run = fit(cfg)
        checkpoint = load_checkpoint(Path(folder) / "best.pt")
    return PageModel(run.model.cpu().eval(), run.metrics, checkpoint)


def layer_spec(name: str, layer: nn.Module) -> dict[str, Any]:
    """What the browser needs to run one layer: its type and arguments.

    Raises:
        ValueError: a layer the page's JavaScript does not implement.

    Examples:
        >>> layer_spec("c1", nn.Conv2d(1, 6, 5))
        {'name': 'c1', 'type': 'Conv2d', 'in_channels': 1, 'out_channels': 6, 'kernel_size': [5, 5], 'stride': [1, 1], 'padding': [0, 0]}
    """
    spec: dict[str, Any] = {"name": name, "type": type(layer).__name__}
    if isinstance(layer, nn.Conv2d):
        if layer.groups != 1 or layer.dilation != (1, 1) or layer.padding_mode != "zeros" or isinstance(layer.padding, str):
            raise ValueError(f"layer_spec: {name}: only plain convolutions (groups 1, dilation 1, numeric zero padding)")
        spec.update(in_channels=layer.in_channels, out_channels=layer.out_channels,
                    kernel_size=list(layer.kernel_size), stride=list(layer.stride), padding=list(layer.padding))
    elif isinstance(layer, nn.AvgPool2d):
        pair = [layer.kernel_size] * 2 if isinstance(layer.kernel_size, int) else list(layer.kernel_size)
        stride = layer.stride if layer.stride is not None else layer.kernel_size
        if layer.padding not in (0, (0, 0)) or layer.ceil_mode:
            raise ValueError(f"layer_spec: {name}: only average pooling without padding or ceil_mode")
        spec.update(kernel_size=pair, stride=[stride] * 2 if isinstance(stride, int) else list(stride))
    elif isinstance(layer, nn.Linear):
        spec.update(in_features=layer.in_features, out_features=layer.out_features)
    elif not isinstance(layer, (nn.Tanh, nn.Flatten)):
        raise ValueError(f"layer_spec: {name}: {type(layer).__name__} is not implemented in the page's JavaScript")
    return spec


def manifest(model: nn.Module, metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    """``model.json``: the layers, the tensors (name, shape, offset in floats) of
    ``weights.bin``, the input size, the standardisation, the test digits' file and labels."""
    tensors, offset = [], 0
    for key, value in model.state_dict().items():
        tensors.append({"name": key, "shape": list(value.shape), "offset": offset})
        offset += value.numel()
    _, labels = load_digits("test")
    record = {k: metrics[k] for k in ("test_accuracy", "epochs", "train_time_s", "parameters")} if metrics else {}
    return {
        "format": ASSET_FORMAT,
        "model": getattr(model, "name", type(model).__name__),
        "input_size": list(getattr(model, "input_size", ())),
        "mean": DIGITS_MEAN, "std": DIGITS_STD,
        "layers": [layer_spec(name, layer) for name, layer in model.named_children()],
        "tensors": tensors,
        "weights": {"file": "weights.bin", "dtype": "float32-le", "count": offset},
        "digits": {"file": "digits-test.bin", "dtype": "uint8", "shape": [int(labels.size), 8, 8],
                   "scale": 16, "labels": labels.tolist()},
        "training": {**record, "seed": SEED, "code": "cnnref.lenet_asset.trained_lenet5"},
    }


def weights_bytes(model: nn.Module) -> bytes:
    """Every tensor of ``model.state_dict()``, float32 little-endian, in order."""
    parts = [v.detach().cpu().to(torch.float32).numpy().astype("<f4").tobytes() for v in model.state_dict().values()]
    return b"".join(parts)


def write_asset(folder: str | os.PathLike, page: PageModel) -> dict[str, Path]:
    """Write ``model.json``, ``weights.bin`` and ``digits-test.bin`` into ``folder``.

    Returns:
        File name -> path written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = weights_bytes(page.model)
    meta = manifest(page.model, page.metrics)
    meta["weights"]["sha256"] = hashlib.sha256(weights).hexdigest()
    raw, _ = load_digits("test")                                   # (450, 1, 8, 8) in [0, 1]
    counts = np.rint(raw[:, 0] * 16).astype(np.uint8)              # the data set's counts 0..16
    files = {"weights.bin": weights, "digits-test.bin": counts.tobytes(),
             "model.json": json.dumps(meta, indent=1).encode("utf8")}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in files}


def read_asset(folder: str | os.PathLike) -> tuple[nn.Module, dict[str, Any], np.ndarray]:
    """The files of `write_asset` back as ``(lenet5 with those weights, manifest, digits)``;
    ``digits: (N, 8, 8)`` float64 in [0, 1].

    Raises:
        ValueError: the files are not this format, or do not fit LeNet-5.
    """
    from cnnref.models import lenet5

    folder = Path(folder)
    meta = json.loads((folder / "model.json").read_text("utf8"))
    if meta.get("format") != ASSET_FORMAT:
        raise ValueError(f"read_asset: {folder / 'model.json'} is not {ASSET_FORMAT}")
    flat = np.frombuffer((folder / "weights.bin").read_bytes(), dtype="<f4")
    if flat.size != meta["weights"]["count"]:
        raise ValueError(f"read_asset: weights.bin holds {flat.size} floats, model.json says {meta['weights']['count']}")
    state = {t["name"]: torch.from_numpy(flat[t["offset"]:t["offset"] + int(np.prod(t["shape"]))].reshape(t["shape"]).copy())
             for t in meta["tensors"]}
    model = lenet5(num_classes=state["output.bias"].numel())
    model.load_state_dict(state)
    shape = meta["digits"]["shape"]
    digits = np.frombuffer((folder / "digits-test.bin").read_bytes(), dtype=np.uint8).reshape(shape) / meta["digits"]["scale"]
    return model.eval(), meta, digits
