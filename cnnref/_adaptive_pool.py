"""Adaptive average pooling in NumPy: `adaptive_avg_pool2d`, its loop version and its gradient
(re-exported by `cnnref.functional`), and the layer `AdaptiveAvgPool2d` (re-exported by `cnnref.nn`).

The caller names the output size; each output cell averages its own window, whose bounds follow
torch's rule along each dim: cell ``i`` of ``out`` over an input of size ``n`` covers
``start = floor(i * n / out)`` to ``end = ceil((i + 1) * n / out)`` (end excluded). Windows can
differ in size and overlap when ``out`` does not divide ``n``. Output size ``(1, 1)`` is global
average pooling: one mean per channel.
"""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from cnnref import _args, _windows, loops
from cnnref._args import ArrayLike
from cnnref._module import Module

OutputSize = Union[int, None, Sequence[Union[int, None]]]

__all__ = ["adaptive_avg_pool2d", "adaptive_avg_pool2d_loop", "adaptive_avg_pool2d_backward",
           "adaptive_windows", "AdaptiveAvgPool2d"]


def adaptive_windows(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (excluded) of each of the ``out`` windows over ``size`` inputs, torch's rule.

    Examples:
        >>> adaptive_windows(5, 3)            # sizes 2, 3, 2: the middle window overlaps both others
        (array([0, 1, 3]), array([2, 4, 5]))
    """
    i = np.arange(out)
    return i * size // out, -((-(i + 1) * size) // out)


def _args_of(func, input, output_size):
    """``(x batched, unbatched, (H_out, W_out))``; None in ``output_size`` keeps that input dim."""
    x = _args.array(func, "input", input)
    _args.ndim(func, "input", x, {3: "(C, H, W)", 4: "(N, C, H, W)"})
    _args.nonempty(func, "input", x, batched=x.ndim == 4)
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(sizes) != 2:
        raise ValueError(f"{func}: output_size must be an int or a tuple of 2 (int or None), got {output_size!r}")
    out = tuple(n if s is None else _args.integer(func, "output_size", s) for s, n in zip(sizes, x.shape[-2:]))
    if min(out) < 0:
        raise ValueError(f"{func}: output_size must be >= 0 in each dim, got {output_size!r}")
    x, unbatched = _windows.batched(x, 2)
    return x, unbatched, out


def _reduce_windows(x: np.ndarray, axis: int, out: int) -> np.ndarray:
    """The sum of each of ``out`` adaptive windows along ``axis``. ``np.add.reduceat`` over the
    index list ``[s0, e0, s1, e1, ...]`` gives ``sum(x[s_i:e_i])`` at every even position (odd
    positions are between windows and are dropped), so overlapping windows need no copy; a
    trailing zero slice lets ``e_i`` equal the size. Unlike prefix sums, an inf or NaN stays in
    its own windows."""
    start, end = adaptive_windows(x.shape[axis], out)
    pad_shape = list(x.shape)
    pad_shape[axis] = 1
    xp = np.concatenate([x, np.zeros(pad_shape, x.dtype)], axis=axis)
    return np.add.reduceat(xp, np.stack([start, end], 1).reshape(-1), axis=axis).take(np.arange(0, 2 * out, 2),
                                                                                       axis=axis)


def _pool(func, input, output_size, loop):
    x, unbatched, (H_out, W_out) = _args_of(func, input, output_size)
    xc, = _args.computed(x)                   # float16 sums in float32, as torch's do
    N, C, H, W = x.shape
    if H_out == 0 or W_out == 0:
        out = np.zeros((N, C, H_out, W_out), xc.dtype)
    elif loop:
        out = loops.adaptive_avg_pool2d(xc, (H_out, W_out))
    else:
        (h0, h1), (w0, w1) = adaptive_windows(H, H_out), adaptive_windows(W, W_out)
        sums = _reduce_windows(_reduce_windows(xc, 2, H_out), 3, W_out)     # (N, C, H_out, W_out)
        out = sums / ((h1 - h0)[:, None] * (w1 - w0)[None, :])
    out = out.astype(x.dtype, copy=False)
    return out[0] if unbatched else out


@_args.quiet
def adaptive_avg_pool2d(input: ArrayLike, output_size: OutputSize) -> np.ndarray:
    """2-d adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool2d``: the mean of
    each of ``H_out x W_out`` windows chosen to cover the input (see `adaptive_windows`).

    Shapes: ``input: (N, C, H, W) -> (N, C, H_out, W_out)`` (or unbatched ``(C, H, W)``).
    ``output_size=1`` is global average pooling, ``(N, C, 1, 1)``. As in torch, an output size
    of 0 gives an empty result.

    Args:
        input: the feature maps.
        output_size: ``H_out = W_out``, or ``(H_out, W_out)``, where None keeps that input size.

    Returns:
        The pooled maps, the input's dtype.

    Raises:
        TypeError: an integer array.
        ValueError: wrong dims, an empty non-batch dim, or a negative output size.

    Examples:
        >>> x = np.arange(5.0).reshape(1, 1, 1, 5)
        >>> adaptive_avg_pool2d(x, (1, 3))       # windows [0, 2), [1, 4), [3, 5)
        array([[[[0.5, 2. , 3.5]]]])
        >>> adaptive_avg_pool2d(np.ones((2, 3, 4, 4)), 1).shape   # global average pooling
        (2, 3, 1, 1)
    """
    return _pool("adaptive_avg_pool2d", input, output_size, loop=False)


@_args.quiet
def adaptive_avg_pool2d_loop(input: ArrayLike, output_size: OutputSize) -> np.ndarray:
    """`adaptive_avg_pool2d` with plain loops (`cnnref.loops.adaptive_avg_pool2d`): one window at
    a time. Same arguments, shapes and errors.

    Examples:
        >>> adaptive_avg_pool2d_loop(np.arange(5.0).reshape(1, 1, 1, 5), (1, 3))
        array([[[[0.5, 2. , 3.5]]]])
    """
    return _pool("adaptive_avg_pool2d_loop", input, output_size, loop=True)


@_args.quiet
def adaptive_avg_pool2d_backward(grad_output: ArrayLike, input_shape: tuple[int, ...]) -> np.ndarray:
    """Gradient of `adaptive_avg_pool2d`: each output's gradient, divided by its window's size, is
    added to every input of that window (inputs in overlapping windows collect several shares).

    Args:
        grad_output: ``(N, C, H_out, W_out)`` (or unbatched), the gradient with respect to the output.
        input_shape: shape of the forward input.

    Returns:
        ``grad_input`` of shape ``input_shape``, ``grad_output``'s dtype.

    Raises:
        ValueError: shapes that do not fit, or an empty ``grad_output`` outside the batch dim
            (an output size of 0: torch refuses its gradient too).

    Examples:
        >>> adaptive_avg_pool2d_backward(np.ones((1, 1, 1, 2)), (1, 1, 1, 3))   # windows [0, 2), [1, 3)
        array([[[[0.5, 1. , 0.5]]]])
    """
    func = "adaptive_avg_pool2d_backward"
    g = _args.array(func, "grad_output", grad_output)
    shape = tuple(_args.integer(func, "input_shape", s) for s in input_shape)
    if len(shape) not in (3, 4) or g.shape[:-2] != shape[:-2] or g.ndim != len(shape):
        raise ValueError(f"{func}: grad_output {g.shape} and input_shape {shape} do not fit: expected "
                         f"(N, C, H_out, W_out) and (N, C, H, W), or the same without N")
    _args.nonempty(func, "grad_output", g, batched=g.ndim == 4)
    g, unbatched = _windows.batched(g, 2)
    gc, = _args.computed(g)
    (H, W), (H_out, W_out) = shape[-2:], g.shape[-2:]
    (h0, h1), (w0, w1) = adaptive_windows(H, H_out), adaptive_windows(W, W_out)
    share = gc / ((h1 - h0)[:, None] * (w1 - w0)[None, :])
    # the window is a product of a row range and a column range: spread along W, then along H
    rows = np.zeros(g.shape[:2] + (H_out, W), gc.dtype)
    for j in range(W_out):
        rows[..., w0[j]:w1[j]] += share[..., j:j + 1]
    grad = np.zeros(g.shape[:2] + (H, W), gc.dtype)
    for i in range(H_out):
        grad[..., h0[i]:h1[i], :] += rows[..., i:i + 1, :]
    grad = grad.astype(g.dtype)
    return grad[0] if unbatched else grad


class AdaptiveAvgPool2d(Module):
    """Adaptive average pooling layer, as ``torch.nn.AdaptiveAvgPool2d``; no parameters.
    ``AdaptiveAvgPool2d(1)`` is global average pooling.

    Shapes: ``input: (N, C, H, W) -> (N, C, H_out, W_out)`` (or unbatched), any ``H, W``.

    Args:
        output_size: ``H_out = W_out`` or ``(H_out, W_out)``; None keeps that input size.

    Examples:
        >>> gap = AdaptiveAvgPool2d(1)
        >>> gap(np.arange(8.0).reshape(1, 2, 2, 2))
        array([[[[1.5]],
        <BLANKLINE>
                [[5.5]]]])
        >>> gap.backward(np.ones((1, 2, 1, 1)))[0, 0]
        array([[0.25, 0.25],
               [0.25, 0.25]])
    """

    def __init__(self, output_size: OutputSize) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: ArrayLike):
        out = adaptive_avg_pool2d(input, self.output_size)
        self._input_shape = np.shape(input)
        return out

    def backward(self, grad_output: ArrayLike):
        return adaptive_avg_pool2d_backward(grad_output, self._saved("_input_shape"))

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
