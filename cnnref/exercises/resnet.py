"""Checkers for the exercises of the residual-network page (docs/resnet.*.md)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnref.exercises.checks import expect_function, expect_integer, expect_shape
from cnnref.exercises.registry import exercise

__all__ = ["downsampling_block_parameters", "conv4_shape", "residual_backward"]


@exercise("resnet/1")
def downsampling_block_parameters(answer):
    """The learnable parameters of ResNet-18's first block of conv3_x: two 3×3 convolutions 64 -> 128
    -> 128 (the first with stride 2), each followed by batch normalization, and the 1×1, stride-2
    projection shortcut 64 -> 128 with its batch normalization; no convolution has a bias.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("resnet/1", 64 * 128 * 9 + 128 * 128 * 9))
        your answer is too small
    """
    nn = torch.nn
    block = nn.ModuleList([nn.Conv2d(64, 128, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(128),
                           nn.Conv2d(128, 128, 3, padding=1, bias=False), nn.BatchNorm2d(128),
                           nn.Conv2d(64, 128, 1, stride=2, bias=False), nn.BatchNorm2d(128)]).to("meta")
    expect_integer(answer, sum(p.numel() for p in block.parameters()))


@exercise("resnet/2")
def conv4_shape(answer):
    """The shape of the output of ResNet-18's conv4_x stage (``layer3``) for an input of shape
    (1, 3, 200, 200).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("resnet/2", (1, 256, 12, 12)))
        your answer is wrong at position(s) 2, 3 (counting from 0)
    """
    def conv(x, c_out, k, stride):
        return F.conv2d(x, torch.zeros(c_out, x.shape[1], k, k, device="meta"), stride=stride, padding=k // 2)

    x = conv(torch.zeros(1, 3, 200, 200, device="meta"), 64, 7, 2)            # conv1
    x = F.max_pool2d(x, 3, stride=2, padding=1)
    for c_out, stride in [(64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1)]:   # conv2_x .. conv4_x
        x = conv(conv(x, c_out, 3, stride), c_out, 3, 1)
    expect_shape(answer, x.shape)


def residual_cases() -> list[tuple[np.ndarray, ...]]:
    """(x, w1, w2, grad_y): one sample, a batch, a hidden layer wider and narrower than the input."""
    rng = np.random.default_rng(31)
    cases = []
    for n, d, h in [(1, 3, 2), (5, 4, 7), (3, 6, 3)]:
        cases.append((rng.standard_normal((n, d)), rng.standard_normal((h, d)), rng.standard_normal((d, h)),
                      rng.standard_normal((n, d))))
    return cases


@exercise("resnet/3")
def residual_backward(answer):
    """A NumPy function ``answer(x, w1, w2, grad_y) -> grad_x``: the gradient with respect to x of
    the fully connected residual block y = relu(x + relu(x @ w1.T) @ w2.T).

    x: (N, D), w1: (H, D), w2: (D, H), grad_y: (N, D) -> grad_x: (N, D).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("resnet/3", lambda x, w1, w2, g: g))
        for an input of shape (1, 3): your gradient is wrong at 3 of 3 positions, the first at index (0, 0)
    """
    def reference(x, w1, w2, grad_y):
        xt = torch.from_numpy(x).requires_grad_()
        y = torch.relu(xt + torch.relu(xt @ torch.from_numpy(w1).T) @ torch.from_numpy(w2).T)
        y.backward(torch.from_numpy(grad_y))
        return xt.grad.numpy()

    expect_function(answer, residual_cases(), reference, what="gradient")
