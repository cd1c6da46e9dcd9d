"""Checkers for the exercises of the CNN-pattern page (docs/cnn-pattern.*.md).

The references build the layers with torch.nn one by one and run a forward pass on zeros;
they do not call ``cnnref.models.make_cnn`` or ``feature_shapes``, which the solutions may use.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnref.exercises.checks import expect_function, expect_integer
from cnnref.exercises.registry import exercise

__all__ = ["first_fc_inputs", "deepest_m", "feature_side"]


def conv_part(n: int, m: int, channels: list[int], kernel_size: int = 3, padding: int = 1,
              in_channels: int = 1) -> nn.Sequential:
    """[[CONV -> RELU] * n -> POOL] * m with 2x2 max pooling (stride 2), block b with channels[b] maps."""
    layers: list[nn.Module] = []
    for block in range(m):
        for _ in range(n):
            layers += [nn.Conv2d(in_channels, channels[block], kernel_size, padding=padding), nn.ReLU()]
            in_channels = channels[block]
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


@exercise("cnn-pattern/1")
def first_fc_inputs(answer):
    """``in_features`` of the first FC layer after INPUT (3, 32, 32) -> [[CONV 3x3, padding 1 -> RELU] * 2
    -> POOL 2x2] * 3 with 16, 32 and 64 channels in the three blocks.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("cnn-pattern/1", 64 * 8 * 8))
        your answer is too large
    """
    with torch.no_grad():
        features = conv_part(2, 3, [16, 32, 64], in_channels=3)(torch.zeros(1, 3, 32, 32))
    expect_integer(answer, features[0].numel())


@exercise("cnn-pattern/2")
def deepest_m(answer):
    """The largest M for which [[CONV 5x5, no padding -> RELU] * 1 -> POOL 2x2] * M fits a 64x64 input.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("cnn-pattern/2", 6))
        your answer is too large
    """
    x, blocks = torch.zeros(1, 1, 64, 64), 0
    block = conv_part(1, 1, [1], kernel_size=5, padding=0)
    with torch.no_grad():
        while True:
            try:
                x = block(x)
            except RuntimeError:        # torch refuses a kernel or window larger than its input
                break
            blocks += 1
    expect_integer(answer, blocks)


def side_cases() -> list[tuple[int, int, int, int, int]]:
    """(size, n, m, kernel_size, padding): padded and unpadded, even and odd sizes along the way."""
    return [(28, 2, 2, 3, 1), (32, 1, 2, 5, 0), (27, 2, 3, 3, 1), (64, 1, 3, 5, 0),
            (10, 3, 1, 3, 0), (100, 2, 2, 5, 1), (9, 1, 1, 1, 0)]


def torch_side(size: int, n: int, m: int, kernel_size: int, padding: int) -> int:
    """The reference: the side of the conv part's output on a zero (1, 1, size, size) input."""
    with torch.no_grad():
        y = conv_part(n, m, [1] * m, kernel_size, padding)(torch.zeros(1, 1, size, size))
    return y.shape[-1]


@exercise("cnn-pattern/3")
def feature_side(answer):
    """A function ``answer(size, n, m, kernel_size, padding) -> int``: the side of the feature maps
    after [[CONV (stride 1) -> RELU] * n -> POOL 2x2, stride 2] * m on a size x size input.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("cnn-pattern/3", lambda size, n, m, k, p: size // 2 ** m))
        for the arguments (32, 1, 2, 5, 0): your function's output is too large
    """
    expect_function(answer, side_cases(), torch_side, compare=expect_integer)
