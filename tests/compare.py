"""The one helper of the torch-parity tests: tolerances, the registry of functional ops and of
modules with their torch twins, and the comparison of ours with torch (values, dtypes, indices,
and gradients against torch autograd). The random arguments they draw are in tests/cases.py.

A parity test draws the arguments of a registered op (or module) and compares::

    @given(case=st.data(), dtype=DTYPES)
    def test_conv2d(case, dtype):
        check_op("conv2d", case.draw, dtype)

Every case is tiny so that hundreds run in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import assume, strategies as st

from cnnref import functional as F
from cnnref import nn
from cnnref._args import to_numpy
# the cases (and the names the parity tests import with them from here)
from tests.cases import (ALL_DTYPES, DTYPES, EXAMPLES, OPTIONS, SEEDS, SPECIALS, adaptive_pool_args,  # noqa: F401
                         batch_norm_args, conv_args, cross_entropy_args, data, elementwise_args, ints,
                         linear_args, mse_args, pad_args, pool_args, unfold_args)

# the tolerance of each dtype, relative with a matching absolute floor: float64 to 1e-10 and float32
# to 1e-5, the project's standard. float16 keeps 11 significant bits (one unit in the last place is
# 2**-10 relative); torch rounds some intermediate results to float16 that we keep in float32 (and
# the other way round), which moves a result by a few units
TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-5, np.dtype(np.float16): 4e-3}
TORCH_DTYPE = {np.dtype(np.float16): torch.float16, np.dtype(np.float32): torch.float32,
               np.dtype(np.float64): torch.float64}



def assert_close(ours, theirs, rtol=None, atol=None, dtype=False, slack=0.0):
    """Assert that `ours` (NumPy) equals `theirs` (torch or NumPy): same shape, values within the
    dtype's tolerance (plus ``slack``, the relative error an ill-conditioned input allows: see
    `batch_norm_slack`), NaN where the other has NaN and the same infinities; with ``dtype``, also
    the same dtype. A pair (values, indices) is compared element by element."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs), f"{type(ours)} is not a pair like torch's"
        for mine, their in zip(ours, theirs):
            assert_close(mine, their, rtol, atol, dtype, slack)
        return
    ours, theirs = np.asarray(ours), to_numpy(theirs)
    assert ours.shape == theirs.shape, f"shape {ours.shape} != {theirs.shape}"
    if dtype:
        assert ours.dtype == theirs.dtype, f"dtype {ours.dtype} != {theirs.dtype}"
    tol = TOLERANCE.get(theirs.dtype, 1e-5) + slack
    finite = theirs[np.isfinite(theirs)] if np.issubdtype(theirs.dtype, np.floating) else theirs
    scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
    np.testing.assert_allclose(ours, theirs, rtol=tol if rtol is None else rtol,
                               atol=tol * scale if atol is None else atol)


def batch_norm_slack(x, eps, training):
    """The relative error of batch norm's output that the rounding of the batch mean alone allows.

    Centring subtracts a mean that either library rounds to the compute dtype, in its own order of
    additions: an error of about one ulp of ``max|x|``, divided by ``sqrt(var + eps)``. When a
    channel's values lie far closer together than their size (4.3895 and 4.3896), that is far above
    the dtype's tolerance, for torch as for us; the gradient inherits the same relative error.
    """
    x = np.asarray(x)
    if not training or x.size == 0 or not np.isfinite(x).all():
        return 0.0
    ulp = np.finfo(np.float32 if x.dtype == np.float16 else x.dtype).eps     # float16 computes in float32
    axes = (0,) + tuple(range(2, x.ndim))
    x = x.astype(np.float64)
    return float(4 * ulp * np.max(np.abs(x).max(axis=axes) / np.sqrt(x.var(axis=axes) + eps)))


def tensor(a):
    """A NumPy argument as torch takes it (arrays become tensors, sharing nothing)."""
    return torch.from_numpy(np.array(a)) if isinstance(a, np.ndarray) else a


def torch_forward_backward(fn, arrays, grad_seed=1):
    """Run ``fn`` on tensors made from ``arrays`` with autograd; return (output, upstream grad as
    NumPy, the input grads). The upstream grad is random so that every output entry matters."""
    tensors = [torch.from_numpy(np.array(a)).requires_grad_() for a in arrays]
    out = fn(*tensors)
    g = data(grad_seed, arrays[0].dtype, tuple(out.shape))[0]
    out.backward(torch.from_numpy(g))
    return out, g, [t.grad for t in tensors]


# ----------------------------------------------------------------------------- the functional ops
@dataclass(frozen=True)
class Op:
    """A functional op, its torch twin, the strategy of its arguments, and its gradient.

    ``args(dtype, special, batch)`` is a strategy of ``(args, kwargs)``; the floating-point
    arrays among ``args`` are the differentiable inputs. ``backward(g, *args, **kwargs)`` returns
    one gradient per argument (None where not compared), as `cnnref.gradcheck` takes it.
    ``special_dtypes`` are the dtypes in which NaN and inf are compared (see `conv_args`).
    ``float16_via_float32``: torch's float16 reference is its float32 result rounded once (see
    `FLOAT16_CONV`). ``slack(args, kwargs)``: the extra relative tolerance the drawn input allows
    (see `batch_norm_slack`).
    """

    ours: Callable
    theirs: Callable
    args: Callable
    backward: Callable | None = None
    special_dtypes: tuple = (np.float16, np.float32, np.float64)
    float16_via_float32: bool = False
    slack: Callable = lambda args, kwargs: 0.0


def _conv(nd, transposed=False):
    return lambda dtype, special, batch: conv_args(nd, dtype, special, batch, transposed)


def _pool(nd, kind):
    return lambda dtype, special, batch: pool_args(nd, dtype, special, batch, kind)


def _elementwise(**options):
    return lambda dtype, special, batch: elementwise_args(dtype, special, batch, **options)


def _max_pool2d_backward(g, x, **kwargs):
    return (F.max_pool2d_backward(g, F.max_pool2d(x, **kwargs)[1], x.shape),)


def _batch_norm(fn):
    """batch_norm with the running statistics as keywords (positional in both libraries' signatures)."""
    return lambda x, w, b, running_mean=None, running_var=None, **kw: fn(x, running_mean, running_var, w, b, **kw)


def _batch_norm_backward(g, x, w, b, running_mean=None, running_var=None, training=False, momentum=0.1, eps=1e-5):
    gx, gw, gb = F.batch_norm_backward(g, x, running_mean, running_var, w, training, eps)
    return gx, None if w is None else gw, None if b is None else gb


# torch 2.14's float16 convolutions on the CPU die with SIGSEGV for some dilated, padded cases:
# conv2d forward at x (4, 3, 1), w (2, 2, 2, 1), stride 2, padding (2, 1), dilation 2 (any groups,
# batched or not; found by hypothesis in CI), conv_transpose2d backward at x (1, 4, 3, 2),
# w (4, 1, 2, 1), stride (3, 2), padding (2, 1), dilation (1, 2), groups 2. So torch's float16
# reference for a convolution is computed in float32 and rounded to float16 once, as torch's own
# float16 convolution accumulates in float32 and rounds once.
FLOAT16_CONV = dict(float16_via_float32=True)
CONV = dict(special_dtypes=(np.float32, np.float64), **FLOAT16_CONV)      # NaN / inf in float16 conv: see conv_args
# A NaN input under the cropped border of a transposed convolution: torch's float64 path gives a
# NaN weight gradient for every tap (it multiplies the NaN by the cropped zeros, as ours does),
# its float32 path (oneDNN) only for the taps that reach the output, even at x (2, 1, 1, 3)
TRANSPOSED = dict(special_dtypes=(np.float64,), **FLOAT16_CONV)
OPS = {
    "conv1d": Op(F.conv1d, TF.conv1d, _conv(1), lambda g, x, w, b, **kw: F.conv1d_backward(g, x, w, **kw), **CONV),
    "conv2d": Op(F.conv2d, TF.conv2d, _conv(2), lambda g, x, w, b, **kw: F.conv2d_backward(g, x, w, **kw), **CONV),
    "conv2d_loop": Op(F.conv2d_loop, TF.conv2d, _conv(2), **CONV),
    "conv_transpose1d": Op(F.conv_transpose1d, TF.conv_transpose1d, _conv(1, True), **TRANSPOSED),
    "conv_transpose2d": Op(F.conv_transpose2d, TF.conv_transpose2d, _conv(2, True),
                           lambda g, x, w, b, **kw: F.conv_transpose2d_backward(g, x, w, **kw), **TRANSPOSED),
    "conv_transpose2d_loop": Op(F.conv_transpose2d_loop, TF.conv_transpose2d, _conv(2, True), **TRANSPOSED),
    # unfold and fold are each other's adjoint: each one's gradient is the other
    "unfold": Op(F.unfold, TF.unfold, lambda *a: unfold_args(*a),
                 lambda g, x, **kw: (F.fold(g, x.shape[-2:], **kw),)),
    "fold": Op(F.fold, TF.fold, lambda *a: unfold_args(*a, fold=True),
               lambda g, cols, size, **kw: (F.unfold(g, **kw), None)),
    "max_pool1d": Op(F.max_pool1d, TF.max_pool1d, _pool(1, "max")),
    "max_pool2d": Op(F.max_pool2d, TF.max_pool2d, _pool(2, "max"), _max_pool2d_backward),
    "max_pool2d_loop": Op(F.max_pool2d_loop, TF.max_pool2d, _pool(2, "max")),
    "avg_pool1d": Op(F.avg_pool1d, TF.avg_pool1d, _pool(1, "avg")),
    "avg_pool2d": Op(F.avg_pool2d, TF.avg_pool2d, _pool(2, "avg"),
                     lambda g, x, **kw: (F.avg_pool2d_backward(g, x.shape, **kw),)),
    "avg_pool2d_loop": Op(F.avg_pool2d_loop, TF.avg_pool2d, _pool(2, "avg")),
    "pad": Op(F.pad, TF.pad, pad_args, lambda g, x, **kw: (F.pad_backward(g, x.shape, **kw),)),
    "linear": Op(F.linear, TF.linear, linear_args, lambda g, x, w, b: F.linear_backward(g, x, w)),
    "relu": Op(F.relu, TF.relu, _elementwise(), lambda g, x: (F.relu_backward(g, F.relu(x)),)),
    "leaky_relu": Op(F.leaky_relu, TF.leaky_relu, _elementwise(), lambda g, x: (F.leaky_relu_backward(g, x),)),
    "leaky_relu(0.2)": Op(lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), _elementwise(),
                          lambda g, x: (F.leaky_relu_backward(g, x, 0.2),)),
    "sigmoid": Op(F.sigmoid, torch.sigmoid, _elementwise(), lambda g, x: (F.sigmoid_backward(g, F.sigmoid(x)),)),
    "tanh": Op(F.tanh, torch.tanh, _elementwise(), lambda g, x: (F.tanh_backward(g, F.tanh(x)),)),
    "softmax": Op(F.softmax, TF.softmax, _elementwise(dim=True)),
    "log_softmax": Op(F.log_softmax, TF.log_softmax, _elementwise(dim=True)),
    "cross_entropy": Op(F.cross_entropy, TF.cross_entropy, cross_entropy_args,
                        lambda g, x, t, **kw: (F.cross_entropy_backward(g, x, t, **kw), None)),
    "mse_loss": Op(F.mse_loss, TF.mse_loss, mse_args, lambda g, x, t, **kw: (F.mse_loss_backward(g, x, t, **kw), None)),
    "batch_norm": Op(_batch_norm(F.batch_norm), _batch_norm(TF.batch_norm), lambda *a: batch_norm_args(*a),
                     _batch_norm_backward,
                     slack=lambda args, kwargs: batch_norm_slack(args[0], kwargs["eps"], kwargs["training"])),
    "adaptive_avg_pool2d": Op(F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d, lambda *a: adaptive_pool_args(*a),
                              lambda g, x, **kw: (F.adaptive_avg_pool2d_backward(g, x.shape),)),
    "adaptive_avg_pool2d_loop": Op(F.adaptive_avg_pool2d_loop, TF.adaptive_avg_pool2d, lambda *a: adaptive_pool_args(*a)),
}


def check_op(name, draw, dtype, special=None, batch=None):
    """Draw arguments for op ``name`` of `OPS` and compare: ours equals torch's (values, NaN,
    infinities, dtype, and the indices of a pair), and its backward equals torch autograd for
    every floating-point argument, with a random upstream gradient."""
    op = OPS[name]
    args, kwargs = draw(op.args(dtype, special, batch))
    floating = [isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating) for a in args]
    via32 = op.float16_via_float32 and dtype == np.float16
    targs = [(tensor(a).float() if via32 else tensor(a)).requires_grad_(op.backward is not None) if f else tensor(a)
             for a, f in zip(args, floating)]
    theirs = op.theirs(*targs, **{k: tensor(v) for k, v in kwargs.items()})
    slack = op.slack(args, kwargs)
    assert_close(op.ours(*args, **kwargs), theirs.detach().half() if via32 else theirs, dtype=True, slack=slack)
    if op.backward is None:
        return
    out = theirs[0] if isinstance(theirs, tuple) else theirs
    g, = data(1, dtype, tuple(out.shape))
    out.backward(torch.from_numpy(g).float() if via32 else torch.from_numpy(g))
    grads = [(t.grad.half() if via32 else t.grad) if f else None for t, f in zip(targs, floating)]
    for mine, grad, f in zip(op.backward(g, *args, **kwargs), grads, floating):
        if f and mine is not None:
            assert_close(mine, grad, dtype=True, slack=slack)


# ----------------------------------------------------------------------------- conv2d's algorithms
# float64 to 1e-10 (the transforms of winograd and fft add rounding: 1e-8), float32 to 1e-4 relative
# to the largest output (the sums run in another order than torch's)
ALGORITHM_TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4, np.dtype(np.float16): 4e-3}
TRANSFORM_TOLERANCE = {np.dtype(np.float64): 1e-8, np.dtype(np.float32): 1e-4, np.dtype(np.float16): 4e-3}


@st.composite
def algorithm_args(draw, algorithm, dtype, batch=None):
    """``((x, w, b), kwargs)`` of conv2d inside ``algorithm``'s domain (see `cnnref.conv_algorithms`):
    winograd 3x3 kernels at stride 1 and dilation 1, fft stride 1, the others anything. More channels
    and larger images than `conv_args`, so that sums are long and Winograd has several tiles (with odd
    output sizes, whose last tile sticks out)."""
    groups = draw(st.integers(1, 2))
    c_in, c_out = groups * draw(st.integers(1, 4)), groups * draw(st.integers(1, 4))
    strided = algorithm not in ("winograd", "fft")
    kernel = (3, 3) if algorithm == "winograd" else ints(draw, 2, 1, 5)
    dilation = ints(draw, 2, 1, 2) if algorithm != "winograd" else (1, 1)
    stride = ints(draw, 2, 1, 3) if strided and draw(st.booleans()) else (1, 1)
    padding = draw(st.sampled_from(["same", "valid", "ints"])) if stride == (1, 1) else "ints"
    amount = ints(draw, 2, 0, 2) if padding == "ints" else (0, 0)
    size = tuple(max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 7))
                 for k, d, p in zip(kernel, dilation, amount))
    n = draw(batch if batch is not None else st.integers(1, 3))
    x, = data(draw(SEEDS), dtype, (n, c_in) + size)
    w, b = data(draw(SEEDS), dtype, (c_out, c_in // groups) + kernel, (c_out,))
    kwargs = dict(stride=stride, padding=amount if padding == "ints" else padding, dilation=dilation, groups=groups)
    if batch is None and n == 1 and draw(st.booleans()):
        x = x[0]                                     # an unbatched (C_in, H, W) input
    return (x, w, b if draw(st.booleans()) else None), kwargs


def check_algorithm(algorithm, draw, dtype, batch=None):
    """Draw a conv2d case in ``algorithm``'s domain and compare ``conv2d(..., algorithm=...)`` with
    torch: the values to `ALGORITHM_TOLERANCE` (winograd and fft: `TRANSFORM_TOLERANCE`), the dtype."""
    (x, w, b), kwargs = draw(algorithm_args(algorithm, dtype, batch))
    via32 = dtype == np.float16                   # see FLOAT16_CONV
    x_t, w_t, b_t = (None if a is None else tensor(a).float() if via32 else tensor(a) for a in (x, w, b))
    theirs = TF.conv2d(x_t, w_t, b_t, **kwargs)
    theirs = theirs.half() if via32 else theirs
    ours = F.conv2d(x, w, b, **kwargs, algorithm=algorithm)
    tol = (TRANSFORM_TOLERANCE if algorithm in ("winograd", "fft") else ALGORITHM_TOLERANCE)[np.dtype(dtype)]
    finite = to_numpy(theirs)
    assert_close(ours, theirs, rtol=tol, atol=tol * max(1.0, float(np.abs(finite).max(initial=0.0))), dtype=True)


# ----------------------------------------------------------------------------- modules
def check_module(ours, theirs, x, *extra):
    """Load torch's parameters into ours, then compare output, d/d input and every parameter's grad."""
    norm = isinstance(theirs, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))
    training = norm and (theirs.training or not theirs.track_running_stats)
    slack = batch_norm_slack(x, theirs.eps, training) if norm else 0.0
    theirs = theirs.to(TORCH_DTYPE[np.dtype(x.dtype)])
    ours.to(x.dtype).load_state_dict(theirs.state_dict())
    extra_t = [tensor(e) for e in extra]
    # torch's float16 convolutions can crash on the CPU (see FLOAT16_CONV): there torch's
    # module runs in float32 and its results are rounded to float16
    half = x.dtype == np.float16 and any(isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.ConvTranspose1d,
                                                        torch.nn.ConvTranspose2d)) for m in theirs.modules())
    if half:
        theirs = theirs.float()
    run = (lambda t: theirs(t.float(), *extra_t).half()) if half else (lambda t: theirs(t, *extra_t))
    expected, g, (gx,) = torch_forward_backward(run, [x])
    assert_close(ours(x, *extra), expected, dtype=True, slack=slack)
    ours.zero_grad()
    assert_close(ours.backward(g), gx, dtype=True, slack=slack)
    theirs_grads = {name: p.grad.half() if half else p.grad for name, p in theirs.named_parameters()}
    ours_grads = {name: p.grad for name, p in ours.named_parameters()}
    assert ours_grads.keys() == theirs_grads.keys()
    for name, grad in theirs_grads.items():
        assert_close(ours_grads[name], grad, dtype=True, slack=slack)


def _padding_fits(module, size):
    """torch's reflect padding needs amounts below the size, circular at most the size."""
    pads = module._reversed_padding_repeated_twice
    sizes = [s for s in reversed(size) for _ in (0, 1)]
    if module.padding_mode == "reflect":
        return all(p < s for p, s in zip(pads, sizes))
    return module.padding_mode != "circular" or all(p <= s for p, s in zip(pads, sizes))


@st.composite
def _conv_module(draw, nd, dtype, special, batch):
    (x, w, b), kwargs = draw(conv_args(nd, dtype, special, batch))
    kwargs = dict(kwargs, bias=b is not None, padding_mode=draw(st.sampled_from(["zeros", "reflect", "replicate",
                                                                                   "circular"])))
    args = (x.shape[-nd - 1], w.shape[0], w.shape[2:])
    ours, theirs = (getattr(m, f"Conv{nd}d")(*args, **kwargs) for m in (nn, torch.nn))
    assume(_padding_fits(ours, x.shape[-nd:]))
    return ours, theirs, (x,)


@st.composite
def _layer(draw, name, args, dtype, special, batch, **options):
    """Module ``name`` built from the keyword arguments of its functional op's case."""
    inputs, kwargs = draw(args(dtype, special, batch))
    kwargs = {k: v for k, v in kwargs.items() if k != "return_indices"}
    if name == "ConvTranspose2d":
        x, w, b = inputs
        args, inputs = (w.shape[0], w.shape[1] * kwargs["groups"], w.shape[2:]), (x,)
        kwargs["bias"] = b is not None
    elif name == "Linear":
        x, w, b = inputs
        args, inputs, kwargs = w.shape[::-1], (x,), dict(bias=b is not None)
    elif name in ("CrossEntropyLoss", "MSELoss"):
        if name == "CrossEntropyLoss":
            assume(kwargs["reduction"] != "mean" or not (inputs[1] == -100).all())   # nothing left to average
        args, kwargs = (), {k: v for k, v in kwargs.items() if k != "weight" or name == "CrossEntropyLoss"}
    else:
        args = ()
    theirs_kwargs = {k: tensor(v) for k, v in dict(kwargs, **options).items()}
    return getattr(nn, name)(*args, **kwargs, **options), getattr(torch.nn, name)(*args, **theirs_kwargs), inputs


@st.composite
def _sequential(draw, dtype, special, batch):
    n = draw(batch if batch is not None else st.integers(1, 2))
    c, size, hidden = draw(st.integers(1, 3)), draw(st.integers(4, 7)), draw(st.integers(1, 3))
    flat = hidden * ((size - 2) // 2) ** 2

    def make(m):
        return m.Sequential(m.Conv2d(c, hidden, 3), m.ReLU(), m.MaxPool2d(2), m.Flatten(), m.Linear(flat, 3), m.Tanh())
    return make(nn), make(torch.nn), tuple(data(draw(SEEDS), dtype, (n, c, size, size), special=special))


@st.composite
def batch_norm_module(draw, nd, dtype, special, batch):
    """BatchNorm1d/2d with any options, random weight, bias and running statistics, in training or
    evaluation mode, with an input it accepts (nd: 1 or 2)."""
    (x, _, _), kwargs = draw(batch_norm_args(dtype, special, batch, spatial=draw(st.sampled_from([0, 1]))
                                             if nd == 1 else 2))
    options = dict(momentum=draw(st.sampled_from([0.1, None, kwargs["momentum"]])), eps=kwargs["eps"],
                   affine=draw(st.booleans()), track_running_stats=draw(st.booleans()))
    if not options["track_running_stats"] and x.size == x.shape[1]:      # batch statistics of one value each
        x = np.concatenate([x, x + dtype(1)])
    ours, theirs = (getattr(m, f"BatchNorm{nd}d")(x.shape[1], **options) for m in (nn, torch.nn))
    with torch.no_grad():
        for t in theirs.parameters():
            t.copy_(torch.from_numpy(data(draw(SEEDS), np.float32, tuple(t.shape))[0]))
        if theirs.track_running_stats:
            theirs.running_mean.copy_(torch.from_numpy(data(draw(SEEDS), np.float32, (x.shape[1],))[0]))
            theirs.running_var.uniform_(0.5, 2.0)
            theirs.num_batches_tracked.fill_(draw(st.integers(0, 3)))
    if not kwargs["training"]:
        ours.eval(), theirs.eval()
    return ours, theirs, (x,)


def _module(name, args, **options):
    return lambda dtype, special, batch: _layer(name, args, dtype, special, batch, **options)


# name -> strategy(dtype, special, batch) of (ours, theirs, inputs)
MODULES = {
    "Conv1d": lambda *a: _conv_module(1, *a),
    "Conv2d": lambda *a: _conv_module(2, *a),
    "ConvTranspose2d": _module("ConvTranspose2d", _conv(2, True)),
    "MaxPool2d": _module("MaxPool2d", _pool(2, "max")),
    "AvgPool2d": _module("AvgPool2d", _pool(2, "avg")),
    "Linear": _module("Linear", linear_args),
    "ReLU": _module("ReLU", _elementwise(min_dims=2)),
    "LeakyReLU": _module("LeakyReLU", _elementwise(min_dims=2), negative_slope=0.2),
    "Sigmoid": _module("Sigmoid", _elementwise(min_dims=2)),
    "Tanh": _module("Tanh", _elementwise(min_dims=2)),
    "Flatten": _module("Flatten", _elementwise(min_dims=2)),
    "Flatten(0, 1)": _module("Flatten", _elementwise(min_dims=2), start_dim=0, end_dim=1),
    "CrossEntropyLoss": _module("CrossEntropyLoss", cross_entropy_args),
    "MSELoss": _module("MSELoss", mse_args),
    "Sequential": _sequential,
    "BatchNorm1d": lambda *a: batch_norm_module(1, *a),
    "BatchNorm2d": lambda *a: batch_norm_module(2, *a),
    "AdaptiveAvgPool2d": _module("AdaptiveAvgPool2d", lambda *a: adaptive_pool_args(*a)),
}


def check_layer(name, draw, dtype, special=None, batch=None):
    """Draw module ``name`` of `MODULES` and its input, and compare it with torch's (`check_module`)."""
    ours, theirs, inputs = draw(MODULES[name](dtype, special, batch))
    check_module(ours, theirs, *inputs)
