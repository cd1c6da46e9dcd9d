"""Each of conv2d's algorithms (cnnref.conv_algorithms) against torch.nn.functional.conv2d on random
cases inside its domain, and a clear refusal outside it."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from cnnref import conv_algorithms as CA
from cnnref import functional as F
from tests.compare import DTYPES, EXAMPLES, assert_close, check_algorithm, data, tensor, torch_forward_backward

x4, w3 = np.ones((1, 2, 6, 6)), np.ones((3, 2, 3, 3))


@pytest.mark.parametrize("algorithm", CA.CHOICES)
@settings(max_examples=EXAMPLES, deadline=None)
@given(case=st.data(), dtype=DTYPES)
def test_algorithm_matches_torch_in_its_domain(algorithm, case, dtype):
    check_algorithm(algorithm, case.draw, dtype)


@pytest.mark.parametrize("algorithm", CA.CHOICES)
@settings(max_examples=10, deadline=None)
@given(case=st.data())
def test_algorithm_on_float16_and_empty_batches(algorithm, case):
    check_algorithm(algorithm, case.draw, np.float16, batch=st.sampled_from([0, 1, 2]))


@pytest.mark.parametrize("algorithm, kwargs, message", [
    ("winograd", dict(weight=np.ones((3, 2, 5, 5))), r'algorithm="winograd" computes 3x3 kernels .* got kernel \(5, 5\)'),
    ("winograd", dict(stride=2), r'algorithm="winograd" computes 3x3 kernels with stride 1 .* stride \(2, 2\)'),
    ("winograd", dict(dilation=2), r'algorithm="winograd" .* dilation \(2, 2\)'),
    ("fft", dict(stride=(1, 2)), r'algorithm="fft" computes stride 1 only .* got stride \(1, 2\)'),
    ("winograd", dict(input=np.full((1, 2, 6, 6), np.nan)), r'algorithm="winograd" computes finite inputs'),
    ("fft", dict(weight=np.full((3, 2, 3, 3), np.inf)), r'algorithm="fft" computes finite inputs'),
    ("gemm", {}, r"conv2d: algorithm must be one of 'direct', 'im2col', 'shift', 'winograd', 'fft', 'auto', got 'gemm'"),
])
def test_outside_its_domain_an_algorithm_refuses(algorithm, kwargs, message):
    with pytest.raises(ValueError, match=message):
        F.conv2d(**dict(dict(input=x4, weight=w3), **kwargs), algorithm=algorithm)


@pytest.mark.parametrize("special", [np.nan, np.inf])
def test_auto_with_nan_or_inf_gives_torchs_answer(special):
    x, w = data(0, np.float64, (2, 16, 8, 8), (16, 16, 3, 3))   # a shape "auto" computes by Winograd when finite
    assert CA.pick((3, 3), (1, 1), (1, 1), 16, 16) == "winograd"
    x[0, 3, 2, 5] = special
    assert_close(F.conv2d(x, w, padding=1, algorithm="auto"), torch.nn.functional.conv2d(tensor(x), tensor(w), padding=1))


@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), groups=st.sampled_from([1, 2]), dilation=st.sampled_from([1, 2]),
       padding=st.sampled_from([0, 1, 2]), dtype=DTYPES)
def test_backward_by_shifts_matches_torch_with_many_channels(seed, groups, dilation, padding, dtype):
    x, w = data(seed, dtype, (3, 8, 9, 7), (6, 8 // groups, 3, 2))
    kwargs = dict(padding=padding, dilation=dilation, groups=groups)
    out, g, (gx, gw) = torch_forward_backward(lambda a, b: torch.nn.functional.conv2d(a, b, **kwargs), [x, w])
    for mine, theirs in zip(CA.shift_backward(g, x, w, ((padding,) * 2,) * 2, (dilation,) * 2, groups), (gx, gw)):
        assert_close(mine, theirs)


def test_winograd_matrices_give_a_3_tap_correlation_of_4_inputs():
    d, g = np.random.default_rng(0).standard_normal(4), np.random.default_rng(1).standard_normal(3)
    direct = np.array([d[0:3] @ g, d[1:4] @ g])               # F(2, 3): two outputs of a 3-tap filter
    assert_close(CA.WINOGRAD_AT @ ((CA.WINOGRAD_G @ g) * (CA.WINOGRAD_BT @ d)), direct)
