"""Convolution, its gradients, im2col (``unfold``) and col2im (``fold``) in NumPy.

Public names are re-exported by `cnnref.functional`; read them there or here. Transposed
convolution is in `cnnref._conv_transpose`, the window machinery in `cnnref._windows`, the
plain loops in `cnnref.loops`.

How the vectorised convolution works (im2col): pad the input, take a strided *view* of
every window (no copy), copy the windows once into a matrix ``cols`` with one column per
output position, and do one big matrix product with the flattened filters::

    input (N, C_in, H, W) --pad--> (N, C_in, Hp, Wp) --windows--> (C_in*kH*kW, N*H_out*W_out)
    weight (C_out, C_in*kH*kW) @ cols -> (C_out, N*H_out*W_out) -> (N, C_out, H_out, W_out)

The gradient with respect to the input scatters the columns back (col2im); that scatter is
also the forward pass of a transposed convolution. ``conv2d_loop`` computes the same numbers
with plain loops. A 1-d convolution is the 2-d one of an image of height 1.
"""

from __future__ import annotations

import numpy as np

from cnnref import _args, _windows, conv_algorithms, loops, shapes
from cnnref._args import ArrayLike, IntOrTuple

__all__ = ["conv1d", "conv1d_backward", "conv2d", "conv2d_loop", "conv2d_backward", "unfold", "fold"]


# ----------------------------------------------------------------------------- arguments and kernel
def check_conv(func, nd, input, weight, bias, stride, dilation, groups, transposed=False):
    """Check the arguments shared by conv and transposed conv (``nd`` spatial dims); return
    ``(x, w, b, stride, dilation, groups)`` as arrays and tuples."""
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
    b = _args.vector(func, "bias", bias, x, c_out, "(C_out,)")
    return x, w, b, stride, dilation, groups


def check_grad_output(func, grad_output, x, batched_shape, unbatched):
    """``grad_output`` as a batched array, refused unless it has the forward output's shape and x's dtype."""
    g = _args.array(func, "grad_output", grad_output)
    _args.same_dtype(func, "grad_output", g, x)
    expected = batched_shape[1:] if unbatched else batched_shape
    if g.shape != tuple(expected):
        raise ValueError(f"{func}: grad_output has shape {g.shape}, "
                         f"expected the forward output's shape {tuple(expected)}")
    return g[None] if unbatched else g


def im2col(x, kernel, stride, pads, dilation, groups):
    """The im2col matrix of a batched (N, C_in, H, W) input, one per group:
    ``(groups, C_in/groups*kH*kW, N*H_out*W_out)``, and ``(H_out, W_out)``."""
    N, C_in = x.shape[:2]
    win = _windows.windows(_windows.pad(x, pads), kernel, stride, dilation)   # (N, C_in, kH, kW, H_out, W_out)
    H_out, W_out = win.shape[-2:]
    cols = np.ascontiguousarray(win.transpose(1, 2, 3, 0, 4, 5))   # (C_in, kH, kW, N, H_out, W_out): the one copy
    return cols.reshape(groups, C_in // groups * kernel[0] * kernel[1], N * H_out * W_out), (H_out, W_out)


def conv2d_im2col(x, w, b, stride, pads, dilation, groups, keep_cols=False):
    """The vectorised kernel on batched 2-d arrays; ``pads`` = ((top, bottom), (left, right)).
    With ``keep_cols`` also the im2col matrix, which the weight's gradient reuses."""
    N = x.shape[0]
    C_out, Cg, kH, kW = w.shape
    G = groups
    cols, (H_out, W_out) = im2col(x, (kH, kW), stride, pads, dilation, G)   # (G, Cg*kH*kW, N*H_out*W_out)
    out = w.reshape(G, C_out // G, Cg * kH * kW) @ cols             # (G, C_out/G, N*H_out*W_out)
    out = out.reshape(C_out, N, H_out, W_out).transpose(1, 0, 2, 3)
    out = np.ascontiguousarray(out)                                 # (N, C_out, H_out, W_out)
    if b is not None:
        out += b[:, None, None]
    return (out, cols) if keep_cols else out


def _conv2d_grad(g, x_shape, w, stride, pads, dilation, groups, cols):
    """Gradients of `conv2d_im2col` given its ``cols``: (grad_input, grad_weight, grad_bias)."""
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
    grad_xp = _windows.col2im(grad_cols, (H + top + bottom, W + left + right), stride, dilation)   # (C_in, N, Hp, Wp)
    grad_x = _windows.crop(grad_xp, pads).transpose(1, 0, 2, 3)
    return np.ascontiguousarray(grad_x), grad_w, g.sum(axis=(0, 2, 3))


# ----------------------------------------------------------------------------- convolution
@_args.quiet
def _conv(func, nd, input, weight, bias, stride, padding, dilation, groups, algorithm="im2col"):
    x, w, b, stride, dilation, groups = check_conv(func, nd, input, weight, bias, stride, dilation, groups)
    pads = _args.conv_padding(func, padding, w.shape[2:], stride, dilation)
    _args.kernel_fits(func, x.shape[-nd:], pads, w.shape[2:], dilation)
    dtype, x, w, b = x.dtype, *_args.computed(x, w, b)
    x, unbatched = _windows.batched(x, nd)
    x2, w2 = _windows.lift(nd, x), _windows.lift(nd, w)
    stride2, pads2, dilation2 = _windows.lift(nd, stride, 1), _windows.lift(nd, pads, (0, 0)), _windows.lift(nd, dilation, 1)
    name = conv_algorithms.check(func, algorithm, x2, w2, stride2, dilation2, groups)
    convolve = KERNELS[name] if x2.shape[0] else conv2d_im2col     # an empty batch: nothing to transform
    out = convolve(x2, w2, b, stride2, pads2, dilation2, groups)
    out = out.reshape(out.shape[:2] + out.shape[4 - nd:]).astype(dtype, copy=False)
    return out[0] if unbatched else out


def conv2d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntOrTuple = 1,
           padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1,
           algorithm: str = "im2col") -> np.ndarray:
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
        algorithm: how to compute it (not in torch; `cnnref.conv_algorithms`): ``"im2col"``
            (every window copied into a matrix, one matrix product), ``"direct"`` (the loops of
            `conv2d_loop`), ``"shift"`` (one matrix product per kernel tap), ``"winograd"``
            (3x3, stride 1, dilation 1), ``"fft"`` (stride 1), or ``"auto"`` (chosen by shape).

    Returns:
        The output, with ``input``'s dtype.

    Raises:
        TypeError: an integer array, or weight/bias of another dtype than input.
        ValueError: wrong number of dims, channels not divisible by groups, weight not
            matching input's channels, stride/dilation below 1, negative padding, a
            kernel larger than the padded input, an unknown ``algorithm`` or a case outside
            its domain.

    Examples:
        >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
        >>> w = np.ones((1, 1, 3, 3))
        >>> conv2d(x, w)                        # each output is the sum of a 3x3 window
        array([[[[45., 54.],
                 [81., 90.]]]])
        >>> conv2d(x, w, padding=1, stride=2).shape
        (1, 1, 2, 2)
        >>> np.allclose(conv2d(x, w, algorithm="winograd"), conv2d(x, w))
        True
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups, algorithm)


def conv1d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntOrTuple = 1,
           padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1) -> np.ndarray:
    """1-d convolution: `conv2d` on signals of height 1 (with its errors).

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

    Examples:
        >>> conv1d(np.array([[[1.0, 2.0, 3.0, 4.0]]]), np.array([[[1.0, -1.0]]]))
        array([[[-1., -1., -1.]]])
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d_loop(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntOrTuple = 1,
                padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1) -> np.ndarray:
    """`conv2d` with plain loops over output positions: slow, and obviously right.

    One output value is the dot product of one filter with the window of the padded input
    under it (the loops are `cnnref.loops.conv2d`). Same arguments, shapes and errors as `conv2d`.

    Examples:
        >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
        >>> conv2d_loop(x, np.ones((1, 1, 3, 3)))
        array([[[[45., 54.],
                 [81., 90.]]]])
    """
    return _conv("conv2d_loop", 2, input, weight, bias, stride, padding, dilation, groups, "direct")


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

    At stride 1 (and a finite input and weight) both products are split by kernel tap and
    computed over shifted views of the input, without the im2col matrix
    (`cnnref.conv_algorithms.shift_backward`); the numbers are the same to rounding.
    ``stride``, ``padding``, ``dilation`` and ``groups`` are as in the forward call.

    Args:
        grad_output: ``(N, C_out, H_out, W_out)`` (or unbatched), the gradient of the loss
            with respect to the output of `conv2d`.
        input: the input of the forward call.
        weight: the weight of the forward call.

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

    ``stride``, ``padding``, ``dilation`` and ``groups`` are as in the forward call.

    Args:
        grad_output: ``(N, C_out, L_out)`` (or unbatched), the gradient with respect to the output.
        input: the input of the forward call.
        weight: the weight of the forward call.

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
    x, w, _, stride, dilation, groups = check_conv(func, nd, input, weight, None, stride, dilation, groups)
    pads = _args.conv_padding(func, padding, w.shape[2:], stride, dilation)
    _args.kernel_fits(func, x.shape[-nd:], pads, w.shape[2:], dilation)
    input_shape, dtype = x.shape, x.dtype
    x, unbatched = _windows.batched(x, nd)
    stride2, dilation2 = _windows.lift(nd, stride, 1), _windows.lift(nd, dilation, 1)
    pads2 = _windows.lift(nd, pads, (0, 0))
    x2, w2 = _args.computed(_windows.lift(nd, x), _windows.lift(nd, w))
    padded = tuple(s + a + b for s, (a, b) in zip(x2.shape[2:], pads2))
    out_size = shapes.conv_output_size(padded, w2.shape[2:], stride2, 0, dilation2)
    g = check_grad_output(func, grad_output, x, (x.shape[0], w.shape[0]) + out_size[2 - nd:], unbatched)
    g, = _args.computed(g.reshape((x.shape[0], w.shape[0]) + out_size))
    # stride 1: one matrix product per kernel tap over shifted slices of the input (no im2col matrix,
    # fewer passes over memory). Those slices also hold positions whose products are dropped: a NaN or
    # inf there would leak into the sums (0 * inf), so such input takes the im2col path
    if stride2 == (1, 1) and x2.shape[0] and np.isfinite(x2).all() and np.isfinite(w2).all():
        gx, gw, gb = conv_algorithms.shift_backward(g, x2, w2, pads2, dilation2, groups)
    else:
        cols, _ = im2col(x2, w2.shape[2:], stride2, pads2, dilation2, groups)
        gx, gw, gb = _conv2d_grad(g, x2.shape, w2, stride2, pads2, dilation2, groups, cols)
    return gx.reshape(input_shape).astype(dtype), gw.reshape(w.shape).astype(dtype), gb.astype(dtype)


# the kernel of each algorithm, all with the arguments of `cnnref.loops.conv2d`
KERNELS = {"direct": loops.conv2d, "im2col": conv2d_im2col, "shift": conv_algorithms.shift,
           "winograd": conv_algorithms.winograd, "fft": conv_algorithms.fft}


# ----------------------------------------------------------------------------- unfold / fold
def _window_args(func, kernel_size, dilation, padding, stride):
    """The window of unfold / fold as 2-tuples: kernel_size, dilation, padding, stride."""
    return (_args.positive(func, "kernel_size", kernel_size, 2), _args.positive(func, "dilation", dilation, 2),
            _args.non_negative(func, "padding", padding, 2), _args.positive(func, "stride", stride, 2))


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
    kernel, dilation, padding, stride = _window_args(func, kernel_size, dilation, padding, stride)
    pads = tuple((p, p) for p in padding)
    _args.kernel_fits(func, x.shape[-2:], pads, kernel, dilation, name="kernel_size")
    x, unbatched = _windows.batched(x, 2)
    win = _windows.windows(_windows.pad(x, pads), kernel, stride, dilation)   # (N, C, kH, kW, H_out, W_out)
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
    kernel, dilation, padding, stride = _window_args(func, kernel_size, dilation, padding, stride)
    cols, unbatched = _windows.batched(cols, 1)
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
    out = _windows.col2im(cols6, (H + 2 * pH, W + 2 * pW), stride, dilation)
    out = np.ascontiguousarray(_windows.crop(out, ((pH, pH), (pW, pW))))
    return out[0] if unbatched else out
