"""Checkers for the exercises of the convolution-algorithms page (docs/conv-algorithms.*.md)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnref.exercises.checks import expect_function, expect_shape
from cnnref.exercises.registry import exercise

__all__ = ["im2col_shape", "im2col_matrix", "fft_cross_correlation"]


@exercise("conv-algorithms/1")
def im2col_shape(answer):
    """The shape of the im2col matrix (C_in·kH·kW rows, N·H_out·W_out columns) of a 3×3 convolution
    with stride 2 and padding 1 on an input of shape (2, 3, 10, 10).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("conv-algorithms/1", (27, 200)))
        your answer is wrong at position(s) 1 (counting from 0)
    """
    cols = F.unfold(torch.zeros(2, 3, 10, 10), 3, stride=2, padding=1)     # (N, C_in·kH·kW, L)
    expect_shape(answer, (cols.shape[1], cols.shape[0] * cols.shape[2]))


def im2col_cases() -> list[tuple[np.ndarray, int, int]]:
    """(x, kH, kW): one channel, several images and channels, non-square inputs and kernels."""
    rng = np.random.default_rng(41)
    return [(rng.standard_normal((1, 1, 4, 4)), 2, 2), (rng.standard_normal((2, 3, 5, 6)), 3, 2),
            (rng.standard_normal((3, 2, 3, 7)), 1, 4)]


@exercise("conv-algorithms/2")
def im2col_matrix(answer):
    """A NumPy function ``answer(x, kh, kw) -> cols``: the im2col matrix of a stride-1, unpadded
    convolution, one column per window; rows ordered (c, i, j) as in ``w.reshape(C_out, -1)``,
    columns ordered (n, output row, output column).

    x: (N, C, H, W) -> cols: (C·kh·kw, N·(H - kh + 1)·(W - kw + 1)).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("conv-algorithms/2", lambda x, kh, kw: np.zeros((kh * kw, 9))))
        for an input of shape (1, 1, 4, 4): your function's output is wrong at 36 of 36 positions, the first at index (0, 0)
    """
    def reference(x, kh, kw):
        cols = F.unfold(torch.from_numpy(x), (kh, kw))                          # (N, C·kh·kw, L)
        return cols.permute(1, 0, 2).reshape(cols.shape[1], -1).numpy()

    expect_function(answer, im2col_cases(), reference)


def fft_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """(x, w): a square image and kernel, non-square ones, a kernel as tall as the image."""
    rng = np.random.default_rng(42)
    return [(rng.standard_normal((6, 6)), rng.standard_normal((3, 3))),
            (rng.standard_normal((9, 7)), rng.standard_normal((2, 4))),
            (rng.standard_normal((5, 8)), rng.standard_normal((5, 1)))]


@exercise("conv-algorithms/3")
def fft_cross_correlation(answer):
    """A NumPy function ``answer(x, w) -> y``: the unpadded, stride-1 cross-correlation of one image
    with one kernel (what ``torch.nn.functional.conv2d`` computes), meant to be computed with FFTs.

    x: (H, W), w: (kH, kW) -> y: (H - kH + 1, W - kW + 1).

    Examples:
        >>> from cnnref.exercises import check
        >>> flipped = lambda x, w: F.conv2d(torch.from_numpy(x)[None, None], torch.from_numpy(w[::-1, ::-1].copy())[None, None])[0, 0].numpy()
        >>> check("conv-algorithms/3", flipped).correct
        False
    """
    def reference(x, w):
        return F.conv2d(torch.from_numpy(x)[None, None], torch.from_numpy(w)[None, None])[0, 0].numpy()

    expect_function(answer, fft_cases(), reference)
