"""Output-size arithmetic for convolution, transposed convolution and pooling.

Every function mirrors the formula torch uses (``torch.nn.Conv2d``,
``torch.nn.ConvTranspose2d``, ``torch.nn.MaxPool2d`` docs) and refuses the
arguments torch refuses, with a ``ValueError`` that names the argument.

Sizes are ints or tuples with one entry per spatial dimension; an int argument
is used for every dimension, and the result is a tuple when any argument is one.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

from cnnref._args import IntOrTuple, integer

__all__ = [
    "conv_output_size",
    "conv_transpose_output_size",
    "pool_output_size",
    "receptive_field",
    "ReceptiveField",
]


# the smallest value torch allows for each argument
_MINIMUM = {"size": 1, "kernel_size": 1, "stride": 1, "dilation": 1, "padding": 0, "output_padding": 0}


def _broadcast(func: str, **args) -> tuple[int, bool, dict[str, tuple[int, ...]]]:
    """Turn each argument into a tuple of the same length (the number of spatial dims), and
    refuse a value below its `_MINIMUM`.

    Returns (ndim, any_tuple, {name: tuple}).
    """
    lengths = {name: len(v) for name, v in args.items() if isinstance(v, (tuple, list))}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{n} has {k}" for n, k in lengths.items())
        raise ValueError(f"{func}: tuple arguments must have one entry per spatial dim, but {desc}")
    ndim = next(iter(lengths.values()), 1)
    if ndim == 0:
        raise ValueError(f"{func}: tuple arguments must not be empty")
    out = {}
    for name, v in args.items():
        items = v if isinstance(v, (tuple, list)) else (v,) * ndim
        out[name] = tuple(integer(func, name, x) for x in items)
        if any(x < _MINIMUM[name] for x in out[name]):
            what = "positive" if _MINIMUM[name] else "non-negative"
            raise ValueError(f"{func}: {name} must be {what}, got {_fmt(out[name])}")
    return ndim, bool(lengths), out


def _fmt(values: tuple[int, ...]):
    return values[0] if len(values) == 1 else values


def _result(values: list[int], as_tuple: bool):
    return tuple(values) if as_tuple else values[0]


def conv_output_size(
    size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: IntOrTuple | str = 0,
    dilation: IntOrTuple = 1,
) -> int | tuple[int, ...]:
    """Spatial output size of ``torch.nn.Conv1d/2d/3d``.

    ``out = floor((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1``

    ``padding="valid"`` means no padding; ``padding="same"`` keeps the size
    (torch allows it only with stride 1).

    Args:
        size: input length (Conv1d), ``(H, W)`` (Conv2d) or ``(D, H, W)``.
        kernel_size: size of the convolving kernel.
        stride: step of the sliding window.
        padding: zeros added on both sides, or ``"same"`` / ``"valid"``.
        dilation: spacing between kernel elements.

    Returns:
        The output size, an int or a tuple like the arguments.

    Raises:
        ValueError: a size, kernel, stride or dilation below 1, a negative
            padding, ``"same"`` with a stride, or a kernel larger than the
            padded input (an empty output).

    Examples:
        >>> conv_output_size((7, 3), (2, 3))          # the notes' torch.nn.Conv2d(1, 8, (2, 3))
        (6, 1)
        >>> conv_output_size(32, 3, stride=2, padding=1)
        16
        >>> conv_output_size((28, 28), 5, padding="same")
        (28, 28)
    """
    func = "conv_output_size"
    mode = None
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"{func}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
        mode, padding = padding, 0
    ndim, as_tuple, a = _broadcast(
        func, size=size, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation
    )
    if mode == "same":
        if any(s != 1 for s in a["stride"]):
            raise ValueError(f"{func}: padding='same' is not supported for strided convolutions "
                             f"(stride={_fmt(a['stride'])})")
        return _result(list(a["size"]), as_tuple)
    out = []
    for n, k, s, p, d in zip(a["size"], a["kernel_size"], a["stride"], a["padding"], a["dilation"]):
        effective = d * (k - 1) + 1
        if n + 2 * p < effective:
            raise ValueError(
                f"{func}: kernel_size {_fmt(a['kernel_size'])} (dilated to {effective}) is larger than "
                f"the padded input size {n + 2 * p} (size {n} + 2*padding {p})"
            )
        out.append((n + 2 * p - effective) // s + 1)
    return _result(out, as_tuple)


def conv_transpose_output_size(
    size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> int | tuple[int, ...]:
    """Spatial output size of ``torch.nn.ConvTranspose1d/2d/3d``.

    ``out = (size - 1)*stride - 2*padding + dilation*(kernel_size - 1) + output_padding + 1``

    A transposed convolution maps a size back to a size that the convolution
    with the same arguments would map to ``size``; ``output_padding`` picks one
    of the several sizes that a strided convolution maps to the same output.

    Raises:
        ValueError: sizes, kernel, stride or dilation below 1, negative padding,
            ``output_padding >= max(stride, dilation)`` (torch's rule), or an
            output size below 1.

    Examples:
        >>> conv_transpose_output_size(16, 3, stride=2, padding=1, output_padding=1)
        32
        >>> conv_transpose_output_size((6, 1), (2, 3))  # undoes conv_output_size((7, 3), (2, 3))
        (7, 3)
    """
    func = "conv_transpose_output_size"
    if isinstance(padding, str):
        raise ValueError(f"{func}: padding must be an int or a tuple for transposed convolutions, got {padding!r}")
    ndim, as_tuple, a = _broadcast(
        func, size=size, kernel_size=kernel_size, stride=stride, padding=padding,
        output_padding=output_padding, dilation=dilation,
    )
    out = []
    for n, k, s, p, op, d in zip(a["size"], a["kernel_size"], a["stride"], a["padding"],
                                 a["output_padding"], a["dilation"]):
        if op >= max(s, d):
            raise ValueError(
                f"{func}: output_padding must be smaller than either stride or dilation, "
                f"got output_padding={op}, stride={s}, dilation={d}"
            )
        o = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        if o < 1:
            raise ValueError(f"{func}: output size would be {o} for size {n}; "
                             f"padding {p} is too large for kernel_size {k} and stride {s}")
        out.append(o)
    return _result(out, as_tuple)


def pool_output_size(
    size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
) -> int | tuple[int, ...]:
    """Spatial output size of ``torch.nn.MaxPool1d/2d`` and ``AvgPool1d/2d``.

    ``out = floor_or_ceil((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1``

    ``stride`` defaults to ``kernel_size``. With ``ceil_mode=True`` the last
    window may hang over the right edge, but torch drops it when it would start
    inside the right padding only.

    Raises:
        ValueError: sizes, kernel, stride or dilation below 1, padding negative
            or more than half the kernel (torch's rule), or an empty output.

    Examples:
        >>> pool_output_size((4, 4), 2)                 # the notes' 2x2 max pooling
        (2, 2)
        >>> pool_output_size(5, 2), pool_output_size(5, 2, ceil_mode=True)
        (2, 3)
    """
    func = "pool_output_size"
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        stride = kernel_size
    ndim, as_tuple, a = _broadcast(
        func, size=size, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation
    )
    out = []
    for n, k, s, p, d in zip(a["size"], a["kernel_size"], a["stride"], a["padding"], a["dilation"]):
        if p > k // 2:
            raise ValueError(f"{func}: padding should be at most half of kernel_size, got padding={p}, kernel_size={k}")
        span = n + 2 * p - d * (k - 1) - 1
        o = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1  # the last window would start in the right padding: torch drops it
        if o < 1:
            raise ValueError(f"{func}: output size would be {o} for size {n}, kernel_size {k}, "
                             f"dilation {d}, padding {p}: the window is larger than the padded input")
        out.append(o)
    return _result(out, as_tuple)


class ReceptiveField(NamedTuple):
    """Receptive field ``size`` of one unit after a layer, and its ``jump``: the
    distance in input pixels between two neighbouring units of that layer."""

    size: int
    jump: int


def receptive_field(layers: Sequence[Sequence[int]]) -> list[ReceptiveField]:
    """Receptive field size and jump after each layer of a stack (one spatial dim).

    Each layer is ``(kernel, stride)`` or ``(kernel, stride, dilation)``; pooling
    layers count like convolutions. With ``r_0 = 1`` and ``j_0 = 1``:
    ``r_l = r_{l-1} + dilation*(kernel - 1)*j_{l-1}`` and ``j_l = j_{l-1}*stride``.

    Examples:
        >>> receptive_field([(3, 1), (3, 1)])            # two 3x3 convs see 5x5
        [ReceptiveField(size=3, jump=1), ReceptiveField(size=5, jump=1)]
        >>> receptive_field([(11, 4), (3, 2)])[-1]       # AlexNet conv1 then pool1
        ReceptiveField(size=19, jump=8)
    """
    func = "receptive_field"
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"{func}: layers must be a sequence of (kernel, stride[, dilation]) tuples, got {layers!r}")
    size, jump = 1, 1
    fields = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) not in (2, 3):
            raise ValueError(f"{func}: layers[{i}] must be (kernel, stride) or (kernel, stride, dilation), got {layer!r}")
        k, s, *rest = (integer(func, f"layers[{i}]", v) for v in layer)
        d = rest[0] if rest else 1
        for name, v in (("kernel", k), ("stride", s), ("dilation", d)):
            if v < 1:
                raise ValueError(f"{func}: layers[{i}] {name} must be positive, got {v}")
        size += d * (k - 1) * jump
        jump *= s
        fields.append(ReceptiveField(size, jump))
    return fields
