"""NumPy twins of ``torch.nn.functional``: same names, arguments, defaults, shapes and numbers.

- Convolution (in `cnnref._conv`): `conv1d`, `conv2d`, `conv_transpose1d`, `conv_transpose2d`,
  `unfold` (im2col), `fold` (col2im), the loop versions `conv2d_loop`,
  `conv_transpose2d_loop`, and the gradients `conv1d_backward`, `conv2d_backward`,
  `conv_transpose2d_backward`.
- Pooling (in `cnnref._pool`): `max_pool1d`, `max_pool2d`, `avg_pool1d`, `avg_pool2d`,
  the loop versions `max_pool2d_loop`, `avg_pool2d_loop`, and the gradients
  `max_pool2d_backward`, `avg_pool2d_backward`.
- Here: `pad`, `linear`, `relu`, `leaky_relu`, `sigmoid`, `tanh`, `softmax`, `log_softmax`,
  `cross_entropy`, `mse_loss`.

Layout is NCHW as in torch; an unbatched input (no N) works where torch accepts one, and so
does an empty batch (N = 0). Inputs must be floating-point arrays (an integer array is a
``TypeError``); the output has the input's dtype, so float32 stays float32. float16 is computed
as torch computes it on the CPU: in float32, rounded to float16 once, so long sums neither
overflow nor stall (where torch's own kernel adds in float16, as in `fold`, the pooling
gradients and the sum of `cross_entropy`, so do these). NaN and infinities flow through as in
torch, without warnings. The ``*_backward`` functions are not in torch (autograd computes them
there); `cnnref.nn` uses them.
"""

from __future__ import annotations

import warnings

import numpy as np

from cnnref import _args
from cnnref._args import ArrayLike, DTypeLike, Sequence
from cnnref._conv import (conv1d, conv1d_backward, conv2d, conv2d_backward, conv2d_loop, conv_transpose1d,
                          conv_transpose2d, conv_transpose2d_backward, conv_transpose2d_loop, fold, unfold)
from cnnref._pool import (avg_pool1d, avg_pool2d, avg_pool2d_backward, avg_pool2d_loop, max_pool1d, max_pool2d,
                          max_pool2d_backward, max_pool2d_loop)

__all__ = [
    "conv1d", "conv1d_backward", "conv2d", "conv2d_loop", "conv2d_backward",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose2d_loop", "conv_transpose2d_backward",
    "unfold", "fold",
    "max_pool1d", "max_pool2d", "max_pool2d_loop", "max_pool2d_backward",
    "avg_pool1d", "avg_pool2d", "avg_pool2d_loop", "avg_pool2d_backward",
    "pad", "pad_backward", "linear", "linear_backward",
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "sigmoid", "sigmoid_backward",
    "tanh", "tanh_backward", "softmax", "log_softmax",
    "cross_entropy", "cross_entropy_backward", "mse_loss", "mse_loss_backward",
]

PAD_MODES = ("constant", "reflect", "replicate", "circular")


# ----------------------------------------------------------------------------- padding
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

    Args:
        grad_output: the gradient with respect to the padded output.
        input_shape: shape of the forward input.
        pad: as in the forward call.
        mode: as in the forward call.

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


# ----------------------------------------------------------------------------- linear and activations
@_args.quiet
def linear(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None) -> np.ndarray:
    """Fully connected layer: ``y = x @ weight.T + bias``.

    Shapes: ``input: (*, in_features) -> (*, out_features)``, ``weight: (out_features, in_features)``,
    ``bias: (out_features,)``.

    Args:
        input: any number of leading dims, the last one ``in_features``.
        weight: the matrix ``A`` of ``y = x A^T + b``.
        bias: ``b``, or None.

    Returns:
        ``(*, out_features)``, ``input``'s dtype.

    Raises:
        TypeError: integer arrays or mixed dtypes.
        ValueError: weight not 2-d, or ``in_features`` not matching.

    Examples:
        >>> linear(np.array([1., 2.]), np.array([[1., 1.], [0., 3.], [1., -1.]]), np.array([0., 0., 10.]))
        array([3., 6., 9.])
    """
    func = "linear"
    x = _args.array(func, "input", input)
    w = _args.array(func, "weight", weight)
    _args.same_dtype(func, "weight", w, x)
    _args.ndim(func, "weight", w, {2: "(out_features, in_features)"})
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"{func}: input has shape {x.shape}, expected (*, in_features={w.shape[1]}) "
                         f"to match weight {w.shape}")
    compute = _args.compute_dtype(x.dtype)
    out = x.astype(compute) @ w.T.astype(compute)            # (*, out_features)
    if bias is not None:
        b = _args.array(func, "bias", bias)
        _args.same_dtype(func, "bias", b, x)
        if b.shape != (w.shape[0],):
            raise ValueError(f"{func}: bias has shape {b.shape}, expected (out_features,) = ({w.shape[0]},)")
        out = out + b.astype(compute)
    return out.astype(x.dtype, copy=False)


@_args.quiet
def linear_backward(grad_output: ArrayLike, input: ArrayLike,
                    weight: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``linear(input, weight, bias)``: ``grad_input = g @ weight``,
    ``grad_weight = g^T x`` and ``grad_bias = sum g``, summed over every leading dim.

    Args:
        grad_output: ``(*, out_features)``, the gradient with respect to the output.
        input: ``(*, in_features)``, the input of the forward call.
        weight: ``(out_features, in_features)``, the weight of the forward call.

    Returns:
        ``(grad_input, grad_weight, grad_bias)`` with the shapes of input, weight and ``(out_features,)``.

    Raises:
        ValueError: ``grad_output`` not of the forward output's shape.

    Examples:
        >>> gx, gw, gb = linear_backward(np.ones((2, 3)), np.ones((2, 4)), np.ones((3, 4)))
        >>> gx, gw.shape, gb
        (array([[3., 3., 3., 3.],
               [3., 3., 3., 3.]]), (3, 4), array([2., 2., 2.]))
    """
    func = "linear_backward"
    x, w = _args.array(func, "input", input), _args.array(func, "weight", weight)
    g = _args.array(func, "grad_output", grad_output)
    _args.same_dtype(func, "weight", w, x)
    _args.same_dtype(func, "grad_output", g, x)
    _args.ndim(func, "weight", w, {2: "(out_features, in_features)"})
    if x.ndim == 0 or x.shape[-1] != w.shape[1] or g.shape != x.shape[:-1] + (w.shape[0],):
        raise ValueError(f"{func}: grad_output {g.shape}, input {x.shape} and weight {w.shape} do not fit: expected "
                         f"(*, out_features), (*, in_features) and (out_features, in_features)")
    compute = _args.compute_dtype(x.dtype)
    g2 = g.reshape(-1, w.shape[0]).astype(compute)          # (batch, out_features)
    x2 = x.reshape(-1, w.shape[1]).astype(compute)          # (batch, in_features)
    return ((g2 @ w.astype(compute)).reshape(x.shape).astype(x.dtype), (g2.T @ x2).astype(x.dtype),
            g2.sum(axis=0).astype(x.dtype))


def relu(input: ArrayLike, inplace: bool = False) -> np.ndarray:
    """``max(0, x)`` elementwise.

    Args:
        input: any shape.
        inplace: overwrite ``input`` (which must then be an ndarray) and return it.

    Returns:
        Same shape and dtype.

    Examples:
        >>> relu(np.array([-2., 0., 3.]))
        array([0., 0., 3.])
    """
    x = _args.array("relu", "input", input)
    # torch keeps x unless x < 0: NaN stays NaN and -0.0 stays -0.0
    if inplace:
        np.copyto(x, 0, where=x < 0)
        return x
    return np.where(x < 0, x.dtype.type(0), x)


def _grad_like(func: str, grad_output, saved: np.ndarray, name: str) -> np.ndarray:
    """``grad_output`` as an array of the saved forward array's shape and dtype."""
    g = _args.array(func, "grad_output", grad_output)
    _args.same_dtype(func, "grad_output", g, saved, name)
    if g.shape != saved.shape:
        raise ValueError(f"{func}: grad_output has shape {g.shape}, expected {name}'s shape {saved.shape}")
    return g


def relu_backward(grad_output: ArrayLike, output: ArrayLike) -> np.ndarray:
    """Gradient of `relu` from its output: ``grad_output`` where ``output > 0``, else 0.

    As torch's ``threshold_backward``, only ``output <= 0`` blocks the gradient: a NaN output
    passes it on.

    Args:
        grad_output: the gradient with respect to the output.
        output: the output of the forward call.

    Returns:
        ``grad_input``, output's shape and dtype.

    Examples:
        >>> relu_backward(np.array([5., 5., 5.]), relu(np.array([-1., 2., np.nan])))
        array([0., 5., 5.])
    """
    out = _args.array("relu_backward", "output", output)
    g = _grad_like("relu_backward", grad_output, out, "output")
    return np.where(out <= 0, g.dtype.type(0), g)


@_args.quiet
def leaky_relu(input: ArrayLike, negative_slope: float = 0.01, inplace: bool = False) -> np.ndarray:
    """``x`` where ``x > 0``, else ``negative_slope * x``.

    Args:
        input: any shape.
        negative_slope: slope for negative inputs.
        inplace: overwrite ``input`` and return it.

    Returns:
        Same shape and dtype.

    Examples:
        >>> leaky_relu(np.array([-2., 3.]), 0.1)
        array([-0.2,  3. ])
    """
    x = _args.array("leaky_relu", "input", input)
    out = np.where(x > 0, x, x * np.asarray(negative_slope, dtype=x.dtype))
    if inplace:
        x[...] = out
        return x
    return out


@_args.quiet
def leaky_relu_backward(grad_output: ArrayLike, input: ArrayLike, negative_slope: float = 0.01) -> np.ndarray:
    """Gradient of `leaky_relu`: ``grad_output`` where ``input > 0``, else ``negative_slope`` times it.

    Args:
        grad_output: the gradient with respect to the output.
        input: the input of the forward call.
        negative_slope: as in the forward call.

    Returns:
        ``grad_input``, input's shape and dtype.

    Examples:
        >>> leaky_relu_backward(np.array([1., 1.]), np.array([-3., 3.]), 0.1)
        array([0.1, 1. ])
    """
    x = _args.array("leaky_relu_backward", "input", input)
    g = _grad_like("leaky_relu_backward", grad_output, x, "input")
    return np.where(x > 0, g, g * np.asarray(negative_slope, dtype=g.dtype))


def sigmoid(input: ArrayLike) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))``, computed without overflow for large ``|x|``.

    Args:
        input: any shape.

    Returns:
        Values in (0, 1), same shape and dtype.

    Examples:
        >>> sigmoid(np.array([0., 1000., -1000.]))
        array([0.5, 1. , 0. ])
    """
    x = _args.array("sigmoid", "input", input)
    z = x.astype(_args.compute_dtype(x.dtype), copy=False)   # float16: computed in float32, rounded once
    e = np.exp(-np.abs(z))                                   # never overflows
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


@_args.quiet
def sigmoid_backward(grad_output: ArrayLike, output: ArrayLike) -> np.ndarray:
    """Gradient of `sigmoid` from its output ``s``: ``grad_output * s * (1 - s)``.

    Args:
        grad_output: the gradient with respect to the output.
        output: the output of the forward call.

    Returns:
        ``grad_input``, output's shape and dtype.

    Examples:
        >>> sigmoid_backward(np.ones(2), sigmoid(np.array([0., 1000.])))
        array([0.25, 0.  ])
    """
    s = _args.array("sigmoid_backward", "output", output)
    g = _grad_like("sigmoid_backward", grad_output, s, "output")
    compute = _args.compute_dtype(s.dtype)
    s = s.astype(compute)
    return (g.astype(compute) * (1 - s) * s).astype(g.dtype)


def tanh(input: ArrayLike) -> np.ndarray:
    """Hyperbolic tangent ``(e^x - e^-x) / (e^x + e^-x) = 2*sigmoid(2x) - 1``.

    Args:
        input: any shape.

    Returns:
        Values in (-1, 1), same shape and dtype.

    Examples:
        >>> tanh(np.array([0., 1.]))
        array([0.        , 0.76159416])
    """
    return np.tanh(_args.array("tanh", "input", input))


@_args.quiet
def tanh_backward(grad_output: ArrayLike, output: ArrayLike) -> np.ndarray:
    """Gradient of `tanh` from its output ``t``: ``grad_output * (1 - t**2)``.

    Args:
        grad_output: the gradient with respect to the output.
        output: the output of the forward call.

    Returns:
        ``grad_input``, output's shape and dtype.

    Examples:
        >>> tanh_backward(np.ones(2), tanh(np.array([0., 1000.])))
        array([1., 0.])
    """
    t = _args.array("tanh_backward", "output", output)
    g = _grad_like("tanh_backward", grad_output, t, "output")
    compute = _args.compute_dtype(t.dtype)
    t = t.astype(compute)
    return (g.astype(compute) * (1 - t * t)).astype(g.dtype)


def _softmax_args(func, input, dim, dtype):
    x = _args.array(func, "input", input)
    if dtype is not None:
        x = x.astype(dtype)
    if dim is None:                                          # torch's legacy implicit choice
        dim = 0 if x.ndim in (0, 1, 3) else 1
        warnings.warn(f"Implicit dimension choice for {func} has been deprecated. Change the call to include "
                      f"dim=X as an argument.", UserWarning, stacklevel=3)
    dim = _args.integer(func, "dim", dim)
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise ValueError(f"{func}: dim {dim} is out of range for input with {x.ndim} dims")
    return x, dim if x.ndim else None


def log_softmax(input: ArrayLike, dim: int | None = None, dtype: DTypeLike | None = None) -> np.ndarray:
    """``x - log(sum(exp(x), dim))``, computed stably by subtracting the maximum first.

    Args:
        input: any shape.
        dim: the dim that sums to one after ``exp``. None picks torch's legacy default with a warning.
        dtype: cast the input to this dtype first.

    Returns:
        Same shape as ``input``.

    Examples:
        >>> log_softmax(np.array([1000., 1000.]), dim=0)
        array([-0.69314718, -0.69314718])
    """
    x, dim = _softmax_args("log_softmax", input, dim, dtype)
    z = x.astype(_args.compute_dtype(x.dtype), copy=False)
    with np.errstate(invalid="ignore", divide="ignore"):     # inf - inf is NaN, silently as in torch
        shifted = z - np.max(z, axis=dim, keepdims=True, initial=-np.inf)
        return (shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))).astype(x.dtype, copy=False)


def softmax(input: ArrayLike, dim: int | None = None, dtype: DTypeLike | None = None) -> np.ndarray:
    """``exp(x) / sum(exp(x), dim)``: non-negative, summing to one along ``dim``.

    Args:
        input: any shape.
        dim: the dim that sums to one. None picks torch's legacy default with a warning.
        dtype: cast the input to this dtype first.

    Returns:
        Same shape as ``input``.

    Examples:
        >>> softmax(np.array([[1., 1.], [0., np.log(3.)]]), dim=1)
        array([[0.5 , 0.5 ],
               [0.25, 0.75]])
    """
    x, dim = _softmax_args("softmax", input, dim, dtype)
    z = x.astype(_args.compute_dtype(x.dtype), copy=False)   # float16: sums in float32, as torch's
    with np.errstate(invalid="ignore"):                      # inf - inf is NaN, silently as in torch
        e = np.exp(z - np.max(z, axis=dim, keepdims=True, initial=-np.inf))
        return (e / np.sum(e, axis=dim, keepdims=True)).astype(x.dtype, copy=False)


# ----------------------------------------------------------------------------- losses
def _reduction(func, size_average, reduce, reduction):
    """torch's legacy ``size_average`` / ``reduce`` flags -> a ``reduction`` string."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = ("mean" if size_average else "sum") if reduce else "none"
    _args.choice(func, "reduction", reduction, ("mean", "sum", "none"))
    return reduction


def _cross_entropy_args(func, input, target, weight, ignore_index, label_smoothing):
    """Check the arguments of `cross_entropy`; return ``(x, class_dim, t, w, eps, keep)``.

    ``t`` holds class indices (``keep`` marks the elements not ignored) or, for a floating-point
    target, class probabilities of input's shape (``keep`` is None); ``w`` is None without weights.
    """
    x = _args.array(func, "input", input)
    if x.ndim == 0:
        raise ValueError(f"{func}: input has 0 dims, expected (C,), (N, C) or (N, C, d1, ...)")
    class_dim = 0 if x.ndim == 1 else 1
    C = x.shape[class_dim]
    w = None
    if weight is not None:
        w = _args.array(func, "weight", weight)
        _args.same_dtype(func, "weight", w, x)
        if w.shape != (C,):
            raise ValueError(f"{func}: weight has shape {w.shape}, expected (C,) = ({C},), one per class")
    eps = float(label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"{func}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    t = np.asarray(target)
    if np.issubdtype(t.dtype, np.floating):                 # class probabilities, same shape as input
        if t.shape != x.shape:
            raise ValueError(f"{func}: target of probabilities has shape {t.shape}, expected input's shape {x.shape}")
        _args.same_dtype(func, "target", t, x)
        if ignore_index >= 0:
            raise ValueError(f"{func}: ignore_index={ignore_index} is not supported for a target of probabilities")
        return x, class_dim, t, w, eps, None
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"{func}: target has dtype {t.dtype}, expected integer class indices or float probabilities")
    expected = x.shape[:class_dim] + x.shape[class_dim + 1:]
    if t.shape != expected:
        raise ValueError(f"{func}: target has shape {t.shape}, expected {expected} (input's shape without the "
                         f"class dim {class_dim})")
    keep = t != ignore_index
    if np.any((t[keep] < 0) | (t[keep] >= C)):
        outside = np.unique(t[keep & ((t < 0) | (t >= C))])
        raise ValueError(f"{func}: target has class indices outside [0, {C}): {outside}")
    return x, class_dim, t, w, eps, keep


@_args.quiet
def _nll_sums(losses, weights, keep):
    """The sums of the kept per-element losses and of their weights, as torch's CPU ``nll_loss``
    forms them.

    torch adds them in the loss's own dtype through a cascade of eight partial sums: partial
    ``j`` is flushed into ``j + 1`` after element ``i`` (in row-major order) whenever ``i`` is a
    multiple of ``16**(j + 1)``; an ignored element neither adds nor flushes (ATen's
    LossNLL.cpp and LossNLL2d.cpp, CPU kernels). In float32 and float64 that agrees with NumPy's
    sum to rounding; in float16 the rounding of each addition shows (the sum stalls, and past
    65504 overflows to inf, where a float32 sum would not), so float16 follows the cascade.
    """
    if losses.dtype != np.float16:
        return np.sum(losses), np.sum(weights)
    zero = np.float16(0)
    loss_parts, weight_parts = [zero] * 8, [zero] * 8
    flat_losses, flat_weights = losses.ravel(), weights.ravel()
    for i in np.flatnonzero(keep).tolist():
        loss_parts[0] += flat_losses[i]
        weight_parts[0] += flat_weights[i]
        for j in range(7):
            if i & (15 << 4 * j):
                break
            loss_parts[j + 1] += loss_parts[j]
            weight_parts[j + 1] += weight_parts[j]
            loss_parts[j] = weight_parts[j] = zero
    total_loss, total_weight = zero, zero
    for loss_part, weight_part in zip(loss_parts, weight_parts):
        total_loss += loss_part
        total_weight += weight_part
    return total_loss, total_weight


def cross_entropy(input: ArrayLike, target: ArrayLike, weight: ArrayLike | None = None,
                  size_average: bool | None = None, ignore_index: int = -100, reduce: bool | None = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> np.ndarray:
    """Cross-entropy between the softmax of ``input`` (logits) and ``target``.

    With class indices, element ``i`` loses ``-weight[t_i] * log_softmax(input)[i, t_i]``;
    ``reduction='mean'`` divides the sum by ``sum_i weight[t_i]`` (the count when there are no
    weights), skipping targets equal to ``ignore_index``. ``label_smoothing = eps`` mixes the
    one-hot target with the uniform ``1/C``. Targets may also be class probabilities (floats,
    input's shape); ``'mean'`` then divides by the number of elements.

    Shapes: ``input: (N, C)``, ``(C,)`` or ``(N, C, d1, ...)``; ``target``: ``(N,)``, ``()`` or
    ``(N, d1, ...)`` ints in ``[0, C)``; output ``()`` or, with ``reduction='none'``, target's shape.

    Args:
        input: logits.
        target: class indices, or probabilities of input's shape.
        weight: ``(C,)`` per-class weights, or None.
        size_average: legacy, use ``reduction``.
        ignore_index: class index whose elements are left out.
        reduce: legacy, use ``reduction``.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        label_smoothing: in [0, 1].

    Returns:
        The loss, ``input``'s dtype.

    Raises:
        TypeError: integer logits, or a target of another kind.
        ValueError: shapes that do not fit, indices out of range, a bad ``reduction``.

    Examples:
        >>> logits = np.array([[2.0, 0.0], [0.0, 0.0]])
        >>> cross_entropy(logits, np.array([0, 1]), reduction="none")
        array([0.12692801, 0.69314718])
        >>> float(cross_entropy(logits, np.array([0, 1])))        # their mean
        0.4100375...
    """
    func = "cross_entropy"
    reduction = _reduction(func, size_average, reduce, reduction)
    x, class_dim, t, w, eps, keep = _cross_entropy_args(func, input, target, weight, ignore_index, label_smoothing)
    dtype, compute = x.dtype, _args.compute_dtype(x.dtype)
    C = x.shape[class_dim]

    def rounded(a):                     # torch keeps each intermediate tensor in the input's dtype
        return np.asarray(a, dtype=compute).astype(dtype)[()]

    def scaled(a, factor):              # tensor * Python float: computed in float32 for float16, rounded once
        return rounded(np.asarray(a, dtype=compute) * compute.type(factor))

    per_class = eps / C if C else 0.0
    logp = log_softmax(x, dim=class_dim)
    with np.errstate(invalid="ignore", divide="ignore"):     # 0/0 (nothing kept) is NaN, silently as in torch
        if keep is None:                                     # probabilities: every class contributes
            if eps > 0:
                t = rounded(scaled(t, 1 - eps).astype(compute) + compute.type(per_class))
            terms = rounded(logp * t)
            if w is not None:
                terms = rounded(terms * w.reshape((C,) + (1,) * (x.ndim - 1 - class_dim)))
            if reduction == "none":
                return rounded(-np.sum(terms, axis=class_dim, dtype=compute))
            total = -rounded(np.sum(terms, dtype=compute))
            return total if reduction == "sum" else rounded(total / compute.type(x.size // C if C else 0))
        # class indices: the log-probability of each target class, weighted (0 where ignored)
        t_safe = np.where(keep, t, 0)
        picked = np.take_along_axis(np.moveaxis(logp, class_dim, -1), t_safe[..., None], axis=-1)[..., 0]
        w_t = np.ones_like(picked) if w is None else w[t_safe]
        nll = np.where(keep, -picked * w_t, dtype.type(0))
        if reduction != "none":
            if nll.size == 0:                                # torch: the mean of nothing is NaN, the sum 0
                nll = dtype.type(np.nan if reduction == "mean" else 0)
            else:
                nll_sum, weight_sum = _nll_sums(nll, np.where(keep, w_t, dtype.type(0)), keep)
                nll = nll_sum / weight_sum if reduction == "mean" else nll_sum
        if eps == 0:
            return np.asarray(nll, dtype=dtype)[()]
        # label smoothing: eps/C times the (weighted) sum of -logp over all classes, 0 where ignored
        w_c = 1 if w is None else w.reshape((C,) + (1,) * (x.ndim - 1 - class_dim))
        smooth = np.where(keep, -rounded(np.sum(rounded(logp * w_c), axis=class_dim, dtype=compute)),
                          dtype.type(0))
        if reduction == "none":
            ret = smooth
        else:
            ret = rounded(np.sum(smooth, dtype=compute))
            if reduction == "mean":
                count = (rounded(np.sum(w_t[keep], dtype=compute)) if w is not None
                         else dtype.type(np.count_nonzero(keep)))
                ret = rounded(ret / count)
        out = scaled(nll, 1 - eps).astype(compute) + scaled(ret, per_class)
        return rounded(out)


@_args.quiet
def cross_entropy_backward(grad_output: ArrayLike, input: ArrayLike, target: ArrayLike,
                           weight: ArrayLike | None = None, ignore_index: int = -100, reduction: str = "mean",
                           label_smoothing: float = 0.0) -> np.ndarray:
    """Gradient of `cross_entropy` with respect to its ``input`` (the logits).

    With ``q`` the target distribution of an element (one-hot, or the given probabilities;
    mixed with ``label_smoothing/C``; times the class weights; zero where ignored), its loss is
    ``-sum_c q_c * log_softmax(x)_c``, whose gradient is ``softmax(x) * sum_c q_c - q``; times
    ``grad_output`` (one per element with ``reduction='none'``), divided by the weight sum with
    ``'mean'`` (the element count for probabilities).

    Args:
        grad_output: d loss / d output: a scalar, or target's shape with ``reduction='none'``.
        input: the logits of the forward call.
        target: the target of the forward call.
        weight: as in the forward call.
        ignore_index: as in the forward call.
        reduction: as in the forward call.
        label_smoothing: as in the forward call.

    Returns:
        ``grad_input``, input's shape and dtype.

    Raises:
        ValueError: ``grad_output`` of another shape than the forward output.

    Examples:
        >>> cross_entropy_backward(1.0, np.zeros((2, 4)), np.array([1, 3]))
        array([[ 0.125, -0.375,  0.125,  0.125],
               [ 0.125,  0.125,  0.125, -0.375]])
    """
    func = "cross_entropy_backward"
    reduction = _reduction(func, None, None, reduction)
    x, class_dim, t, w, eps, keep = _cross_entropy_args(func, input, target, weight, ignore_index, label_smoothing)
    dtype, compute = x.dtype, _args.compute_dtype(x.dtype)
    C = x.shape[class_dim]
    elements = x.shape[:class_dim] + x.shape[class_dim + 1:]
    g = np.asarray(grad_output, dtype=compute)
    if g.shape != (elements if reduction == "none" else ()):
        raise ValueError(f"{func}: grad_output has shape {g.shape}, expected the forward output's shape "
                         f"{elements if reduction == 'none' else ()}")
    per_class = eps / C if C else 0.0
    p = np.moveaxis(softmax(x.astype(compute), dim=class_dim), class_dim, -1)   # (..., C)
    w_c = np.ones(C, compute) if w is None else w.astype(compute)
    with np.errstate(invalid="ignore", divide="ignore"):
        if keep is None:                                     # probabilities
            q = (np.moveaxis(t, class_dim, -1).astype(compute) * (1 - eps) + per_class) * w_c
            scale = g / compute.type(x.size // C) if reduction == "mean" else g
            grad_logp = -q * np.asarray(scale)[..., None]
        else:
            t_safe = np.where(keep, t, 0)
            w_t = w_c[t_safe]
            if reduction == "mean":
                g = g / np.sum(w_t[keep])
            scale = np.where(keep, g, 0)                     # an ignored element gets no gradient at all
            grad_logp = np.broadcast_to(-per_class * w_c * scale[..., None], p.shape).copy()
            np.put_along_axis(grad_logp, t_safe[..., None],
                              np.take_along_axis(grad_logp, t_safe[..., None], axis=-1)
                              - ((1 - eps) * w_t * scale)[..., None], axis=-1)
        grad = grad_logp - p * np.sum(grad_logp, axis=-1, keepdims=True)    # back through log_softmax
    return np.moveaxis(grad, -1, class_dim).astype(dtype)


@_args.quiet
def mse_loss(input: ArrayLike, target: ArrayLike, size_average: bool | None = None, reduce: bool | None = None,
             reduction: str = "mean", weight: ArrayLike | None = None) -> np.ndarray:
    """Mean squared error ``mean((input - target)**2)``.

    Args:
        input: any shape.
        target: input's shape (broadcast with a warning otherwise, as torch does).
        size_average: legacy, use ``reduction``.
        reduce: legacy, use ``reduction``.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        weight: elementwise weights of input's shape; ``'mean'`` then divides by their sum.

    Returns:
        The loss, ``input``'s dtype.

    Raises:
        TypeError: integer arrays.
        ValueError: shapes that do not broadcast, or a bad ``reduction``.

    Examples:
        >>> mse_loss(np.array([1., 2., 3.]), np.array([1., 0., 0.]))
        np.float64(4.333333333333333)
    """
    func = "mse_loss"
    x = _args.array(func, "input", input)
    t = _args.array(func, "target", target)
    reduction = _reduction(func, size_average, reduce, reduction)
    if t.shape != x.shape:
        warnings.warn(f"Using a target size ({t.shape}) that is different to the input size ({x.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", UserWarning, stacklevel=2)
        try:
            x, t = np.broadcast_arrays(x, t)
        except ValueError:
            raise ValueError(f"{func}: target has shape {t.shape}, expected input's shape {x.shape}") from None
    dtype, compute = x.dtype, _args.compute_dtype(x.dtype)
    diff = (x - t).astype(dtype)
    squared = diff * diff                   # float16: rounded after each step, as torch's kernel does
    total = squared.size
    if weight is not None:
        w = _args.array(func, "weight", weight)
        if w.shape != squared.shape:
            raise ValueError(f"{func}: weight has shape {w.shape}, expected input's shape {squared.shape}")
        squared = (squared * w).astype(dtype)
        total = np.sum(w, dtype=compute).astype(dtype)
    if reduction == "none":
        return squared
    summed = np.sum(squared, dtype=compute)                 # float16: accumulated in float32, as in torch
    if reduction == "sum":
        return summed.astype(dtype)
    with np.errstate(invalid="ignore", divide="ignore"):    # the mean of nothing is NaN, silently as in torch
        if weight is not None:
            return summed.astype(dtype) / total
        return (summed / total).astype(dtype)


@_args.quiet
def mse_loss_backward(grad_output: ArrayLike, input: ArrayLike, target: ArrayLike, reduction: str = "mean",
                      weight: ArrayLike | None = None) -> np.ndarray:
    """Gradient of `mse_loss` with respect to its ``input``: ``2 (input - target) * grad_output``,
    divided by the element count for ``reduction='mean'`` (by the weight sum, and times the
    weights, with ``weight``).

    Args:
        grad_output: d loss / d output: a scalar, or input's shape with ``reduction='none'``.
        input: the input of the forward call.
        target: the target of the forward call.
        reduction: as in the forward call.
        weight: as in the forward call.

    Returns:
        ``grad_input``, input's shape and dtype.

    Raises:
        ValueError: ``grad_output`` of another shape than the forward output.

    Examples:
        >>> mse_loss_backward(1.0, np.array([1., 3.]), np.array([0., 0.]))
        array([1., 3.])
    """
    func = "mse_loss_backward"
    x = _args.array(func, "input", input)
    t = _args.array(func, "target", target)
    reduction = _reduction(func, None, None, reduction)
    try:
        shape = np.broadcast_shapes(x.shape, t.shape)
    except ValueError:
        raise ValueError(f"{func}: target has shape {t.shape}, expected input's shape {x.shape}") from None
    dtype = x.dtype
    g = np.asarray(grad_output, dtype=dtype)
    if g.shape != (shape if reduction == "none" else ()):
        raise ValueError(f"{func}: grad_output has shape {g.shape}, expected the forward output's shape "
                         f"{shape if reduction == 'none' else ()}")
    diff = (x - t).astype(dtype)
    if weight is not None:
        w = _args.array(func, "weight", weight).astype(dtype)
        if reduction == "mean":
            g = (g / np.sum(w, dtype=_args.compute_dtype(dtype)).astype(dtype)).astype(dtype)
        grad = 2 * diff * (g * w).astype(dtype)
    else:
        # torch's kernel: norm * (input - target) * grad_output, norm = 2/numel for 'mean', else 2
        with np.errstate(divide="ignore"):
            norm = dtype.type(2 / diff.size if diff.size else np.inf) if reduction == "mean" else dtype.type(2)
        grad = norm * diff * g
    grad = grad.astype(dtype)
    # d/d input of a broadcast input sums over the broadcast dims
    extra = grad.ndim - x.ndim
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(x.shape) if n == 1 and shape[extra + i] != 1)
    return np.sum(grad, axis=axes).reshape(x.shape).astype(dtype) if axes else grad
