"""Checkers for the exercises of the convolution page (docs/convolution.*.md)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnref.exercises.checks import expect_array, expect_function
from cnnref.exercises.registry import exercise

__all__ = ["cross_correlation_by_hand", "conv2d_forward", "conv2d_weight_gradient"]


@exercise("convolution/1")
def cross_correlation_by_hand(answer):
    """``torch.nn.functional.conv1d`` of x = [1, 2, 3, 4, 5] with the kernel w = [2, 0, -1] (no
    padding, stride 1), as a 1-d array of the output values.

    Examples:
        >>> from cnnref.exercises import check
        >>> check("convolution/1", np.convolve([1, 2, 3, 4, 5], [2, 0, -1], mode="valid")).correct
        False
    """
    x = torch.tensor([[[1.0, 2, 3, 4, 5]]])
    w = torch.tensor([[[2.0, 0, -1]]])
    expect_array(answer, F.conv1d(x, w)[0, 0].numpy())


def conv_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """(x, w) pairs: one channel, several channels, non-square inputs and kernels."""
    rng = np.random.default_rng(16)
    shapes = [((1, 1, 4, 4), (1, 1, 2, 2)), ((2, 3, 7, 5), (4, 3, 3, 2)), ((1, 2, 3, 6), (3, 2, 3, 1))]
    return [(rng.standard_normal(xs), rng.standard_normal(ws)) for xs, ws in shapes]


@exercise("convolution/2")
def conv2d_forward(answer):
    """A NumPy function ``answer(x, w) -> y``: a convolution layer's forward pass (cross-correlation,
    stride 1, no padding, no bias), as ``torch.nn.functional.conv2d`` computes it.

    x: (N, C_in, H, W), w: (C_out, C_in, kH, kW) -> y: (N, C_out, H - kH + 1, W - kW + 1).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("convolution/2", lambda x, w: x))
        for an input of shape (1, 1, 4, 4): your function's output has shape (1, 1, 4, 4), expected (1, 1, 3, 3)
    """
    def reference(x, w):
        return F.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()

    expect_function(answer, conv_cases(), reference)


def gradient_cases() -> list[tuple[np.ndarray, np.ndarray, tuple[int, int]]]:
    """(x, grad_y, (kH, kW)): the conv_cases with an upstream gradient of the output's shape."""
    rng = np.random.default_rng(61)
    cases = []
    for x, w in conv_cases():
        out = (x.shape[0], w.shape[0], x.shape[2] - w.shape[2] + 1, x.shape[3] - w.shape[3] + 1)
        cases.append((x, rng.standard_normal(out), w.shape[2:]))
    return cases


@exercise("convolution/3")
def conv2d_weight_gradient(answer):
    """A NumPy function ``answer(x, grad_y, kernel_size) -> grad_w``: the gradient of the loss with
    respect to the weight of conv2d (stride 1, no padding), given the upstream gradient grad_y.

    x: (N, C_in, H, W), grad_y: (N, C_out, H_out, W_out), kernel_size (kH, kW) -> grad_w: (C_out, C_in, kH, kW).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("convolution/3", lambda x, g, k: np.ones((g.shape[1], x.shape[1], *k))))
        for an input of shape (1, 1, 4, 4): your gradient is wrong at 4 of 4 positions, the first at index (0, 0, 0, 0)
    """
    def reference(x, grad_y, kernel_size):
        w = torch.zeros(grad_y.shape[1], x.shape[1], *kernel_size, dtype=torch.float64, requires_grad=True)
        F.conv2d(torch.from_numpy(x), w).backward(torch.from_numpy(grad_y))
        return w.grad.numpy()

    expect_function(answer, gradient_cases(), reference, what="gradient")
