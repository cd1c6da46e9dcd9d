"""Checkers for the exercises of the convolution explorer page (docs/explorer.*.md)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnref.exercises.checks import expect_array, expect_function, expect_shape
from cnnref.exercises.registry import exercise

__all__ = ["transposed_shape", "overlap_counts", "receptive_field_cells"]


@exercise("explorer/1")
def transposed_shape(answer):
    """The output shape of ``F.conv_transpose2d`` on x: (1, 2, 5, 4) with w: (2, 2, 3, 3), stride=2,
    padding=1, output_padding=1, groups=2.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("explorer/1", (1, 2, 10, 8)))
        your answer is wrong at position(s) 1 (counting from 0)
    """
    y = F.conv_transpose2d(torch.zeros(1, 2, 5, 4), torch.zeros(2, 2, 3, 3), stride=2, padding=1,
                           output_padding=1, groups=2)
    expect_shape(answer, y.shape)


def torch_overlap_counts(h, w, kernel_size, stride, padding):
    """The reference: a transposed convolution of an input of ones with a kernel of ones counts,
    at each output cell, the (input cell, kernel tap) pairs that land there."""
    ones = torch.ones(1, 1, h, w, dtype=torch.float64)
    kernel = torch.ones(1, 1, kernel_size, kernel_size, dtype=torch.float64)
    return F.conv_transpose2d(ones, kernel, stride=stride, padding=padding)[0, 0].numpy()


# (h, w, kernel_size, stride, padding): square and not, k a multiple of s and not, with padding
OVERLAP_CASES = [(6, 6, 3, 2, 0), (5, 4, 4, 2, 1), (4, 7, 3, 3, 1), (3, 3, 5, 2, 2), (2, 5, 1, 3, 0)]


@exercise("explorer/2")
def overlap_counts(answer):
    """A function ``answer(h, w, kernel_size, stride, padding) -> counts``: for a transposed
    convolution of an h×w input with a square kernel, the number of (input cell, kernel tap) pairs
    that land on each output cell (the explorer's checkerboard heat map, one layer).

    counts: (H_out, W_out), H_out = (h - 1) * stride - 2 * padding + kernel_size.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("explorer/2", lambda h, w, k, s, p: np.ones(((h - 1) * s - 2 * p + k, (w - 1) * s - 2 * p + k))))
        for the arguments (6, 6, 3, 2, 0): your function's output is wrong at 105 of 169 positions, the first at index (0, 2)
    """
    expect_function(answer, OVERLAP_CASES, torch_overlap_counts)


@exercise("explorer/3")
def receptive_field_cells(answer):
    """The input cells of a 7×7 input that output cell (1, 2) of ``F.conv2d`` with a 3×3 kernel,
    stride=2, padding=1, dilation=2 reads: a (7, 7) array, 1 at those cells and 0 elsewhere.

    Examples:
        >>> from cnnref.exercises import check
        >>> mask = np.zeros((7, 7), dtype=int)
        >>> mask[1:6, 3:8] = 1                          # the window without dilation's gaps
        >>> print(check("explorer/3", mask))
        your answer is wrong at 14 of 49 positions, the first at index (1, 4)
    """
    # the reference by autograd: with a kernel of ones, an input cell has a non-zero gradient
    # exactly when the output cell reads it (padding cells are not input cells)
    x = torch.zeros(1, 1, 7, 7, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(x, torch.ones(1, 1, 3, 3, dtype=torch.float64), stride=2, padding=1, dilation=2)
    y[0, 0, 1, 2].backward()
    expect_array(answer, (x.grad[0, 0] != 0).double().numpy())
