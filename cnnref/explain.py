"""Look inside a model: every layer's output for one input, the layer table, the top classes.

`explain` runs the model once on one input with a forward hook on each of its children (the
layers ``named_children`` lists) and returns an `Explanation`: the activations, the logits,
the layer table of `cnnref.summary` (name, type, output shape, parameters, multiply-adds) and
the shapes on the edges between the layers. The table comes from a copy of the model on the
``meta`` device (shapes only, no arithmetic), so a big network costs one real forward pass.

`load_model` rebuilds the model of a cnnref checkpoint (`cnnref.checkpoint`, loaded with
``weights_only=True``), and `explain_checkpoint` explains it on a picture file or on an example
of its test set; the ``cnnref explain`` command writes the result as one HTML file
(`cnnref.explain_html`), and the "Look inside LeNet-5" page runs the same network in the browser.

Examples:
    >>> import torch
    >>> from cnnref.models import lenet5
    >>> torch.manual_seed(0) and None
    >>> e = explain(lenet5(), torch.zeros(1, 32, 32))
    >>> list(e.activations)[:4], tuple(e.activations["c1"].shape)
    (['c1', 'tanh1', 's2', 'c3'], (6, 28, 28))
    >>> e.edges[:2]
    [('input', 'c1', (1, 32, 32)), ('c1', 'tanh1', (6, 28, 28))]
    >>> e.table.row("c1").params, len(e.top(5))
    (156, 5)
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from torch import nn

from cnnref.checkpoint import CHECKPOINT_FORMAT, CheckpointError, load_checkpoint
from cnnref.data import DATASETS, make_dataset
from cnnref.summary import ModelSummary, summary

__all__ = ["Explanation", "explain", "meta_copy", "LoadedModel", "load_model", "explain_checkpoint"]


@dataclass
class Explanation:
    """What one input does inside a model; built by `explain`.

    Attributes:
        input: the input as the model saw it, ``(C, H, W)``.
        activations: child name -> its output for this input, without the batch dimension,
            in the order the forward pass called the children.
        logits: the model's output, ``(num_classes,)``.
        table: `cnnref.summary.ModelSummary` of the children (batch size 1).
        labels: a name for each class (the digit it stands for, as a string).
        source: where the input came from, in words.
    """

    input: torch.Tensor
    activations: dict[str, torch.Tensor]
    logits: torch.Tensor
    table: ModelSummary
    labels: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def probabilities(self) -> torch.Tensor:
        """Softmax of the logits, ``(num_classes,)``."""
        return torch.softmax(self.logits.double(), dim=0)

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most probable classes, ``[(label, probability), ...]``, most probable first."""
        p = self.probabilities
        values, index = p.topk(min(k, p.numel()))
        return [(self.labels[i] if i < len(self.labels) else str(i), float(v)) for v, i in zip(values, index.tolist())]

    @property
    def edges(self) -> list[tuple[str, str, tuple[int, ...]]]:
        """``(from, to, shape)`` for each edge of the chain input -> children: the shape of what
        flows along it (the output of ``from``, without the batch dimension)."""
        names = ["input", *self.activations]
        shapes = [tuple(self.input.shape), *(tuple(a.shape) for a in self.activations.values())]
        return [(a, b, s) for a, b, s in zip(names, names[1:], shapes)]


def meta_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose parameters and buffers live on the ``meta`` device: the same
    layers and shapes, no memory for the values, no arithmetic in a forward pass.

    Examples:
        >>> net = nn.Linear(4096, 4096)
        >>> twin = meta_copy(net)
        >>> twin.weight.device.type, tuple(twin.weight.shape), net.weight.device.type
        ('meta', (4096, 4096), 'cpu')
    """
    memo: dict[int, Any] = {}
    for p in model.parameters():
        memo[id(p)] = nn.Parameter(torch.empty_like(p, device="meta"), requires_grad=p.requires_grad)
    for b in model.buffers():
        memo[id(b)] = torch.empty_like(b, device="meta")
    return copy.deepcopy(model, memo)


def _table(model: nn.Module, input_size: tuple[int, ...]) -> ModelSummary:
    try:
        return summary(meta_copy(model), input_size)
    except Exception:  # an operation without a meta kernel: count on the real model (a second pass)
        return summary(model, input_size)


def explain(model: nn.Module, x: torch.Tensor, labels: Sequence[str] | None = None, source: str = "") -> Explanation:
    """Run ``model`` once on one input and keep every child's output.

    The model runs in eval mode without gradients (and is left in the mode it was in); each
    output is copied as it is produced, since an in-place ReLU that follows would change it.

    Args:
        model: a module; its children are the layers shown (GoogLeNet's Inception modules are
            one layer each).
        x: one input, ``(C, H, W)`` or ``(1, C, H, W)``; cast to the model's dtype.
        labels: a name per class; default ``"0"``, ``"1"``, ...
        source: where the input came from, in words (kept for reports).

    Returns:
        An `Explanation`.

    Raises:
        TypeError: ``x`` is not a floating-point tensor.
        ValueError: ``x`` is not one input, holds NaN or infinity, or does not fit the model.
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"explain: x must be a floating-point tensor (C, H, W), got "
                        f"{type(x).__name__ if not isinstance(x, torch.Tensor) else x.dtype}")
    if x.dim() == 4 and x.shape[0] == 1:
        x = x[0]
    if x.dim() != 3:
        raise ValueError(f"explain: x has shape {tuple(x.shape)}, expected one input (C, H, W) or (1, C, H, W)")
    if not torch.isfinite(x).all():
        raise ValueError("explain: x holds NaN or infinity")
    expected = getattr(model, "input_size", None)
    if expected is not None and tuple(x.shape) != tuple(expected):
        raise ValueError(f"explain: x has shape {tuple(x.shape)}, expected {tuple(expected)} for this model")
    param = next(iter(model.parameters()), None)
    if param is not None:
        x = x.to(device=param.device, dtype=param.dtype)

    activations: dict[str, torch.Tensor] = {}

    def keep(name):
        def hook(module, inputs, output):
            out = output[0] if isinstance(output, (tuple, list)) else output
            activations[name] = out.detach()[0].clone()  # (C, H, W) or (F,): an in-place ReLU comes next
        return hook

    handles = [child.register_forward_hook(keep(name)) for name, child in model.named_children()]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            out = model(x[None])                                           # (1, num_classes)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    logits = (out[0] if isinstance(out, (tuple, list)) else out).detach()[0]  # (num_classes,)
    table = _table(model, tuple(x.shape))
    names = list(labels) if labels is not None else [str(i) for i in range(logits.numel())]
    return Explanation(x.detach().cpu(), {k: v.cpu() for k, v in activations.items()}, logits.cpu(), table,
                       names, source)


# --------------------------------------------------------------------------- checkpoints

@dataclass
class LoadedModel:
    """A model rebuilt from a cnnref checkpoint, in eval mode on the CPU.

    Attributes:
        model: the network with the checkpoint's weights.
        name: its architecture (a key of `cnnref.models.MODELS`).
        dataset: the data set it was trained on (a key of `cnnref.data.DATASETS`), or None.
        labels: the digit each output stands for, as a string (digits-5-9 starts at ``"5"``).
        epoch: epochs it was trained for, or None.
    """

    model: nn.Module
    name: str
    dataset: str | None
    labels: list[str]
    epoch: int | None


def load_model(path: str | os.PathLike) -> LoadedModel:
    """The model saved in a cnnref checkpoint (``best.pt`` or ``last.pt`` of ``cnnref train``).

    The file is read with ``weights_only=True`` (`cnnref.checkpoint.load_checkpoint`: a pickle
    that would run code is refused). The architecture is built on the ``meta`` device and takes
    the saved tensors as its parameters, so a VGG costs no random initialisation.

    Raises:
        CheckpointError: the file is missing, unreadable or unsafe, is not a cnnref checkpoint,
            names an unknown architecture, or holds weights that do not fit it.
    """
    from cnnref.models import MODELS, get_model

    ckpt = load_checkpoint(path)
    where = f"explain: '{path}'"
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{where} is not a cnnref checkpoint (no format {CHECKPOINT_FORMAT!r}); "
                              "give a best.pt or last.pt written by cnnref train or finetune")
    name, classes, weights = ckpt.get("model_name"), ckpt.get("num_classes"), ckpt.get("model")
    if name not in MODELS:
        raise CheckpointError(f"{where} names the architecture {name!r}, expected one of {', '.join(sorted(MODELS))}")
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise CheckpointError(f"{where}: num_classes is {classes!r}, expected an int >= 1")
    if not isinstance(weights, dict) or not weights or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise CheckpointError(f"{where}: model is not a dict of tensors")
    with torch.device("meta"):
        model = get_model(name, num_classes=classes)
    own = model.state_dict()
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    wrong = [f"{k} {tuple(weights[k].shape)} (expected {tuple(v.shape)})" for k, v in own.items()
             if k in weights and weights[k].shape != v.shape]
    if missing or unexpected or wrong:
        parts = [f"missing {', '.join(missing[:3])}" if missing else "",
                 f"unexpected {', '.join(unexpected[:3])}" if unexpected else "",
                 f"wrong shapes: {', '.join(wrong[:3])}" if wrong else ""]
        raise CheckpointError(f"{where}: its weights do not fit {name} with {classes} classes: "
                              + "; ".join(p for p in parts if p))
    model.load_state_dict({k: v.float() for k, v in weights.items()}, assign=True)
    if any(t.is_meta for t in (*model.parameters(), *model.buffers())):  # a buffer the state dict lacks
        model = get_model(name, num_classes=classes)
        model.load_state_dict(weights)
    config = ckpt.get("config") if isinstance(ckpt.get("config"), dict) else {}
    dataset = config.get("dataset") if config.get("dataset") in DATASETS else None
    digits = DATASETS[dataset] if dataset is not None and len(DATASETS[dataset]) == classes else range(classes)
    epoch = ckpt.get("epoch") if isinstance(ckpt.get("epoch"), int) else None
    return LoadedModel(model.eval(), name, dataset, [str(d) for d in digits], epoch)


def explain_checkpoint(path: str | os.PathLike, image: str | os.PathLike | None = None,
                       index: int | None = None, invert: str = "auto") -> tuple[Explanation, LoadedModel]:
    """Explain the model of a checkpoint on a picture file (``image``) or on example ``index``
    of the test split of the data set it was trained on.

    A picture is prepared as the training images were (`cnnref.images.load_digit`); a test
    example is `cnnref.data.make_dataset`'s own.

    Raises:
        CheckpointError: see `load_model`.
        ValueError: neither or both of ``image`` and ``index``; a bad picture; ``index`` out of
            the test split.
    """
    from cnnref.images import load_digit

    if (image is None) == (index is None):
        raise ValueError("explain_checkpoint: give exactly one of image and index")
    loaded = load_model(path)
    channels, size = loaded.model.input_size[0], loaded.model.input_size[-1]
    if image is not None:
        x = load_digit(image, size, channels, invert)
        source = f"{os.fspath(image)}"
    else:
        if loaded.dataset is None:
            raise ValueError(f"explain: '{path}' does not say which data set it was trained on; use --image")
        test = make_dataset(loaded.dataset, "test", size, channels)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(test):
            raise ValueError(f"explain: input index must be in 0..{len(test) - 1} (the test split of "
                             f"{loaded.dataset}), got {index!r}")
        x, y = test[index]
        source = f"test example {index} of {loaded.dataset} (label {loaded.labels[int(y)]})"
    return explain(loaded.model, x, loaded.labels, source), loaded
