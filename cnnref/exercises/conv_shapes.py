"""Checkers for the exercises of the convolution-shapes page (docs/conv-shapes.*.md)."""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F

from cnnref.exercises.checks import expect_function, expect_integer, expect_shape
from cnnref.exercises.registry import exercise

__all__ = ["strided_conv_shape", "grouped_conv_parameters", "transposed_size"]


@exercise("conv-shapes/1")
def strided_conv_shape(answer):
    """The output shape of ``torch.nn.Conv2d(3, 16, 5, stride=2, padding=1)`` on a (4, 3, 32, 32) input.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("conv-shapes/1", (4, 16, 16)))
        your answer has 3 numbers, expected 4
    """
    with torch.no_grad():
        expected = torch.nn.Conv2d(3, 16, 5, stride=2, padding=1)(torch.zeros(4, 3, 32, 32)).shape
    expect_shape(answer, expected)


@exercise("conv-shapes/2")
def grouped_conv_parameters(answer):
    """The number of learnable parameters (weight and bias) of ``torch.nn.Conv2d(8, 16, 3, groups=4)``.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("conv-shapes/2", 16 * 8 * 3 * 3 + 16))
        your answer is too large
    """
    expected = sum(p.numel() for p in torch.nn.Conv2d(8, 16, 3, groups=4).parameters())
    expect_integer(answer, expected)


def torch_transposed_size(size, kernel_size, stride, padding, output_padding, dilation) -> int:
    """The reference: the length of conv_transpose1d's output on an input of that length."""
    y = F.conv_transpose1d(torch.zeros(1, 1, size), torch.zeros(1, 1, kernel_size), stride=stride,
                           padding=padding, output_padding=output_padding, dilation=dilation)
    return y.shape[-1]


def transposed_cases() -> list[tuple[int, ...]]:
    """(size, kernel_size, stride, padding, output_padding, dilation) that PyTorch accepts."""
    cases = []
    for size, k, s, p, op, d in itertools.product([1, 5, 8], [1, 2, 3, 4], [1, 2, 3], [0, 1, 2], [0, 1], [1, 2]):
        # PyTorch's conditions: output_padding below stride or dilation, a positive output
        if op < max(s, d) and (size - 1) * s - 2 * p + d * (k - 1) + op + 1 > 0:
            cases.append((size, k, s, p, op, d))
    return cases


@exercise("conv-shapes/3")
def transposed_size(answer):
    """A function ``answer(size, kernel_size, stride, padding, output_padding, dilation) -> int``:
    the output length of a transposed convolution, as ``torch.nn.ConvTranspose1d`` gives it.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("conv-shapes/3", lambda n, k, s, p, op, d: (n - 1) * s + k))
        for the arguments (1, 1, 1, 0, 1, 2): your function's output is too small
    """
    expect_function(answer, transposed_cases(), torch_transposed_size, compare=expect_integer)
