"""Edge cases against torch: empty batches, NaN and infinities, float16, masked logits, and
parameters an optimizer cannot update. Each named case is a test; each class of input has a
property test over every functional op, every module and every optimizer."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings, strategies as st

from cnnref import functional as F
from cnnref import nn, optim
from tests.compare import (ALL_DTYPES, MODULES, OPS, OPTIONS, SEEDS, SPECIALS, assert_close, check_layer, check_module,
                           check_op, data, tensor, torch_forward_backward)

few = settings(max_examples=8, deadline=None)      # per op and class of input: every op, many classes


# ----------------------------------------------------------------------------- the property tests
@pytest.mark.parametrize("name", OPS)
@few
@given(case=st.data(), dtype=ALL_DTYPES)
def test_empty_batch_matches_torch(name, case, dtype):
    check_op(name, case.draw, dtype, batch=st.just(0))


@pytest.mark.parametrize("name", OPS)
@few
@given(case=st.data(), special=SPECIALS)
def test_nan_and_inf_match_torch(name, case, special):
    check_op(name, case.draw, case.draw(st.sampled_from(OPS[name].special_dtypes)), special)


@pytest.mark.parametrize("name", OPS)
@few
@given(case=st.data())
def test_float16_matches_torch(name, case):
    check_op(name, case.draw, np.float16)


@pytest.mark.parametrize("name", MODULES)
@few
@given(case=st.data(), dtype=ALL_DTYPES, special=st.sampled_from([None, "nan", "inf", "mixed"]),
       empty=st.booleans())
def test_modules_match_torch_on_empty_special_and_float16_input(name, case, dtype, special, empty):
    if name.startswith(("Conv", "Sequential")) and dtype == np.float16:
        special = None                            # backend-dependent in torch: see compare.conv_args
    if name == "ConvTranspose2d" and dtype != np.float64:
        special = None                            # and compare.TRANSPOSED
    check_layer(name, case.draw, dtype, special, st.just(0) if empty else None)


def _torch_twin(name, options, init):
    params = [torch.nn.Parameter(torch.from_numpy(x.copy())) for x in init]
    return params, getattr(torch.optim, name)(params, **options)


@pytest.mark.parametrize("name", OPTIONS)
@few
@given(case=st.data(), dtype=ALL_DTYPES, shapes=st.lists(st.sampled_from([(3,), (2, 2), (0,), (2, 0)]), min_size=1,
                                                          max_size=3), special=SPECIALS, seed=SEEDS)
def test_optimizers_match_torch_on_empty_special_and_float16_parameters(name, case, dtype, shapes, special, seed):
    options = case.draw(OPTIONS[name]())
    init = data(seed, dtype, *shapes)
    ours = [SimpleNamespace(data=x.copy(), grad=None) for x in init]
    opt = getattr(optim, name)(ours, **options)
    theirs, topt = _torch_twin(name, options, init)
    for step in range(4):                         # NaN / inf gradients on the odd steps
        grads = data(seed + 1 + step, dtype, *shapes, special=special if step % 2 else None)
        for p, tp, g in zip(ours, theirs, grads):
            p.grad, tp.grad = g, torch.from_numpy(g.copy())
        opt.step()
        topt.step()
        for p, tp in zip(ours, theirs):
            assert_close(p.data, tp, dtype=True)


# ----------------------------------------------------------------------------- named cases: empty batches
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_module_on_an_empty_batch(mode):
    ours, theirs = (m.Conv2d(2, 3, 3, padding=1, padding_mode=mode) for m in (nn, torch.nn))
    check_module(ours, theirs, np.zeros((0, 2, 5, 5)))


def test_conv_and_unfold_on_an_empty_batch():
    x, w = np.zeros((0, 2, 5, 5)), np.ones((3, 2, 3, 3))
    out, g, (gx, gw) = torch_forward_backward(lambda x, w: TF.conv2d(x, w, padding=1), [x, w])
    assert_close(F.conv2d(x, w, padding=1), out, dtype=True)
    grads = F.conv2d_backward(g, x, w, padding=1)
    assert_close(grads[0], gx)
    assert_close(grads[1], gw)                  # zeros of the weight's shape, as torch's
    x1, w1 = np.zeros((0, 2, 5)), np.ones((3, 2, 3))
    assert_close(F.conv1d(x1, w1), TF.conv1d(tensor(x1), tensor(w1)))
    assert_close(F.conv1d_backward(np.zeros((0, 3, 3)), x1, w1)[1], np.zeros((3, 2, 3)))
    assert_close(F.unfold(x, 2), TF.unfold(tensor(x), 2), dtype=True)


def test_max_pool2d_backward_on_an_empty_batch():
    x = np.zeros((0, 2, 4, 4))
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    assert_close(F.max_pool2d_backward(np.zeros_like(out), idx, x.shape), np.zeros_like(x), dtype=True)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, dim", [((0,), 0), ((0, 3), 0), ((3, 0), 1), ((2, 0, 3), 1)])
def test_softmax_over_a_dimension_of_size_zero(name, shape, dim):
    assert_close(getattr(F, name)(np.zeros(shape), dim=dim), getattr(TF, name)(torch.zeros(shape, dtype=torch.float64),
                                                                              dim=dim), dtype=True)


def test_zero_sizes_torch_refuses_are_refused_by_name():
    with pytest.raises(ValueError, match=r"max_pool2d: input has shape \(1, 0, 4, 4\), expected non-zero sizes in "
                                         r"every dim except the batch dim N"):
        F.max_pool2d(np.zeros((1, 0, 4, 4)), 2)
    with pytest.raises(ValueError, match=r"conv2d: weight has shape \(0, 2, 3, 3\), expected non-zero sizes"):
        F.conv2d(np.zeros((1, 2, 5, 5)), np.zeros((0, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"pad: input has shape \(1, 1, 0\)"):
        F.pad(np.zeros((1, 1, 0)), (1, 1), mode="replicate")
    with pytest.raises(ValueError, match=r"unfold: input has shape \(1, 0, 4, 4\)"):
        F.unfold(np.zeros((1, 0, 4, 4)), 2)


# ----------------------------------------------------------------------------- masked logits
@pytest.mark.parametrize("kwargs", [{}, {"reduction": "none"}, {"reduction": "sum"}, {"weight": [1.0, 2.0, 0.5]},
                                    {"ignore_index": 1}])
def test_cross_entropy_with_a_masked_logit_is_finite_like_torch(kwargs):
    x = np.array([[0.0, -np.inf, 1.0], [2.0, -np.inf, -np.inf], [0.5, 0.25, -np.inf]])
    t = np.array([0, 0, 1])
    kwargs = {k: np.array(v) if k == "weight" else v for k, v in kwargs.items()}
    loss = F.cross_entropy(x, t, **kwargs)
    assert np.isfinite(loss).all()
    theirs, g, (gx,) = torch_forward_backward(
        lambda x: TF.cross_entropy(x, tensor(t), **{k: tensor(v) for k, v in kwargs.items()}), [x])
    assert_close(loss, theirs, dtype=True)
    assert_close(F.cross_entropy_backward(g, x, t, **kwargs), gx, dtype=True)
    module = nn.CrossEntropyLoss(**kwargs)
    assert_close(module(x, t), theirs)
    assert_close(module.backward(g), gx)


# ----------------------------------------------------------------------------- NaN in max pooling
def test_max_pool_takes_the_last_nan_of_a_window_like_torch():
    x = np.array([[[[np.nan, 1.0, 2.0], [np.nan, 5.0, 3.0], [1.0, 1.0, np.nan]]]])
    theirs, their_idx = TF.max_pool2d(tensor(x), 3, stride=1, padding=1, return_indices=True)
    for pool in (F.max_pool2d, F.max_pool2d_loop):
        out, idx = pool(x, 3, stride=1, padding=1, return_indices=True)
        assert_close(out, theirs)
        np.testing.assert_array_equal(idx, their_idx.numpy())
    assert their_idx.numpy()[0, 0, 1, 1] == 8                # three NaNs in the window: the last one
    _, g, (gx,) = torch_forward_backward(lambda x: TF.max_pool2d(x, 3, stride=1, padding=1), [x])
    assert_close(F.max_pool2d_backward(g, F.max_pool2d(x, 3, 1, 1, return_indices=True)[1], x.shape), gx)


def test_max_pool2d_loop_keeps_nan():
    x = np.array([[[[1.0, np.nan], [3.0, 2.0]]]])
    assert np.isnan(F.max_pool2d_loop(x, 2)).all() and TF.max_pool2d(tensor(x), 2).isnan().all()


# ----------------------------------------------------------------------------- float16 sums
def test_avg_pool2d_float16_sums_in_float32_like_torch():
    x = np.full((1, 1, 8, 8), 2000.0, np.float16)              # 64 * 2000 = 128000 > 65504, float16's largest
    out = F.avg_pool2d(x, 8)
    assert_close(out, TF.avg_pool2d(tensor(x), 8), dtype=True)
    assert out.item() == 2000.0
    assert_close(F.avg_pool2d_loop(x, 8), out, dtype=True)


def _ones(*shape):
    return np.ones(shape, np.float16)


# float16 has 11 significant bits: a float16 sum of ones stalls at 2048 (2048 + 1 rounds back to 2048),
# 2049 + 1 rounded twice is 2048 but rounded once 2050, and 64 * 2000 overflows (float16 ends at 65504)
FLOAT16_SUMS = {
    "conv2d and its bias": (F.conv2d, TF.conv2d, (_ones(1, 2049, 1, 1), _ones(1, 2049, 1, 1), _ones(1)), {}),
    "linear and its bias": (F.linear, TF.linear, (_ones(1, 2049), _ones(1, 2049), _ones(1)), {}),
    "conv_transpose2d overlaps": (F.conv_transpose2d, TF.conv_transpose2d, (_ones(1, 1, 1, 3001), _ones(1, 1, 1, 3000)),
                                  {}),
    "conv2d_backward overlaps": (lambda g, x, w: F.conv2d_backward(g, x, w)[0],
                                 lambda g, x, w: torch.ops.aten.convolution_backward(
                                     g, x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, [True, False, False])[0],
                                 (_ones(1, 1, 1, 3001), _ones(1, 1, 1, 6000), _ones(1, 1, 1, 3000)), {}),
    "softmax": (F.softmax, TF.softmax, (np.zeros(70000, np.float16),), {"dim": 0}),
    "mse_loss": (F.mse_loss, TF.mse_loss, (np.full(4096, 10.0, np.float16), np.zeros(4096, np.float16)), {}),
}


@pytest.mark.parametrize("name", FLOAT16_SUMS)
def test_float16_sums_accumulate_in_float32_and_round_once_like_torch(name):
    ours, theirs, args, kwargs = FLOAT16_SUMS[name]
    out = ours(*args, **kwargs)
    expected = theirs(*map(tensor, args), **kwargs).numpy()
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float16 and np.isfinite(out).all() and np.all(out > 0)


def test_float16_sums_that_torch_keeps_in_float16_stall_as_torchs_do():
    # torch's CPU fold (col2im), pooling backward and nll_loss add in float16 itself (an implementation
    # detail of its kernels): the sums stall at 2048 and the mean of a long batch overflows
    cols = np.ones((1, 3000, 3001), np.float16)
    assert_close(F.fold(cols, (1, 6000), (1, 3000)), TF.fold(tensor(cols), (1, 6000), (1, 3000)), dtype=True)
    x = np.zeros((1, 1, 1, 6000), np.float16)
    x[..., 2999] = 1                              # the maximum of 3001 windows
    for pool, upstream in (("max_pool2d", 1), ("avg_pool2d", 3000)):
        t = tensor(x).requires_grad_()
        out = getattr(TF, pool)(t, (1, 3000), stride=1)
        g = np.full(tuple(out.shape), upstream, np.float16)    # each window sends 1 to pixel 2999
        out.backward(tensor(g))
        assert t.grad[..., 2999].item() == 2048       # 3001 ones added in float16 stall at 2048
        if pool == "max_pool2d":
            ours = F.max_pool2d_backward(g, F.max_pool2d(x, (1, 3000), stride=1, return_indices=True)[1], x.shape)
        else:
            ours = F.avg_pool2d_backward(g, x.shape, (1, 3000), stride=1)
        assert_close(ours, t.grad, dtype=True)
    for n in (5000, 100000):                      # sum 5493 (exactly) rounds to 5500 in torch's float16 cascade
        logits, target = np.zeros((n, 3), np.float16), np.zeros(n, np.int64)
        for reduction in ("mean", "sum"):
            theirs = TF.cross_entropy(tensor(logits), tensor(target), reduction=reduction)
            np.testing.assert_array_equal(F.cross_entropy(logits, target, reduction=reduction), theirs.numpy())
    assert np.isnan(F.cross_entropy(logits, target))   # 100000 * log(3) overflows float16, as in torch


def test_float16_dilated_padded_conv2d_where_torchs_own_float16_kernel_crashes():
    # torch 2.14's CPU float16 conv2d dies with SIGSEGV here (compare.FLOAT16_CONV);
    # ours gives torch's float32 answer rounded once, as its float16 path does elsewhere
    x, w = data(3, np.float16, (4, 3, 1), (2, 2, 2, 1))
    kwargs = dict(stride=2, padding=(2, 1), dilation=2, groups=2)
    expected = TF.conv2d(tensor(x).float(), tensor(w).float(), **kwargs).half()
    assert_close(F.conv2d(x, w, **kwargs), expected, dtype=True)
    assert F.conv2d(x, w, **kwargs).shape == (2, 3, 2)


def test_float16_batch_norm_centres_with_the_mean_rounded_to_float16_like_torch():
    # torch keeps the batch mean in float16 and centres with it: with values 0.12 apart at 5, the
    # rounding (0.002) moves x_hat by 1.6 %, so ours must round where torch does (found by hypothesis)
    x = np.array([[5.125, 4.867], [5.64, 5.105]], np.float16)
    ours = F.batch_norm(x, None, None, training=True, momentum=0.0)
    assert_close(ours, TF.batch_norm(tensor(x), None, None, training=True, momentum=0.0), dtype=True)
    assert abs(float(ours[1, 1]) - 1) > 0.01     # not the float32 answer, which is symmetric
    # the backward reads the saved mean and 1/std, both float16 (0.3931, not 0.3745, at x (0.0134, 0.0733))
    x = np.array([[[[0.01339, 0.0733]]]], np.float16)
    _, g, (gx,) = torch_forward_backward(lambda t: TF.batch_norm(t, None, None, training=True), [x])
    assert_close(F.batch_norm_backward(g, x, None, None, training=True)[0], gx, dtype=True)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=(2, 3), stride=(1, 2)),
                                    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)])
def test_float16_pooling_backward_and_fold_add_in_torchs_order(kwargs):
    # the sums torch keeps in float16 round after every addition, so the order of the additions shows in
    # the last bit where windows overlap: ours add in torch's order and agree bit for bit
    x, = data(0, np.float16, (2, 3, 7, 8))
    for pool in ("max_pool2d", "avg_pool2d"):
        t = tensor(x).requires_grad_()
        out = getattr(TF, pool)(t, **kwargs)
        g = data(1, np.float16, tuple(out.shape))[0] * np.float16(100)
        out.backward(tensor(g))
        if pool == "max_pool2d":
            ours = F.max_pool2d_backward(g, F.max_pool2d(x, **kwargs, return_indices=True)[1], x.shape)
        else:
            ours = F.avg_pool2d_backward(g, x.shape, **kwargs)
        np.testing.assert_array_equal(ours, t.grad.numpy())
    size, fold_kwargs = x.shape[-2:], {k: v for k, v in kwargs.items() if k != "ceil_mode"}
    cols = data(2, np.float16, tuple(TF.unfold(tensor(x), **fold_kwargs).shape))[0] * np.float16(100)
    np.testing.assert_array_equal(F.fold(cols, size, **fold_kwargs), TF.fold(tensor(cols), size, **fold_kwargs).numpy())


# ----------------------------------------------------------------------------- optimizers
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_rprop_nan_gradient_leaves_the_weight_like_torch(dtype):
    init = np.array([1.0, 2.0, 3.0], dtype)
    p = SimpleNamespace(data=init.copy(), grad=None)
    opt = optim.Rprop([p], lr=0.1)
    (tp,), topt = _torch_twin("Rprop", dict(lr=0.1), [init])
    for g in ([np.nan, 1.0, 1.0], [1.0, np.nan, 1.0], [1.0, 1.0, -1.0], [1.0, 1.0, 1.0]):
        p.grad, tp.grad = np.array(g, dtype), torch.tensor(g, dtype=tp.dtype)
        opt.step()
        topt.step()
        assert_close(p.data, tp, dtype=True)
        assert np.isfinite(p.data).all()
        for key in ("prev", "step_size"):
            assert_close(opt.state[id(p)][key], topt.state[tp][key], dtype=True)


@pytest.mark.parametrize("name", OPTIONS)
def test_optimizers_refuse_integer_and_read_only_parameters(name):
    options = {"lr": 0.1}
    with pytest.raises(TypeError, match=rf"{name}: params\[0\]\.data is int64, expected a floating-point ndarray"):
        getattr(optim, name)([SimpleNamespace(data=np.zeros(3, np.int64), grad=None)], **options)
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match=rf"{name}: params\[0\]\.data is read-only"):
        getattr(optim, name)([SimpleNamespace(data=frozen, grad=None)], **options)
    p, q = SimpleNamespace(data=np.zeros(3), grad=np.ones(3)), SimpleNamespace(data=np.zeros(3), grad=np.ones(3))
    opt = getattr(optim, name)([p, q], **options)
    q.data = frozen                              # replaced after construction: refused before any update
    with pytest.raises(ValueError, match=rf"{name}.step: param_groups\[0\]\['params'\]\[1\]\.data is read-only"):
        opt.step()
    assert (p.data == 0).all()


@pytest.mark.parametrize("name", OPTIONS)
def test_duplicate_parameters_warn_and_step_like_torch(name):
    init = np.array([1.0, -2.0])
    p = SimpleNamespace(data=init.copy(), grad=None)
    tp = torch.nn.Parameter(torch.from_numpy(init.copy()))
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        opt = getattr(optim, name)([p, p], lr=0.1)
    with pytest.warns(UserWarning) as theirs_warned:
        topt = getattr(torch.optim, name)([tp, tp], lr=0.1)
    assert [str(w.message) for w in ours_warned] == [str(w.message) for w in theirs_warned]
    p.grad, tp.grad = np.array([0.5, 0.5]), torch.tensor([0.5, 0.5], dtype=torch.float64)
    opt.step()
    topt.step()
    assert_close(p.data, tp)
