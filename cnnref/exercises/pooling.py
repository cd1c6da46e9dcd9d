"""Checkers for the exercises of the pooling page (docs/pooling.*.md, section "Exercises")."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnref.exercises.checks import expect_array, expect_function, expect_shape
from cnnref.exercises.registry import exercise

__all__ = ["pooled_shape", "stride_one_max_pool", "max_pool_backward"]

# the page's 4×4 example
EXAMPLE = np.array([[1.0, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]])


@exercise("pooling/1")
def pooled_shape(answer):
    """The output shape of ``torch.nn.MaxPool2d(3, stride=2, padding=1)`` on a (1, 16, 15, 15) input.

    Examples:
        >>> from cnnref.exercises import check
        >>> check("pooling/1", (1, 16, 7, 7)).correct
        False
    """
    expected = F.max_pool2d(torch.zeros(1, 16, 15, 15), 3, stride=2, padding=1).shape
    expect_shape(answer, expected)


@exercise("pooling/2")
def stride_one_max_pool(answer):
    """2×2 max pooling with stride 1 of the page's 4×4 example, as a (3, 3) array.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("pooling/2", np.zeros((2, 2))))
        your answer has shape (2, 2), expected (3, 3)
    """
    expected = F.max_pool2d(torch.from_numpy(EXAMPLE)[None, None], 2, stride=1)[0, 0].numpy()
    expect_array(answer, expected)


def torch_max_pool_backward(x: np.ndarray, grad_out: np.ndarray) -> np.ndarray:
    """The reference: autograd's gradient of sum(grad_out * max_pool2d(x, 2)) with respect to x."""
    xt = torch.from_numpy(x).requires_grad_()
    F.max_pool2d(xt, 2).backward(torch.from_numpy(grad_out))
    return xt.grad.numpy()


def max_pool_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """(x, grad_out) pairs: distinct values in each window (no ties), several batches and channels."""
    rng = np.random.default_rng(16)
    cases = []
    for shape in [(1, 1, 4, 4), (2, 3, 6, 8), (1, 2, 2, 10)]:
        x = rng.permutation(np.prod(shape)).reshape(shape).astype(np.float64)
        cases.append((x, rng.standard_normal((*shape[:2], shape[2] // 2, shape[3] // 2))))
    return cases


@exercise("pooling/3")
def max_pool_backward(answer):
    """A NumPy function ``answer(x, grad_out) -> grad_x``: the gradient of 2×2, stride-2 max pooling.

    x: (N, C, H, W) with H and W even, grad_out: (N, C, H/2, W/2) -> grad_x: (N, C, H, W).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("pooling/3", lambda x, g: np.zeros_like(x)))
        for an input of shape (1, 1, 4, 4): your gradient is wrong at 4 of 16 positions, the first at index (0, 0, 0, 2)
    """
    expect_function(answer, max_pool_cases(), torch_max_pool_backward, what="gradient")
