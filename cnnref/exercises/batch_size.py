"""Checkers for the exercises of the batch-size page (docs/batch-size.*.md, section "Exercises")."""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F

from cnnref.exercises.checks import expect_function, expect_integer, expect_number
from cnnref.exercises.registry import exercise

__all__ = ["steps_per_epoch", "minibatch_error", "softmax_weight_gradient"]


@exercise("batch-size/1")
def steps_per_epoch(answer):
    """How many updates one epoch makes over the page's 1347 training digits with batch size 32,
    keeping the last, smaller batch (``torch.utils.data.DataLoader``'s ``drop_last=False``).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("batch-size/1", 1347 // 32))
        your answer is too small
    """
    loader = torch.utils.data.DataLoader(range(1347), batch_size=32, drop_last=False)
    expect_integer(answer, len(loader))


@exercise("batch-size/2")
def minibatch_error(answer):
    """The expected squared error E[(g_B - g)²] of the mean of B = 4 of the ten per-sample
    gradients 0, 1, …, 9, drawn without replacement, around their mean g.

    The reference averages over every one of the 210 possible batches (no formula).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("batch-size/2", 8.25 / 4))
        your answer is too large
    """
    g = torch.arange(10, dtype=torch.float64)
    batches = torch.tensor(list(itertools.combinations(range(10), 4)))      # (210, 4)
    expected = ((g[batches].mean(dim=1) - g.mean()) ** 2).mean().item()
    expect_number(answer, expected)


def torch_softmax_weight_gradient(X, Y, W, b):
    """The reference: autograd's gradient of the mean cross-entropy of softmax(X @ W + b) and the
    one-hot labels Y, with respect to W."""
    Wt = torch.from_numpy(W).requires_grad_()
    logits = torch.from_numpy(X) @ Wt + torch.from_numpy(b)
    F.cross_entropy(logits, torch.from_numpy(Y).argmax(dim=1)).backward()
    return Wt.grad.numpy()


def softmax_cases() -> list[tuple[np.ndarray, ...]]:
    """(X, Y, W, b): a batch of one, a small batch, and a batch of 16 digits-sized rows (64 features,
    10 classes); non-zero weights so that the probabilities are not all equal."""
    rng = np.random.default_rng(16)
    cases = []
    for batch, features, classes in [(1, 3, 2), (5, 4, 3), (16, 64, 10)]:
        Y = np.eye(classes)[rng.integers(classes, size=batch)]
        cases.append((rng.standard_normal((batch, features)), Y,
                      rng.standard_normal((features, classes)), rng.standard_normal(classes)))
    return cases


@exercise("batch-size/3")
def softmax_weight_gradient(answer):
    """A NumPy function ``answer(X, Y, W, b) -> grad_W``: the gradient of softmax regression's mean
    cross-entropy over a mini-batch with respect to the weights.

    X: (B, D), Y: (B, K) one-hot, W: (D, K), b: (K,) -> grad_W: (D, K).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("batch-size/3", lambda X, Y, W, b: X.T @ Y))
        for an input of shape (1, 3): your gradient is wrong at 6 of 6 positions, the first at index (0, 0)
    """
    expect_function(answer, softmax_cases(), torch_softmax_weight_gradient, what="gradient")
