"""Checkers for the exercises of the classic-architectures page (docs/architectures.*.md):
where VGG-16's parameters and multiply-adds are, and AlexNet's local response normalization."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnref.exercises.checks import expect_function, expect_integer
from cnnref.exercises.registry import exercise

__all__ = ["vgg_fc6_parameters", "vgg_conv1_multiplications", "alexnet_lrn"]


@exercise("architectures/1")
def vgg_fc6_parameters(answer):
    """The number of parameters (weights and biases) of VGG-16's first fully connected layer,
    which maps the 512 maps of 7×7 left by the last pooling to 4096 units.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("architectures/1", 512 * 7 * 7 * 4096))
        your answer is too small
    """
    with torch.device("meta"):                    # shapes only: nothing allocated
        layer = torch.nn.Linear(512 * 7 * 7, 4096)
    expect_integer(answer, sum(p.numel() for p in layer.parameters()))


@exercise("architectures/2")
def vgg_conv1_multiplications(answer):
    """The multiplications of VGG's first convolution, ``Conv2d(3, 64, 3, padding=1)``, on one
    224×224 RGB image (one per weight and output position; the bias not counted).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("architectures/2", 64 * 3 * 3 * 3))
        your answer is too small
    """
    # one multiplication per weight and output position, both as torch makes them (torch's FLOP
    # counter agrees, at twice this: a multiply-add is 2 FLOPs, but its first use imports
    # torch._dynamo, seconds on a small machine). The output's size does not depend on the
    # channels, so one channel in and out finds it cheaply.
    with torch.device("meta"):
        layer = torch.nn.Conv2d(3, 64, 3, padding=1)
    output = F.conv2d(torch.zeros(1, 1, 224, 224), torch.zeros(1, 1, 3, 3), padding=1)
    expect_integer(answer, layer.weight.numel() * output.shape[-2] * output.shape[-1])


def lrn_cases() -> list[tuple[np.ndarray]]:
    """Inputs (N, C, H, W) with values of about ±10, so that the sum of squares moves the
    denominator well away from k: fewer channels than the window, and more."""
    rng = np.random.default_rng(16)
    return [(10 * rng.standard_normal(shape),) for shape in [(1, 7, 2, 2), (2, 3, 4, 5), (1, 12, 3, 1)]]


def torch_lrn(a: np.ndarray) -> np.ndarray:
    """The reference: torch's local_response_norm, which divides alpha by the window size n."""
    return F.local_response_norm(torch.from_numpy(a), size=5, alpha=5 * 1e-4, beta=0.75, k=2.0).numpy()


@exercise("architectures/3")
def alexnet_lrn(answer):
    """A NumPy function ``answer(a) -> b``: AlexNet's local response normalization across
    channels, b = a / (k + alpha * sum of a² over n neighbouring channels) ** beta, with the
    paper's k = 2, n = 5, alpha = 1e-4, beta = 0.75 (channels beyond the edge count as zero).

    a: (N, C, H, W) -> b: (N, C, H, W).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("architectures/3", lambda a: a / 2 ** 0.75))
        for an input of shape (1, 7, 2, 2): your function's output is wrong at 28 of 28 positions, the first at index (0, 0, 0, 0)
    """
    expect_function(answer, lrn_cases(), torch_lrn)
