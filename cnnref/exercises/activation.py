"""Checkers for the exercises of the activation page (docs/activation.*.md, section "Exercises")."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnref.exercises.checks import expect_function, expect_number
from cnnref.exercises.registry import exercise

__all__ = ["sigmoid_slope", "collapse_linear_layers", "leaky_relu_backward"]


@exercise("activation/1")
def sigmoid_slope(answer):
    """The derivative of the sigmoid at x = 2, as PyTorch's autograd computes it.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("activation/1", 0.25))
        your answer is too large
    """
    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    torch.sigmoid(x).backward()
    expect_number(answer, x.grad.item())


def probe_linear_layers(A1, b1, A2, b2, A3, b3) -> np.ndarray:
    """The reference: three torch.nn.Linear layers in a row, probed at 0 (gives b) and at each unit
    vector e_i (gives b + A e_i), as the matrix [A | b]: (out, in + 1)."""
    layers = []
    for A, b in [(A1, b1), (A2, b2), (A3, b3)]:
        layer = torch.nn.Linear(A.shape[1], A.shape[0]).double()
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(A))
            layer.bias.copy_(torch.from_numpy(b))
        layers.append(layer)
    net = torch.nn.Sequential(*layers)
    inputs = torch.cat([torch.zeros(1, A1.shape[1]), torch.eye(A1.shape[1])]).double()   # (in + 1, in)
    with torch.no_grad():
        out = net(inputs).numpy()                                                        # (in + 1, out)
    return np.column_stack([(out[1:] - out[0]).T, out[0]])


def linear_cases() -> list[tuple[np.ndarray, ...]]:
    """(A1, b1, A2, b2, A3, b3) for 4 -> 8 -> 8 -> 3 (the page's network), 1 -> 2 -> 2 -> 1 and 5 -> 2 -> 6 -> 5."""
    rng = np.random.default_rng(16)
    cases = []
    for widths in [(4, 8, 8, 3), (1, 2, 2, 1), (5, 2, 6, 5)]:
        case = []
        for n_in, n_out in zip(widths, widths[1:]):
            case += [rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)]
        cases.append(tuple(case))
    return cases


@exercise("activation/2")
def collapse_linear_layers(answer):
    """A NumPy function ``answer(A1, b1, A2, b2, A3, b3) -> M``: the single affine map equal to three
    linear layers with no activation between them, as the matrix M = [A | b].

    A1: (H1, D), b1: (H1,), A2: (H2, H1), b2: (H2,), A3: (K, H2), b3: (K,) -> M: (K, D + 1).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("activation/2", lambda A1, b1, A2, b2, A3, b3: np.column_stack([A3 @ A2 @ A1, b3])))
        for an input of shape (8, 4): your function's output is wrong at 3 of 15 positions, the first at index (0, 4)
    """
    expect_function(answer, linear_cases(), probe_linear_layers)


def torch_leaky_relu_backward(x: np.ndarray, grad_out: np.ndarray, negative_slope: float) -> np.ndarray:
    """The reference: autograd's gradient of sum(grad_out * leaky_relu(x)) with respect to x."""
    xt = torch.from_numpy(x).requires_grad_()
    F.leaky_relu(xt, negative_slope).backward(torch.from_numpy(grad_out))
    return xt.grad.numpy()


def leaky_relu_cases() -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(x, grad_out, negative_slope): inputs with exact zeros, several shapes and slopes."""
    rng = np.random.default_rng(16)
    cases = []
    for shape, slope in [((7,), 0.01), ((2, 3, 4, 5), 0.2), ((3, 8), 0.5)]:
        x = rng.standard_normal(shape)
        x.flat[::5] = 0.0                                     # where the derivative is a convention
        cases.append((x, rng.standard_normal(shape), slope))
    return cases


@exercise("activation/3")
def leaky_relu_backward(answer):
    """A NumPy function ``answer(x, grad_out, negative_slope) -> grad_x``: Leaky ReLU's backward pass,
    with PyTorch's convention at x = 0.

    x: any shape, grad_out: the shape of x, negative_slope: a float -> grad_x: the shape of x.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("activation/3", lambda x, g, a: np.where(x >= 0, g, a * g)))
        for an input of shape (7,): your gradient is wrong at 2 of 7 positions, the first at index 0
    """
    expect_function(answer, leaky_relu_cases(), torch_leaky_relu_backward, what="gradient")
