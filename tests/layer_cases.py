"""Random layer configurations (hypothesis strategies), the registry of functional ops with their
torch twins, and torch autograd helpers shared by the functional, loop, module and edge-case tests.
Every case is tiny so that hundreds run in seconds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import assume, strategies as st

from cnnref import functional as F
from tests.compare import assert_close

EXAMPLES = 200          # per op
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
        hit = rng.random(a.shape) < 0.25
        if a.size:
            hit.flat[rng.integers(a.size)] = True
        a[hit] = rng.choice(SPECIAL_VALUES[special], size=int(hit.sum()))
    return arrays


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


def _batch(draw, batch):
    """``(N,)`` or, by default sometimes, ``()`` (an unbatched input); ``batch`` draws N instead."""
    if batch is not None:
        return (draw(batch),)
    return (draw(st.integers(1, 2)),) if draw(st.booleans()) else ()


def _sizes(draw, nd, kernel, dilation, padding):
    """Input sizes at least as large as each (dilated) kernel minus the padding."""
    return tuple(max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 3))
                 for k, d, p in zip(kernel, dilation, padding))


@st.composite
def conv_cases(draw, nd=2, batch=None):
    """Arguments of conv1d/conv2d: shapes and keyword arguments, valid for torch."""
    groups = draw(st.integers(1, 2))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    kind = draw(st.sampled_from(["int", "tuple", "same", "valid"]))
    if kind == "same":
        stride, padding, pad_amount = 1, "same", (0,) * nd
    else:
        stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
        pad_amount = tuple(draw(st.integers(0, 2)) for _ in range(nd)) if kind != "valid" else (0,) * nd
        padding = "valid" if kind == "valid" else (pad_amount[0] if kind == "int" else pad_amount)
        if kind == "int":
            pad_amount = (pad_amount[0],) * nd
        if draw(st.booleans()) and len(set(stride)) == 1:
            stride = stride[0]
    size = _sizes(draw, nd, kernel, dilation, pad_amount)
    return dict(x=_batch(draw, batch) + (c_in,) + size, w=(c_out, c_in // groups) + kernel,
                b=(c_out,) if draw(st.booleans()) else None,
                kwargs=dict(stride=stride, padding=padding, dilation=dilation, groups=groups))


@st.composite
def conv_transpose_cases(draw, nd=2, batch=None):
    """Arguments of conv_transpose1d/2d, valid for torch (positive output size)."""
    groups = draw(st.integers(1, 2))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    # (H - 1)*s >= 2*p keeps the output size positive
    size = tuple(-(-2 * p // s) + 1 + draw(st.integers(0, 2)) for p, s in zip(padding, stride))
    return dict(x=_batch(draw, batch) + (c_in,) + size, w=(c_in, c_out // groups) + kernel,
                b=(c_out,) if draw(st.booleans()) else None,
                kwargs=dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups,
                            dilation=dilation))


@st.composite
def pool_cases(draw, nd=2, dilation=True, batch=None):
    """Arguments of max/avg pooling: padding at most half the kernel, non-empty output."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = None if draw(st.booleans()) else tuple(draw(st.integers(1, 3)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dil = tuple(draw(st.integers(1, 2)) for _ in range(nd)) if dilation else (1,) * nd
    size = _sizes(draw, nd, kernel, dil, padding)
    kwargs = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=draw(st.booleans()))
    if dilation:
        kwargs["dilation"] = dil
    return dict(x=_batch(draw, batch) + (draw(st.integers(1, 2)),) + size, kwargs=kwargs)


@st.composite
def unfold_cases(draw, batch=None):
    """Input shape and keyword arguments of unfold (and of fold, for the same image)."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = _sizes(draw, 2, kernel, dilation, padding)
    return (_batch(draw, batch) + (draw(st.integers(1, 3)),) + size,
            dict(kernel_size=kernel, dilation=dilation, padding=padding, stride=stride))


@st.composite
def pad_cases(draw, batch=None):
    """torch pads with reflect/replicate/circular the last m = 1..3 dims of an (m+1)- or (m+2)-dim
    input, amounts below (reflect) or up to (circular) the size; constant mode pads any dims."""
    mode = draw(st.sampled_from(F.PAD_MODES))
    m = draw(st.integers(1, 3))
    ndim = m + draw(st.integers(1, 2)) if mode != "constant" else draw(st.integers(m, 4))
    shape = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    if batch is not None:                       # the first dim is the batch of an (m+2)-dim input
        ndim = max(ndim, m + 2) if mode != "constant" else ndim
        shape = (draw(batch),) + tuple(draw(st.integers(1, 4)) for _ in range(ndim - 1))
    pads = []
    for size in shape[::-1][:m]:
        limit = {"reflect": size - 1, "circular": size}.get(mode, 3)
        pads += [draw(st.integers(0, limit)), draw(st.integers(0, limit))]
    return shape, tuple(pads), mode


@st.composite
def cross_entropy_cases(draw, batch=None):
    C = draw(st.integers(1, 4))
    layout = draw(st.sampled_from(["unbatched", "batched", "spatial"] if batch is None else ["batched", "spatial"]))
    n = draw(batch if batch is not None else st.integers(1, 4))
    batch = {"unbatched": (), "batched": (n,), "spatial": (min(n, 2), draw(st.integers(1, 3)))}[layout]
    input_shape = batch[:1] + (C,) + batch[1:]
    kwargs = dict(reduction=draw(st.sampled_from(["mean", "sum", "none"])),
                  label_smoothing=draw(st.sampled_from([0.0, 0.0, 0.1, 0.5])))
    probabilities = draw(st.booleans()) and layout != "spatial"
    return input_shape, batch, C, probabilities, draw(st.booleans()), draw(st.booleans()), kwargs


def cross_entropy_data(case, seed, dtype, special=None):
    """Logits, target (class indices with one ignored element, or probabilities), class weights
    and keyword arguments for a case of `cross_entropy_cases`."""
    input_shape, batch, C, probabilities, use_weight, use_ignore, kwargs = case
    kwargs = dict(kwargs)
    rng = np.random.default_rng(seed)
    x, = data(seed, dtype, input_shape, special=special)
    weight = rng.uniform(0.5, 2.0, C).astype(dtype) if use_weight else None
    if probabilities:
        logits = rng.standard_normal(input_shape)
        e = np.exp(logits - logits.max(axis=0 if len(input_shape) == 1 else 1, keepdims=True))
        target = (e / e.sum(axis=0 if len(input_shape) == 1 else 1, keepdims=True)).astype(dtype)
    else:
        target = rng.integers(0, C, batch)
        if use_ignore and target.size > 1:
            target.flat[0] = -100            # one ignored element, the others still count
            kwargs["ignore_index"] = -100
    return x, target, weight, kwargs


# ----------------------------------------------------------------------------- the registry of functional ops
@dataclass(frozen=True)
class Op:
    """A functional op, its torch twin, how to draw its arguments, and its gradient.

    ``args(draw, dtype, special, batch)`` returns ``(args, kwargs)``; the floating-point arrays
    among ``args`` are the differentiable inputs. ``backward(g, *args, **kwargs)`` returns one
    gradient per argument (None where not compared), as `cnnref.gradcheck` takes it.
    """

    ours: Callable
    theirs: Callable
    args: Callable
    backward: Callable | None = None
    special_dtypes: tuple = (np.float16, np.float32, np.float64)   # the dtypes NaN and inf are tested in


def _conv_args(nd, transposed=False):
    def args(draw, dtype, special, batch):
        c = draw((conv_transpose_cases if transposed else conv_cases)(nd, batch=batch))
        # special values in the input only: a NaN or inf weight meets the zero padding, and a NaN input
        # the cropped border of a transposed convolution; there torch's result depends on the backend it
        # picks: its im2col path (float64, and float32 for small shapes) multiplies them by zero, which
        # gives NaN as ours does, while oneDNN (float16, and larger float32 shapes) skips them
        x, = data(draw(SEEDS), dtype, c["x"], special=special)
        w, = data(draw(SEEDS), dtype, c["w"])
        b = None if c["b"] is None else data(draw(SEEDS), dtype, c["b"])[0]
        return (x, w, b), c["kwargs"]
    return args


def _pool_args(nd, dilation=True, extra=None):
    def args(draw, dtype, special, batch):
        c = draw(pool_cases(nd, dilation=dilation, batch=batch))
        kwargs = dict(c["kwargs"], **({} if extra is None else draw(extra)))
        if dilation:
            # a window wholly in the padding (dilation allows it) reports an index outside its plane,
            # where torch's backward adds into a neighbouring plane: not compared
            pool = F.max_pool1d if nd == 1 else F.max_pool2d
            assume(not np.isinf(pool(np.ones(c["x"]), **kwargs)).any())
            kwargs["return_indices"] = True
        return tuple(data(draw(SEEDS), dtype, c["x"], special=special)), kwargs
    return args


def _unfold_args(draw, dtype, special, batch):
    shape, kwargs = draw(unfold_cases(batch=batch))
    return tuple(data(draw(SEEDS), dtype, shape, special=special)), kwargs


def _fold_args(draw, dtype, special, batch):
    shape, kwargs = draw(unfold_cases(batch=batch))
    cols, = data(draw(SEEDS), dtype, tuple(TF.unfold(torch.zeros(shape), **kwargs).shape), special=special)
    return (cols, shape[-2:]), kwargs


def _pad_args(draw, dtype, special, batch):
    shape, pads, mode = draw(pad_cases(batch=batch))
    return tuple(data(draw(SEEDS), dtype, shape, special=special)), dict(pad=pads, mode=mode)


def _shape(batch, min_size=0):
    """A shape of up to 3 dims; with ``batch``, the first dim is drawn from it."""
    @st.composite
    def shape(draw):
        rest = tuple(draw(st.lists(st.integers(1, 4), min_size=min_size, max_size=3)))
        return rest if batch is None else (draw(batch),) + rest[:2]
    return shape()


def _elementwise_args(draw, dtype, special, batch):
    return tuple(data(draw(SEEDS), dtype, draw(_shape(batch)), special=special)), {}


def _softmax_args(draw, dtype, special, batch):
    shape = draw(_shape(batch, min_size=1))
    return tuple(data(draw(SEEDS), dtype, shape, special=special)), dict(dim=draw(st.integers(0, len(shape) - 1)))


def _linear_args(draw, dtype, special, batch):
    lead = (draw(batch),) if batch is not None else tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    n_in, n_out = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    x, w, b = data(draw(SEEDS), dtype, lead + (n_in,), (n_out, n_in), (n_out,), special=special)
    return (x, w, b if draw(st.booleans()) else None), {}


def _cross_entropy_args(draw, dtype, special, batch):
    case = draw(cross_entropy_cases(batch=batch))
    x, target, weight, kwargs = cross_entropy_data(case, draw(SEEDS), dtype, special)
    return (x, target), dict(kwargs, weight=weight)


def _mse_args(draw, dtype, special, batch):
    shape = draw(_shape(batch))
    x, t, w = data(draw(SEEDS), dtype, shape, shape, shape, special=special)
    weighted = draw(st.booleans())
    return (x, t), dict(reduction=draw(st.sampled_from(["mean", "sum", "none"])),
                        weight=np.asarray(np.abs(w) + dtype(0.1)) if weighted else None)


def _max_pool2d_backward(g, x, **kwargs):
    return (F.max_pool2d_backward(g, F.max_pool2d(x, **kwargs)[1], x.shape),)


CONV_SPECIALS = dict(special_dtypes=(np.float32, np.float64))   # see _conv_args
OPS = {
    "conv1d": Op(F.conv1d, TF.conv1d, _conv_args(1), lambda g, x, w, b, **kw: F.conv1d_backward(g, x, w, **kw),
                 **CONV_SPECIALS),
    "conv2d": Op(F.conv2d, TF.conv2d, _conv_args(2), lambda g, x, w, b, **kw: F.conv2d_backward(g, x, w, **kw),
                 **CONV_SPECIALS),
    "conv2d_loop": Op(F.conv2d_loop, TF.conv2d, _conv_args(2), **CONV_SPECIALS),
    "conv_transpose1d": Op(F.conv_transpose1d, TF.conv_transpose1d, _conv_args(1, transposed=True), **CONV_SPECIALS),
    "conv_transpose2d": Op(F.conv_transpose2d, TF.conv_transpose2d, _conv_args(2, transposed=True),
                           lambda g, x, w, b, **kw: F.conv_transpose2d_backward(g, x, w, **kw), **CONV_SPECIALS),
    "conv_transpose2d_loop": Op(F.conv_transpose2d_loop, TF.conv_transpose2d, _conv_args(2, transposed=True),
                                **CONV_SPECIALS),
    # unfold and fold are each other's adjoint: each one's gradient is the other
    "unfold": Op(F.unfold, TF.unfold, _unfold_args, lambda g, x, **kw: (F.fold(g, x.shape[-2:], **kw),)),
    "fold": Op(F.fold, TF.fold, _fold_args, lambda g, cols, size, **kw: (F.unfold(g, **kw), None)),
    "max_pool1d": Op(F.max_pool1d, TF.max_pool1d, _pool_args(1)),
    "max_pool2d": Op(F.max_pool2d, TF.max_pool2d, _pool_args(2), _max_pool2d_backward),
    "max_pool2d_loop": Op(F.max_pool2d_loop, TF.max_pool2d, _pool_args(2)),
    "avg_pool1d": Op(F.avg_pool1d, TF.avg_pool1d, _pool_args(1, False, st.fixed_dictionaries(
        dict(count_include_pad=st.booleans())))),
    "avg_pool2d": Op(F.avg_pool2d, TF.avg_pool2d, _pool_args(2, False, st.fixed_dictionaries(
        dict(count_include_pad=st.booleans(), divisor_override=st.sampled_from([None, None, 1, 3])))),
        lambda g, x, **kw: (F.avg_pool2d_backward(g, x.shape, **kw),)),
    "avg_pool2d_loop": Op(F.avg_pool2d_loop, TF.avg_pool2d, _pool_args(2, False, st.fixed_dictionaries(
        dict(count_include_pad=st.booleans(), divisor_override=st.sampled_from([None, None, 1, 3]))))),
    "pad": Op(F.pad, TF.pad, _pad_args, lambda g, x, **kw: (F.pad_backward(g, x.shape, **kw),)),
    "linear": Op(F.linear, TF.linear, _linear_args, lambda g, x, w, b: F.linear_backward(g, x, w)),
    "relu": Op(F.relu, TF.relu, _elementwise_args, lambda g, x: (F.relu_backward(g, F.relu(x)),)),
    "leaky_relu": Op(lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), _elementwise_args,
                     lambda g, x: (F.leaky_relu_backward(g, x, 0.2),)),
    "sigmoid": Op(F.sigmoid, torch.sigmoid, _elementwise_args, lambda g, x: (F.sigmoid_backward(g, F.sigmoid(x)),)),
    "tanh": Op(F.tanh, torch.tanh, _elementwise_args, lambda g, x: (F.tanh_backward(g, F.tanh(x)),)),
    "softmax": Op(F.softmax, TF.softmax, _softmax_args),
    "log_softmax": Op(F.log_softmax, TF.log_softmax, _softmax_args),
    "cross_entropy": Op(F.cross_entropy, TF.cross_entropy, _cross_entropy_args,
                        lambda g, x, t, **kw: (F.cross_entropy_backward(g, x, t, **kw), None)),
    "mse_loss": Op(F.mse_loss, TF.mse_loss, _mse_args,
                   lambda g, x, t, **kw: (F.mse_loss_backward(g, x, t, **kw), None)),
}


def check_op(op: Op, args, kwargs, backward: bool = True):
    """``op.ours`` equals ``op.theirs`` on the same arguments (values, NaN, infinities, dtype, and
    the indices of a pair), and so do the gradients of every floating-point argument, against
    torch autograd with a random upstream gradient."""
    floating = [isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating) for a in args]
    grad_wanted = backward and op.backward is not None
    targs = [tensor(a).requires_grad_(grad_wanted) if f else tensor(a) for a, f in zip(args, floating)]
    theirs = op.theirs(*targs, **{k: tensor(v) for k, v in kwargs.items()})
    ours = op.ours(*args, **kwargs)
    pairs = zip(ours, theirs) if isinstance(theirs, tuple) else [(ours, theirs)]
    for mine, their in pairs:
        assert_close(mine, their, dtype=True)
    if not grad_wanted:
        return
    out = theirs[0] if isinstance(theirs, tuple) else theirs
    g, = data(1, args[0].dtype, tuple(out.shape))
    out.backward(torch.from_numpy(g))
    for mine, t, f in zip(op.backward(g, *args, **kwargs), targs, floating):
        if f and mine is not None:
            assert_close(mine, t.grad, dtype=True)


# ----------------------------------------------------------------------------- modules
TORCH_DTYPE = {np.dtype(np.float16): torch.float16, np.dtype(np.float32): torch.float32,
               np.dtype(np.float64): torch.float64}


def check_module(ours, theirs, x, *extra):
    """Load torch's parameters into ours, then compare output, d/d input and every parameter's grad."""
    theirs = theirs.to(TORCH_DTYPE[np.dtype(x.dtype)])
    ours.to(x.dtype).load_state_dict(theirs.state_dict())
    extra_t = [tensor(e) for e in extra]
    expected, g, (gx,) = torch_forward_backward(lambda t: theirs(t, *extra_t), [x])
    out = ours(x, *extra)
    assert_close(out, expected, dtype=True)
    ours.zero_grad()
    assert_close(ours.backward(g), gx, dtype=True)
    theirs_grads = {name: p.grad for name, p in theirs.named_parameters()}
    ours_grads = {name: p.grad for name, p in ours.named_parameters()}
    assert ours_grads.keys() == theirs_grads.keys()
    for name, grad in theirs_grads.items():
        assert_close(ours_grads[name], grad, dtype=True)


def padding_fits(module, size):
    """torch's reflect padding needs amounts below the size, circular at most the size."""
    pads = module._reversed_padding_repeated_twice
    sizes = [s for s in reversed(size) for _ in (0, 1)]
    if module.padding_mode == "reflect":
        return all(p < s for p, s in zip(pads, sizes))
    return module.padding_mode != "circular" or all(p <= s for p, s in zip(pads, sizes))


def _conv_modules(nd):
    def modules(draw, nn, dtype, special, batch):
        case = draw(conv_cases(nd, batch=batch))
        c_out, _, *kernel = case["w"]
        kwargs = dict(case["kwargs"], bias=case["b"] is not None,
                      padding_mode=draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"])))
        make = lambda m: getattr(m, f"Conv{nd}d")(case["x"][-nd - 1], c_out, tuple(kernel), **kwargs)  # noqa: E731
        ours, theirs = make(nn), make(torch.nn)
        assume(padding_fits(ours, case["x"][-nd:]))
        return ours, theirs, tuple(data(draw(SEEDS), dtype, case["x"], special=special))
    return modules


def _conv_transpose_module(draw, nn, dtype, special, batch):
    case = draw(conv_transpose_cases(2, batch=batch))
    c_in, c_out_g, *kernel = case["w"]
    kwargs = dict(case["kwargs"], bias=case["b"] is not None)
    args = (c_in, c_out_g * kwargs["groups"], tuple(kernel))
    return (nn.ConvTranspose2d(*args, **kwargs), torch.nn.ConvTranspose2d(*args, **kwargs),
            tuple(data(draw(SEEDS), dtype, case["x"], special=special)))


def _pool_module(kind):
    def modules(draw, nn, dtype, special, batch):
        case = draw(pool_cases(2, dilation=kind == "MaxPool2d", batch=batch))
        kwargs = dict(case["kwargs"])
        if kind == "MaxPool2d":
            assume(not np.isinf(F.max_pool2d(np.ones(case["x"]), **kwargs)).any())   # see _pool_args
        else:
            kwargs.update(count_include_pad=draw(st.booleans()), divisor_override=draw(st.sampled_from([None, 2])))
        return (getattr(nn, kind)(**kwargs), getattr(torch.nn, kind)(**kwargs),
                tuple(data(draw(SEEDS), dtype, case["x"], special=special)))
    return modules


def _linear_module(draw, nn, dtype, special, batch):
    (x, w, b), _ = _linear_args(draw, dtype, special, batch)
    return nn.Linear(*w.shape[::-1], bias=b is not None), torch.nn.Linear(*w.shape[::-1], bias=b is not None), (x,)


def _elementwise_module(name, **kwargs):
    def modules(draw, nn, dtype, special, batch):
        shape = draw(_shape(batch, min_size=2))
        return (getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs),
                tuple(data(draw(SEEDS), dtype, shape, special=special)))
    return modules


def _cross_entropy_module(draw, nn, dtype, special, batch):
    (x, target), kwargs = _cross_entropy_args(draw, dtype, special, batch)
    weight = kwargs.pop("weight")
    assume(kwargs["reduction"] != "mean" or not (target == -100).all())   # nothing left to average
    return (nn.CrossEntropyLoss(weight, **kwargs), torch.nn.CrossEntropyLoss(tensor(weight), **kwargs),
            (x, target))


def _mse_module(draw, nn, dtype, special, batch):
    (x, t), kwargs = _mse_args(draw, dtype, special, batch)
    return nn.MSELoss(reduction=kwargs["reduction"]), torch.nn.MSELoss(reduction=kwargs["reduction"]), (x, t)


def _sequential_module(draw, nn, dtype, special, batch):
    n = draw(batch if batch is not None else st.integers(1, 2))
    c, size, hidden = draw(st.integers(1, 3)), draw(st.integers(4, 7)), draw(st.integers(1, 3))
    flat = hidden * ((size - 2) // 2) ** 2

    def make(m):
        return m.Sequential(m.Conv2d(c, hidden, 3), m.ReLU(), m.MaxPool2d(2), m.Flatten(), m.Linear(flat, 3), m.Tanh())
    return make(nn), make(torch.nn), tuple(data(draw(SEEDS), dtype, (n, c, size, size), special=special))


# name -> modules(draw, cnnref.nn, dtype, special, batch) returning (ours, theirs, inputs)
MODULES = {
    "Conv1d": _conv_modules(1),
    "Conv2d": _conv_modules(2),
    "ConvTranspose2d": _conv_transpose_module,
    "MaxPool2d": _pool_module("MaxPool2d"),
    "AvgPool2d": _pool_module("AvgPool2d"),
    "Linear": _linear_module,
    "ReLU": _elementwise_module("ReLU"),
    "LeakyReLU": _elementwise_module("LeakyReLU", negative_slope=0.2),
    "Sigmoid": _elementwise_module("Sigmoid"),
    "Tanh": _elementwise_module("Tanh"),
    "Flatten": _elementwise_module("Flatten"),
    "Flatten(0, 1)": _elementwise_module("Flatten", start_dim=0, end_dim=1),
    "CrossEntropyLoss": _cross_entropy_module,
    "MSELoss": _mse_module,
    "Sequential": _sequential_module,
}


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
