"""Checkers for the exercises of the inspecting-a-model page (docs/inspect.*.md)."""

from __future__ import annotations

import torch
import torchinfo
from torch import nn

from cnnref.exercises.checks import expect_function, expect_integer
from cnnref.exercises.registry import exercise

__all__ = ["nested_model", "small_net", "modules_count", "small_net_mult_adds", "trainable_count"]


def nested_model() -> nn.Sequential:
    """The statement's model of inspect/1: containers inside a container."""
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU()),
        nn.Sequential(nn.Conv2d(4, 8, 3), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Flatten(),
        nn.Linear(8 * 5 * 5, 10),
    )


def small_net() -> nn.Sequential:
    """The statement's network of inspect/2: x: (N, 3, 16, 16) -> (N, 10)."""
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 8 * 8, 10))


@exercise("inspect/1")
def modules_count(answer):
    """How many modules ``nested_model().modules()`` yields (the network itself included).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("inspect/1", 4))
        your answer is too small
    """
    expect_integer(answer, len(list(nested_model().modules())))


@exercise("inspect/2")
def small_net_mult_adds(answer):
    """The multiply-adds of ``small_net()`` for one (3, 16, 16) image, counted as torchinfo counts them.

    Examples:
        >>> from cnnref.exercises import check
        >>> check("inspect/2", 3 * 3 * 3 * 8 * 16 * 16 + 8 * 8 * 8 * 10).correct
        False
    """
    expected = torchinfo.summary(small_net(), input_size=(1, 3, 16, 16), verbose=0).total_mult_adds
    expect_integer(answer, expected)


class Case(nn.Sequential):
    """A model for inspect/3 that knows its input shape; its repr is a short name, so that a
    message says "for the arguments (<conv1 frozen>,)" rather than the whole printout."""

    def __init__(self, name: str, input_shape: tuple[int, ...], *layers: nn.Module):
        super().__init__(*layers)
        self.name, self.input_shape = name, input_shape

    def __repr__(self) -> str:
        return f"<{self.name}>"


def trainable_cases() -> list[tuple[Case]]:
    """Models with frozen parts, running statistics (buffers, not parameters) and a shared layer."""
    frozen = Case("conv frozen", (2, 1, 8, 8), nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    frozen[0].requires_grad_(False)
    bias_frozen = Case("a bias frozen", (2, 5), nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2))
    bias_frozen[2].bias.requires_grad_(False)
    normed = Case("batch norm", (2, 3, 4, 4), nn.Conv2d(3, 6, 1, bias=False), nn.BatchNorm2d(6), nn.Flatten())
    shared = nn.Linear(4, 4)
    tied = Case("one layer used twice", (2, 4), shared, nn.ReLU(), shared)
    plain = Case("nothing frozen", (2, 7), nn.Linear(7, 3))
    return [(plain,), (frozen,), (bias_frozen,), (normed,), (tied,)]


def autograd_trainable(model: Case) -> int:
    """The reference: the number of values autograd computes a gradient for in one backward pass."""
    model.zero_grad(set_to_none=True)
    model(torch.randn(model.input_shape)).sum().backward()
    grads = {id(p): p.grad for p in model.parameters()}      # a tensor used twice has one gradient
    return sum(g.numel() for g in grads.values() if g is not None)


@exercise("inspect/3")
def trainable_count(answer):
    """A function ``answer(model) -> int``: the number of trainable values of a model (parameters
    with ``requires_grad``, a tensor used twice counted once), what torchinfo calls trainable params.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("inspect/3", lambda model: sum(p.numel() for p in model.parameters())))
        for the arguments (<conv frozen>,): your function's output is too large
    """
    expect_function(answer, trainable_cases(), autograd_trainable, compare=expect_integer)
