"""Bad inputs give a ValueError/TypeError naming the function, the argument
and what was expected, never an IndexError or a broadcast error from inside NumPy."""

import numpy as np
import pytest

from cnnref import functional as F
from cnnref import nn

x4 = np.zeros((2, 4, 5, 5))
w4 = np.zeros((6, 4, 3, 3))
x3 = np.zeros((2, 4, 9))
w3 = np.zeros((6, 4, 3))

CASES = {
    # wrong number of dims
    "conv2d input ndim": (lambda: F.conv2d(np.zeros((5, 5)), w4), ValueError,
                          r"conv2d: input has 2 dims \(5, 5\), expected 3 \(C_in, H, W\) or 4 \(N, C_in, H, W\)"),
    "conv2d weight ndim": (lambda: F.conv2d(x4, np.zeros((6, 4, 3))), ValueError,
                           r"conv2d: weight has 3 dims \(6, 4, 3\), expected 4 \(C_out, C_in/groups, kH, kW\)"),
    "conv1d input ndim": (lambda: F.conv1d(x4, w3), ValueError,
                          r"conv1d: input has 4 dims .*expected 2 \(C_in, L\) or 3 \(N, C_in, L\)"),
    "conv_transpose2d weight ndim": (lambda: F.conv_transpose2d(x4, w3), ValueError,
                                     r"conv_transpose2d: weight has 3 dims .*expected 4 \(C_in, C_out/groups, kH, kW\)"),
    "max_pool2d input ndim": (lambda: F.max_pool2d(np.zeros(5), 2), ValueError,
                              r"max_pool2d: input has 1 dims \(5,\), expected 3 \(C, H, W\) or 4 \(N, C, H, W\)"),
    "avg_pool1d input ndim": (lambda: F.avg_pool1d(x4, 2), ValueError,
                              r"avg_pool1d: input has 4 dims .*expected 2 \(C, L\) or 3 \(N, C, L\)"),
    "unfold input ndim": (lambda: F.unfold(np.zeros((3, 3)), 2), ValueError,
                          r"unfold: input has 2 dims .*expected 3 \(C, H, W\) or 4 \(N, C, H, W\)"),
    "Conv2d input ndim": (lambda: nn.Conv2d(4, 6, 3, dtype=np.float64)(np.zeros(5)), ValueError,
                          r"Conv2d: input has 1 dims \(5,\), expected 3 \(C_in, H, W\) or 4 \(N, C_in, H, W\)"),
    # channels not divisible by groups
    "conv2d input channels % groups": (lambda: F.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((4, 1, 3, 3)), groups=2),
                                       ValueError, r"conv2d: input has 3 channels, expected a multiple of groups=2"),
    "conv2d weight C_out % groups": (lambda: F.conv2d(x4, np.zeros((3, 2, 3, 3)), groups=2), ValueError,
                                     r"conv2d: weight has shape \(3, 2, 3, 3\): C_out=3 is not a multiple of groups=2"),
    "Conv2d in_channels % groups": (lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError,
                                    r"Conv2d: in_channels=3 must be divisible by groups=2"),
    "Conv2d out_channels % groups": (lambda: nn.Conv2d(4, 3, 3, groups=2), ValueError,
                                     r"Conv2d: out_channels=3 must be divisible by groups=2"),
    "conv_transpose2d channels % groups": (lambda: F.conv_transpose2d(np.zeros((1, 3, 4, 4)), np.zeros((3, 1, 2, 2)),
                                                                      groups=2),
                                           ValueError, r"conv_transpose2d: input has 3 channels, expected a multiple of groups=2"),
    # mismatched in_channels
    "conv2d in_channels": (lambda: F.conv2d(np.zeros((2, 3, 5, 5)), w4), ValueError,
                           r"conv2d: weight has shape \(6, 4, 3, 3\), expected \(C_out, C_in/groups=3, kH, kW\) "
                           r"for input with C_in=3 channels"),
    "conv1d in_channels with groups": (lambda: F.conv1d(x3, np.zeros((6, 4, 3)), groups=2), ValueError,
                                       r"conv1d: weight has shape \(6, 4, 3\), expected \(C_out, C_in/groups=2, kL\)"),
    "conv_transpose2d in_channels": (lambda: F.conv_transpose2d(x4, np.zeros((3, 2, 2, 2))), ValueError,
                                     r"conv_transpose2d: weight has shape \(3, 2, 2, 2\), expected \(C_in=4, C_out/groups, kH, kW\)"),
    "Conv2d in_channels": (lambda: nn.Conv2d(3, 6, 3, dtype=np.float64)(x4), ValueError,
                           r"Conv2d: input has shape \(2, 4, 5, 5\) with 4 channels, expected in_channels=3: \(N, 3, H, W\)"),
    "Linear in_features": (lambda: nn.Linear(3, 2, dtype=np.float64)(np.zeros((2, 4))), ValueError,
                           r"Linear: input has shape \(2, 4\), expected \(\*, in_features=3\)"),
    "linear in_features": (lambda: F.linear(np.zeros((2, 4)), np.zeros((2, 3))), ValueError,
                           r"linear: input has shape \(2, 4\), expected \(\*, in_features=3\)"),
    "bias shape": (lambda: F.conv2d(x4, w4, np.zeros(5)), ValueError,
                   r"conv2d: bias has shape \(5,\), expected \(C_out,\) = \(6,\)"),
    # negative (and zero) stride
    "conv2d negative stride": (lambda: F.conv2d(x4, w4, stride=-1), ValueError, r"conv2d: stride must be positive, got -1"),
    "conv2d zero stride tuple": (lambda: F.conv2d(x4, w4, stride=(1, 0)), ValueError,
                                 r"conv2d: stride must be positive, got \(1, 0\)"),
    "conv_transpose2d negative stride": (lambda: F.conv_transpose2d(x4, w4.transpose(1, 0, 2, 3), stride=-2),
                                         ValueError, r"conv_transpose2d: stride must be positive"),
    "max_pool2d negative stride": (lambda: F.max_pool2d(x4, 2, stride=-1), ValueError,
                                   r"max_pool2d: stride must be positive, got -1"),
    "avg_pool2d negative stride": (lambda: F.avg_pool2d(x4, 2, stride=(-1, 1)), ValueError,
                                   r"avg_pool2d: stride must be positive"),
    "Conv2d negative stride": (lambda: nn.Conv2d(4, 6, 3, stride=-1), ValueError, r"Conv2d: stride must be positive"),
    "conv2d negative padding": (lambda: F.conv2d(x4, w4, padding=-1), ValueError,
                                r"conv2d: padding must be non-negative, got -1"),
    "conv2d same with stride": (lambda: F.conv2d(x4, w4, padding="same", stride=2), ValueError,
                                r"conv2d: padding='same' is not supported for strided convolutions"),
    # kernel larger than the padded input
    "conv2d kernel too large": (lambda: F.conv2d(np.zeros((1, 4, 2, 5)), w4), ValueError,
                                r"conv2d: weight kernel \(3, 3\) \(dilated to \(3, 3\)\) is larger than the padded input "
                                r"\(2, 5\).*expected kernel <= padded input"),
    "conv2d dilated kernel too large": (lambda: F.conv2d(x4, w4, dilation=4, padding=1), ValueError,
                                        r"conv2d: weight kernel \(3, 3\) \(dilated to \(9, 9\)\) is larger than the "
                                        r"padded input \(7, 7\)"),
    "conv1d kernel too large": (lambda: F.conv1d(np.zeros((1, 4, 2)), w3), ValueError,
                                r"conv1d: weight kernel \(3,\) .*larger than the padded input \(2,\)"),
    "max_pool2d window too large": (lambda: F.max_pool2d(np.zeros((1, 1, 2, 2)), 3, padding=1, dilation=2), ValueError,
                                    r"max_pool2d: output size would be .*the window is larger than the padded input"),
    "unfold kernel too large": (lambda: F.unfold(np.zeros((1, 1, 2, 2)), 3), ValueError,
                                r"unfold: kernel_size kernel \(3, 3\) .*larger than the padded input \(2, 2\)"),
    "max_pool2d too much padding": (lambda: F.max_pool2d(x4, 2, padding=2), ValueError,
                                    r"max_pool2d: padding should be at most half of kernel_size"),
    # integer dtype, mixed dtypes
    "conv2d integer input": (lambda: F.conv2d(np.zeros((1, 4, 5, 5), dtype=int), w4), TypeError,
                             r"conv2d: input has dtype int64, expected a floating-point array \(float16, float32 or float64\)"),
    "conv2d integer weight": (lambda: F.conv2d(x4, np.ones((6, 4, 3, 3), dtype=np.int32)), TypeError,
                              r"conv2d: weight has dtype int32, expected a floating-point array"),
    "conv2d mixed dtypes": (lambda: F.conv2d(x4, w4.astype(np.float32)), TypeError,
                            r"conv2d: weight has dtype float32, expected float64 like input"),
    "max_pool2d integer": (lambda: F.max_pool2d(np.ones((1, 1, 4, 4), dtype=int), 2), TypeError,
                           r"max_pool2d: input has dtype int64, expected a floating-point array"),
    "relu bool": (lambda: F.relu(np.array([True])), TypeError, r"relu: input has dtype bool, expected a floating-point"),
    "Conv2d integer input": (lambda: nn.Conv2d(4, 6, 3)(np.zeros((1, 4, 5, 5), dtype=int)), TypeError,
                             r"Conv2d: input has dtype int64, expected a floating-point array"),
    "Conv2d float64 input into float32 layer": (lambda: nn.Conv2d(4, 6, 3)(x4), TypeError,
                                                r"Conv2d: input has dtype float64, expected float32 like the layer's "
                                                r"parameters"),
    # other arguments
    "fold wrong L": (lambda: F.fold(np.zeros((1, 4, 5)), (3, 3), 2), ValueError,
                     r"fold: input has shape \(1, 4, 5\), expected dim -1 \(L\) to be the number of windows 2\*2 = 4"),
    "fold C*k not divisible": (lambda: F.fold(np.zeros((1, 5, 4)), (3, 3), 2), ValueError,
                               r"fold: input has shape \(1, 5, 4\), expected dim -2 \(C\*kH\*kW\) to be a multiple of kH\*kW = 4"),
    "conv_transpose2d output_padding": (lambda: F.conv_transpose2d(x4, w4.transpose(1, 0, 2, 3), output_padding=1),
                                        ValueError, r"conv_transpose2d: output_padding must be smaller than either "
                                                    r"stride or dilation"),
    "conv_transpose2d string padding": (lambda: F.conv_transpose2d(x4, w4.transpose(1, 0, 2, 3), padding="same"),
                                        TypeError, r"conv_transpose2d: padding must be an int or a tuple of 2 ints"),
    "kernel_size tuple length": (lambda: F.max_pool2d(x4, (2, 2, 2)), ValueError,
                                 r"max_pool2d: kernel_size must be an int or a tuple of 2 ints, got \(2, 2, 2\)"),
    "float kernel_size": (lambda: F.avg_pool2d(x4, 2.5), TypeError, r"avg_pool2d: kernel_size must be an int, got 2.5"),
    "padding_mode": (lambda: nn.Conv2d(1, 1, 3, padding_mode="mirror"), ValueError,
                     r"Conv2d: padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular', got 'mirror'"),
    "cross_entropy target shape": (lambda: F.cross_entropy(np.zeros((4, 3)), np.zeros(5, dtype=int)), ValueError,
                                   r"cross_entropy: target has shape \(5,\), expected \(4,\)"),
    "cross_entropy target range": (lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0, 3])), ValueError,
                                   r"cross_entropy: target has class indices outside \[0, 3\): \[3\]"),
    "cross_entropy reduction": (lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), reduction="avg"),
                                ValueError, r"cross_entropy: reduction must be one of 'mean', 'sum', 'none', got 'avg'"),
    "pad reflect too much": (lambda: F.pad(np.zeros((1, 1, 3)), (3, 0), mode="reflect"), ValueError,
                             r"pad: reflect padding \(3, 0\) of dim 2 must be at most 2"),
    "grad_output shape": (lambda: F.conv2d_backward(np.zeros((2, 6, 2, 2)), x4, w4), ValueError,
                          r"conv2d_backward: grad_output has shape \(2, 6, 2, 2\), expected the forward output's shape "
                          r"\(2, 6, 3, 3\)"),
}


@pytest.mark.parametrize("name", CASES)
def test_bad_input_names_the_argument_and_what_was_expected(name):
    call, error, message = CASES[name]
    with pytest.raises(error, match=message):
        call()
