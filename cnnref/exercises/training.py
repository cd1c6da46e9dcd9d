"""Checkers for the exercises of the training page (docs/training.*.md): the cross-entropy
loss, its gradient with respect to the logits, and SGD with momentum in PyTorch's form."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnref.exercises.checks import expect_function, expect_number
from cnnref.exercises.registry import exercise

__all__ = ["cross_entropy_by_hand", "cross_entropy_gradient", "sgd_with_momentum"]


@exercise("training/1")
def cross_entropy_by_hand(answer):
    """The cross-entropy loss of the logits (2, 1, -1) when the correct class is 1, as a number.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("training/1", 1.0))
        your answer is too small
    """
    loss = F.cross_entropy(torch.tensor([[2.0, 1.0, -1.0]], dtype=torch.float64), torch.tensor([1]))
    expect_number(answer, loss.item())


def logit_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """(logits, targets): one sample, a batch, many classes, and logits large enough that a
    softmax computed without subtracting the maximum overflows."""
    rng = np.random.default_rng(16)
    cases = []
    for batch, classes, scale in [(1, 3, 1.0), (4, 10, 3.0), (7, 5, 1.0), (3, 4, 400.0)]:
        cases.append((scale * rng.standard_normal((batch, classes)), rng.integers(0, classes, batch)))
    return cases


def torch_cross_entropy_gradient(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The reference: autograd's gradient of the mean cross-entropy with respect to the logits."""
    z = torch.from_numpy(logits).requires_grad_()
    F.cross_entropy(z, torch.from_numpy(targets).long()).backward()
    return z.grad.numpy()


@exercise("training/2")
def cross_entropy_gradient(answer):
    """A NumPy function ``answer(logits, targets) -> grad``: the gradient of the batch's mean
    cross-entropy loss with respect to the logits.

    logits: (B, K), targets: (B,) integers in [0, K) -> grad: (B, K).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("training/2", lambda z, c: np.zeros_like(z)))
        for an input of shape (1, 3): your gradient is wrong at 3 of 3 positions, the first at index (0, 0)
    """
    expect_function(answer, logit_cases(), torch_cross_entropy_gradient, what="gradient")


def sgd_cases() -> list[tuple[np.ndarray, np.ndarray, float, float]]:
    """(theta, grads, lr, momentum): grads holds one gradient per step, (T, *theta.shape)."""
    rng = np.random.default_rng(61)
    cases = []
    for shape, steps, lr, momentum in [((3,), 1, 0.1, 0.9), ((2, 3), 5, 0.05, 0.9), ((4,), 4, 0.5, 0.0), ((2, 2, 2), 8, 0.01, 0.5)]:
        cases.append((rng.standard_normal(shape), rng.standard_normal((steps, *shape)), lr, momentum))
    return cases


def torch_sgd(theta: np.ndarray, grads: np.ndarray, lr: float, momentum: float) -> np.ndarray:
    """The reference: torch.optim.SGD, given each gradient in turn."""
    param = torch.nn.Parameter(torch.from_numpy(theta))
    optimizer = torch.optim.SGD([param], lr=lr, momentum=momentum)
    for grad in grads:
        param.grad = torch.from_numpy(grad)
        optimizer.step()
    return param.detach().numpy()


@exercise("training/3")
def sgd_with_momentum(answer):
    """A NumPy function ``answer(theta, grads, lr, momentum) -> theta``: the parameters after
    ``len(grads)`` steps of SGD with momentum in PyTorch's form (v <- momentum v + g,
    theta <- theta - lr v, v starting at 0), the t-th step using the gradient grads[t].

    theta: (*S), grads: (T, *S) -> (*S).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("training/3", lambda theta, grads, lr, mu: theta - lr * grads.sum(axis=0)))
        for an input of shape (2, 3): your function's output is wrong at 6 of 6 positions, the first at index (0, 0)
    """
    expect_function(answer, sgd_cases(), torch_sgd)
