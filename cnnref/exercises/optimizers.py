"""Checkers for the exercises of the optimizers page (docs/optimizers.*.md, section "Exercises")."""

from __future__ import annotations

import numpy as np
import torch

from cnnref.exercises.checks import expect_function, expect_number
from cnnref.exercises.registry import exercise

__all__ = ["rprop_by_hand", "rmsprop_first_step", "rprop_trajectory"]


@exercise("optimizers/1")
def rprop_by_hand(answer):
    """The weight after four steps of ``torch.optim.Rprop(lr=0.01)`` (default etas and step sizes)
    from 0, with the gradients +1, +1, -1, +1.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("optimizers/1", -0.01 - 0.012 + 0.006 - 0.006))
        your answer is too large
    """
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    rprop = torch.optim.Rprop([w], lr=0.01)
    for g in [1.0, 1.0, -1.0, 1.0]:
        w.grad = torch.tensor([g], dtype=torch.float64)
        rprop.step()
    expect_number(answer, w.item())


@exercise("optimizers/2")
def rmsprop_first_step(answer):
    """The weight after one step of ``torch.optim.RMSprop(lr=0.01)`` (defaults otherwise) from 2.0
    with the gradient 0.5.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("optimizers/2", 2.0 - 0.01 * 0.5))
        your answer is too large
    """
    w = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    w.grad = torch.tensor([0.5], dtype=torch.float64)
    torch.optim.RMSprop([w], lr=0.01).step()
    expect_number(answer, w.item())


def torch_rprop_trajectory(grads: np.ndarray) -> np.ndarray:
    """The reference: the weights after each step of torch.optim.Rprop (its defaults) from zeros,
    fed the rows of grads: (T, P) -> (T, P)."""
    w = torch.zeros(grads.shape[1], dtype=torch.float64, requires_grad=True)
    rprop = torch.optim.Rprop([w])
    path = []
    for g in torch.from_numpy(grads):
        w.grad = g.clone()
        rprop.step()
        path.append(w.detach().clone())
    return torch.stack(path).numpy()


def rprop_cases() -> list[tuple[np.ndarray]]:
    """Gradient sequences (T, P): random signs and sizes with some exact zeros; one sign for 60
    steps (the step size reaches its cap of 50); signs alternating for 40 steps (the step size
    falls to its floor of 1e-6)."""
    rng = np.random.default_rng(16)
    mixed = rng.standard_normal((30, 5)) * rng.choice([0.0, 0.01, 1.0, 100.0], size=(30, 5))
    steady = np.full((60, 1), 0.3)
    flipping = np.tile([[2.0, -1e-3], [-2.0, 1e-3]], (20, 1))
    return [(mixed,), (steady,), (flipping,)]


@exercise("optimizers/3")
def rprop_trajectory(answer):
    """A NumPy function ``answer(grads) -> path``: the weights after each step of Rprop as
    ``torch.optim.Rprop`` takes it with its defaults (lr=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 50)),
    starting from zeros and given the gradient of each step.

    grads: (T, P), the gradients of P weights at T steps -> path: (T, P).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("optimizers/3", lambda g: -0.01 * np.cumsum(np.sign(g), axis=0)))
        for an input of shape (30, 5): your function's output is wrong at 142 of 150 positions, the first at index (1, 0)
    """
    expect_function(answer, rprop_cases(), torch_rprop_trajectory)
