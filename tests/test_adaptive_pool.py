"""Adaptive average pooling against torch: any input and output size (forward, loop version,
backward, module), torch's window rule, global average pooling as the (1, 1) case, the output
size 0 that torch allows forward and refuses backward, and gradcheck."""

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings, strategies as st

from cnnref import functional as F
from cnnref import nn
from cnnref._adaptive_pool import adaptive_windows
from cnnref.gradcheck import gradcheck
from tests.compare import DTYPES, assert_close, check_layer, check_op, tensor

many = settings(max_examples=200, deadline=None)


@pytest.mark.parametrize("name", ["adaptive_avg_pool2d", "adaptive_avg_pool2d_loop"])
@many
@given(case=st.data(), dtype=DTYPES)
def test_op_and_its_gradient_match_torch(name, case, dtype):
    check_op(name, case.draw, dtype)


@many
@given(case=st.data(), dtype=DTYPES)
def test_module_matches_torch(case, dtype):
    check_layer("AdaptiveAvgPool2d", case.draw, dtype)


@many
@given(size=st.integers(1, 12), out=st.integers(1, 12))
def test_windows_follow_torchs_rule(size, out):
    start, end = adaptive_windows(size, out)
    # an independent reading of the rule: floor(i * size / out) and ceil((i + 1) * size / out) in exact arithmetic
    assert start.tolist() == [math.floor(Fraction(i * size, out)) for i in range(out)]
    assert end.tolist() == [math.ceil(Fraction((i + 1) * size, out)) for i in range(out)]
    # and torch's output on one-hot rows shows which inputs each window averages
    eye = torch.eye(size, dtype=torch.float64).reshape(size, 1, 1, size)
    weights = TF.adaptive_avg_pool2d(eye, (1, out)).reshape(size, out).T.numpy()     # (out, size)
    covered = weights > 0
    assert all(covered[i, start[i]:end[i]].all() and covered[i].sum() == end[i] - start[i] for i in range(out))


def test_global_average_pooling_is_the_mean_of_each_map():
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 7))
    assert_close(F.adaptive_avg_pool2d(x, 1), x.mean(axis=(2, 3), keepdims=True))
    assert_close(nn.AdaptiveAvgPool2d((1, 1))(x), TF.adaptive_avg_pool2d(tensor(x), (1, 1)), dtype=True)


def test_output_size_0_is_empty_forward_and_refused_backward_like_torch():
    x = np.ones((2, 3, 4, 4))
    for size in (0, (0, 2), (3, 0)):
        assert_close(F.adaptive_avg_pool2d(x, size), TF.adaptive_avg_pool2d(tensor(x), size), dtype=True)
    t = tensor(x).requires_grad_()
    out = TF.adaptive_avg_pool2d(t, 0)
    with pytest.raises(RuntimeError, match="Expected grad_output to have non-zero size"):
        out.backward(torch.zeros_like(out))
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d_backward: grad_output has shape \(2, 3, 0, 0\), "
                                         r"expected non-zero sizes"):
        F.adaptive_avg_pool2d_backward(np.zeros((2, 3, 0, 0)), x.shape)


def test_bad_arguments_are_refused_by_name_where_torch_refuses():
    x = np.ones((2, 3, 4, 4))
    with pytest.raises(RuntimeError, match="must be greater than or equal to 0"):
        TF.adaptive_avg_pool2d(tensor(x), -1)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d: output_size must be >= 0 in each dim, got -1"):
        F.adaptive_avg_pool2d(x, -1)
    with pytest.raises(RuntimeError, match="Expected input to have non-zero size for non-batch dimensions"):
        TF.adaptive_avg_pool2d(torch.ones(2, 3, 0, 4), 2)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d: input has shape \(2, 3, 0, 4\), expected non-zero"):
        F.adaptive_avg_pool2d(np.ones((2, 3, 0, 4)), 2)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d: input has 2 dims"):
        F.adaptive_avg_pool2d(np.ones((4, 4)), 2)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d: output_size must be an int or a tuple of 2"):
        F.adaptive_avg_pool2d(x, (1, 2, 3))
    with pytest.raises(TypeError, match=r"adaptive_avg_pool2d: input has dtype int64"):
        F.adaptive_avg_pool2d(np.ones((1, 2, 2), np.int64), 1)


def test_printing_is_torchs():
    for size in (1, (None, 3), (2, 5)):
        assert repr(nn.AdaptiveAvgPool2d(size)) == repr(torch.nn.AdaptiveAvgPool2d(size))


@pytest.mark.parametrize("size", [1, 3, (2, 5), (4, None)])
def test_gradcheck(size):
    assert gradcheck(nn.AdaptiveAvgPool2d(size), np.random.default_rng(0).standard_normal((2, 2, 5, 4)))
