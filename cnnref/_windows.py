"""The window machinery that convolution and pooling share: padding, every sliding window as a
view, the scatter back (col2im), a batch dim for an unbatched input, and the lift of a 1-d
signal to a 2-d image of height 1.

Everything works on the last two dims of a ``(N, C, H, W)`` array; 1-d ops lift their
``(N, C, L)`` input to ``(N, C, 1, L)`` first, so that one 2-d kernel serves both.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def pad(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    """Pad the last two dims of ``x`` by ``pads = ((top, bottom), (left, right))`` with ``value``."""
    (top, bottom), (left, right) = pads
    if not (top or bottom or left or right):
        return x
    H, W = x.shape[-2:]
    out = np.full(x.shape[:-2] + (H + top + bottom, W + left + right), value, dtype=x.dtype)
    out[..., top:top + H, left:left + W] = x
    return out


def crop(x: np.ndarray, pads) -> np.ndarray:
    """Undo `pad`: cut ``pads = ((top, bottom), (left, right))`` off the last two dims (a view)."""
    (top, bottom), (left, right) = pads
    H, W = x.shape[-2:]
    return x[..., top:H - bottom, left:W - right]


def windows(xp: np.ndarray, kernel, stride, dilation) -> np.ndarray:
    """Every window of a padded (N, C, Hp, Wp) array as a view (N, C, kH, kW, H_out, W_out).

    ``[n, c, i, j, y, x]`` is ``xp[n, c, y*sH + i*dH, x*sW + j*dW]``. Nothing is copied.
    """
    (kH, kW), (sH, sW), (dH, dW) = kernel, stride, dilation
    view = sliding_window_view(xp, (dH * (kH - 1) + 1, dW * (kW - 1) + 1), axis=(2, 3))
    view = view[:, :, ::sH, ::sW, ::dH, ::dW]   # (N, C, H_out, W_out, kH, kW)
    return view.transpose(0, 1, 4, 5, 2, 3)


def col2im(cols: np.ndarray, padded_size, stride, dilation, reverse: bool = False) -> np.ndarray:
    """The adjoint of `windows`: add every window (N, C, kH, kW, H_out, W_out) back into a
    zero (N, C, Hp, Wp) array at the place it was taken from (overlaps add up). The two
    leading dims are only carried along: (C, N, ...) works as well, and is faster when the
    columns are stored channel-first.

    A pixel receives its values in the order of the kernel positions, as torch's col2im adds
    them; ``reverse`` walks the kernel backwards, which is the order of the windows (torch's
    pooling backward). The order shows only in rounding (each addition is rounded to the
    array's dtype, as torch's are: float16 sums stall and overflow as torch's do).
    """
    N, C, kH, kW, H_out, W_out = cols.shape
    (sH, sW), (dH, dW) = stride, dilation
    out = np.zeros((N, C) + tuple(padded_size), dtype=cols.dtype)
    order = (lambda n: reversed(range(n))) if reverse else range
    for i in order(kH):
        for j in order(kW):
            out[:, :, i * dH:i * dH + sH * (H_out - 1) + 1:sH,
                      j * dW:j * dW + sW * (W_out - 1) + 1:sW] += cols[:, :, i, j]
    return out


def batched(x: np.ndarray, nd: int) -> tuple[np.ndarray, bool]:
    """An unbatched ``(C, *spatial)`` input (``nd`` spatial dims) as ``(1, C, *spatial)``; returns
    the array and whether it was unbatched (then ``out[0]`` is the answer)."""
    return (x[None], True) if x.ndim == nd + 1 else (x, False)


def lift(nd: int, value, neutral=None):
    """A 1-d argument as the 2-d one of an image of height 1 (``nd == 2``: unchanged).

    An array ``(N, C, L)`` becomes ``(N, C, 1, L)``; a tuple ``(a,)`` becomes ``(neutral, a)``:
    stride, dilation and kernel take 1, padding 0 or ``(0, 0)``.
    """
    if nd == 2:
        return value
    if isinstance(value, np.ndarray):
        return value[..., None, :]
    return (neutral,) + tuple(value)
