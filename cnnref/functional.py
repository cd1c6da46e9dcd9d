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

Layout is NCHW as in torch; an unbatched input (no N) works where torch accepts one.
Inputs must be floating-point arrays (an integer array is a ``TypeError``); the output has
the input's dtype, so float32 stays float32. The ``*_backward`` functions are not in torch
(autograd computes them there); `cnnref.nn` uses them.
"""

from __future__ import annotations

import warnings

import numpy as np

from cnnref import _args
from cnnref._conv import (conv1d, conv1d_backward, conv2d, conv2d_backward, conv2d_loop, conv_transpose1d, conv_transpose2d,
                          conv_transpose2d_backward, conv_transpose2d_loop, fold, unfold)
from cnnref._pool import (avg_pool1d, avg_pool2d, avg_pool2d_backward, avg_pool2d_loop, max_pool1d, max_pool2d,
                          max_pool2d_backward, max_pool2d_loop)

__all__ = [
    "conv1d", "conv1d_backward", "conv2d", "conv2d_loop", "conv2d_backward",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose2d_loop", "conv_transpose2d_backward",
    "unfold", "fold",
    "max_pool1d", "max_pool2d", "max_pool2d_loop", "max_pool2d_backward",
    "avg_pool1d", "avg_pool2d", "avg_pool2d_loop", "avg_pool2d_backward",
    "pad", "linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax",
    "cross_entropy", "mse_loss",
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


def pad(input, pad, mode="constant", value=None):
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
    for axis, (before, after) in pairs.items():
        limit = x.shape[axis] - 1 if mode == "reflect" else x.shape[axis]
        if mode != "replicate" and max(before, after) > limit:
            raise ValueError(f"{func}: {mode} padding ({before}, {after}) of dim {axis} must be at most "
                             f"{limit} for that dim's size {x.shape[axis]}")
        x = np.take(x, _source_index(x.shape[axis], before, after, mode), axis=axis)
    return x


def _pad_backward(grad_output, input_shape, pad, mode):
    """Gradient of `pad`: each padded position's gradient returns to the input it copied."""
    g = np.asarray(grad_output)
    pairs = _pad_pairs("pad_backward", np.empty(input_shape, dtype=bool), pad)
    for axis, (before, after) in pairs.items():
        size = input_shape[axis]
        if mode == "constant":
            g = np.take(g, np.arange(before, before + size), axis=axis)
            continue
        out = np.zeros(g.shape[:axis] + (size,) + g.shape[axis + 1:], dtype=g.dtype)
        np.add.at(np.moveaxis(out, axis, 0), _source_index(size, before, after, mode), np.moveaxis(g, axis, 0))
        g = out
    return g


# ----------------------------------------------------------------------------- linear and activations
def linear(input, weight, bias=None):
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
    out = x @ w.T                                            # (*, out_features)
    if bias is not None:
        b = _args.array(func, "bias", bias)
        _args.same_dtype(func, "bias", b, x)
        if b.shape != (w.shape[0],):
            raise ValueError(f"{func}: bias has shape {b.shape}, expected (out_features,) = ({w.shape[0]},)")
        out = out + b
    return out


def relu(input, inplace=False):
    """``max(0, x)`` elementwise.

    Args:
        input: any shape.
        inplace: overwrite ``input`` (which must then be an ndarray) and return it.

    Returns:
        Same shape and dtype.

    >>> relu(np.array([-2., 0., 3.]))
    array([0., 0., 3.])
    """
    x = _args.array("relu", "input", input)
    return np.maximum(x, 0, out=x if inplace else None)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``x`` where ``x > 0``, else ``negative_slope * x``.

    Args:
        input: any shape.
        negative_slope: slope for negative inputs.
        inplace: overwrite ``input`` and return it.

    Returns:
        Same shape and dtype.

    >>> leaky_relu(np.array([-2., 3.]), 0.1)
    array([-0.2,  3. ])
    """
    x = _args.array("leaky_relu", "input", input)
    out = np.where(x > 0, x, x * np.asarray(negative_slope, dtype=x.dtype))
    if inplace:
        x[...] = out
        return x
    return out


def sigmoid(input):
    """Logistic function ``1 / (1 + exp(-x))``, computed without overflow for large ``|x|``.

    Args:
        input: any shape.

    Returns:
        Values in (0, 1), same shape and dtype.

    >>> sigmoid(np.array([0., 1000., -1000.]))
    array([0.5, 1. , 0. ])
    """
    x = _args.array("sigmoid", "input", input)
    e = np.exp(-np.abs(x))                                   # never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def tanh(input):
    """Hyperbolic tangent ``(e^x - e^-x) / (e^x + e^-x) = 2*sigmoid(2x) - 1``.

    Args:
        input: any shape.

    Returns:
        Values in (-1, 1), same shape and dtype.

    >>> tanh(np.array([0., 1.]))
    array([0.        , 0.76159416])
    """
    return np.tanh(_args.array("tanh", "input", input))


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


def log_softmax(input, dim=None, dtype=None):
    """``x - log(sum(exp(x), dim))``, computed stably by subtracting the maximum first.

    Args:
        input: any shape.
        dim: the dim that sums to one after ``exp``. None picks torch's legacy default with a warning.
        dtype: cast the input to this dtype first.

    Returns:
        Same shape as ``input``.

    >>> log_softmax(np.array([1000., 1000.]), dim=0)
    array([-0.69314718, -0.69314718])
    """
    x, dim = _softmax_args("log_softmax", input, dim, dtype)
    shifted = x - np.max(x, axis=dim, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))


def softmax(input, dim=None, dtype=None):
    """``exp(x) / sum(exp(x), dim)``: non-negative, summing to one along ``dim``.

    Args:
        input: any shape.
        dim: the dim that sums to one. None picks torch's legacy default with a warning.
        dtype: cast the input to this dtype first.

    Returns:
        Same shape as ``input``.

    >>> softmax(np.array([[1., 1.], [0., np.log(3.)]]), dim=1)
    array([[0.5 , 0.5 ],
           [0.25, 0.75]])
    """
    x, dim = _softmax_args("softmax", input, dim, dtype)
    e = np.exp(x - np.max(x, axis=dim, keepdims=True))
    return e / np.sum(e, axis=dim, keepdims=True)


# ----------------------------------------------------------------------------- losses
def _reduction(func, size_average, reduce, reduction):
    """torch's legacy ``size_average`` / ``reduce`` flags -> a ``reduction`` string."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = ("mean" if size_average else "sum") if reduce else "none"
    _args.choice(func, "reduction", reduction, ("mean", "sum", "none"))
    return reduction


def _cross_entropy_parts(func, input, target, weight, ignore_index, label_smoothing):
    """The pieces of `cross_entropy` that its gradient needs too.

    Returns ``(logp, q, denominator)`` with the class dim moved last: ``logp`` the
    log-softmax, ``q`` the target distribution scaled by the class weights (zero rows for
    ignored targets) so that each element's loss is ``-sum_c q[..., c] * logp[..., c]``, and
    ``denominator`` what ``reduction='mean'`` divides the summed loss by.
    """
    x = _args.array(func, "input", input)
    if x.ndim == 0:
        raise ValueError(f"{func}: input has 0 dims, expected (C,), (N, C) or (N, C, d1, ...)")
    class_dim = 0 if x.ndim == 1 else 1
    C = x.shape[class_dim]
    logp = np.moveaxis(log_softmax(x, dim=class_dim), class_dim, -1)   # (N, d1, ..., C)
    w = np.ones(C, dtype=x.dtype)
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
        probs = np.moveaxis(t, class_dim, -1) * (1 - eps) + eps / C
        q = probs * w                                        # (N, d1, ..., C)
        return logp, q, max(q.size // C, 1) if q.size else 0
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"{func}: target has dtype {t.dtype}, expected integer class indices or float probabilities")
    expected = x.shape[:class_dim] + x.shape[class_dim + 1:]
    if t.shape != expected:
        raise ValueError(f"{func}: target has shape {t.shape}, expected {expected} (input's shape without the "
                         f"class dim {class_dim})")
    keep = t != ignore_index
    if np.any((t[keep] < 0) | (t[keep] >= C)):
        raise ValueError(f"{func}: target has class indices outside [0, {C}): {np.unique(t[keep & ((t < 0) | (t >= C))])}")
    t_safe = np.where(keep, t, 0)
    onehot = np.eye(C, dtype=x.dtype)[t_safe]                # (N, d1, ..., C)
    q = (1 - eps) * onehot * w + (eps / C) * w               # smoothing spreads eps over all classes
    q = q * keep[..., None]
    denominator = np.sum(w[t_safe] * keep)                   # torch's weighted mean divides by the target weights
    return logp, q, denominator


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
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

    >>> logits = np.array([[2.0, 0.0], [0.0, 0.0]])
    >>> cross_entropy(logits, np.array([0, 1]), reduction="none")
    array([0.12692801, 0.69314718])
    >>> float(cross_entropy(logits, np.array([0, 1])))        # their mean
    0.4100375...
    """
    func = "cross_entropy"
    reduction = _reduction(func, size_average, reduce, reduction)
    logp, q, denominator = _cross_entropy_parts(func, input, target, weight, ignore_index, label_smoothing)
    losses = -np.sum(q * logp, axis=-1)                      # target's shape
    if reduction == "none":
        return losses
    if reduction == "sum":
        return np.sum(losses)
    with np.errstate(invalid="ignore", divide="ignore"):     # everything ignored: nan, as in torch
        return (np.sum(losses) / denominator).astype(losses.dtype)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
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
    squared = ((x - t) ** 2).astype(x.dtype)
    total = 1 if reduction != "mean" else squared.size
    if weight is not None:
        w = _args.array(func, "weight", weight)
        if w.shape != squared.shape:
            raise ValueError(f"{func}: weight has shape {w.shape}, expected input's shape {squared.shape}")
        squared = (squared * w).astype(x.dtype)
        total = np.sum(w)
    if reduction == "none":
        return squared
    if reduction == "sum":
        return np.sum(squared)
    return (np.sum(squared) / total).astype(x.dtype)
