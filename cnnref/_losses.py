"""The losses, cross-entropy and mean squared error, with their gradients. Re-exported by
`cnnref.functional`."""

from __future__ import annotations

import warnings

import numpy as np

from cnnref import _args
from cnnref._activations import log_softmax, softmax
from cnnref._args import ArrayLike

__all__ = ["cross_entropy", "cross_entropy_backward", "mse_loss", "mse_loss_backward"]


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
    w = _args.vector(func, "weight", weight, x, C, "(C,)")
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
    reduction = _args.reduction(func, size_average, reduce, reduction)
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

    ``weight``, ``ignore_index``, ``reduction`` and ``label_smoothing`` are as in the forward call.

    Args:
        grad_output: d loss / d loss value: a scalar, or one per element (target's shape) with
            ``reduction='none'``.
        input: the logits ``x`` of the forward call.
        target: its class indices or probabilities.

    Returns:
        d loss / d logits, of input's shape and dtype.

    Raises:
        ValueError: ``grad_output`` of another shape than the loss, or arguments that
            `cross_entropy` refuses.

    Examples:
        >>> cross_entropy_backward(1.0, np.zeros((2, 4)), np.array([1, 3]))
        array([[ 0.125, -0.375,  0.125,  0.125],
               [ 0.125,  0.125,  0.125, -0.375]])
    """
    func = "cross_entropy_backward"
    reduction = _args.reduction(func, None, None, reduction)
    x, class_dim, t, w, eps, keep = _cross_entropy_args(func, input, target, weight, ignore_index, label_smoothing)
    dtype, compute = x.dtype, _args.compute_dtype(x.dtype)
    C = x.shape[class_dim]
    elements = x.shape[:class_dim] + x.shape[class_dim + 1:]
    g = np.asarray(grad_output, dtype=compute)
    if g.shape != (elements if reduction == "none" else ()):
        raise ValueError(f"{func}: grad_output has shape {g.shape}, expected the forward output's shape "
                         f"{elements if reduction == 'none' else ()}")
    per_class = eps / C if C else 0.0
    p = np.moveaxis(softmax(x.astype(compute, copy=False), dim=class_dim), class_dim, -1)   # (..., C), our own copy
    w_c = np.ones(C, compute) if w is None else w.astype(compute)
    with np.errstate(invalid="ignore", divide="ignore"):
        if keep is None:                                     # probabilities: q is dense
            q = (np.moveaxis(t, class_dim, -1).astype(compute) * (1 - eps) + per_class) * w_c
            scale = np.asarray(g / compute.type(x.size // C) if reduction == "mean" else g)[..., None]
            return np.moveaxis((p * np.sum(q, axis=-1, keepdims=True) - q) * scale, -1, class_dim).astype(dtype)
        # class indices: q is eps/C * w everywhere plus (1 - eps) * w_t at the target class
        t_safe = np.where(keep, t, 0)
        w_t = w_c[t_safe]
        if reduction == "mean":
            g = g / np.sum(w_t[keep])
        scale = np.where(keep, g, 0)                         # an ignored element gets no gradient at all
        target_share = (1 - eps) * w_t * scale
        grad = p
        grad *= (target_share + per_class * np.sum(w_c) * scale)[..., None]       # softmax * sum_c q
        if eps:
            grad -= per_class * w_c * scale[..., None]
        at_target = np.take_along_axis(grad, t_safe[..., None], axis=-1) - target_share[..., None]
        np.put_along_axis(grad, t_safe[..., None], at_target, axis=-1)
    return np.moveaxis(grad, -1, class_dim).astype(dtype, copy=False)


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
    reduction = _args.reduction(func, size_average, reduce, reduction)
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

    ``reduction`` and ``weight`` are as in the forward call.

    Args:
        grad_output: a scalar, or one value per element with ``reduction='none'``.
        input: the forward call's input.
        target: and its target.

    Returns:
        d loss / d ``input`` (summed over the dims along which input was broadcast to target).

    Raises:
        ValueError: a ``grad_output`` of another shape than the loss, or a target that does not
            broadcast with the input.

    Examples:
        >>> mse_loss_backward(1.0, np.array([1., 3.]), np.array([0., 0.]))
        array([1., 3.])
    """
    func = "mse_loss_backward"
    x = _args.array(func, "input", input)
    t = _args.array(func, "target", target)
    reduction = _args.reduction(func, None, None, reduction)
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
