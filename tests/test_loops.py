"""The slow loop versions and the vectorised versions compute the same numbers (two oracles)."""

import numpy as np
from hypothesis import given, settings, strategies as st

from cnnref import functional as F
from tests.compare import assert_close
from tests.layer_cases import DTYPES, conv_cases, conv_transpose_cases, data, pool_cases

SEEDS = st.integers(0, 2**32 - 1)
examples = settings(max_examples=100, deadline=None)   # the loops are slow; the cases are tiny


@examples
@given(case=conv_cases(2), seed=SEEDS, dtype=DTYPES)
def test_conv2d_loop_equals_conv2d(case, seed, dtype):
    x, w = data(seed, dtype, case["x"], case["w"])
    b = None if case["b"] is None else data(seed + 1, dtype, case["b"])[0]
    loop = F.conv2d_loop(x, w, b, **case["kwargs"])
    assert loop.dtype == dtype
    assert_close(loop, F.conv2d(x, w, b, **case["kwargs"]))


@examples
@given(case=conv_transpose_cases(2), seed=SEEDS, dtype=DTYPES)
def test_conv_transpose2d_loop_equals_conv_transpose2d(case, seed, dtype):
    x, w = data(seed, dtype, case["x"], case["w"])
    b = None if case["b"] is None else data(seed + 1, dtype, case["b"])[0]
    assert_close(F.conv_transpose2d_loop(x, w, b, **case["kwargs"]), F.conv_transpose2d(x, w, b, **case["kwargs"]))


@examples
@given(case=pool_cases(2), seed=SEEDS, dtype=DTYPES)
def test_max_pool2d_loop_equals_max_pool2d(case, seed, dtype):
    x, = data(seed, dtype, case["x"])
    out, idx = F.max_pool2d_loop(x, **case["kwargs"], return_indices=True)
    expected, expected_idx = F.max_pool2d(x, **case["kwargs"], return_indices=True)
    assert_close(out, expected)
    np.testing.assert_array_equal(idx, expected_idx)


@examples
@given(case=pool_cases(2, dilation=False), seed=SEEDS, dtype=DTYPES, count_include_pad=st.booleans(),
       divisor_override=st.sampled_from([None, None, 2]))
def test_avg_pool2d_loop_equals_avg_pool2d(case, seed, dtype, count_include_pad, divisor_override):
    x, = data(seed, dtype, case["x"])
    kwargs = dict(case["kwargs"], count_include_pad=count_include_pad, divisor_override=divisor_override)
    assert_close(F.avg_pool2d_loop(x, **kwargs), F.avg_pool2d(x, **kwargs))


def test_max_pool_loop_treats_padding_as_minus_infinity():
    x = -np.ones((1, 1, 2, 2))                 # all inputs below the zero a zero-padding would add
    out = F.max_pool2d_loop(x, 2, stride=1, padding=1)
    assert (out == -1).all()
