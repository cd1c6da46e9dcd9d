"""cnnref.functional against torch.nn.functional on random shapes and arguments: the outputs,
and the gradients of the ops that have a ``*_backward`` (against torch autograd)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, given, settings, strategies as st

from cnnref import functional as F
from tests.compare import assert_close
from tests.layer_cases import (DTYPES, EXAMPLES, conv_cases, conv_transpose_cases, cross_entropy_cases,
                               cross_entropy_data, data, pool_cases, torch_forward_backward)

SEEDS = st.integers(0, 2**32 - 1)
examples = settings(max_examples=EXAMPLES, deadline=None)


def tensor(a):
    return None if a is None else torch.from_numpy(np.array(a))


@pytest.mark.parametrize("nd", [1, 2])
@examples
@given(case=st.data(), seed=SEEDS, dtype=DTYPES)
def test_conv_forward_and_backward(nd, case, seed, dtype):
    c = case.draw(conv_cases(nd))
    x, w = data(seed, dtype, c["x"], c["w"])
    b = None if c["b"] is None else data(seed + 1, dtype, c["b"])[0]
    ours, ours_backward, theirs = ((F.conv1d, F.conv1d_backward, TF.conv1d) if nd == 1
                                   else (F.conv2d, F.conv2d_backward, TF.conv2d))
    out = ours(x, w, b, **c["kwargs"])
    assert out.dtype == dtype
    expected, g, (gx, gw) = torch_forward_backward(lambda x, w: theirs(x, w, tensor(b), **c["kwargs"]), [x, w])
    assert_close(out, expected)
    grad_x, grad_w, grad_b = ours_backward(g, x, w, **c["kwargs"])
    assert_close(grad_x, gx)
    assert_close(grad_w, gw)
    assert_close(grad_b, torch.from_numpy(g).sum(dim=[d for d in range(g.ndim) if d != g.ndim - nd - 1]))


@examples
@given(case=conv_transpose_cases(2), seed=SEEDS, dtype=DTYPES)
def test_conv_transpose2d_forward_and_backward(case, seed, dtype):
    x, w = data(seed, dtype, case["x"], case["w"])
    b = None if case["b"] is None else data(seed + 1, dtype, case["b"])[0]
    out = F.conv_transpose2d(x, w, b, **case["kwargs"])
    expected, g, (gx, gw) = torch_forward_backward(
        lambda x, w: TF.conv_transpose2d(x, w, tensor(b), **case["kwargs"]), [x, w])
    assert_close(out, expected)
    grad_x, grad_w, grad_b = F.conv_transpose2d_backward(g, x, w, **case["kwargs"])
    assert_close(grad_x, gx)
    assert_close(grad_w, gw)
    assert_close(grad_b, g.sum(axis=tuple(d for d in range(g.ndim) if d != g.ndim - 3)))


@examples
@given(case=conv_transpose_cases(1), seed=SEEDS, dtype=DTYPES)
def test_conv_transpose1d(case, seed, dtype):
    x, w = data(seed, dtype, case["x"], case["w"])
    b = None if case["b"] is None else data(seed + 1, dtype, case["b"])[0]
    assert_close(F.conv_transpose1d(x, w, b, **case["kwargs"]),
                 TF.conv_transpose1d(tensor(x), tensor(w), tensor(b), **case["kwargs"]))


def _unfold_case(draw):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = tuple(max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 3)) for k, d, p in zip(kernel, dilation, padding))
    batch = (draw(st.integers(1, 2)),) if draw(st.booleans()) else ()
    return batch + (draw(st.integers(1, 3)),) + size, dict(kernel_size=kernel, dilation=dilation, padding=padding,
                                                           stride=stride)


@examples
@given(case=st.data(), seed=SEEDS, dtype=DTYPES)
def test_unfold(case, seed, dtype):
    shape, kwargs = _unfold_case(case.draw)
    x, = data(seed, dtype, shape)
    out = F.unfold(x, **kwargs)
    assert out.dtype == dtype
    assert_close(out, TF.unfold(tensor(x), **kwargs))


@examples
@given(case=st.data(), seed=SEEDS, dtype=DTYPES)
def test_fold(case, seed, dtype):
    shape, kwargs = _unfold_case(case.draw)
    cols_shape = TF.unfold(torch.zeros(shape), **kwargs).shape
    cols, = data(seed, dtype, tuple(cols_shape))
    assert_close(F.fold(cols, shape[-2:], **kwargs), TF.fold(tensor(cols), shape[-2:], **kwargs))


@pytest.mark.parametrize("nd", [1, 2])
@examples
@given(case=st.data(), seed=SEEDS, dtype=DTYPES)
def test_max_pool_forward_indices_and_backward(nd, case, seed, dtype):
    c = case.draw(pool_cases(nd))
    x, = data(seed, dtype, c["x"])
    ours, theirs = (F.max_pool1d, TF.max_pool1d) if nd == 1 else (F.max_pool2d, TF.max_pool2d)
    out, idx = ours(x, **c["kwargs"], return_indices=True)
    expected, expected_idx = theirs(tensor(x), **c["kwargs"], return_indices=True)
    assert_close(out, expected)
    np.testing.assert_array_equal(idx, expected_idx.numpy())
    assert_close(ours(x, **c["kwargs"]), expected)
    # a window wholly in the padding (dilation lets that happen) gives -inf and an index outside its
    # window; torch's backward then adds into a neighbouring plane or past the end: not compared
    assume(not np.isinf(out).any())
    if nd == 2:
        _, g, (gx,) = torch_forward_backward(lambda x: theirs(x, **c["kwargs"]), [x])
        assert_close(F.max_pool2d_backward(g, idx, x.shape), gx)


@pytest.mark.parametrize("nd", [1, 2])
@examples
@given(case=st.data(), seed=SEEDS, dtype=DTYPES, count_include_pad=st.booleans(),
       divisor_override=st.sampled_from([None, None, 1, 3]))
def test_avg_pool_forward_and_backward(nd, case, seed, dtype, count_include_pad, divisor_override):
    c = case.draw(pool_cases(nd, dilation=False))
    x, = data(seed, dtype, c["x"])
    kwargs = dict(c["kwargs"], count_include_pad=count_include_pad)
    if nd == 1:
        assert_close(F.avg_pool1d(x, **kwargs), TF.avg_pool1d(tensor(x), **kwargs))
        return
    kwargs["divisor_override"] = divisor_override
    expected, g, (gx,) = torch_forward_backward(lambda x: TF.avg_pool2d(x, **kwargs), [x])
    assert_close(F.avg_pool2d(x, **kwargs), expected)
    assert_close(F.avg_pool2d_backward(g, x.shape, **kwargs), gx)


@st.composite
def pad_cases(draw):
    """torch pads with reflect/replicate/circular the last m = 1..3 dims of an (m+1)- or (m+2)-dim
    input, amounts below (reflect) or up to (circular) the size; constant mode pads any dims."""
    mode = draw(st.sampled_from(F.PAD_MODES))
    m = draw(st.integers(1, 3))
    ndim = m + draw(st.integers(1, 2)) if mode != "constant" else draw(st.integers(m, 4))
    shape = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    pads = []
    for size in shape[::-1][:m]:
        limit = {"reflect": size - 1, "circular": size}.get(mode, 3)
        pads += [draw(st.integers(0, limit)), draw(st.integers(0, limit))]
    return shape, tuple(pads), mode


@examples
@given(case=pad_cases(), seed=SEEDS, dtype=DTYPES)
def test_pad(case, seed, dtype):
    shape, pads, mode = case
    x, = data(seed, dtype, shape)
    assert_close(F.pad(x, pads, mode=mode), TF.pad(tensor(x), pads, mode=mode))


@examples
@given(batch=st.lists(st.integers(1, 3), max_size=2), n_in=st.integers(1, 5), n_out=st.integers(1, 5),
       bias=st.booleans(), seed=SEEDS, dtype=DTYPES)
def test_linear(batch, n_in, n_out, bias, seed, dtype):
    x, w, b = data(seed, dtype, tuple(batch) + (n_in,), (n_out, n_in), (n_out,))
    b = b if bias else None
    assert_close(F.linear(x, w, b), TF.linear(tensor(x), tensor(w), tensor(b)))


ACTIVATIONS = {
    "relu": (F.relu, TF.relu),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    "leaky_relu_default": (F.leaky_relu, TF.leaky_relu),
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
@examples
@given(shape=st.lists(st.integers(1, 4), max_size=3), scale=st.sampled_from([1.0, 30.0]), seed=SEEDS, dtype=DTYPES)
def test_activation(name, shape, scale, seed, dtype):
    ours, theirs = ACTIVATIONS[name]
    x = data(seed, dtype, tuple(shape))[0] * dtype(scale)
    out = ours(x)
    assert out.dtype == dtype
    assert_close(out, theirs(tensor(x)))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@examples
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), dim=st.integers(-3, 2),
       scale=st.sampled_from([1.0, 50.0]), seed=SEEDS, dtype=DTYPES)
def test_softmax(name, shape, dim, scale, seed, dtype):
    dim = dim % len(shape)
    x = data(seed, dtype, tuple(shape))[0] * dtype(scale)
    assert_close(getattr(F, name)(x, dim=dim), getattr(TF, name)(tensor(x), dim=dim))


@examples
@given(case=cross_entropy_cases(), seed=SEEDS, dtype=DTYPES)
def test_cross_entropy(case, seed, dtype):
    x, target, weight, kwargs = cross_entropy_data(case, seed, dtype)
    assert_close(F.cross_entropy(x, target, weight, **kwargs),
                 TF.cross_entropy(tensor(x), tensor(target), tensor(weight), **kwargs))


@examples
@given(shape=st.lists(st.integers(1, 4), max_size=3), reduction=st.sampled_from(["mean", "sum", "none"]),
       weighted=st.booleans(), seed=SEEDS, dtype=DTYPES)
def test_mse_loss(shape, reduction, weighted, seed, dtype):
    x, t, w = data(seed, dtype, tuple(shape), tuple(shape), tuple(shape))
    w = np.abs(w) + dtype(0.1) if weighted else None
    assert_close(F.mse_loss(x, t, reduction=reduction, weight=w),
                 TF.mse_loss(tensor(x), tensor(t), reduction=reduction, weight=tensor(w)))


@pytest.mark.filterwarnings("ignore:size_average and reduce args will be deprecated:UserWarning")
def test_legacy_reduction_flags_map_like_torch():
    x, t = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    for size_average, reduce in [(None, False), (False, None), (True, True), (False, True)]:
        assert_close(F.mse_loss(x, t, size_average, reduce),
                     TF.mse_loss(tensor(x), tensor(t), size_average, reduce))


def test_float32_stays_float32_through_every_op():
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5)).astype(np.float32)
    w = np.ones((2, 2, 3, 3), np.float32)
    outs = [F.conv2d(x, w), F.conv_transpose2d(x, w), F.max_pool2d(x, 2), F.avg_pool2d(x, 2), F.unfold(x, 2),
            F.relu(x), F.sigmoid(x), F.tanh(x), F.softmax(x, 1), F.log_softmax(x, 1), F.pad(x, (1, 1), "reflect"),
            F.cross_entropy(x, np.zeros((1, 5, 5), int)), F.mse_loss(x, x), F.leaky_relu(x),
            *F.conv2d_backward(F.conv2d(x, w), x, w)]
    assert {o.dtype for o in outs} == {np.dtype(np.float32)}


def test_same_padding_of_an_even_kernel_goes_right_and_bottom_like_torch():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.zeros((1, 1, 2, 2))
    w[0, 0, 0, 0] = 1.0                        # picks the top-left of each window
    out = F.conv2d(x, w, padding="same")
    assert_close(out, x)                       # no padding on the top/left, so the image comes back as is
    assert_close(out, TF.conv2d(tensor(x), tensor(w), padding="same"))


def test_transposed_convolution_is_the_gradient_of_convolution():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 9, 8)), rng.standard_normal((4, 3, 3, 3))
    g = rng.standard_normal(F.conv2d(x, w, stride=2, padding=1).shape)
    grad_x, _, _ = F.conv2d_backward(g, x, w, stride=2, padding=1)
    assert_close(grad_x, F.conv_transpose2d(g, w, stride=2, padding=1, output_padding=(0, 1)))
