"""Batch normalization in NumPy: `batch_norm` and its gradient `batch_norm_backward` (re-exported by
`cnnref.functional`), and the layers `BatchNorm1d`, `BatchNorm2d` (re-exported by `cnnref.nn`).

Training mode normalises each channel with the mean and the *biased* variance of the batch
(every sample and every position of that channel), and moves the running estimates towards the
batch's mean and *unbiased* variance: ``running = (1 - momentum) * running + momentum * batch``.
Evaluation mode normalises with the running estimates instead. Then ``y = weight * x_hat + bias``.
"""

from __future__ import annotations

import numpy as np

from cnnref import _args
from cnnref._args import ArrayLike, DTypeLike
from cnnref._module import Module, Parameter

__all__ = ["batch_norm", "batch_norm_backward", "BatchNorm1d", "BatchNorm2d"]


def _channels(func: str, x: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """``(axes, shape)`` to reduce over / broadcast a per-channel vector, and the count per channel."""
    if x.ndim < 2:
        raise ValueError(f"{func}: input has {x.ndim} dims {tuple(x.shape)}, expected at least 2 (N, C, *)")
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return axes, shape, x.size // x.shape[1] if x.shape[1] else 0


def _stat(func: str, name: str, value, x: np.ndarray):
    """A per-channel vector (running_mean, running_var, weight, bias) of ``C`` entries, or None."""
    if value is None:
        return None
    v = _args.array(func, name, value)
    if v.shape != (x.shape[1],):
        raise ValueError(f"{func}: {name} has shape {v.shape}, expected (C,) = ({x.shape[1]},) for input "
                         f"{tuple(x.shape)} with C={x.shape[1]} channels (num_features)")
    return v


def _saved(stat: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A batch statistic as torch keeps it between forward and backward (``save_mean``,
    ``save_invstd``): in the input's dtype, so for float16 rounded from float32. The forward centres
    with the saved mean, the backward uses both. The rounding shows when a channel's values sit
    closer together than a float16 step of their size (4.867 and 5.105: x_hat 0.9834, not 0.9995)."""
    return stat.astype(dtype).astype(stat.dtype)


def _check(func, input, running_mean, running_var, weight, bias, training):
    x = _args.array(func, "input", input)
    axes, shape, count = _channels(func, x)
    stats = [_stat(func, n, v, x) for n, v in (("running_mean", running_mean), ("running_var", running_var),
                                                ("weight", weight), ("bias", bias))]
    for name, v in zip(("weight", "bias"), stats[2:]):
        if v is not None:
            _args.same_dtype(func, name, v, x)
    if not training and (stats[0] is None or stats[1] is None):
        raise ValueError(f"{func}: running_mean and running_var must be given in evaluation mode "
                         f"(training=False), got None")
    if training and count == 1:
        raise ValueError(f"{func}: expected more than 1 value per channel when training, got input of shape "
                         f"{tuple(x.shape)}")
    return x, axes, shape, count, stats


@_args.quiet
def batch_norm(input: ArrayLike, running_mean: ArrayLike | None, running_var: ArrayLike | None,
               weight: ArrayLike | None = None, bias: ArrayLike | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> np.ndarray:
    """Batch normalization, as ``torch.nn.functional.batch_norm``.

    Shapes: ``input: (N, C, *) -> (N, C, *)``; ``running_mean``, ``running_var``, ``weight``,
    ``bias``: ``(C,)``. Per channel ``c``::

        y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c

    With ``training=True``, ``mean_c`` and ``var_c`` are the batch's (the variance divides by
    ``n``, the values per channel), and the running estimates, when given, are updated *in place*:
    ``running_mean = (1 - momentum) * running_mean + momentum * mean_c`` and the same for
    ``running_var`` with the unbiased variance (dividing by ``n - 1``). With ``training=False``
    the running estimates are used and left alone.

    Args:
        input: the activations, channel dim second.
        running_mean: the running mean (updated in training), or None.
        running_var: the running variance (updated in training), or None.
        weight: ``gamma``, or None for 1.
        bias: ``beta``, or None for 0.
        training: use (and record) the batch's statistics.
        momentum: weight of the new batch in the running estimates.
        eps: added to the variance before the square root.

    Returns:
        The normalised input, its dtype.

    Raises:
        TypeError: an integer array or mixed dtypes.
        ValueError: fewer than 2 dims, a vector of the wrong length (num_features), no running
            statistics in evaluation mode, or one value per channel when training.

    Examples:
        >>> x = np.array([[1.0], [3.0]])                 # N=2, C=1
        >>> mean, var = np.zeros(1), np.ones(1)
        >>> batch_norm(x, mean, var, training=True, eps=0.0)
        array([[-1.],
               [ 1.]])
        >>> mean, var                                    # batch mean 2, unbiased variance 2
        (array([0.2]), array([1.1]))
    """
    func = "batch_norm"
    x, axes, shape, count, (rm, rv, w, b) = _check(func, input, running_mean, running_var, weight, bias, training)
    xc, = _args.computed(x)
    if training:
        mean = xc.mean(axis=axes) if count else np.zeros(x.shape[1], xc.dtype)
        var = xc.var(axis=axes) if count else np.zeros(x.shape[1], xc.dtype)    # biased: divides by n
        if count and rm is not None:
            rm *= 1 - momentum
            rm += (momentum * mean).astype(rm.dtype)
        if count and rv is not None:
            rv *= 1 - momentum
            rv += (momentum * var * count / (count - 1)).astype(rv.dtype)      # unbiased: divides by n - 1
        mean = _saved(mean, x.dtype)
    else:
        mean, var = _args.computed(rm, rv)
    y = (xc - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if w is not None:
        y = y * w.astype(xc.dtype).reshape(shape)
    if b is not None:
        y = y + b.astype(xc.dtype).reshape(shape)
    return y.astype(x.dtype, copy=False)


@_args.quiet
def batch_norm_backward(grad_output: ArrayLike, input: ArrayLike, running_mean: ArrayLike | None,
                        running_var: ArrayLike | None, weight: ArrayLike | None = None, training: bool = False,
                        eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of `batch_norm` with respect to ``input``, ``weight`` and ``bias``.

    In training mode the mean and variance depend on every value of the channel, so with
    ``x_hat = (x - mean) / sqrt(var + eps)`` and ``d = grad_output * weight``::

        grad_input = (d - mean(d) - x_hat * mean(d * x_hat)) / sqrt(var + eps)

    (means over the channel's ``n`` values). In evaluation mode the statistics are constants and
    ``grad_input = d / sqrt(running_var + eps)``. Always ``grad_weight = sum(grad_output * x_hat)``
    and ``grad_bias = sum(grad_output)`` per channel. Pass the running statistics *as they were*
    in the forward call (in training mode they are not used).

    Args:
        grad_output: ``(N, C, *)``, the gradient with respect to the output.
        input: the input of the forward call.
        running_mean: the running mean of the forward call (evaluation mode), or None.
        running_var: the running variance of the forward call (evaluation mode), or None.
        weight: ``gamma`` of the forward call, or None.
        training: as in the forward call.
        eps: as in the forward call.

    Returns:
        ``(grad_input, grad_weight, grad_bias)``: the shapes of input, ``(C,)`` and ``(C,)``.

    Raises:
        ValueError: ``grad_output`` not of the input's shape, or the errors of `batch_norm`.

    Examples:
        >>> x = np.array([[1.0], [3.0]])
        >>> gx, gw, gb = batch_norm_backward(np.array([[1.0], [1.0]]), x, None, None, training=True)
        >>> gx, gb                       # a shift of every output moves nothing: the mean absorbs it
        (array([[0.],
               [0.]]), array([2.]))
    """
    func = "batch_norm_backward"
    x, axes, shape, count, (rm, rv, w, _) = _check(func, input, running_mean, running_var, weight, None, training)
    g = _args.array(func, "grad_output", grad_output)
    _args.same_dtype(func, "grad_output", g, x)
    if g.shape != x.shape:
        raise ValueError(f"{func}: grad_output has shape {g.shape}, expected the input's shape {x.shape}")
    xc, gc = _args.computed(x, g)
    if training:
        mean = _saved(xc.mean(axis=axes, keepdims=True), x.dtype) if count else np.zeros(shape, xc.dtype)
        var = xc.var(axis=axes, keepdims=True) if count else np.zeros(shape, xc.dtype)
    else:
        mean, var = (v.astype(xc.dtype).reshape(shape) for v in (rm, rv))
    invstd = 1 / np.sqrt(var + eps)
    if training:
        invstd = _saved(invstd, x.dtype)          # torch's backward reads its save_invstd, in x's dtype
    x_hat = (xc - mean) * invstd
    d = gc if w is None else gc * w.astype(xc.dtype).reshape(shape)
    if training and count:
        gx = (d - d.mean(axis=axes, keepdims=True) - x_hat * (d * x_hat).mean(axis=axes, keepdims=True)) * invstd
    else:
        gx = d * invstd
    gw, gb = (gc * x_hat).sum(axis=axes), gc.sum(axis=axes)
    return gx.astype(x.dtype), gw.astype(x.dtype), gb.astype(x.dtype)


class _BatchNorm(Module):
    """BatchNorm1d / BatchNorm2d: `batch_norm` with learnt ``weight``, ``bias`` and the running
    buffers, as torch's ``_BatchNorm`` keeps them."""

    _dims: dict[int, str] = {}

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: str | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = _args.integer(name, "num_features", num_features)
        if self.num_features < 1:
            raise ValueError(f"{name}: num_features must be positive, got {num_features}")
        self.eps, self.momentum = float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        dtype = _args.float_dtype(dtype)
        self.weight = Parameter(np.ones(self.num_features, dtype)) if affine else None
        self.bias = Parameter(np.zeros(self.num_features, dtype)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(self.num_features, dtype))
            self.register_buffer("running_var", np.ones(self.num_features, dtype))
            self.register_buffer("num_batches_tracked", np.array(0, np.int64))
        else:
            for buffer in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(buffer, None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batch seen."""
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked = np.array(0, np.int64)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """As torch: the running statistics reset, ``weight`` 1 and ``bias`` 0 (nothing random)."""
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1
            self.bias.data[...] = 0

    def forward(self, input: ArrayLike):
        name = type(self).__name__
        x = _args.array(name, "input", input)
        if x.ndim not in self._dims:
            raise ValueError(f"{name}: expected {' or '.join(self._dims.values())} input, got {x.ndim}D input "
                             f"{tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}: input has shape {tuple(x.shape)} with {x.shape[1]} channels, expected "
                             f"num_features={self.num_features}")
        reference = self.weight.data if self.affine else self.running_mean
        if reference is not None:
            _args.same_dtype(name, "input", x, reference, "the layer's parameters and buffers")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked = self.num_batches_tracked + 1
            # momentum=None: the cumulative average, each batch weighted 1/(number of batches so far)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        use_batch = self.training or self.running_mean is None
        if use_batch and x.size == x.shape[1]:
            raise ValueError(f"{name}: expected more than 1 value per channel when training, got input of shape "
                             f"{tuple(x.shape)}")
        keep = not self.training or self.track_running_stats
        mean, var = (self.running_mean, self.running_var) if keep else (None, None)
        # evaluation mode reads the running statistics: keep a copy for backward (a later training
        # step changes them in place)
        self._stats = (None, None) if use_batch else (mean.copy(), var.copy())
        self._input, self._use_batch = x, use_batch
        w, b = (self.weight.data, self.bias.data) if self.affine else (None, None)
        return batch_norm(x, mean, var, w, b, use_batch, factor, self.eps)

    def backward(self, grad_output: ArrayLike):
        x = self._saved("_input")
        gx, gw, gb = batch_norm_backward(grad_output, x, *self._stats, self.weight.data if self.affine else None,
                                         self._use_batch, self.eps)
        if self.affine:
            self.weight.accumulate(gw)
            self.bias.accumulate(gb)
        return gx

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization over ``(N, C)`` or ``(N, C, L)``, as ``torch.nn.BatchNorm1d``.

    Shapes: ``input: (N, C) -> (N, C)`` or ``(N, C, L) -> (N, C, L)``. Parameters ``weight``
    (ones) and ``bias`` (zeros) of shape ``(C,)`` with ``affine``; buffers ``running_mean``,
    ``running_var`` and ``num_batches_tracked`` with ``track_running_stats`` (torch's
    ``state_dict`` keys). In training mode (`Module.train`) it normalises with the batch's
    statistics and updates the running ones; in evaluation mode (`Module.eval`) it uses the
    running ones, or the batch's if it keeps none.

    Args:
        num_features: ``C``.
        eps: added to the variance.
        momentum: weight of each new batch in the running estimates; None for the cumulative
            average of all batches.
        affine: learn ``weight`` and ``bias``.
        track_running_stats: keep running estimates.
        device: accepted for torch parity.
        dtype: parameter dtype, float32 by default.

    Examples:
        >>> bn = BatchNorm1d(2, dtype=np.float64)
        >>> bn(np.array([[0.0, 10.0], [2.0, 30.0]])).round(4)      # eps keeps it just below 1
        array([[-1., -1.],
               [ 1.,  1.]])
        >>> bn.running_mean, int(bn.num_batches_tracked)
        (array([0.1, 2. ]), 1)
    """

    _dims = {2: "2D", 3: "3D"}


class BatchNorm2d(_BatchNorm):
    """Batch normalization over ``(N, C, H, W)``, one mean and variance per channel, as
    ``torch.nn.BatchNorm2d``.

    Shapes: ``input: (N, C, H, W) -> (N, C, H, W)``; each channel's statistics run over the
    ``N * H * W`` values. Arguments, parameters, buffers and modes as in `BatchNorm1d`.

    Examples:
        >>> bn = BatchNorm2d(3)
        >>> list(bn.state_dict())
        ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
        >>> y = bn(np.random.default_rng(0).standard_normal((4, 3, 5, 5)).astype(np.float32))
        >>> bool(abs(y.mean(axis=(0, 2, 3))).max() < 1e-6), np.round(y.std(axis=(0, 2, 3)), 3).tolist()
        (True, [1.0, 1.0, 1.0])
    """

    _dims = {4: "4D"}
