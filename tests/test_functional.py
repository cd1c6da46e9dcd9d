"""cnnref.functional against torch.nn.functional on random shapes and arguments: the outputs (and
their dtype), and the gradients of the ops that have a ``*_backward``, against torch autograd."""

import numpy as np
import pytest
import torch.nn.functional as TF
from hypothesis import given, settings, strategies as st

from cnnref import functional as F
from tests.compare import DTYPES, EXAMPLES, OPS, assert_close, check_op, tensor


@pytest.mark.parametrize("name", OPS)
@settings(max_examples=EXAMPLES, deadline=None)
@given(case=st.data(), dtype=DTYPES)
def test_op_and_its_gradient_match_torch(name, case, dtype):
    check_op(name, case.draw, dtype)


@pytest.mark.filterwarnings("ignore:size_average and reduce args will be deprecated:UserWarning")
def test_legacy_reduction_flags_map_like_torch():
    x, t = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    for size_average, reduce in [(None, False), (False, None), (True, True), (False, True)]:
        assert_close(F.mse_loss(x, t, size_average, reduce),
                     TF.mse_loss(tensor(x), tensor(t), size_average, reduce))


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
