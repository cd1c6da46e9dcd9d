"""The obvious loops beside the vectorised kernels: one output value at a time, as the definitions
read.

Each function here is the kernel behind a ``*_loop`` function of `cnnref.functional`
(`cnnref.functional.conv2d_loop`, ``conv_transpose2d_loop``, ``max_pool2d_loop``,
``avg_pool2d_loop``, ``adaptive_avg_pool2d_loop``), which checks the arguments, adds the batch
dim of an unbatched input and turns every size into a tuple before calling it. The kernels take batched ``(N, C, H, W)``
arrays and tuples, and compute the same numbers as the vectorised versions (the tests compare
both with torch).
"""

from __future__ import annotations

import numpy as np

from cnnref import shapes
from cnnref._windows import pad

__all__ = ["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


def conv2d(x, w, b, stride, pads, dilation, groups):
    """Convolution one output value at a time: the dot product of a filter and the window under it.

    Shapes: ``x: (N, C_in, H, W) -> (N, C_out, H_out, W_out)``, ``w: (C_out, C_in/groups, kH, kW)``,
    ``b: (C_out,)`` or None; ``pads = ((top, bottom), (left, right))``.

    Examples:
        >>> conv2d(np.arange(9.0).reshape(1, 1, 3, 3), np.ones((1, 1, 2, 2)), None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
        array([[[[ 8., 12.],
                 [20., 24.]]]])
    """
    xp = pad(x, pads)                                            # zero padding
    N, C_in, Hp, Wp = xp.shape
    C_out, Cg, kH, kW = w.shape
    (sH, sW), (dH, dW) = stride, dilation
    H_out, W_out = shapes.conv_output_size((Hp, Wp), (kH, kW), stride, 0, dilation)
    out = np.zeros((N, C_out, H_out, W_out), dtype=x.dtype)
    per_group = C_out // groups
    for n in range(N):
        for o in range(C_out):
            g = o // per_group                                   # filter o sees only its group's channels
            channels = slice(g * Cg, (g + 1) * Cg)
            for y in range(H_out):
                for z in range(W_out):
                    top, left = y * sH, z * sW
                    patch = xp[n, channels, top:top + dH * (kH - 1) + 1:dH, left:left + dW * (kW - 1) + 1:dW]
                    out[n, o, y, z] = np.sum(patch * w[o])       # (C_in/groups, kH, kW) * (C_in/groups, kH, kW)
                    if b is not None:
                        out[n, o, y, z] += b[o]
    return out


def conv_transpose2d(x, w, b, stride, padding, out_size, dilation, groups):
    """Transposed convolution one input pixel at a time: each pixel stamps its channel's filters,
    scaled by its value, onto the output; then the padding is cut off.

    Shapes: ``x: (N, C_in, H, W) -> (N, C_out, H_out, W_out)``, ``w: (C_in, C_out/groups, kH, kW)``;
    ``padding = (pH, pW)``, ``out_size = (H_out, W_out)``.

    Examples:
        >>> conv_transpose2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), None, (1, 1), (0, 0), (3, 3), (1, 1), 1)
        array([[[[1., 2., 1.],
                 [2., 4., 2.],
                 [1., 2., 1.]]]])
    """
    N, C_in, H, W = x.shape
    _, Og, kH, kW = w.shape
    (sH, sW), (pH, pW), (dH, dW), (H_out, W_out) = stride, padding, dilation, out_size
    full = np.zeros((N, Og * groups, H_out + 2 * pH, W_out + 2 * pW), dtype=x.dtype)
    Cg = C_in // groups
    for n in range(N):
        for c in range(C_in):
            g = c // Cg                                          # channel c feeds its group's outputs
            outs = slice(g * Og, (g + 1) * Og)
            for y in range(H):
                for z in range(W):
                    top, left = y * sH, z * sW
                    # stamp the filters of channel c, scaled by this pixel, onto the output
                    rows = slice(top, top + dH * (kH - 1) + 1, dH)
                    cols = slice(left, left + dW * (kW - 1) + 1, dW)
                    full[n, outs, rows, cols] += x[n, c, y, z] * w[c]          # (C_out/groups, kH, kW)
    out = full[:, :, pH:pH + H_out, pW:pW + W_out]               # cut the padding
    if b is not None:
        out = out + b[:, None, None]
    return np.ascontiguousarray(out)


def max_pool2d(x, kernel, stride, padding, dilation, out_size):
    """Max pooling one window at a time, with torch's scan: a value wins when it is larger than the
    best so far or NaN; the index is ``h*W + w`` in the input's plane.

    Shapes: ``x: (N, C, H, W) -> (N, C, H_out, W_out)`` twice (values, int64 indices).

    Examples:
        >>> out, idx = max_pool2d(np.array([[[[1., 3.], [4., 2.]]]]), (2, 2), (2, 2), (0, 0), (1, 1), (1, 1))
        >>> out, idx
        (array([[[[4.]]]]), array([[[[2]]]]))
    """
    N, C, H, W = x.shape
    (kH, kW), (sH, sW), (pH, pW), (dH, dW), (H_out, W_out) = kernel, stride, padding, dilation, out_size
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    indices = np.empty((N, C, H_out, W_out), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for y in range(H_out):
                for z in range(W_out):
                    # start at the first kernel row/column inside the input (past the top/left padding);
                    # a window of only padding (dilation allows it) reports that position, outside the plane
                    top, left = y * sH - pH, z * sW - pW
                    while top < 0:
                        top += dH
                    while left < 0:
                        left += dW
                    best, where = -np.inf, top * W + left
                    for h in range(top, min(y * sH - pH + dH * (kH - 1) + 1, H), dH):
                        for w in range(left, min(z * sW - pW + dW * (kW - 1) + 1, W), dW):
                            value = x[n, c, h, w]
                            if value > best or np.isnan(value):          # a NaN wins, and so does a later one
                                best, where = value, h * W + w
                    out[n, c, y, z], indices[n, c, y, z] = best, where
    return out, indices


def avg_pool2d(x, kernel, stride, padding, out_size, count_include_pad, divisor_override):
    """Average pooling one window at a time: the sum of the window's real inputs divided by torch's
    divisor (see `cnnref.functional.avg_pool2d`).

    Shapes: ``x: (N, C, H, W) -> (N, C, H_out, W_out)``.

    Examples:
        >>> avg_pool2d(np.ones((1, 1, 2, 2)), (2, 2), (1, 1), (1, 1), (3, 3), False, None)[0, 0]
        array([[1., 1., 1.],
               [1., 1., 1.],
               [1., 1., 1.]])
    """
    N, C, H, W = x.shape
    (kH, kW), (sH, sW), (pH, pW), (H_out, W_out) = kernel, stride, padding, out_size
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for y in range(H_out):
                for z in range(W_out):
                    top, left = y * sH - pH, z * sW - pW
                    bottom, right = min(top + kH, H + pH), min(left + kW, W + pW)   # cut at the padding's edge
                    with_padding = (bottom - top) * (right - left)
                    top, left, bottom, right = max(top, 0), max(left, 0), min(bottom, H), min(right, W)
                    inside = (bottom - top) * (right - left)                        # real inputs only
                    total = x[n, c, top:bottom, left:right].sum()
                    if divisor_override is not None:
                        out[n, c, y, z] = total / divisor_override
                    else:
                        out[n, c, y, z] = total / (with_padding if count_include_pad else inside)
    return out


def adaptive_avg_pool2d(x, out_size):
    """Adaptive average pooling one window at a time: output ``(i, j)`` is the mean of rows
    ``floor(i*H/H_out)`` to ``ceil((i+1)*H/H_out)`` (end excluded) and the same for columns.

    Shapes: ``x: (N, C, H, W) -> (N, C, H_out, W_out)``.

    Examples:
        >>> adaptive_avg_pool2d(np.arange(5.0).reshape(1, 1, 1, 5), (1, 3))
        array([[[[0.5, 2. , 3.5]]]])
    """
    N, C, H, W = x.shape
    H_out, W_out = out_size
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                top, bottom = i * H // H_out, -(-(i + 1) * H // H_out)          # floor and ceil
                for j in range(W_out):
                    left, right = j * W // W_out, -(-(j + 1) * W // W_out)
                    out[n, c, i, j] = x[n, c, top:bottom, left:right].mean()
    return out
