"""Checkers for the exercises of the fine-tuning page (docs/fine-tuning.*.md): what is new, what
is frozen and what trains, and how large Adam's first step is whatever the gradient."""

from __future__ import annotations

import numpy as np
import torch

from cnnref.exercises.checks import expect_function, expect_shape
from cnnref.exercises.registry import exercise
from cnnref.models import get_model

__all__ = ["new_and_trained_parameters", "adam_first_step"]


@exercise("fine-tuning/1")
def new_and_trained_parameters(answer):
    """LeNet-5 with 5 classes, c1, c3 and c5 reused, f6 and output new, c1 and c3 frozen:
    ``(parameters that start from random values, parameters the optimizer updates)``.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("fine-tuning/1", (10_164, 58_709)))
        your answer is wrong at position(s) 0 (counting from 0)
    """
    with torch.device("meta"):                    # only the shapes are needed
        model = get_model("lenet5", num_classes=5)
    new = sum(p.numel() for layer in (model.f6, model.output) for p in layer.parameters())
    for layer in (model.c1, model.c3):
        layer.requires_grad_(False)
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    expect_shape(answer, (new, trained))


def adam_cases() -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(w, g, lr): gradients from 1e-12 to 1e3, so that the step's independence of the gradient's
    size shows, and eps matters for the smallest ones; both of the page's learning rates."""
    rng = np.random.default_rng(16)
    cases = []
    for shape, lr in [((4,), 1e-2), ((3, 5), 1e-3), ((2, 2, 3), 1e-2)]:
        sizes = 10.0 ** rng.uniform(-12, 3, shape)
        cases.append((rng.standard_normal(shape), sizes * rng.choice([-1.0, 1.0], shape), lr))
    return cases


def torch_adam_first_step(w: np.ndarray, g: np.ndarray, lr: float) -> np.ndarray:
    """The reference: one step of torch.optim.Adam (its defaults) from a fresh optimizer."""
    param = torch.nn.Parameter(torch.from_numpy(w))
    optimizer = torch.optim.Adam([param], lr=lr)
    param.grad = torch.from_numpy(g)
    optimizer.step()
    return param.detach().numpy()


@exercise("fine-tuning/2")
def adam_first_step(answer):
    """A NumPy function ``answer(w, g, lr) -> w``: the weights after the first step of Adam with
    betas (0.9, 0.999) and eps 1e-8 (torch.optim.Adam's defaults), given the gradient g.

    w: (*S), g: (*S), lr: float -> (*S).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("fine-tuning/2", lambda w, g, lr: w - lr * g))
        for an input of shape (4,): your function's output is wrong at 4 of 4 positions, the first at index 0
    """
    expect_function(answer, adam_cases(), torch_adam_first_step)
