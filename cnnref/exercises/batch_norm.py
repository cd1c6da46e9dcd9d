"""Checkers for the exercises of the batch-normalization page (docs/batch-norm.*.md)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnref.exercises.checks import expect_function, expect_number
from cnnref.exercises.registry import exercise

__all__ = ["running_var_after_one_step", "batch_norm_forward", "batch_norm_backward"]


@exercise("batch-norm/1")
def running_var_after_one_step(answer):
    """``running_var`` of a fresh ``torch.nn.BatchNorm2d(1)`` after one training-mode call on the
    (1, 1, 2, 2) input [[1, 2], [3, 4]] (momentum 0.1, running_var starts at 1).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("batch-norm/1", 0.9 * 1 + 0.1 * 1.25))
        your answer is too small
    """
    bn = torch.nn.BatchNorm2d(1).double()
    bn(torch.tensor([[[[1.0, 2], [3, 4]]]], dtype=torch.float64))
    expect_number(answer, bn.running_var.item())


def bn_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(x, gamma, beta): one channel, a batch of several channels with offsets and scales, non-square maps."""
    rng = np.random.default_rng(21)
    cases = []
    for shape in [(2, 1, 3, 3), (4, 3, 5, 5), (3, 2, 2, 7)]:
        c = shape[1]
        x = rng.standard_normal(shape) * rng.uniform(0.5, 3, (1, c, 1, 1)) + rng.uniform(-2, 2, (1, c, 1, 1))
        cases.append((x, rng.uniform(0.5, 2, c), rng.standard_normal(c)))
    return cases


@exercise("batch-norm/2")
def batch_norm_forward(answer):
    """A NumPy function ``answer(x, gamma, beta) -> y``: batch normalization in training mode
    (batch statistics, eps = 1e-5), as ``torch.nn.functional.batch_norm(..., training=True)``.

    x: (N, C, H, W), gamma: (C,), beta: (C,) -> y: (N, C, H, W).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("batch-norm/2", lambda x, gamma, beta: x))
        for an input of shape (2, 1, 3, 3): your function's output is wrong at 18 of 18 positions, the first at index (0, 0, 0, 0)
    """
    def reference(x, gamma, beta):
        return F.batch_norm(torch.from_numpy(x), None, None, torch.from_numpy(gamma), torch.from_numpy(beta),
                            training=True, eps=1e-5).numpy()

    expect_function(answer, bn_cases(), reference)


def backward_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(x, gamma, grad_out): the forward cases with an upstream gradient of the input's shape."""
    rng = np.random.default_rng(22)
    return [(x, gamma, rng.standard_normal(x.shape)) for x, gamma, _ in bn_cases()]


@exercise("batch-norm/3")
def batch_norm_backward(answer):
    """A NumPy function ``answer(x, gamma, grad_out) -> grad_x``: the gradient of batch normalization
    in training mode (eps = 1e-5) with respect to its input, given the upstream gradient.

    x: (N, C, H, W), gamma: (C,), grad_out: (N, C, H, W) -> grad_x: (N, C, H, W).

    Examples:
        >>> from cnnref.exercises import check
        >>> wrong = lambda x, gamma, g: g * gamma[:, None, None] / x.std(axis=(0, 2, 3), keepdims=True)
        >>> print(check("batch-norm/3", wrong))
        for an input of shape (2, 1, 3, 3): your gradient is wrong at 18 of 18 positions, the first at index (0, 0, 0, 0)
    """
    def reference(x, gamma, grad_out):
        xt = torch.from_numpy(x).requires_grad_()
        y = F.batch_norm(xt, None, None, torch.from_numpy(gamma), None, training=True, eps=1e-5)
        y.backward(torch.from_numpy(grad_out))
        return xt.grad.numpy()

    expect_function(answer, backward_cases(), reference, what="gradient")
