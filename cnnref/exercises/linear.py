"""Checkers for the exercises of the fully-connected-layer page (docs/linear.*.md)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnref.exercises.checks import expect_function, expect_integer
from cnnref.exercises.registry import exercise

__all__ = ["classifier_parameters", "flattened_index", "linear_weight_gradient"]


@exercise("linear/1")
def classifier_parameters(answer):
    """The parameters (weight and bias) of the Linear layer that maps a flattened (N, 64, 7, 7)
    feature map to 10 class scores.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("linear/1", 64 * 10 + 10))
        your answer is too small
    """
    head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(10))
    head(torch.zeros(1, 64, 7, 7))                        # the lazy layer learns in_features here
    expect_integer(answer, sum(p.numel() for p in head.parameters()))


@exercise("linear/2")
def flattened_index(answer):
    """The index, in the output of ``torch.nn.Flatten()`` on an input of shape (N, 3, 4, 5), of the
    feature that was at channel 2, row 1, column 3.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("linear/2", 3 * 20 + 1 * 5 + 2))
        your answer is too large
    """
    marked = torch.zeros(1, 3, 4, 5)
    marked[0, 2, 1, 3] = 1
    expect_integer(answer, int(torch.nn.Flatten()(marked)[0].argmax()))


def gradient_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """(x, grad_y): a batch of vectors, one sample, and inputs with two leading dimensions."""
    rng = np.random.default_rng(16)
    shapes = [((4, 5), 3), ((1, 6), 2), ((2, 7, 5), 3), ((3, 2, 4, 3), 1)]
    return [(rng.standard_normal(x_shape), rng.standard_normal((*x_shape[:-1], out))) for x_shape, out in shapes]


def torch_weight_gradient(x: np.ndarray, grad_y: np.ndarray) -> np.ndarray:
    """The reference: autograd's gradient of sum(grad_y * linear(x, A)) with respect to A."""
    weight = torch.zeros(grad_y.shape[-1], x.shape[-1], dtype=torch.float64, requires_grad=True)
    F.linear(torch.from_numpy(x), weight).backward(torch.from_numpy(grad_y))
    return weight.grad.numpy()


@exercise("linear/3")
def linear_weight_gradient(answer):
    """A NumPy function ``answer(x, grad_y) -> grad_A``: the gradient of the loss with respect to the
    weight A of ``y = x A^T + b``, given the upstream gradient grad_y.

    x: (*, in_features), grad_y: (*, out_features) -> grad_A: (out_features, in_features).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("linear/3", lambda x, g: x.T @ g))
        for an input of shape (4, 5): your gradient has shape (5, 3), expected (3, 5)
    """
    expect_function(answer, gradient_cases(), torch_weight_gradient, what="gradient")
