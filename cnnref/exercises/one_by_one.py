"""Checkers for the exercises of the 1×1-convolution page (docs/one-by-one.*.md)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnref.exercises.checks import expect_function, expect_integer
from cnnref.exercises.registry import exercise

__all__ = ["reduced_branch_weights", "conv1x1_forward", "class_activation_maps"]


@exercise("one-by-one/1")
def reduced_branch_weights(answer):
    """The weights (biases left out) of a 1×1 convolution 192 -> 16 followed by a 5×5 convolution
    16 -> 32: the 5×5 branch of GoogLeNet's Inception (3a).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("one-by-one/1", 192 * 5 * 5 * 32))
        your answer is too large
    """
    branch = torch.nn.Sequential(torch.nn.Conv2d(192, 16, 1, bias=False, device="meta"),
                                 torch.nn.Conv2d(16, 32, 5, bias=False, device="meta"))
    expect_integer(answer, sum(p.numel() for p in branch.parameters()))


def conv1x1_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(x, w, b): one channel, several channels, a non-square map, more output than input channels."""
    rng = np.random.default_rng(11)
    shapes = [((1, 1, 3, 3), 1), ((2, 6, 5, 5), 4), ((3, 4, 2, 7), 9)]
    return [(rng.standard_normal(xs), rng.standard_normal((c_out, xs[1])), rng.standard_normal(c_out))
            for xs, c_out in shapes]


@exercise("one-by-one/2")
def conv1x1_forward(answer):
    """A NumPy function ``answer(x, w, b) -> y``: a 1×1 convolution, as ``torch.nn.functional.conv2d``
    computes it with the weight of shape (C_out, C_in, 1, 1).

    x: (N, C_in, H, W), w: (C_out, C_in), b: (C_out,) -> y: (N, C_out, H, W).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("one-by-one/2", lambda x, w, b: np.einsum("oc,nchw->nohw", w, x)))
        for an input of shape (1, 1, 3, 3): your function's output is wrong at 9 of 9 positions, the first at index (0, 0, 0, 0)
    """
    def reference(x, w, b):
        return F.conv2d(torch.from_numpy(x), torch.from_numpy(w)[:, :, None, None], torch.from_numpy(b)).numpy()

    expect_function(answer, conv1x1_cases(), reference)


def cam_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(maps, weight, labels): one image, a batch with repeated and distinct classes, non-square maps."""
    rng = np.random.default_rng(12)
    cases = []
    for n, k, h, w, classes in [(1, 2, 3, 3, 2), (4, 5, 4, 4, 3), (3, 6, 2, 5, 10)]:
        labels = rng.integers(0, classes, size=n)
        cases.append((rng.standard_normal((n, k, h, w)), rng.standard_normal((classes, k)), labels))
    return cases


@exercise("one-by-one/3")
def class_activation_maps(answer):
    """A NumPy function ``answer(maps, weight, labels) -> cams``: for image n, the class activation map
    of class labels[n], the sum over k of weight[labels[n], k] * maps[n, k].

    maps: (N, K, H, W), weight: (classes, K), labels: (N,) integers -> cams: (N, H, W).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("one-by-one/3", lambda maps, weight, labels: maps.mean(axis=1)))
        for an input of shape (1, 2, 3, 3): your function's output is wrong at 9 of 9 positions, the first at index (0, 0, 0)
    """
    def reference(maps, weight, labels):
        # every class's map at once is a 1×1 convolution of the maps with the head's weight
        all_classes = F.conv2d(torch.from_numpy(maps), torch.from_numpy(weight)[:, :, None, None])
        return all_classes[torch.arange(len(labels)), torch.from_numpy(labels)].numpy()

    expect_function(answer, cam_cases(), reference)
