"""Convolution, transposed convolution, im2col (``unfold``) and col2im (``fold``) in NumPy.

Public names are re-exported by `cnnref.functional`; read them there or here.

How the vectorised convolution works (im2col): pad the input, take a strided *view* of
every window (no copy), copy the windows once into a matrix ``cols`` with one column per
output position, and do one big matrix product with the flattened filters::

    input (N, C_in, H, W) --pad--> (N, C_in, Hp, Wp) --windows--> (C_in*kH*kW, N*H_out*W_out)
    weight (C_out, C_in*kH*kW) @ cols -> (C_out, N*H_out*W_out) -> (N, C_out, H_out, W_out)

The gradient with respect to the input scatters the columns back (col2im); that scatter is
also the forward pass of a transposed convolution. ``conv2d_loop`` and
``conv_transpose2d_loop`` compute the same numbers with plain loops.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnref import _args, shapes
from cnnref._args import ArrayLike, IntOrTuple

__all__ = [
    "conv1d", "conv1d_backward", "conv2d", "conv2d_loop", "conv2d_backward",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose2d_loop", "conv_transpose2d_backward",
    "unfold", "fold",
]


# ----------------------------------------------------------------------------- machinery
def _pad(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    """Pad the last two dims of (N, C, H, W) by ``pads = ((top, bottom), (left, right))``."""
    (top, bottom), (left, right) = pads
    if not (top or bottom or left or right) and value == 0.0:
        return x
    N, C, H, W = x.shape
    out = np.full((N, C, H + top + bottom, W + left + right), value, dtype=x.dtype)
    out[:, :, top:top + H, left:left + W] = x
    return out


def _windows(xp: np.ndarray, kernel, stride, dilation) -> np.ndarray:
    """Every window of a padded (N, C, Hp, Wp) array as a view (N, C, kH, kW, H_out, W_out).

    ``[n, c, i, j, y, x]`` is ``xp[n, c, y*sH + i*dH, x*sW + j*dW]``. Nothing is copied.
    """
    (kH, kW), (sH, sW), (dH, dW) = kernel, stride, dilation
    view = sliding_window_view(xp, (dH * (kH - 1) + 1, dW * (kW - 1) + 1), axis=(2, 3))
    view = view[:, :, ::sH, ::sW, ::dH, ::dW]   # (N, C, H_out, W_out, kH, kW)
    return view.transpose(0, 1, 4, 5, 2, 3)


def _col2im(cols: np.ndarray, padded_size, stride, dilation, reverse: bool = False) -> np.ndarray:
    """The adjoint of `_windows`: add every window (N, C, kH, kW, H_out, W_out) back into a
    zero (N, C, Hp, Wp) array at the place it was taken from (overlaps add up). The two
    leading dims are only carried along: (C, N, ...) works as well, and is faster when the
    columns are stored channel-first.

    A pixel receives its values in the order of the kernel positions, as torch's col2im adds
    them; ``reverse`` walks the kernel backwards, which is the order of the windows (torch's
    pooling backward). The order shows only in rounding (float16 sums are rounded after each
    addition, in the array's dtype, as torch's are)."""
    N, C, kH, kW, H_out, W_out = cols.shape
    (sH, sW), (dH, dW) = stride, dilation
    out = np.zeros((N, C) + tuple(padded_size), dtype=cols.dtype)
    order = (lambda r: reversed(range(r))) if reverse else range
    for i in order(kH):
        for j in order(kW):
            out[:, :, i * dH:i * dH + sH * (H_out - 1) + 1:sH,
                      j * dW:j * dW + sW * (W_out - 1) + 1:sW] += cols[:, :, i, j]
    return out


def _batched(x: np.ndarray, nd: int):
    """(C, *spatial) -> (1, C, *spatial); returns the array and whether it was unbatched."""
    return (x[None], True) if x.ndim == nd + 1 else (x, False)


def _as_2d(x: np.ndarray, nd: int) -> np.ndarray:
    """A 1-d signal (N, C, L) is a 2-d image (N, C, 1, L)."""
    return x[:, :, None, :] if nd == 1 else x


def _conv_args(func, nd, input, weight, bias, stride, dilation, groups, transposed=False):
    """Check the arguments shared by conv and transposed conv; return them as arrays/tuples."""
    sp = "L" if nd == 1 else "H, W"
    ksp = "kL" if nd == 1 else "kH, kW"
    x = _args.array(func, "input", input)
    w = _args.array(func, "weight", weight)
    _args.same_dtype(func, "weight", w, x)
    _args.ndim(func, "input", x, {nd + 1: f"(C_in, {sp})", nd + 2: f"(N, C_in, {sp})"})
    wshape = f"(C_in, C_out/groups, {ksp})" if transposed else f"(C_out, C_in/groups, {ksp})"
    _args.ndim(func, "weight", w, {nd + 2: wshape})
    _args.nonempty(func, "input", x, batched=x.ndim == nd + 2)
    _args.nonempty(func, "weight", w, batched=False)
    groups = _args.integer(func, "groups", groups)
    if groups < 1:
        raise ValueError(f"{func}: groups must be positive, got {groups}")
    stride = _args.positive(func, "stride", stride, nd)
    dilation = _args.positive(func, "dilation", dilation, nd)
    c_in = x.shape[-nd - 1]
    if c_in % groups:
        raise ValueError(f"{func}: input has {c_in} channels, expected a multiple of groups={groups}")
    if transposed:
        if w.shape[0] != c_in:
            raise ValueError(f"{func}: weight has shape {w.shape}, expected (C_in={c_in}, C_out/groups, {ksp}) "
                             f"for input with {c_in} channels")
        c_out = w.shape[1] * groups
    else:
        c_out = w.shape[0]
        if c_out % groups:
            raise ValueError(f"{func}: weight has shape {w.shape}: C_out={c_out} is not a multiple of groups={groups}")
        if w.shape[1] * groups != c_in:
            raise ValueError(f"{func}: weight has shape {w.shape}, expected (C_out, C_in/groups={c_in // groups}, "
                             f"{ksp}) for input with C_in={c_in} channels and groups={groups}")
    b = None
    if bias is not None:
        b = _args.array(func, "bias", bias)
        _args.same_dtype(func, "bias", b, x)
        if b.shape != (c_out,):
            raise ValueError(f"{func}: bias has shape {b.shape}, expected (C_out,) = ({c_out},)")
    return x, w, b, stride, dilation, groups


def _computed(*arrays):
    """The arrays in the dtype the arithmetic runs in (float32 for float16; see `_args.compute_dtype`)."""
    return [None if a is None else a.astype(_args.compute_dtype(a.dtype), copy=False) for a in arrays]


def _lift(nd, stride, pads, dilation):
    """1-d arguments -> 2-d arguments on an image of height 1."""
    if nd == 2:
        return stride, pads, dilation
    return (1,) + stride, ((0, 0),) + pads, (1,) + dilation


# ----------------------------------------------------------------------------- convolution
def _im2col(x, kernel, stride, pads, dilation, groups):
    """The im2col matrix of a batched (N, C_in, H, W) input, one per group:
    ``(groups, C_in/groups*kH*kW, N*H_out*W_out)``, and ``(H_out, W_out)``."""
    N, C_in = x.shape[:2]
    win = _windows(_pad(x, pads), kernel, stride, dilation)         # (N, C_in, kH, kW, H_out, W_out), a view
    H_out, W_out = win.shape[-2:]
    cols = np.ascontiguousarray(win.transpose(1, 2, 3, 0, 4, 5))   # (C_in, kH, kW, N, H_out, W_out): the one copy
    return cols.reshape(groups, C_in // groups * kernel[0] * kernel[1], N * H_out * W_out), (H_out, W_out)


def _conv2d(x, w, b, stride, pads, dilation, groups, keep_cols=False):
    """The im2col kernel on batched 2-d arrays; ``pads`` = ((top, bottom), (left, right))."""
    N = x.shape[0]
    C_out, Cg, kH, kW = w.shape
    G = groups
    cols, (H_out, W_out) = _im2col(x, (kH, kW), stride, pads, dilation, G)   # (G, Cg*kH*kW, N*H_out*W_out)
    out = w.reshape(G, C_out // G, Cg * kH * kW) @ cols             # (G, C_out/G, N*H_out*W_out)
    out = out.reshape(C_out, N, H_out, W_out).transpose(1, 0, 2, 3)
    out = np.ascontiguousarray(out)                                 # (N, C_out, H_out, W_out)
    if b is not None:
        out += b[:, None, None]
    return (out, cols) if keep_cols else out


def _conv2d_grad(g, x_shape, w, stride, pads, dilation, groups, cols):
    """Gradients of `_conv2d` given its ``cols``: (grad_input, grad_weight, grad_bias)."""
    N, C_in, H, W = x_shape
    C_out, Cg, kH, kW = w.shape
    G = groups
    H_out, W_out = g.shape[-2:]
    g_mat = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(G, C_out // G, N * H_out * W_out)
    # grad_weight = g_mat @ cols^T, computed as (cols @ g_mat^T)^T: the same numbers, but OpenBLAS
    # runs this long-reduction product (N*H_out*W_out terms) faster in this orientation
    grad_w = (cols @ g_mat.transpose(0, 2, 1)).transpose(0, 2, 1).reshape(w.shape)   # (G, C_out/G, Cg*kH*kW)
    grad_cols = w.reshape(G, C_out // G, Cg * kH * kW).transpose(0, 2, 1) @ g_mat   # (G, Cg*kH*kW, N*L)
    grad_cols = grad_cols.reshape(C_in, kH, kW, N, H_out, W_out).transpose(0, 3, 1, 2, 4, 5)
    (top, bottom), (left, right) = pads
    grad_xp = _col2im(grad_cols, (H + top + bottom, W + left + right), stride, dilation)   # (C_in, N, Hp, Wp)
    grad_x = grad_xp[:, :, top:top + H, left:left + W].transpose(1, 0, 2, 3)
    return np.ascontiguousarray(grad_x), grad_w, g.sum(axis=(0, 2, 3))


@_args.quiet
def _conv(func, nd, input, weight, bias, stride, padding, dilation, groups, loop=False):
    x, w, b, stride, dilation, groups = _conv_args(func, nd, input, weight, bias, stride, dilation, groups)
    pads = _args.conv_padding(func, padding, x.shape[-nd:], w.shape[2:], stride, dilation)
    _args.kernel_fits(func, x.shape[-nd:], pads, w.shape[2:], dilation)
    dtype, x, w, b = x.dtype, *_computed(x, w, b)
    x, unbatched = _batched(x, nd)
    stride2, pads2, dilation2 = _lift(nd, stride, pads, dilation)
    kernel = _conv2d_loop if loop else _conv2d
    out = kernel(_as_2d(x, nd), _as_2d(w, nd), b, stride2, pads2, dilation2, groups)
    out = out.reshape(out.shape[:2] + out.shape[4 - nd:]).astype(dtype, copy=False)
    return out[0] if unbatched else out


def conv2d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntOrTuple = 1,
           padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1) -> np.ndarray:
    """2-d convolution (cross-correlation, as in torch) of a batch of images.

    ``out[n, o, y, x] = bias[o] + sum_{c,i,j} weight[o, c, i, j] * xp[n, g*Cg + c, y*sH + i*dH, x*sW + j*dW]``
    where ``Cg = C_in/groups``, ``xp`` is the zero-padded input and ``g`` the group of filter ``o``.

    Shapes: ``input: (N, C_in, H, W) -> (N, C_out, H_out, W_out)`` (or unbatched
    ``(C_in, H, W) -> (C_out, H_out, W_out)``), ``weight: (C_out, C_in/groups, kH, kW)``,
    ``bias: (C_out,)``; ``H_out`` as in `cnnref.shapes.conv_output_size`.

    Args:
        input: the images, float32 or float64.
        weight: the filters, same dtype as ``input``.
        bias: one number per output channel, or None.
        stride: step of the window, an int or ``(sH, sW)``.
        padding: zeros added on each side, an int, ``(pH, pW)``, ``"valid"`` (none) or
            ``"same"`` (output as large as the input; stride 1 only; for an even kernel the
            extra row/column goes at the bottom/right, as in torch).
        dilation: spacing between kernel elements, an int or ``(dH, dW)``.
        groups: split input and output channels into this many independent groups.

    Returns:
        The output, with ``input``'s dtype.

    Raises:
        TypeError: an integer array, or weight/bias of another dtype than input.
        ValueError: wrong number of dims, channels not divisible by groups, weight not
            matching input's channels, stride/dilation below 1, negative padding, or a
            kernel larger than the padded input.

    Examples:
        >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
        >>> w = np.ones((1, 1, 3, 3))
        >>> conv2d(x, w)                        # each output is the sum of a 3x3 window
        array([[[[45., 54.],
                 [81., 90.]]]])
        >>> conv2d(x, w, padding=1, stride=2).shape
        (1, 1, 2, 2)
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntOrTuple = 1,
           padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1) -> np.ndarray:
    """1-d convolution: `conv2d` on signals of height 1.

    Shapes: ``input: (N, C_in, L) -> (N, C_out, L_out)`` (or unbatched ``(C_in, L)``),
    ``weight: (C_out, C_in/groups, kL)``, ``bias: (C_out,)``. Arguments as in `conv2d`,
    each an int (or a 1-tuple), ``padding`` also ``"same"`` / ``"valid"``.

    Args:
        input: the signals.
        weight: the filters.
        bias: one number per output channel, or None.
        stride: step of the window.
        padding: zeros on each side, ``"same"`` or ``"valid"``.
        dilation: spacing between kernel elements.
        groups: number of channel groups.

    Returns:
        The output, with ``input``'s dtype.

    Raises:
        TypeError: as `conv2d`.
        ValueError: as `conv2d`.

    Examples:
        >>> conv1d(np.array([[[1.0, 2.0, 3.0, 4.0]]]), np.array([[[1.0, -1.0]]]))
        array([[[-1., -1., -1.]]])
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def _conv2d_loop(x, w, b, stride, pads, dilation, groups):
    """The loop kernel of `conv2d_loop` on batched arrays (shared with conv1d)."""
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))             # zero padding
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


def conv2d_loop(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntOrTuple = 1,
                padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1) -> np.ndarray:
    """`conv2d` with plain loops over output positions: slow, and obviously right.

    One output value is the dot product of one filter with the window of the padded input
    under it. Same arguments, shapes and errors as `conv2d`.

    Args:
        input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``.
        weight: ``(C_out, C_in/groups, kH, kW)``.
        bias: ``(C_out,)`` or None.
        stride: step of the window.
        padding: int, tuple, ``"same"`` or ``"valid"``.
        dilation: spacing between kernel elements.
        groups: number of channel groups.

    Returns:
        ``(N, C_out, H_out, W_out)``, the same numbers as `conv2d`.

    Examples:
        >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
        >>> conv2d_loop(x, np.ones((1, 1, 3, 3)))
        array([[[[45., 54.],
                 [81., 90.]]]])
    """
    return _conv("conv2d_loop", 2, input, weight, bias, stride, padding, dilation, groups, loop=True)


def conv2d_backward(grad_output: ArrayLike, input: ArrayLike, weight: ArrayLike, stride: IntOrTuple = 1,
                    padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1,
                    groups: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``conv2d(input, weight, bias, ...)`` (not in torch: autograd does this there).

    - ``grad_input`` is the transposed convolution of ``grad_output`` with ``weight``
      (`conv_transpose2d`): every output position sends its gradient back through the
      filter to the window it came from.
    - ``grad_weight[o, c, i, j] = sum_{n, y, x} grad_output[n, o, y, x] * window[n, c, i, j, y, x]``:
      one matrix product with the im2col matrix of ``input``.
    - ``grad_bias[o] = sum_{n, y, x} grad_output[n, o, y, x]``.

    Args:
        grad_output: ``(N, C_out, H_out, W_out)`` (or unbatched), the gradient of the loss
            with respect to the output of `conv2d`.
        input: the input of the forward call.
        weight: the weight of the forward call.
        stride: as in the forward call.
        padding: as in the forward call.
        dilation: as in the forward call.
        groups: as in the forward call.

    Returns:
        ``(grad_input, grad_weight, grad_bias)`` with the shapes of input, weight and ``(C_out,)``.

    Raises:
        ValueError: ``grad_output`` does not have the shape of the forward output.

    Examples:
        >>> x, w = np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))
        >>> gx, gw, gb = conv2d_backward(np.ones((1, 1, 2, 2)), x, w)
        >>> gx[0, 0]                            # how many windows each pixel belongs to
        array([[1., 2., 1.],
               [2., 4., 2.],
               [1., 2., 1.]])
        >>> gw[0, 0], gb
        (array([[4., 4.],
               [4., 4.]]), array([4.]))
    """
    return _conv_backward("conv2d_backward", 2, grad_output, input, weight, stride, padding, dilation, groups)


def conv1d_backward(grad_output: ArrayLike, input: ArrayLike, weight: ArrayLike, stride: IntOrTuple = 1,
                    padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1,
                    groups: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``conv1d(input, weight, bias, ...)``: `conv2d_backward` on signals of height 1.

    Args:
        grad_output: ``(N, C_out, L_out)`` (or unbatched), the gradient with respect to the output.
        input: the input of the forward call.
        weight: the weight of the forward call.
        stride: as in the forward call.
        padding: as in the forward call.
        dilation: as in the forward call.
        groups: as in the forward call.

    Returns:
        ``(grad_input, grad_weight, grad_bias)``.

    Raises:
        ValueError: ``grad_output`` does not have the forward output's shape.

    Examples:
        >>> gx, gw, gb = conv1d_backward(np.ones((1, 1, 2)), np.ones((1, 1, 3)), np.ones((1, 1, 2)))
        >>> gx
        array([[[1., 2., 1.]]])
    """
    return _conv_backward("conv1d_backward", 1, grad_output, input, weight, stride, padding, dilation, groups)


@_args.quiet
def _conv_backward(func, nd, grad_output, input, weight, stride, padding, dilation, groups):
    x, w, _, stride, dilation, groups = _conv_args(func, nd, input, weight, None, stride, dilation, groups)
    pads = _args.conv_padding(func, padding, x.shape[-nd:], w.shape[2:], stride, dilation)
    _args.kernel_fits(func, x.shape[-nd:], pads, w.shape[2:], dilation)
    input_shape, dtype = x.shape, x.dtype
    x, unbatched = _batched(x, nd)
    stride2, pads2, dilation2 = _lift(nd, stride, pads, dilation)
    g = _grad_array(func, grad_output, x, (x.shape[0], w.shape[0]) + _conv_out_size(x, w, nd, pads, stride, dilation),
                    unbatched)
    x2, w2, g = _computed(_as_2d(x, nd), _as_2d(w, nd), g)
    cols, out_size = _im2col(x2, w2.shape[2:], stride2, pads2, dilation2, groups)
    gx, gw, gb = _conv2d_grad(g.reshape((x.shape[0], w.shape[0]) + out_size), x2.shape, w2, stride2, pads2, dilation2,
                              groups, cols)
    return gx.reshape(input_shape).astype(dtype), gw.reshape(w.shape).astype(dtype), gb.astype(dtype)


def _conv_out_size(x, w, nd, pads, stride, dilation):
    """Spatial output size of a convolution (``pads`` already resolved)."""
    return tuple((s + a + b - d * (k - 1) - 1) // st + 1
                 for s, (a, b), k, st, d in zip(x.shape[-nd:], pads, w.shape[2:], stride, dilation))


def _grad_array(func, grad_output, x, batched_shape, unbatched):
    g = _args.array(func, "grad_output", grad_output)
    _args.same_dtype(func, "grad_output", g, x)
    expected = batched_shape[1:] if unbatched else batched_shape
    if g.shape != tuple(expected):
        raise ValueError(f"{func}: grad_output has shape {g.shape}, "
                         f"expected the forward output's shape {tuple(expected)}")
    return g[None] if unbatched else g


# ----------------------------------------------------------------------------- transposed convolution
def _transpose_sizes(func, nd, x, w, stride, padding, output_padding, dilation):
    padding = _args.non_negative(func, "padding", padding, nd)
    output_padding = _args.non_negative(func, "output_padding", output_padding, nd)
    size = _args.output_size(func, shapes.conv_transpose_output_size, x.shape[-nd:], w.shape[2:],
                             stride, padding, output_padding, dilation)
    return padding, output_padding, size


def _conv_transpose2d(x, w, b, stride, padding, out_size, dilation, groups):
    """The kernel on batched 2-d arrays: one matrix product, then col2im, then crop."""
    N, C_in, H, W = x.shape
    _, Og, kH, kW = w.shape
    G = groups
    x_mat = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(G, C_in // G, N * H * W)
    cols = w.reshape(G, C_in // G, Og * kH * kW).transpose(0, 2, 1) @ x_mat   # (G, Og*kH*kW, N*H*W)
    cols = cols.reshape(G * Og, kH, kW, N, H, W).transpose(0, 3, 1, 2, 4, 5)  # (C_out, N, kH, kW, H, W)
    (pH, pW), (H_out, W_out) = padding, out_size
    full = _col2im(cols, (H_out + 2 * pH, W_out + 2 * pW), stride, dilation)   # (C_out, N, ...): channels first
    out = full[:, :, pH:pH + H_out, pW:pW + W_out].transpose(1, 0, 2, 3)
    out = np.ascontiguousarray(out)                                             # (N, C_out, H_out, W_out)
    if b is not None:
        out += b[:, None, None]
    return out


@_args.quiet
def _conv_transpose(func, nd, input, weight, bias, stride, padding, output_padding, groups, dilation, loop=False):
    if isinstance(padding, str):
        raise TypeError(f"{func}: padding must be an int or a tuple of {nd} ints, got {padding!r}")
    x, w, b, stride, dilation, groups = _conv_args(func, nd, input, weight, bias, stride, dilation, groups,
                                                   transposed=True)
    padding, _, size = _transpose_sizes(func, nd, x, w, stride, padding, output_padding, dilation)
    size = size if isinstance(size, tuple) else (size,)
    dtype, x, w, b = x.dtype, *_computed(x, w, b)
    x, unbatched = _batched(x, nd)
    if nd == 1:
        stride, padding, dilation, size = (1,) + stride, (0,) + padding, (1,) + dilation, (1,) + size
    kernel = _conv_transpose2d_loop if loop else _conv_transpose2d
    out = kernel(_as_2d(x, nd), _as_2d(w, nd), b, stride, padding, size, dilation, groups)
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
    """1-d transposed convolution: `conv_transpose2d` on signals of height 1.

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

    Raises:
        TypeError: as `conv_transpose2d`.
        ValueError: as `conv_transpose2d`.

    Examples:
        >>> conv_transpose1d(np.array([[[1.0, 10.0]]]), np.array([[[1.0, 2.0, 3.0]]]), stride=2)
        array([[[ 1.,  2., 13., 20., 30.]]])
    """
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def _conv_transpose2d_loop(x, w, b, stride, padding, out_size, dilation, groups):
    """The loop kernel of `conv_transpose2d_loop` on batched arrays (shared with 1-d)."""
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


def conv_transpose2d_loop(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntOrTuple = 1,
                          padding: IntOrTuple = 0, output_padding: IntOrTuple = 0, groups: int = 1,
                          dilation: IntOrTuple = 1) -> np.ndarray:
    """`conv_transpose2d` with plain loops over input positions: each pixel stamps the filters.

    Same arguments, shapes and errors as `conv_transpose2d`.

    Args:
        input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``.
        weight: ``(C_in, C_out/groups, kH, kW)``.
        bias: ``(C_out,)`` or None.
        stride: the stride of the convolution this one transposes.
        padding: that convolution's padding.
        output_padding: extra rows/columns at the bottom/right.
        groups: number of channel groups.
        dilation: spacing between kernel elements.

    Returns:
        The same numbers as `conv_transpose2d`.

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

    Args:
        grad_output: ``(N, C_out, H_out, W_out)``, the gradient with respect to the output.
        input: the input of the forward call.
        weight: the weight of the forward call, ``(C_in, C_out/groups, kH, kW)``.
        stride: as in the forward call.
        padding: as in the forward call.
        output_padding: as in the forward call.
        groups: as in the forward call.
        dilation: as in the forward call.

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
    x, w, _, stride, dilation, groups = _conv_args(func, nd, input, weight, None, stride, dilation, groups,
                                                   transposed=True)
    padding, _, size = _transpose_sizes(func, nd, x, w, stride, padding, output_padding, dilation)
    x, unbatched = _batched(x, nd)
    N, C_in, H, W = x.shape
    g = _grad_array(func, grad_output, x, (N, w.shape[1] * groups) + size, unbatched)
    dtype, x, w, g = x.dtype, *_computed(x, w, g)
    pads = tuple((p, p) for p in padding)
    # d/d input: a convolution of grad_output (its extra rows from output_padding are cut off)
    gx, cols = _conv2d(g, w, None, stride, pads, dilation, groups, keep_cols=True)
    H_c, W_c = gx.shape[-2:]
    gx = np.ascontiguousarray(gx[:, :, :H, :W])
    # d/d weight: input pixels times the grad_output windows they stamped
    G, Og, (kH, kW) = groups, w.shape[1], w.shape[2:]
    cols = cols.reshape(G, Og * kH * kW, N, H_c, W_c)[:, :, :, :H, :W].reshape(G, Og * kH * kW, N * H * W)
    x_mat = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(G, C_in // G, N * H * W)
    gw = (x_mat @ cols.transpose(0, 2, 1)).reshape(w.shape)
    gx, gw, gb = gx.astype(dtype), gw.astype(dtype), g.sum(axis=(0, 2, 3)).astype(dtype)
    return (gx[0] if unbatched else gx), gw, gb


# ----------------------------------------------------------------------------- unfold / fold
def unfold(input: ArrayLike, kernel_size: IntOrTuple, dilation: IntOrTuple = 1, padding: IntOrTuple = 0,
           stride: IntOrTuple = 1) -> np.ndarray:
    """im2col: every sliding window of a padded image batch, flattened into a column.

    Shapes: ``input: (N, C, H, W) -> (N, C*kH*kW, L)`` with ``L = H_out*W_out`` windows
    (unbatched ``(C, H, W) -> (C*kH*kW, L)``). Row ``c*kH*kW + i*kW + j`` holds kernel
    position ``(i, j)`` of channel ``c``; column ``y*W_out + x`` is window ``(y, x)``. Then
    ``conv2d(x, w) == (w.reshape(C_out, -1) @ unfold(x, k)).reshape(N, C_out, H_out, W_out)``.

    Args:
        input: the images.
        kernel_size: window size, an int or ``(kH, kW)``.
        dilation: spacing between window elements.
        padding: zeros added on each side (an int or a tuple).
        stride: step of the window.

    Returns:
        The columns, with ``input``'s dtype.

    Raises:
        TypeError: an integer array.
        ValueError: wrong dims, arguments below 1 / negative, or a window larger than the padded input.

    Examples:
        >>> unfold(np.arange(9.0).reshape(1, 1, 3, 3), 2)
        array([[[0., 1., 3., 4.],
                [1., 2., 4., 5.],
                [3., 4., 6., 7.],
                [4., 5., 7., 8.]]])
    """
    func = "unfold"
    x = _args.array(func, "input", input)
    _args.ndim(func, "input", x, {3: "(C, H, W)", 4: "(N, C, H, W)"})
    _args.nonempty(func, "input", x, batched=x.ndim == 4)
    kernel = _args.positive(func, "kernel_size", kernel_size, 2)
    dilation = _args.positive(func, "dilation", dilation, 2)
    padding = _args.non_negative(func, "padding", padding, 2)
    stride = _args.positive(func, "stride", stride, 2)
    pads = tuple((p, p) for p in padding)
    _args.kernel_fits(func, x.shape[-2:], pads, kernel, dilation, name="kernel_size")
    x, unbatched = _batched(x, 2)
    win = _windows(_pad(x, pads), kernel, stride, dilation)        # (N, C, kH, kW, H_out, W_out)
    N, C = x.shape[:2]
    L = win.shape[-2] * win.shape[-1]
    cols = np.ascontiguousarray(win).reshape(N, C * kernel[0] * kernel[1], L)   # (N, C*kH*kW, L)
    return cols[0] if unbatched else cols


@_args.quiet
def fold(input: ArrayLike, output_size: IntOrTuple, kernel_size: IntOrTuple, dilation: IntOrTuple = 1,
         padding: IntOrTuple = 0, stride: IntOrTuple = 1) -> np.ndarray:
    """col2im: add every column back into its window of an image (overlaps add up).

    The adjoint of `unfold` (not its inverse: a pixel in two windows gets both values).
    Shapes: ``input: (N, C*kH*kW, L) -> (N, C, H, W)`` with ``(H, W) = output_size``
    (unbatched ``(C*kH*kW, L) -> (C, H, W)``); ``L`` must be the number of windows.

    Args:
        input: the columns.
        output_size: ``(H, W)`` of the image, an int or a tuple.
        kernel_size: window size.
        dilation: spacing between window elements.
        padding: padding that `unfold` added (it is cut off again).
        stride: step of the window.

    Returns:
        The image batch, with ``input``'s dtype.

    Raises:
        TypeError: an integer array.
        ValueError: wrong dims, ``C*kH*kW`` not divisible by ``kH*kW``, or ``L`` not the
            number of windows.

    Examples:
        >>> fold(np.ones((1, 4, 4)), (3, 3), 2)[0, 0]
        array([[1., 2., 1.],
               [2., 4., 2.],
               [1., 2., 1.]])
    """
    func = "fold"
    cols = _args.array(func, "input", input)
    _args.ndim(func, "input", cols, {2: "(C*kH*kW, L)", 3: "(N, C*kH*kW, L)"})
    _args.nonempty(func, "input", cols, batched=cols.ndim == 3)
    size = _args.positive(func, "output_size", output_size, 2)
    kernel = _args.positive(func, "kernel_size", kernel_size, 2)
    dilation = _args.positive(func, "dilation", dilation, 2)
    padding = _args.non_negative(func, "padding", padding, 2)
    stride = _args.positive(func, "stride", stride, 2)
    cols, unbatched = (cols[None], True) if cols.ndim == 2 else (cols, False)
    N, CK, L = cols.shape
    kk = kernel[0] * kernel[1]
    if CK % kk:
        raise ValueError(f"{func}: input has shape {cols.shape[unbatched:]}, expected dim -2 (C*kH*kW) "
                         f"to be a multiple of kH*kW = {kk}")
    blocks = _args.output_size(func, shapes.conv_output_size, size, kernel, stride, padding, dilation)
    if L != blocks[0] * blocks[1]:
        raise ValueError(f"{func}: input has shape {cols.shape[unbatched:]}, expected dim -1 (L) to be the number "
                         f"of windows {blocks[0]}*{blocks[1]} = {blocks[0] * blocks[1]} for output_size {size}")
    cols6 = cols.reshape(N, CK // kk, kernel[0], kernel[1], blocks[0], blocks[1])
    (pH, pW), (H, W) = padding, size
    out = _col2im(cols6, (H + 2 * pH, W + 2 * pW), stride, dilation)[:, :, pH:pH + H, pW:pW + W]
    out = np.ascontiguousarray(out)
    return out[0] if unbatched else out
