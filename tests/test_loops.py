"""The slow loop versions and the vectorised versions compute the same numbers (two oracles; each
is also compared with torch in test_functional)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from cnnref import functional as F
from tests.compare import DTYPES, OPS, assert_close

LOOPS = {"conv2d_loop": "conv2d", "conv_transpose2d_loop": "conv_transpose2d", "max_pool2d_loop": "max_pool2d",
         "avg_pool2d_loop": "avg_pool2d", "adaptive_avg_pool2d_loop": "adaptive_avg_pool2d"}


@pytest.mark.parametrize("loop", LOOPS)
@settings(max_examples=100, deadline=None)             # the loops are slow; the cases are tiny
@given(case=st.data(), dtype=DTYPES)
def test_loop_equals_vectorised(loop, case, dtype):
    args, kwargs = case.draw(OPS[loop].args(dtype, None, None))
    assert_close(OPS[loop].ours(*args, **kwargs), OPS[LOOPS[loop]].ours(*args, **kwargs), dtype=True)


def test_max_pool_loop_treats_padding_as_minus_infinity():
    x = -np.ones((1, 1, 2, 2))                 # all inputs below the zero a zero-padding would add
    out = F.max_pool2d_loop(x, 2, stride=1, padding=1)
    assert (out == -1).all()
