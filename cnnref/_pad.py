"""Padding, as ``torch.nn.functional.pad``, and its gradient. Re-exported by `cnnref.functional`."""

from __future__ import annotations

import numpy as np

from cnnref import _args
from cnnref._args import ArrayLike, Sequence

__all__ = ["PAD_MODES", "pad", "pad_backward"]

PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_pairs(func, x, pad):
    """torch's flat ``pad`` (last dim first: left, right, top, bottom, ...) -> {axis: (before, after)}."""
    if not isinstance(pad, (tuple, list)) or len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"{func}: pad must be a tuple of even length, at most 2*input.ndim = {2 * x.ndim}, "
                         f"(left, right[, top, bottom, ...]), got {pad!r}")
    values = [_args.integer(func, "pad", v) for v in pad]
    if any(v < 0 for v in values):
        raise ValueError(f"{func}: pad must be non-negative here (cnnref does not crop), got {pad!r}")
    return {x.ndim - 1 - i: (values[2 * i], values[2 * i + 1]) for i in range(len(values) // 2)}


def _source_index(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each position of a padded axis, the input position it copies (reflect/replicate/circular)."""
    i = np.arange(-before, size + after)
    if mode == "reflect":                       # ... 2 1 | 0 1 2 3 | 2 1 ...
        i = np.abs(i)
        return np.where(i >= size, 2 * (size - 1) - i, i)
    if mode == "replicate":                     # ... 0 0 | 0 1 2 3 | 3 3 ...
        return np.clip(i, 0, size - 1)
    return i % size                             # circular: ... 2 3 | 0 1 2 3 | 0 1 ...


def pad(input: ArrayLike, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> np.ndarray:
    """Pad the last dims of an array, as ``torch.nn.functional.pad``.

    ``pad`` lists the amounts from the last dim backwards: ``(left, right)`` pads the last dim,
    ``(left, right, top, bottom)`` the last two. Modes: ``"constant"`` (``value``, default 0),
    ``"reflect"`` (mirror without repeating the edge; each amount below that dim's size),
    ``"replicate"`` (repeat the edge) and ``"circular"`` (wrap around; amounts at most the size).
    These are the ``padding_mode`` values ``zeros`` / ``reflect`` / ``replicate`` / ``circular``
    of `cnnref.nn.Conv2d`.

    Args:
        input: the array, any number of dims.
        pad: ``(left, right, top, bottom, ...)``, non-negative ints.
        mode: one of ``"constant"``, ``"reflect"``, ``"replicate"``, ``"circular"``.
        value: fill value for ``"constant"``.

    Returns:
        The padded array, ``input``'s dtype.

    Raises:
        TypeError: an integer array.
        ValueError: an odd-length or too long ``pad``, a negative amount, an unknown mode, or
            an amount too large for ``reflect``/``circular``.

    Examples:
        >>> x = np.array([[1., 2., 3.]])
        >>> pad(x, (2, 1), mode="reflect"), pad(x, (1, 1), mode="replicate"), pad(x, (1, 2), mode="circular")
        (array([[3., 2., 1., 2., 3., 2.]]), array([[1., 1., 2., 3., 3.]]), array([[3., 1., 2., 3., 1., 2.]]))
    """
    func = "pad"
    x = _args.array(func, "input", input)
    _args.choice(func, "mode", mode, PAD_MODES)
    pairs = _pad_pairs(func, x, pad)
    if mode == "constant":
        return np.pad(x, [pairs.get(a, (0, 0)) for a in range(x.ndim)], constant_values=0.0 if value is None else value)
    if value:
        raise ValueError(f"{func}: value applies only to mode='constant', got mode={mode!r} and value={value!r}")
    if mode != "circular":                      # torch: only the batch dim may be empty
        _args.nonempty(func, "input", x, batched=x.ndim > len(pairs) + 1)
    for axis, (before, after) in pairs.items():
        limit = x.shape[axis] - 1 if mode == "reflect" else x.shape[axis]
        if mode != "replicate" and max(before, after) > limit:
            raise ValueError(f"{func}: {mode} padding ({before}, {after}) of dim {axis} must be at most "
                             f"{limit} for that dim's size {x.shape[axis]}")
        x = np.take(x, _source_index(x.shape[axis], before, after, mode), axis=axis)
    return x


@_args.quiet
def pad_backward(grad_output: ArrayLike, input_shape: Sequence[int], pad: Sequence[int],
                 mode: str = "constant") -> np.ndarray:
    """Gradient of `pad`: each padded position's gradient returns to the input it copied.

    Constant padding drops the gradient of the padding; reflect/replicate/circular padding add
    it to the input that the padded position repeats, one addition after the other in
    grad_output's dtype (as torch's CPU kernels add them).

    ``pad`` and ``mode`` are as in the forward call.

    Args:
        grad_output: the gradient with respect to the padded output.
        input_shape: shape of the forward input.

    Returns:
        ``grad_input`` of shape ``input_shape``.

    Raises:
        ValueError: ``grad_output`` not of the padded shape, or a bad ``pad`` / ``mode``.

    Examples:
        >>> pad_backward(np.ones(6), (3,), (2, 1), mode="reflect")     # pad([a, b, c]) = [c, b, a, b, c, b]
        array([1., 3., 2.])
    """
    func = "pad_backward"
    g = _args.array(func, "grad_output", grad_output)
    _args.choice(func, "mode", mode, PAD_MODES)
    shape = tuple(_args.integer(func, "input_shape", s) for s in input_shape)
    pairs = _pad_pairs(func, np.empty(shape, dtype=bool), pad)
    expected = tuple(n + sum(pairs.get(a, (0, 0))) for a, n in enumerate(shape))
    if g.shape != expected:
        raise ValueError(f"{func}: grad_output has shape {g.shape}, expected the padded shape {expected}")
    for axis, (before, after) in pairs.items():
        size = shape[axis]
        if mode == "constant":
            g = np.take(g, np.arange(before, before + size), axis=axis)
            continue
        out = np.zeros(g.shape[:axis] + (size,) + g.shape[axis + 1:], dtype=g.dtype)
        np.add.at(np.moveaxis(out, axis, 0), _source_index(size, before, after, mode), np.moveaxis(g, axis, 0))
        g = out
    return g
