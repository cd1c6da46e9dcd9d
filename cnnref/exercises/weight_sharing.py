"""Checkers for the exercises of the weight-sharing page (docs/weight-sharing.*.md)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnref.exercises.checks import expect_function, expect_integer
from cnnref.exercises.registry import exercise

__all__ = ["unshared_weights", "conv1d_connections", "conv1d_matrix"]


@exercise("weight-sharing/1")
def unshared_weights(answer):
    """The weights (biases left out) ``torch.nn.Conv2d(3, 64, 7, stride=2, padding=3)`` would need on a
    (1, 3, 224, 224) input if every output neuron had weights of its own (locally connected, no sharing).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("weight-sharing/1", 64 * 3 * 7 * 7))
        your answer is too small
    """
    conv = torch.nn.Conv2d(3, 64, 7, stride=2, padding=3)
    with torch.no_grad():
        neurons = conv(torch.zeros(1, 3, 224, 224)).numel()
    expect_integer(answer, neurons * conv.weight[0].numel())   # each neuron sees one filter's worth of inputs


@exercise("weight-sharing/2")
def conv1d_connections(answer):
    """The number of nonzero entries of the matrix of ``torch.nn.Conv1d(2, 3, 3, padding=1)`` on an
    input of length 8 (the connections between its 16 inputs and 24 outputs; padding connects nothing).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("weight-sharing/2", 2 * 3 * 3 * 8))
        your answer is too large
    """
    torch.manual_seed(0)
    conv = torch.nn.Conv1d(2, 3, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.rand_like(conv.weight) + 0.5)      # no weight is 0, so every connection shows
    jacobian = torch.autograd.functional.jacobian(conv, torch.zeros(1, 2, 8))   # (1, 3, 8, 1, 2, 8)
    expect_integer(answer, int(torch.count_nonzero(jacobian)))


def matrix_cases() -> list[tuple[tuple[int, ...], int, int]]:
    """(w, length, stride): kernels of distinct nonzero values, so each entry of the matrix is
    unambiguous (a flipped kernel fails). The kernel is a tuple, so a message names the case by
    its arguments, "for the arguments ((2, 1, 3), 5, 1)"."""
    rng = np.random.default_rng(16)
    return [(tuple(int(v) for v in rng.permutation(k) + 1), length, stride)
            for k, length, stride in [(3, 5, 1), (2, 7, 2), (5, 12, 3), (1, 4, 1), (4, 4, 1)]]


def torch_conv1d_matrix(w: tuple[int, ...], length: int, stride: int) -> np.ndarray:
    """The reference: the Jacobian of torch's conv1d with respect to its input, which is its matrix."""
    kernel = torch.tensor(w, dtype=torch.float64)[None, None]

    def conv(x):
        return F.conv1d(x[None, None], kernel, stride=stride)[0, 0]

    return torch.autograd.functional.jacobian(conv, torch.zeros(length, dtype=kernel.dtype)).numpy()


@exercise("weight-sharing/3")
def conv1d_matrix(answer):
    """A NumPy function ``answer(w, length, stride) -> M``: the matrix of a one-channel conv1d (no
    padding), so that ``M @ x`` equals ``conv1d(x, w, stride)`` for every x of that length.

    w: a tuple of k numbers, length L -> M: ((L - k) // stride + 1, L), a NumPy array.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("weight-sharing/3", lambda w, n, s: np.zeros(((n - len(w)) // s + 1, n))))
        for the arguments ((2, 1, 3), 5, 1): your function's output is wrong at 9 of 15 positions, the first at index (0, 0)
    """
    expect_function(answer, matrix_cases(), torch_conv1d_matrix)
