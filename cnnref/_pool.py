"""Max and average pooling in NumPy, vectorised and as plain loops, with their gradients.

Public names are re-exported by `cnnref.functional`. The vectorised versions take a strided
view of every window of the padded input (`cnnref._windows`) and reduce it; the loop
versions (``max_pool2d_loop``, ``avg_pool2d_loop``, whose loops are in `cnnref.loops`) visit
one window at a time and state torch's rules (what padding counts as, what the average
divides by) in plain code. 1-d pooling is 2-d pooling of an image of height 1.
"""

from __future__ import annotations

import numpy as np

from cnnref import _args, _windows, loops, shapes
from cnnref._args import ArrayLike, IntOrTuple

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool2d_loop", "max_pool2d_backward",
    "avg_pool1d", "avg_pool2d", "avg_pool2d_loop", "avg_pool2d_backward",
]


def _pool_args(func, nd, input, kernel_size, stride, padding, dilation, ceil_mode):
    """Check pooling arguments; return ``(x, unbatched, kernel, stride, padding, dilation, out_size)``:
    ``x`` batched, the sizes as 2-d tuples (a 1-d input is lifted to an image of height 1)."""
    sp = "L" if nd == 1 else "H, W"
    x = _args.array(func, "input", input)
    _args.ndim(func, "input", x, {nd + 1: f"(C, {sp})", nd + 2: f"(N, C, {sp})"})
    _args.nonempty(func, "input", x, batched=x.ndim == nd + 2)
    kernel = _args.positive(func, "kernel_size", kernel_size, nd)
    no_stride = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    stride = kernel if no_stride else _args.positive(func, "stride", stride, nd)
    padding = _args.non_negative(func, "padding", padding, nd)
    dilation = _args.positive(func, "dilation", dilation, nd)
    out = _args.output_size(func, shapes.pool_output_size, x.shape[-nd:], kernel, stride, padding,
                            dilation, bool(ceil_mode))
    out = out if isinstance(out, tuple) else (out,)
    x, unbatched = _windows.batched(x, nd)
    lift = _windows.lift
    return (x, unbatched, lift(nd, kernel, 1), lift(nd, stride, 1), lift(nd, padding, 0), lift(nd, dilation, 1),
            lift(nd, out, 1))


def _pool_pads(size, kernel, stride, padding, dilation, out):
    """``((top, bottom), (left, right))``: ``padding`` on each side, and more at the bottom/right
    where a window that ``ceil_mode`` lets hang over the edge needs it."""
    need = [(o - 1) * s + d * (k - 1) + 1 for o, s, d, k in zip(out, stride, dilation, kernel)]
    return tuple((p, max(n + 2 * p, m) - n - p) for n, p, m in zip(size, padding, need))


def _first_inside(out, stride, padding, dilation):
    """Per output position: the first kernel row (or column) inside the input, as torch's kernels
    start their scan (``while start < 0: start += dilation``)."""
    start = np.arange(out) * stride - padding
    return np.where(start < 0, start + (-start + dilation - 1) // dilation * dilation, start)


# ----------------------------------------------------------------------------- max pooling
def _max_pool(func, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, loop=False):
    x, unbatched, *geometry = _pool_args(func, nd, input, kernel_size, stride, padding, dilation, ceil_mode)
    pool = loops.max_pool2d if loop else _max_pool2d
    out, idx = pool(_windows.lift(nd, x), *geometry)
    shape = x.shape[:2] + out.shape[4 - nd:]
    out, idx = out.reshape(shape), idx.reshape(shape)
    if unbatched:
        out, idx = out[0], idx[0]
    return (out, idx) if return_indices else out


def _max_pool2d(x, kernel, stride, padding, dilation, out_size):
    N, C, H, W = x.shape
    (kH, kW), (H_out, W_out) = kernel, out_size
    pads = _pool_pads((H, W), kernel, stride, padding, dilation, out_size)
    xp = _windows.pad(x, pads, -np.inf)                                     # padding is -inf: it never wins
    win = _windows.windows(xp, kernel, stride, dilation)[..., :H_out, :W_out]   # (N, C, kH, kW, H_out, W_out)
    win = win.reshape(N, C, kH * kW, H_out, W_out)
    best = win.argmax(axis=2)                                                # first maximum in scan order
    if np.isnan(x).any():
        # torch's kernel takes a value when it is larger than the best so far *or NaN*: a NaN wins,
        # and so does every later NaN of the window, so the index is that of the last NaN
        nan = np.isnan(win)
        last_nan = kH * kW - 1 - nan[:, :, ::-1].argmax(axis=2)
        best = np.where(nan.any(axis=2), last_nan, best)
    out = np.take_along_axis(win, best[:, :, None], axis=2)[:, :, 0]         # (N, C, H_out, W_out)
    # flat index h*W + w of the winner in its (H, W) plane, as torch returns it
    rows = np.arange(H_out)[:, None] * stride[0] - padding[0] + best // kW * dilation[0]
    cols = np.arange(W_out)[None, :] * stride[1] - padding[1] + best % kW * dilation[1]
    idx = rows * W + cols
    # a window holding only -inf (or only padding) reports its first position inside, as torch does
    first = (_first_inside(H_out, stride[0], padding[0], dilation[0])[:, None] * W
             + _first_inside(W_out, stride[1], padding[1], dilation[1])[None, :])
    idx = np.where(out == -np.inf, first, idx)
    return out, idx.astype(np.int64)


def max_pool2d(input: ArrayLike, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
               dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """2-d max pooling: the largest value of each window, per channel.

    Shapes: ``input: (N, C, H, W) -> (N, C, H_out, W_out)`` (or unbatched ``(C, H, W)``),
    ``H_out`` as in `cnnref.shapes.pool_output_size`. Padding counts as ``-inf``, so it never
    wins. With ``return_indices`` also the position of each maximum, as torch gives it: the
    flat index ``h*W + w`` within its own ``(H, W)`` plane (the first maximum on a tie).

    Args:
        input: the feature maps.
        kernel_size: window size, an int or ``(kH, kW)``.
        stride: step of the window; None means ``kernel_size``.
        padding: ``-inf`` added on each side, at most half the kernel.
        dilation: spacing between window elements.
        ceil_mode: round the output size up, letting the last window hang over the edge.
        return_indices: also return the int64 indices of the maxima.

    Returns:
        The pooled maps (``input``'s dtype), or ``(pooled, indices)``.

    Raises:
        TypeError: an integer array.
        ValueError: wrong dims, arguments below 1, too much padding, or an empty output.

    Examples:
        >>> x = np.array([[[[1., 1., 2., 4.],
        ...                 [5., 6., 7., 8.],
        ...                 [3., 2., 1., 0.],
        ...                 [1., 2., 3., 4.]]]])
        >>> max_pool2d(x, 2)                   # the notes' 2x2 example
        array([[[[6., 8.],
                 [3., 4.]]]])
        >>> max_pool2d(x, 2, return_indices=True)[1]
        array([[[[ 5,  7],
                 [ 8, 15]]]])
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d(input: ArrayLike, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
               dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """1-d max pooling: `max_pool2d` of signals of height 1 (with its errors).

    Shapes: ``input: (N, C, L) -> (N, C, L_out)`` (or unbatched ``(C, L)``); indices are
    positions in ``L``.

    Args:
        input: the signals.
        kernel_size: window length.
        stride: step of the window; None means ``kernel_size``.
        padding: ``-inf`` added on each side.
        dilation: spacing between window elements.
        ceil_mode: round the output length up.
        return_indices: also return the positions of the maxima.

    Returns:
        The pooled signals, or ``(pooled, indices)``.

    Examples:
        >>> max_pool1d(np.array([[[3., 1., 4., 1., 5.]]]), 2, ceil_mode=True)
        array([[[3., 4., 5.]]])
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d_loop(input: ArrayLike, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                    padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
                    return_indices: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """`max_pool2d` with plain loops (`cnnref.loops.max_pool2d`): visit each window, keep the first
    largest value (or the last NaN).

    Same arguments, shapes and errors as `max_pool2d`.

    Examples:
        >>> max_pool2d_loop(np.arange(16.0).reshape(1, 1, 4, 4), 2)
        array([[[[ 5.,  7.],
                 [13., 15.]]]])
    """
    return _max_pool("max_pool2d_loop", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, loop=True)


@_args.quiet
def max_pool2d_backward(grad_output: ArrayLike, indices: ArrayLike, input_shape: tuple[int, ...]) -> np.ndarray:
    """Gradient of `max_pool2d`: each output's gradient goes to the one input that won its window.

    ``grad_input`` is zero except at the maxima; an input that won several overlapping
    windows collects the sum of their gradients. (A window lying wholly in the padding, which
    dilation allows, outputs -inf with an index outside itself; torch then adds its gradient at
    that index, even in the next plane; here an index outside the plane is dropped.)

    Args:
        grad_output: ``(N, C, H_out, W_out)`` (or unbatched), the gradient of the loss with
            respect to the pooled output.
        indices: ``max_pool2d(..., return_indices=True)[1]``, same shape.
        input_shape: shape of the forward input, ``(N, C, H, W)`` or ``(C, H, W)``.

    Returns:
        ``grad_input`` of shape ``input_shape``, ``grad_output``'s dtype.

    Raises:
        TypeError: an integer ``grad_output``.
        ValueError: ``indices`` not of ``grad_output``'s shape, or shapes that do not fit.

    Examples:
        >>> x = np.array([[[[1., 3.], [4., 2.]]]])
        >>> out, idx = max_pool2d(x, 2, return_indices=True)
        >>> max_pool2d_backward(np.ones_like(out), idx, x.shape)
        array([[[[0., 0.],
                 [1., 0.]]]])
    """
    func = "max_pool2d_backward"
    g = _args.array(func, "grad_output", grad_output)
    idx = np.asarray(indices)
    shape = tuple(_args.integer(func, "input_shape", s) for s in input_shape)
    if len(shape) not in (3, 4) or g.ndim != len(shape) or idx.shape != g.shape or g.shape[:-2] != shape[:-2]:
        raise ValueError(f"{func}: grad_output {g.shape}, indices {idx.shape} and input_shape {shape} do not fit: "
                         f"expected (N, C, H_out, W_out) twice and (N, C, H, W), or the same without N")
    plane = shape[-1] * shape[-2]
    planes = int(np.prod(shape[:-2]))
    idx = idx.reshape(planes, g.size // planes if planes else 0)
    flat = idx + np.arange(planes)[:, None] * plane                         # index into the whole input
    inside = (idx >= 0) & (idx < plane)
    # one addition after the other, in grad_output's dtype and in the order of the outputs, as torch's
    # CPU kernel adds them (so float16 sums round, and stall past 2048, as torch's do)
    grad = np.zeros(planes * plane, dtype=g.dtype)
    np.add.at(grad, flat[inside], g.reshape(idx.shape)[inside])
    return grad.reshape(shape)


# ----------------------------------------------------------------------------- average pooling
def _avg_divisor(size, kernel, stride, padding, out, count_include_pad):
    """Per output position along one dim: what torch divides the window's sum by (one factor).

    A window runs from ``start = o*stride - padding`` over ``kernel`` positions but is cut at
    the end of the right padding (ceil_mode windows hang over it); with
    ``count_include_pad`` it counts the padding inside that, without it only real inputs.
    """
    start = np.arange(out) * stride - padding
    end = np.minimum(start + kernel, size + padding)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


@_args.quiet
def _avg_pool(func, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
              loop=False):
    x, unbatched, kernel, stride, padding, _, out_size = _pool_args(func, nd, input, kernel_size, stride, padding, 1,
                                                                    ceil_mode)
    if divisor_override is not None:
        divisor_override = _args.integer(func, "divisor_override", divisor_override)
        if divisor_override == 0:
            raise ValueError(f"{func}: divisor_override must not be zero")
    pool = loops.avg_pool2d if loop else _avg_pool2d
    x2, = _args.computed(_windows.lift(nd, x))      # float16 windows sum in float32, as torch's do
    out = pool(x2, kernel, stride, padding, out_size, count_include_pad, divisor_override)
    out = out.reshape(x.shape[:2] + out.shape[4 - nd:]).astype(x.dtype, copy=False)
    return out[0] if unbatched else out


def _divisor(x_shape, kernel, stride, padding, out_size, count_include_pad, divisor_override):
    if divisor_override is not None:
        return divisor_override
    (H, W), (H_out, W_out) = x_shape[-2:], out_size
    rows = _avg_divisor(H, kernel[0], stride[0], padding[0], H_out, count_include_pad)
    cols = _avg_divisor(W, kernel[1], stride[1], padding[1], W_out, count_include_pad)
    return rows[:, None] * cols[None, :]                                     # (H_out, W_out)


def _avg_pool2d(x, kernel, stride, padding, out_size, count_include_pad, divisor_override):
    H_out, W_out = out_size
    xp = _windows.pad(x, _pool_pads(x.shape[-2:], kernel, stride, padding, (1, 1), out_size))
    sums = _windows.windows(xp, kernel, stride, (1, 1))[..., :H_out, :W_out].sum(axis=(2, 3))   # (N, C, H_out, W_out)
    div = _divisor(x.shape, kernel, stride, padding, out_size, count_include_pad, divisor_override)
    return (sums / div).astype(x.dtype)


def avg_pool2d(input: ArrayLike, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> np.ndarray:
    """2-d average pooling: the mean of each window, per channel, with torch's divisor rules.

    Shapes: ``input: (N, C, H, W) -> (N, C, H_out, W_out)`` (or unbatched ``(C, H, W)``).
    The sum of a window's inputs (padding is zero) is divided by:

    - ``divisor_override`` if given;
    - with ``count_include_pad=True``: the window's size counting the padding, except that a
      ``ceil_mode`` window hanging past the right/bottom padding counts only up to its edge;
    - with ``count_include_pad=False``: the number of real inputs in the window.

    Args:
        input: the feature maps.
        kernel_size: window size, an int or ``(kH, kW)``.
        stride: step of the window; None means ``kernel_size``.
        padding: zeros added on each side, at most half the kernel.
        ceil_mode: round the output size up.
        count_include_pad: count padding in the divisor.
        divisor_override: divide every window's sum by this instead.

    Returns:
        The pooled maps, with ``input``'s dtype.

    Raises:
        TypeError: an integer array.
        ValueError: wrong dims, arguments below 1, too much padding, an empty output, or
            ``divisor_override=0``.

    Examples:
        >>> x = np.array([[[[1., 1., 2., 4.],
        ...                 [5., 6., 7., 8.],
        ...                 [3., 2., 1., 0.],
        ...                 [1., 2., 3., 4.]]]])
        >>> avg_pool2d(x, 2)
        array([[[[3.25, 5.25],
                 [2.  , 2.  ]]]])
        >>> avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)[0, 0, 0, 0]   # (1+1+5+6)/4
        np.float64(3.25)
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool1d(input: ArrayLike, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> np.ndarray:
    """1-d average pooling: `avg_pool2d` of signals of height 1 (with its errors).

    Shapes: ``input: (N, C, L) -> (N, C, L_out)`` (or unbatched ``(C, L)``).

    Args:
        input: the signals.
        kernel_size: window length.
        stride: step of the window; None means ``kernel_size``.
        padding: zeros added on each side.
        ceil_mode: round the output length up.
        count_include_pad: count padding in the divisor.

    Returns:
        The pooled signals.

    Examples:
        >>> avg_pool1d(np.array([[[1., 2., 3., 4., 5.]]]), 2, ceil_mode=True)
        array([[[1.5, 3.5, 5. ]]])
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d_loop(input: ArrayLike, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                    padding: IntOrTuple = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                    divisor_override: int | None = None) -> np.ndarray:
    """`avg_pool2d` with plain loops (`cnnref.loops.avg_pool2d`): sum each window's real inputs and
    divide by torch's divisor.

    Same arguments, shapes and errors as `avg_pool2d`.

    Examples:
        >>> x = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
        >>> avg_pool2d_loop(x, 2, padding=1, count_include_pad=False)[0, 0]   # one real input per window
        array([[1., 2.],
               [3., 4.]])
    """
    return _avg_pool("avg_pool2d_loop", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, loop=True)


@_args.quiet
def avg_pool2d_backward(grad_output: ArrayLike, input_shape: tuple[int, ...], kernel_size: IntOrTuple,
                        stride: IntOrTuple | None = None, padding: IntOrTuple = 0, ceil_mode: bool = False,
                        count_include_pad: bool = True, divisor_override: int | None = None) -> np.ndarray:
    """Gradient of `avg_pool2d`: each output's gradient, divided by its divisor, is shared by
    the real inputs of its window (padding's share is dropped).

    ``kernel_size``, ``stride``, ``padding``, ``ceil_mode``, ``count_include_pad`` and
    ``divisor_override`` are as in the forward call.

    Args:
        grad_output: ``(N, C, H_out, W_out)`` (or unbatched), the gradient with respect to the output.
        input_shape: shape of the forward input.

    Returns:
        ``grad_input`` of shape ``input_shape``.

    Raises:
        TypeError: an integer ``grad_output``.
        ValueError: ``grad_output`` not of the forward output's shape.

    Examples:
        >>> avg_pool2d_backward(np.ones((1, 1, 1, 1)), (1, 1, 2, 2), 2)
        array([[[[0.25, 0.25],
                 [0.25, 0.25]]]])
    """
    func = "avg_pool2d_backward"
    g = _args.array(func, "grad_output", grad_output)
    shape = tuple(_args.integer(func, "input_shape", s) for s in input_shape)
    x_like = np.broadcast_to(np.zeros((), g.dtype), shape)                   # only its shape is used
    _, _, kernel, stride, padding, _, out_size = _pool_args(func, 2, x_like, kernel_size, stride, padding, 1,
                                                            ceil_mode)
    expected = shape[:-2] + tuple(out_size)
    if g.shape != expected:
        raise ValueError(f"{func}: grad_output has shape {g.shape}, expected the forward output's shape {expected}")
    g, unbatched = _windows.batched(g, 2)
    div = _divisor(shape, kernel, stride, padding, out_size, count_include_pad, divisor_override)
    compute = _args.compute_dtype(g.dtype)
    share = (g.astype(compute) / np.asarray(div, dtype=compute)).astype(g.dtype)   # (N, C, H_out, W_out)
    N, C, H_out, W_out = share.shape
    cols = np.broadcast_to(share[:, :, None, None], (N, C) + kernel + (H_out, W_out))
    (H, W), pads = shape[-2:], _pool_pads(shape[-2:], kernel, stride, padding, (1, 1), out_size)
    # torch's CPU kernel adds the shares one output after the other, in grad_output's dtype; col2im
    # adds them in that order when it walks the kernel positions backwards
    grad = _windows.col2im(cols, (H + sum(pads[0]), W + sum(pads[1])), stride, (1, 1), reverse=True)
    grad = np.ascontiguousarray(_windows.crop(grad, pads))
    return grad[0] if unbatched else grad
