"""Inspecting a model: one row per layer with its output shape, parameters and multiply-adds.

The forward pass and the bookkeeping are torchinfo's (``torchinfo.summary``); this module
gives the view the site needs on top of it:

- rows for the children at any depth, with parameters *and* multiply-adds summed over each
  child's subtree (torchinfo's own table gives containers such as GoogLeNet's Inception
  modules no meaningful multiply-add count),
- the numbers as plain ints in a [`ModelSummary`][cnnref.summary.ModelSummary], for asserts, tables and figures,
- a compact text table.

Multiply-adds follow torchinfo's convention: a convolution costs one multiply-add per
weight and per bias for every output position, ``(C_in/groups * kH * kW + 1) * C_out *
H_out * W_out``; a linear layer costs one per weight and per bias, ``(in + 1) * out``.
Pooling, activations and normalization are not counted. The counts are for one input
(batch size 1).

Run it on a model built on the ``meta`` device to inspect a large network without memory
or compute: shapes flow through, nothing is calculated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from cnnref._args import integer

__all__ = ["LayerRow", "ModelSummary", "summary", "output_shapes", "count_parameters"]


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``model`` (each shared tensor counted once).

    Args:
        model: any module.
        trainable_only: count only parameters with ``requires_grad``.

    Examples:
        >>> count_parameters(nn.Conv2d(1, 20, 5))       # 20*1*5*5 weights + 20 biases
        520
        >>> lin = nn.Linear(3, 2); lin.bias.requires_grad_(False)
        Parameter containing:
        tensor(...)
        >>> count_parameters(lin, trainable_only=True)
        6
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@dataclass(frozen=True)
class LayerRow:
    """One row of a [`ModelSummary`][cnnref.summary.ModelSummary].

    Attributes:
        name: dotted path of the module in the model (``"conv1"``, ``"inception3a.branch5x5"``).
        type: class name (``"Conv2d"``).
        depth: 1 for the model's children, 2 for theirs, ...
        output_shape: shape of the module's output, batch included (a tuple of them for a
            module returning several tensors).
        params: parameters in the module and below it.
        trainable: ``"yes"``, ``"no"``, ``"partly"`` or ``"--"`` (no parameters).
        mult_adds: multiply-adds of the module and below it, for one forward pass.

    Examples:
        >>> LayerRow("fc", "Linear", 1, (1, 10), 850, "yes", 850).params
        850
    """

    name: str
    type: str
    depth: int
    output_shape: tuple
    params: int
    trainable: str
    mult_adds: int


@dataclass
class ModelSummary:
    """Per-layer rows and totals; ``str()`` gives a text table. Build it with [`summary`][cnnref.summary.summary].

    Examples:
        >>> s = summary(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 3)), (1, 4, 4))
        >>> s.total_params, s.mult_adds
        (47, 107)
    """

    input_shape: tuple
    rows: list[LayerRow] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    mult_adds: int = 0

    def row(self, name: str) -> LayerRow:
        """The row of the module called ``name``.

        Raises:
            KeyError: no row has that name (the message lists the names).
        """
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"ModelSummary.row: no layer named {name!r}; layers: {', '.join(r.name for r in self.rows)}")

    def __str__(self) -> str:
        header = ("layer", "type", "output shape", "params", "trainable", "mult-adds")
        lines = [(("  " * (r.depth - 1)) + r.name, r.type, _shape_str(r.output_shape),
                  f"{r.params:,}" if r.params else "--", r.trainable,
                  f"{r.mult_adds:,}" if r.mult_adds else "--") for r in self.rows]
        widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
                  for i, h in enumerate(header)]
        align = ["<", "<", "<", ">", "<", ">"]

        def fmt(cells):
            return "  ".join(f"{c:{a}{w}}" for c, a, w in zip(cells, align, widths)).rstrip()

        rule = "-" * len(fmt(header))
        out = [f"input {_shape_str(self.input_shape)}", rule, fmt(header), rule, *map(fmt, lines), rule,
               f"total params {self.total_params:,} (trainable {self.trainable_params:,}); "
               f"mult-adds {self.mult_adds:,}"]
        return "\n".join(out)


def _shape_str(shape) -> str:
    if shape and isinstance(shape[0], (tuple, list)):
        return ", ".join(_shape_str(s) for s in shape)
    return "(" + ", ".join(str(v) for v in shape) + ")"


def _device(model: nn.Module) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def summary(model: nn.Module, input_size: tuple[int, ...] | None = None, depth: int = 1,
            batch_size: int = 1) -> ModelSummary:
    """Summarize ``model`` for one forward pass on zeros of shape ``(batch_size, *input_size)``.

    The model runs in eval mode on the device its parameters are on (``meta`` works) and is
    left in the mode it was in.

    Args:
        model: any module; a ``cnnref.models`` model carries its ``input_size``.
        input_size: the input without the batch dimension, ``(C, H, W)``; defaults to
            ``model.input_size``.
        depth: show modules down to this depth (1: the model's children).
        batch_size: the batch of the dummy input (multiply-adds scale with it).

    Returns:
        A [`ModelSummary`][cnnref.summary.ModelSummary].

    Raises:
        ValueError: no ``input_size`` given and the model has none, or ``depth < 1``.

    Examples:
        >>> from cnnref.models import lenet5
        >>> s = summary(lenet5())
        >>> s.row("c1")
        LayerRow(name='c1', type='Conv2d', depth=1, output_shape=(1, 6, 28, 28), params=156, trainable='yes', mult_adds=122304)
        >>> s.total_params, s.mult_adds
        (61706, 423038)
    """
    import torchinfo

    if input_size is None:
        input_size = getattr(model, "input_size", None)
        if input_size is None:
            raise ValueError(f"summary: {type(model).__name__} has no input_size attribute; "
                             "pass input_size=(C, H, W)")
    depth = integer("summary", "depth", depth, minimum=1)
    x = torch.zeros(batch_size, *input_size, device=_device(model))  # (N, C, H, W)
    stats = torchinfo.summary(model, input_data=x, depth=depth, verbose=0)
    names = {id(m): name for name, m in model.named_modules()}
    infos = [info for info in stats.summary_list if info.depth >= 1]

    # (name, multiply-adds) of the leaves; a row's count is the sum over the leaves below it
    leaves = [(names.get(id(info.module), info.var_name), info.macs) for info in infos if info.is_leaf_layer]

    def below(name: str) -> int:
        return sum(macs for leaf, macs in leaves if leaf == name or leaf.startswith(name + "."))

    rows = []
    for info in infos:
        if info.depth > depth:
            continue
        module = info.module
        params = [p for p in module.parameters()]
        n_train = sum(p.numel() for p in params if p.requires_grad)
        n_all = sum(p.numel() for p in params)
        trainable = "--" if not n_all else "yes" if n_train == n_all else "no" if not n_train else "partly"
        name = names.get(id(module), info.var_name)
        rows.append(LayerRow(name=name, type=type(module).__name__,
                             depth=info.depth, output_shape=_as_shape(info.output_size), params=n_all,
                             trainable=trainable, mult_adds=below(name)))
    return ModelSummary(input_shape=tuple(x.shape), rows=rows,
                        total_params=count_parameters(model),
                        trainable_params=count_parameters(model, trainable_only=True),
                        mult_adds=sum(macs for _, macs in leaves))


def output_shapes(model: nn.Module, input_size: tuple[int, ...] | None = None,
                  names: tuple[str, ...] | None = None) -> dict[str, tuple]:
    """Output shape of each of the model's children for one input, without the batch dimension.

    Args:
        model: any module; a ``cnnref.models`` model carries its ``input_size``.
        input_size: the input ``(C, H, W)``; defaults to ``model.input_size``.
        names: keep only the children whose names start with one of these (``("conv", "pool")``).

    Returns:
        ``{name: shape}`` in the order the forward pass meets the children.

    Examples:
        >>> from cnnref.models import lenet5
        >>> output_shapes(lenet5(), names=("c", "s"))
        {'c1': (6, 28, 28), 's2': (6, 14, 14), 'c3': (16, 10, 10), 's4': (16, 5, 5), 'c5': (120, 1, 1)}
    """
    rows = summary(model, input_size).rows
    return {r.name: _without_batch(r.output_shape) for r in rows if names is None or r.name.startswith(tuple(names))}


def _without_batch(shape):
    if shape and isinstance(shape[0], (tuple, list)):
        return tuple(tuple(s[1:]) for s in shape)
    return tuple(shape[1:])


def _as_shape(size):
    if size and isinstance(size[0], (list, tuple)):
        return tuple(tuple(s) for s in size)
    return tuple(size)
