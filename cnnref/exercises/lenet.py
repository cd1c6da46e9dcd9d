"""Checkers for the exercises of the "Look inside LeNet-5" page (docs/lenet.*.md)."""

from __future__ import annotations

import torch

from cnnref.exercises.checks import expect_array, expect_integer, expect_shape
from cnnref.exercises.registry import exercise

__all__ = ["s4_shape", "c3_parameters", "c3_receptive_field"]


def torch_lenet5_front() -> torch.nn.Sequential:
    """LeNet-5's layers up to s4, built from torch.nn alone (the layers of cnnref.models.lenet5
    written out again, so the reference does not rest on the model the page inspects)."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5), torch.nn.Tanh(), torch.nn.AvgPool2d(2),      # c1, tanh1, s2
        torch.nn.Conv2d(6, 16, 5), torch.nn.Tanh(), torch.nn.AvgPool2d(2),     # c3, tanh3, s4
    )


@exercise("lenet/1")
def s4_shape(answer):
    """The shape of s4's output when LeNet-5 reads a batch of 8 digits, an input of shape (8, 1, 32, 32).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("lenet/1", (8, 16, 10, 10)))
        your answer is wrong at position(s) 2, 3 (counting from 0)
    """
    with torch.no_grad():
        expected = torch_lenet5_front()(torch.zeros(8, 1, 32, 32)).shape
    expect_shape(answer, expected)


@exercise("lenet/2")
def c3_parameters(answer):
    """The number of learnable parameters (weights and biases) of the page's c3 layer, in which
    each of 16 maps reads all 6 maps of s2 through 5×5 kernels.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("lenet/2", 16 * 5 * 5 + 16))
        your answer is too small
    """
    expected = sum(p.numel() for p in torch_lenet5_front()[3].parameters())
    expect_integer(answer, expected)


@exercise("lenet/3")
def c3_receptive_field(answer):
    """The input pixels that position (row 2, column 5) of c3's maps depends on: a (32, 32) array,
    1 at those pixels and 0 elsewhere.

    Examples:
        >>> import numpy as np
        >>> from cnnref.exercises import check
        >>> mask = np.zeros((32, 32), dtype=int)
        >>> mask[2:7, 5:10] = 1                         # c3's 5×5 window read as if on the input
        >>> print(check("lenet/3", mask))
        your answer is wrong at 221 of 1024 positions, the first at index (2, 5)
    """
    # the reference by autograd: all weights 1, so no sum of products can cancel, and tanh's
    # derivative is positive; an input pixel has a non-zero gradient exactly when c3's cell reads it
    front = torch_lenet5_front().double()
    with torch.no_grad():
        for layer in front:
            if isinstance(layer, torch.nn.Conv2d):
                layer.weight.fill_(1.0 / layer.weight[0].numel())   # an average: tanh stays off its flat tails
                layer.bias.zero_()
    x = torch.zeros(1, 1, 32, 32, dtype=torch.float64, requires_grad=True)
    front[:5](x)[0, 0, 2, 5].backward()                     # up to tanh3: c3's output, through its tanh
    expect_array(answer, (x.grad[0, 0] != 0).double().numpy())
