"""Transposed convolution and its gradients in NumPy.

Public names are re-exported by `cnnref.functional`. The vectorised version multiplies the
flattened filters with the input pixels (one matrix product), scatters the stamps back with
col2im and cuts the padding; ``conv_transpose2d_loop`` stamps one pixel at a time
(`cnnref.loops.conv_transpose2d`). Its input gradient is a plain convolution.
"""

from __future__ import annotations

import numpy as np

from cnnref import _args, _windows, loops, shapes
from cnnref._args import ArrayLike, IntOrTuple
from cnnref._conv import check_conv, check_grad_output, conv2d_im2col

__all__ = ["conv_transpose1d", "conv_transpose2d", "conv_transpose2d_loop", "conv_transpose2d_backward"]


def _transpose_sizes(func, nd, x, w, stride, padding, output_padding, dilation):
    padding = _args.non_negative(func, "padding", padding, nd)
    output_padding = _args.non_negative(func, "output_padding", output_padding, nd)
    size = _args.output_size(func, shapes.conv_transpose_output_size, x.shape[-nd:], w.shape[2:],
                             stride, padding, output_padding, dilation)
    return padding, output_padding, size if isinstance(size, tuple) else (size,)


def _conv_transpose2d(x, w, b, stride, padding, out_size, dilation, groups):
    """The vectorised kernel on batched 2-d arrays: one matrix product, then col2im, then crop."""
    N, C_in, H, W = x.shape
    _, Og, kH, kW = w.shape
    G = groups
    x_mat = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(G, C_in // G, N * H * W)
    cols = w.reshape(G, C_in // G, Og * kH * kW).transpose(0, 2, 1) @ x_mat   # (G, Og*kH*kW, N*H*W)
    cols = cols.reshape(G * Og, kH, kW, N, H, W).transpose(0, 3, 1, 2, 4, 5)  # (C_out, N, kH, kW, H, W)
    (pH, pW), (H_out, W_out) = padding, out_size
    full = _windows.col2im(cols, (H_out + 2 * pH, W_out + 2 * pW), stride, dilation)   # (C_out, N, ...)
    out = _windows.crop(full, ((pH, pH), (pW, pW))).transpose(1, 0, 2, 3)
    out = np.ascontiguousarray(out)                                             # (N, C_out, H_out, W_out)
    if b is not None:
        out += b[:, None, None]
    return out


@_args.quiet
def _conv_transpose(func, nd, input, weight, bias, stride, padding, output_padding, groups, dilation, loop=False):
    if isinstance(padding, str):
        raise TypeError(f"{func}: padding must be an int or a tuple of {nd} ints, got {padding!r}")
    x, w, b, stride, dilation, groups = check_conv(func, nd, input, weight, bias, stride, dilation, groups,
                                                   transposed=True)
    padding, _, size = _transpose_sizes(func, nd, x, w, stride, padding, output_padding, dilation)
    dtype, x, w, b = x.dtype, *_args.computed(x, w, b)
    x, unbatched = _windows.batched(x, nd)
    convolve = loops.conv_transpose2d if loop else _conv_transpose2d
    out = convolve(_windows.lift(nd, x), _windows.lift(nd, w), b, _windows.lift(nd, stride, 1),
                   _windows.lift(nd, padding, 0), _windows.lift(nd, size, 1), _windows.lift(nd, dilation, 1), groups)
    out = out.reshape(out.shape[:2] + out.shape[4 - nd:]).astype(dtype, copy=False)
    return out[0] if unbatched else out


def conv_transpose2d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntOrTuple = 1,
                     padding: IntOrTuple = 0, output_padding: IntOrTuple = 0, groups: int = 1,
                     dilation: IntOrTuple = 1) -> np.ndarray:
    """2-d transposed convolution, the gradient of `conv2d` with respect to its input.

    Every input pixel stamps its channel's filters, scaled by its value, onto the output at
    ``stride`` times its position; overlapping stamps add up. Then ``padding`` rows/columns
    are cut from each side and ``output_padding`` adds rows/columns at the bottom/right.
    It is not an inverse of `conv2d` ("deconvolution" is a misnomer), only its transpose.

    Shapes: ``input: (N, C_in, H, W) -> (N, C_out, H_out, W_out)`` (or unbatched),
    ``weight: (C_in, C_out/groups, kH, kW)``, ``bias: (C_out,)``, and
    ``H_out = (H - 1)*sH - 2*pH + dH*(kH - 1) + output_padding + 1``
    (`cnnref.shapes.conv_transpose_output_size`).

    Args:
        input: the images.
        weight: the filters, note ``(C_in, C_out/groups, kH, kW)``.
        bias: ``(C_out,)`` or None.
        stride: the stride of the convolution this one transposes.
        padding: the padding of that convolution (an int or a tuple; no "same").
        output_padding: extra rows/columns at the bottom/right, below ``max(stride, dilation)``.
        groups: number of channel groups.
        dilation: spacing between kernel elements.

    Returns:
        The output, with ``input``'s dtype.

    Raises:
        TypeError: an integer array, mixed dtypes, or a string padding.
        ValueError: wrong dims, channel counts, stride/dilation below 1, negative padding,
            ``output_padding`` too large, or an empty output.

    Examples:
        >>> conv_transpose2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)))
        array([[[[1., 2., 1.],
                 [2., 4., 2.],
                 [1., 2., 1.]]]])
        >>> x, w = np.ones((1, 1, 16, 16)), np.ones((1, 1, 3, 3))
        >>> conv_transpose2d(x, w, stride=2, padding=1, output_padding=1).shape
        (1, 1, 32, 32)
    """
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose1d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntOrTuple = 1,
                     padding: IntOrTuple = 0, output_padding: IntOrTuple = 0, groups: int = 1,
                     dilation: IntOrTuple = 1) -> np.ndarray:
    """1-d transposed convolution: `conv_transpose2d` on signals of height 1 (with its errors).

    Shapes: ``input: (N, C_in, L) -> (N, C_out, L_out)`` (or unbatched),
    ``weight: (C_in, C_out/groups, kL)``.

    Args:
        input: the signals.
        weight: the filters.
        bias: ``(C_out,)`` or None.
        stride: the stride of the convolution this one transposes.
        padding: that convolution's padding.
        output_padding: extra samples at the end.
        groups: number of channel groups.
        dilation: spacing between kernel elements.

    Returns:
        The output, with ``input``'s dtype.

    Examples:
        >>> conv_transpose1d(np.array([[[1.0, 10.0]]]), np.array([[[1.0, 2.0, 3.0]]]), stride=2)
        array([[[ 1.,  2., 13., 20., 30.]]])
    """
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d_loop(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntOrTuple = 1,
                          padding: IntOrTuple = 0, output_padding: IntOrTuple = 0, groups: int = 1,
                          dilation: IntOrTuple = 1) -> np.ndarray:
    """`conv_transpose2d` with plain loops over input positions: each pixel stamps the filters
    (the loops are `cnnref.loops.conv_transpose2d`).

    Same arguments, shapes and errors as `conv_transpose2d`.

    Examples:
        >>> conv_transpose2d_loop(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)))[0, 0]
        array([[1., 2., 1.],
               [2., 4., 2.],
               [1., 2., 1.]])
    """
    return _conv_transpose("conv_transpose2d_loop", 2, input, weight, bias, stride, padding, output_padding,
                           groups, dilation, loop=True)


@_args.quiet
def conv_transpose2d_backward(grad_output: ArrayLike, input: ArrayLike, weight: ArrayLike, stride: IntOrTuple = 1,
                              padding: IntOrTuple = 0, output_padding: IntOrTuple = 0, groups: int = 1,
                              dilation: IntOrTuple = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``conv_transpose2d(input, weight, bias, ...)``.

    The input gradient is a plain `conv2d` of ``grad_output`` with the same weight, stride,
    padding and dilation (the transpose of a transpose); the weight gradient pairs each input
    pixel with the windows of ``grad_output`` it stamped.

    ``stride``, ``padding``, ``output_padding``, ``groups`` and ``dilation`` are as in the forward
    call.

    Args:
        grad_output: ``(N, C_out, H_out, W_out)``, the gradient with respect to the output.
        input: the input of the forward call.
        weight: the weight of the forward call, ``(C_in, C_out/groups, kH, kW)``.

    Returns:
        ``(grad_input, grad_weight, grad_bias)``.

    Raises:
        ValueError: ``grad_output`` does not have the forward output's shape.

    Examples:
        >>> gx, gw, gb = conv_transpose2d_backward(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)))
        >>> gx[0, 0], gb
        (array([[4., 4.],
               [4., 4.]]), array([9.]))
    """
    func, nd = "conv_transpose2d_backward", 2
    x, w, _, stride, dilation, groups = check_conv(func, nd, input, weight, None, stride, dilation, groups,
                                                   transposed=True)
    padding, _, size = _transpose_sizes(func, nd, x, w, stride, padding, output_padding, dilation)
    x, unbatched = _windows.batched(x, nd)
    N, C_in, H, W = x.shape
    g = check_grad_output(func, grad_output, x, (N, w.shape[1] * groups) + size, unbatched)
    dtype, x, w, g = x.dtype, *_args.computed(x, w, g)
    pads = tuple((p, p) for p in padding)
    # d/d input: a convolution of grad_output (its extra rows from output_padding are cut off)
    gx, cols = conv2d_im2col(g, w, None, stride, pads, dilation, groups, keep_cols=True)
    H_c, W_c = gx.shape[-2:]
    gx = np.ascontiguousarray(gx[:, :, :H, :W])
    # d/d weight: input pixels times the grad_output windows they stamped
    G, Og, (kH, kW) = groups, w.shape[1], w.shape[2:]
    cols = cols.reshape(G, Og * kH * kW, N, H_c, W_c)[:, :, :, :H, :W].reshape(G, Og * kH * kW, N * H * W)
    x_mat = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(G, C_in // G, N * H * W)
    gw = (x_mat @ cols.transpose(0, 2, 1)).reshape(w.shape)
    gx, gw, gb = gx.astype(dtype), gw.astype(dtype), g.sum(axis=(0, 2, 3)).astype(dtype)
    return (gx[0] if unbatched else gx), gw, gb
