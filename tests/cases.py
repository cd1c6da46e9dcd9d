"""What the torch-parity tests draw: the example counts and dtypes, seeded data (with NaN / inf on
request), and the hypothesis strategies of every op's, module's and optimizer's arguments. Each
case is tiny so that hundreds run in seconds; tests/compare.py holds the registries and the
comparison with torch."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import assume, strategies as st

from cnnref import functional as F


EXAMPLES = 100          # per op or module in the parity tests
SEEDS = st.integers(0, 2**32 - 1)
DTYPES = st.sampled_from([np.float32, np.float64])
ALL_DTYPES = st.sampled_from([np.float16, np.float32, np.float64])
SPECIALS = st.sampled_from(["nan", "inf", "mixed"])
SPECIAL_VALUES = {"nan": [np.nan], "inf": [np.inf, -np.inf], "mixed": [np.nan, np.inf, -np.inf]}


def data(seed: int, dtype, *shapes, special: str | None = None):
    """Standard normal arrays of the given shapes (one generator per example); with ``special``
    ('nan', 'inf' or 'mixed'), about one entry in four, and at least one, is NaN and/or +-inf."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    for a in arrays if special else ():
        flat = a.reshape(-1)                        # a view, also of a 0-d array
        hit = rng.random(flat.size) < 0.25
        if flat.size:
            hit[rng.integers(flat.size)] = True
        flat[hit] = rng.choice(SPECIAL_VALUES[special], size=int(hit.sum()))
    return arrays


# ----------------------------------------------------------------------------- arguments
def _batch(draw, batch):
    """``(N,)`` or, by default sometimes, ``()`` (an unbatched input); ``batch`` draws N instead."""
    if batch is not None:
        return (draw(batch),)
    return (draw(st.integers(1, 2)),) if draw(st.booleans()) else ()


def _sizes(draw, kernel, dilation, padding):
    """Input sizes at least as large as each (dilated) kernel minus the padding."""
    return tuple(max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 3))
                 for k, d, p in zip(kernel, dilation, padding))


def ints(draw, n, low, high):
    return tuple(draw(st.integers(low, high)) for _ in range(n))


@st.composite
def conv_args(draw, nd, dtype, special=None, batch=None, transposed=False):
    """``((x, w, b), kwargs)`` of conv1d/2d or conv_transpose1d/2d, valid for torch.

    NaN / inf go into the input only: a NaN or inf weight meets the zero padding, and a NaN input the
    cropped border of a transposed convolution; there torch's result depends on the backend it picks
    (its im2col path, float64 and small float32 shapes, multiplies them by zero, which gives NaN as
    ours does; oneDNN, float16 and larger float32 shapes, skips them).
    """
    groups = draw(st.integers(1, 2))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel, dilation = ints(draw, nd, 1, 3), ints(draw, nd, 1, 2)
    if transposed:
        stride, padding = ints(draw, nd, 1, 3), ints(draw, nd, 0, 2)
        output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        size = tuple(-(-2 * p // s) + 1 + draw(st.integers(0, 2)) for p, s in zip(padding, stride))   # output >= 1
        kwargs = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation)
        w_shape = (c_in, c_out // groups) + kernel
    else:
        kind = draw(st.sampled_from(["int", "tuple", "same", "valid"]))
        stride, amount = (1, (0,) * nd) if kind == "same" else (ints(draw, nd, 1, 3), ints(draw, nd, 0, 2))
        amount = (0,) * nd if kind == "valid" else (amount[0],) * nd if kind == "int" else amount
        padding = {"int": amount[0], "tuple": amount}.get(kind, kind)
        if kind != "same" and len(set(stride)) == 1 and draw(st.booleans()):
            stride = stride[0]
        size = _sizes(draw, kernel, dilation, amount)
        kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        w_shape = (c_out, c_in // groups) + kernel
    x, = data(draw(SEEDS), dtype, _batch(draw, batch) + (c_in,) + size, special=special)
    w, b = data(draw(SEEDS), dtype, w_shape, (c_out,))
    return (x, w, b if draw(st.booleans()) else None), kwargs


@st.composite
def pool_args(draw, nd, dtype, special=None, batch=None, kind="max"):
    """``((x,), kwargs)`` of max or avg pooling: padding at most half the kernel, non-empty output;
    max pooling returns its indices."""
    kernel = ints(draw, nd, 1, 3)
    stride = None if draw(st.booleans()) else ints(draw, nd, 1, 3)
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = ints(draw, nd, 1, 2) if kind == "max" else (1,) * nd
    shape = _batch(draw, batch) + (draw(st.integers(1, 2)),) + _sizes(draw, kernel, dilation, padding)
    kwargs = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=draw(st.booleans()))
    if kind == "max":
        kwargs.update(dilation=dilation, return_indices=True)
        # a window wholly in the padding (dilation allows it) reports an index outside its plane, where
        # torch's backward adds into a neighbouring plane: not compared
        assume(not np.isinf((F.max_pool1d if nd == 1 else F.max_pool2d)(np.ones(shape), **kwargs)[0]).any())
    else:
        kwargs["count_include_pad"] = draw(st.booleans())
        if nd == 2:
            kwargs["divisor_override"] = draw(st.sampled_from([None, None, 1, 3]))
    return tuple(data(draw(SEEDS), dtype, shape, special=special)), kwargs


@st.composite
def unfold_args(draw, dtype, special=None, batch=None, fold=False):
    """``((x,), kwargs)`` of unfold, or ``((cols, output_size), kwargs)`` of fold for the same image."""
    kernel, dilation = ints(draw, 2, 1, 3), ints(draw, 2, 1, 2)
    padding, stride = ints(draw, 2, 0, 2), ints(draw, 2, 1, 3)
    shape = _batch(draw, batch) + (draw(st.integers(1, 3)),) + _sizes(draw, kernel, dilation, padding)
    kwargs = dict(kernel_size=kernel, dilation=dilation, padding=padding, stride=stride)
    if fold:
        cols, = data(draw(SEEDS), dtype, tuple(TF.unfold(torch.zeros(shape), **kwargs).shape), special=special)
        return (cols, shape[-2:]), kwargs
    return tuple(data(draw(SEEDS), dtype, shape, special=special)), kwargs


@st.composite
def pad_args(draw, dtype, special=None, batch=None):
    """torch pads with reflect/replicate/circular the last m = 1..3 dims of an (m+1)- or (m+2)-dim
    input, amounts below (reflect) or up to (circular) the size; constant mode pads any dims."""
    mode = draw(st.sampled_from(F.PAD_MODES))
    m = draw(st.integers(1, 3))
    ndim = m + draw(st.integers(1, 2)) if mode != "constant" else draw(st.integers(m, 4))
    if batch is not None:                       # then the first dim is the batch of an (m+2)-dim input
        ndim = max(ndim, m + 2) if mode != "constant" else ndim
    shape = (_batch(draw, batch) if batch is not None else ()) + ints(draw, ndim - (batch is not None), 1, 4)
    pads = []
    for size in shape[::-1][:m]:
        limit = {"reflect": size - 1, "circular": size}.get(mode, 3)
        pads += [draw(st.integers(0, limit)), draw(st.integers(0, limit))]
    return tuple(data(draw(SEEDS), dtype, shape, special=special)), dict(pad=tuple(pads), mode=mode)


def _shape(draw, batch, min_dims=0):
    """A shape of up to 3 dims; with ``batch``, the first dim is drawn from it."""
    rest = tuple(draw(st.lists(st.integers(1, 4), min_size=min_dims, max_size=3)))
    return rest if batch is None else (draw(batch),) + rest[:2]


@st.composite
def elementwise_args(draw, dtype, special=None, batch=None, min_dims=0, dim=False):
    """``((x,), kwargs)`` of an elementwise op (large values too, to saturate); ``dim``: of softmax."""
    shape = _shape(draw, batch, max(min_dims, int(dim)))
    x, = data(draw(SEEDS), dtype, shape, special=special)
    x = np.asarray(x * dtype(draw(st.sampled_from([1, 30]))), dtype=dtype)
    return (x,), (dict(dim=draw(st.integers(0, len(shape) - 1))) if dim else {})


@st.composite
def batch_norm_args(draw, dtype, special=None, batch=None, spatial=None):
    """``((x, weight, bias), kwargs)`` of batch_norm: ``x`` is ``(N, C, *)`` with ``spatial`` dims
    after C (0 to 2 when None); running statistics (positive variance) are kwargs, so that torch
    may update them in place, and are always given in evaluation mode; in training mode a channel
    holds more than one value (torch refuses one) unless the batch is empty."""
    n = draw(batch) if batch is not None else draw(st.integers(1, 3))
    spatial = draw(st.integers(0, 2)) if spatial is None else spatial
    shape = (n, draw(st.integers(1, 3))) + ints(draw, spatial, 1, 3)
    training = draw(st.booleans())
    if training and n and np.prod(shape) // shape[1] == 1:
        shape = (2,) + shape[1:]
    c = shape[1]
    x, = data(draw(SEEDS), dtype, shape, special=special)
    x = np.asarray(x * dtype(draw(st.sampled_from([1, 30]))) + dtype(draw(st.sampled_from([0, 5]))), dtype=dtype)
    w, b, mean, var = data(draw(SEEDS), dtype, (c,), (c,), (c,), (c,))
    stats = not training or draw(st.booleans())
    kwargs = dict(running_mean=mean if stats else None, running_var=(np.abs(var) + dtype(0.1)) if stats else None,
                  training=training, momentum=draw(st.floats(0.0, 1.0)), eps=draw(st.sampled_from([1e-5, 1e-3, 0.1])))
    return (x, w if draw(st.booleans()) else None, b if draw(st.booleans()) else None), kwargs


@st.composite
def adaptive_pool_args(draw, dtype, special=None, batch=None):
    """``((x,), {"output_size": ...})``: any input size, any output size (larger, smaller, or None
    for "keep this dim"), as an int or a pair. (Output size 0, whose gradient torch refuses, has
    tests of its own.)"""
    shape = _batch(draw, batch) + (draw(st.integers(1, 2)),) + ints(draw, 2, 1, 7)
    x, = data(draw(SEEDS), dtype, shape, special=special)
    size = st.integers(1, 8)
    output_size = draw(size) if draw(st.booleans()) else (draw(st.one_of(size, st.none())), draw(size))
    return (x,), dict(output_size=output_size)


@st.composite
def linear_args(draw, dtype, special=None, batch=None):
    lead = _batch(draw, batch) if batch is not None else tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    n_in, n_out = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    x, = data(draw(SEEDS), dtype, lead + (n_in,), special=special)
    w, b = data(draw(SEEDS), dtype, (n_out, n_in), (n_out,))
    return (x, w, b if draw(st.booleans()) else None), {}


@st.composite
def cross_entropy_args(draw, dtype, special=None, batch=None):
    """Logits and a target of class indices (one element ignored) or of probabilities, with
    optional class weights, every reduction and label smoothing."""
    C = draw(st.integers(1, 4))
    layout = draw(st.sampled_from(["batched", "spatial"] + (["unbatched"] if batch is None else [])))
    n = draw(batch if batch is not None else st.integers(1, 4))
    elements = {"unbatched": (), "batched": (n,), "spatial": (min(n, 2), draw(st.integers(1, 3)))}[layout]
    input_shape = elements[:1] + (C,) + elements[1:]
    rng = np.random.default_rng(draw(SEEDS))
    x, = data(draw(SEEDS), dtype, input_shape, special=special)
    kwargs = dict(weight=rng.uniform(0.5, 2.0, C).astype(dtype) if draw(st.booleans()) else None,
                  reduction=draw(st.sampled_from(["mean", "sum", "none"])),
                  label_smoothing=draw(st.sampled_from([0.0, 0.0, 0.1, 0.5])))
    if layout != "spatial" and draw(st.booleans()):          # probabilities
        e = np.exp(rng.standard_normal(input_shape))
        target = (e / e.sum(axis=0 if layout == "unbatched" else 1, keepdims=True)).astype(dtype)
    else:
        target = rng.integers(0, C, elements)
        if draw(st.booleans()) and target.size > 1:
            target.flat[0] = kwargs["ignore_index"] = -100   # one ignored element, the others still count
    return (x, target), kwargs


@st.composite
def mse_args(draw, dtype, special=None, batch=None):
    shape = _shape(draw, batch)
    x, t, w = data(draw(SEEDS), dtype, shape, shape, shape, special=special)
    return (x, t), dict(reduction=draw(st.sampled_from(["mean", "sum", "none"])),
                        weight=np.asarray(np.abs(w) + dtype(0.1)) if draw(st.booleans()) else None)


# ----------------------------------------------------------------------------- optimizer options
maybe_zero = lambda hi: st.one_of(st.just(0.0), st.floats(1e-4, hi))  # noqa: E731


@st.composite
def sgd_options(draw):
    momentum = draw(maybe_zero(0.95))
    nesterov = momentum > 0 and draw(st.booleans())
    return dict(lr=draw(st.floats(1e-3, 0.3)), momentum=momentum,
                dampening=0.0 if nesterov else draw(maybe_zero(1.0)),
                weight_decay=draw(maybe_zero(0.1)), nesterov=nesterov, maximize=draw(st.booleans()))


# RMSprop's alpha and Adam's beta2 stay >= 0.5: near 0 they divide by |g| of a single step, a
# sign-like update that jumps where g nears 0 (and, centered, takes sqrt(v - mean^2) of rounding
# noise); such chaotic runs turn the last-bit differences of torch's fused multiply-adds into
# visible ones, whatever the implementation.
@st.composite
def rmsprop_options(draw):
    return dict(lr=draw(st.floats(1e-4, 0.05)), alpha=draw(st.floats(0.5, 0.999)),
                eps=draw(st.floats(1e-10, 1e-2)), weight_decay=draw(maybe_zero(0.1)),
                momentum=draw(maybe_zero(0.9)), centered=draw(st.booleans()), maximize=draw(st.booleans()))


@st.composite
def rprop_options(draw):
    return dict(lr=draw(st.floats(1e-4, 0.5)), etas=(draw(st.floats(0.1, 0.9)), draw(st.floats(1.05, 2.0))),
                step_sizes=(draw(st.floats(1e-8, 1e-3)), draw(st.floats(0.01, 50.0))),
                maximize=draw(st.booleans()))


@st.composite
def adam_options(draw):
    return dict(lr=draw(st.floats(1e-4, 0.3)), betas=(draw(st.floats(0.0, 0.99)), draw(st.floats(0.5, 0.9999))),
                eps=draw(st.floats(1e-10, 1e-2)), weight_decay=draw(maybe_zero(0.1)),
                amsgrad=draw(st.booleans()), maximize=draw(st.booleans()),
                decoupled_weight_decay=draw(st.booleans()))


OPTIONS = {"SGD": sgd_options, "RMSprop": rmsprop_options, "Rprop": rprop_options, "Adam": adam_options}
