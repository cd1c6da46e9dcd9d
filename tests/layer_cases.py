"""Random layer configurations (hypothesis strategies) and torch autograd helpers shared by the
functional, loop and module tests. Every case is tiny so that hundreds run in seconds."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

EXAMPLES = 200          # per op, as the issue asks
DTYPES = st.sampled_from([np.float32, np.float64])


def data(seed: int, dtype, *shapes):
    """Standard normal arrays of the given shapes (one generator per example)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def torch_forward_backward(fn, arrays, grad_seed=1):
    """Run ``fn`` on tensors made from ``arrays`` with autograd; return (output, upstream grad as
    NumPy, the input grads). The upstream grad is random so that every output entry matters."""
    tensors = [torch.from_numpy(np.array(a)).requires_grad_() for a in arrays]
    out = fn(*tensors)
    g = data(grad_seed, arrays[0].dtype, tuple(out.shape))[0]
    out.backward(torch.from_numpy(g))
    return out, g, [t.grad for t in tensors]


def _sizes(draw, nd, kernel, dilation, padding):
    """Input sizes at least as large as each (dilated) kernel minus the padding."""
    return tuple(max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 3))
                 for k, d, p in zip(kernel, dilation, padding))


@st.composite
def conv_cases(draw, nd=2):
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
    batch = (draw(st.integers(1, 2)),) if draw(st.booleans()) else ()
    return dict(x=batch + (c_in,) + size, w=(c_out, c_in // groups) + kernel,
                b=(c_out,) if draw(st.booleans()) else None,
                kwargs=dict(stride=stride, padding=padding, dilation=dilation, groups=groups))


@st.composite
def conv_transpose_cases(draw, nd=2):
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
    batch = (draw(st.integers(1, 2)),) if draw(st.booleans()) else ()
    return dict(x=batch + (c_in,) + size, w=(c_in, c_out // groups) + kernel,
                b=(c_out,) if draw(st.booleans()) else None,
                kwargs=dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups,
                            dilation=dilation))


@st.composite
def pool_cases(draw, nd=2, dilation=True):
    """Arguments of max/avg pooling: padding at most half the kernel, non-empty output."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = None if draw(st.booleans()) else tuple(draw(st.integers(1, 3)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dil = tuple(draw(st.integers(1, 2)) for _ in range(nd)) if dilation else (1,) * nd
    size = _sizes(draw, nd, kernel, dil, padding)
    batch = (draw(st.integers(1, 2)),) if draw(st.booleans()) else ()
    kwargs = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=draw(st.booleans()))
    if dilation:
        kwargs["dilation"] = dil
    return dict(x=batch + (draw(st.integers(1, 2)),) + size, kwargs=kwargs)


@st.composite
def cross_entropy_cases(draw):
    C = draw(st.integers(1, 4))
    layout = draw(st.sampled_from(["unbatched", "batched", "spatial"]))
    batch = {"unbatched": (), "batched": (draw(st.integers(1, 4)),),
             "spatial": (draw(st.integers(1, 2)), draw(st.integers(1, 3)))}[layout]
    input_shape = batch[:1] + (C,) + batch[1:]
    kwargs = dict(reduction=draw(st.sampled_from(["mean", "sum", "none"])),
                  label_smoothing=draw(st.sampled_from([0.0, 0.0, 0.1, 0.5])))
    probabilities = draw(st.booleans()) and layout != "spatial"
    return input_shape, batch, C, probabilities, draw(st.booleans()), draw(st.booleans()), kwargs


def cross_entropy_data(case, seed, dtype):
    """Logits, target (class indices with one ignored element, or probabilities), class weights
    and keyword arguments for a case of `cross_entropy_cases`."""
    input_shape, batch, C, probabilities, use_weight, use_ignore, kwargs = case
    kwargs = dict(kwargs)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(input_shape).astype(dtype)
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
