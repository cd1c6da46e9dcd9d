"""Numerical gradient checking: central differences in float64 against a hand-written backward.

For a scalar ``L = sum(f(x) * g)`` (``g`` a fixed random "upstream gradient"), the central
difference ``(L(x + eps*e_i) - L(x - eps*e_i)) / (2*eps)`` approximates ``dL/dx_i`` with an
error of order ``eps**2``. `gradcheck` compares that with the analytic gradient, element by
element, with torch's criterion ``|analytic - numerical| <= atol + rtol * |numerical|``.

- For a `cnnref.nn.Module`: the gradient that ``backward`` returns (with respect to the first
  input) and the ``.grad`` of every parameter, on a float64 copy of the module.
- For a function: you pass its ``backward(grad_output, *inputs)``, which returns one gradient
  per floating-point input (None to skip one).
"""

from __future__ import annotations

import copy
from typing import Callable, Sequence

import numpy as np

__all__ = ["GradcheckError", "numerical_grad", "gradcheck"]


class GradcheckError(RuntimeError):
    """An analytic gradient disagrees with the numerical one (as torch's ``GradcheckError``)."""


def _float64(x):
    x = np.asarray(x)
    return x.astype(np.float64) if np.issubdtype(x.dtype, np.floating) else x


def numerical_grad(func: Callable, inputs: Sequence, grad_output=None, eps: float = 1e-6) -> list:
    """Central-difference gradient of ``sum(func(*inputs) * grad_output)`` with respect to each input.

    Args:
        func: maps the arrays ``inputs`` to an array (or a scalar).
        inputs: the arrays; floating ones are differentiated (in float64), others are passed as is.
        grad_output: the weights ``g`` of the output's entries; ones when None.
        eps: the step.

    Returns:
        One float64 array per input (None for a non-floating input).

    >>> numerical_grad(lambda x: x ** 2, [np.array([1.0, -3.0])])
    [array([ 2., -6.])]
    """
    inputs = [_float64(x) for x in inputs]
    g = None if grad_output is None else np.asarray(grad_output, dtype=np.float64)

    def loss(arrays):
        out = np.asarray(func(*arrays), dtype=np.float64)
        return float(np.sum(out if g is None else out * g))

    grads = []
    for k, x in enumerate(inputs):
        if not np.issubdtype(x.dtype, np.floating):
            grads.append(None)
            continue
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            arrays = list(inputs)
            plus, minus = x.copy(), x.copy()
            plus[i] += eps
            minus[i] -= eps
            arrays[k] = plus
            up = loss(arrays)
            arrays[k] = minus
            grad[i] = (up - loss(arrays)) / (2 * eps)
        grads.append(grad)
    return grads


def _compare(name: str, analytic, numerical, atol: float, rtol: float) -> str | None:
    """A message if the two gradients disagree, else None."""
    if analytic is None:
        return f"{name}: no analytic gradient (None), numerical gradient has shape {numerical.shape}"
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != numerical.shape:
        return f"{name}: analytic gradient has shape {analytic.shape}, numerical {numerical.shape}"
    bad = np.abs(analytic - numerical) > atol + rtol * np.abs(numerical)
    if not bad.any():
        return None
    worst = np.unravel_index(np.argmax(np.abs(analytic - numerical)), analytic.shape)
    return (f"{name}: {int(bad.sum())} of {bad.size} entries differ; worst at {tuple(map(int, worst))}: "
            f"analytic {analytic[worst]:.8g}, numerical {numerical[worst]:.8g}")


def gradcheck(func, inputs, backward: Callable | None = None, *, grad_output=None, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True, seed: int = 0) -> bool:
    """Check a module's or a function's backward pass against central differences, in float64.

    Args:
        func: a `cnnref.nn.Module`, or a function of the arrays ``inputs``.
        inputs: an array or a tuple of arrays (for a loss module: ``(input, target)``).
        backward: for a function only: ``backward(grad_output, *inputs)`` returning one
            gradient per floating-point input (None to skip one).
        grad_output: the upstream gradient; standard normal (from ``seed``) when None.
        eps: finite-difference step.
        atol: absolute tolerance.
        rtol: relative tolerance.
        raise_exception: raise `GradcheckError` on a mismatch instead of returning False.
        seed: seed of the random ``grad_output``.

    Returns:
        True if every gradient agrees (False on a mismatch with ``raise_exception=False``).

    Raises:
        GradcheckError: a gradient disagrees; the message names it (``input``, ``weight``,
            ``0.bias``, ...) and its worst entry.
        TypeError: a function without ``backward``.

    >>> from cnnref import nn, functional as F
    >>> rng = np.random.default_rng(0)
    >>> gradcheck(nn.Conv2d(2, 3, 3, padding=1), rng.standard_normal((1, 2, 4, 4)))
    True
    >>> gradcheck(F.sigmoid, rng.standard_normal(5), lambda g, x: g * F.sigmoid(x) * (1 - F.sigmoid(x)))
    True
    """
    from cnnref.nn import Module

    inputs = tuple(_float64(x) for x in (inputs if isinstance(inputs, (tuple, list)) else (inputs,)))
    rng = np.random.default_rng(seed)
    problems = []
    if isinstance(func, Module):
        module = copy.deepcopy(func).double()
        out = np.asarray(module(*inputs))
        g = rng.standard_normal(out.shape) if grad_output is None else np.asarray(grad_output, dtype=np.float64)
        module.zero_grad()
        grad_input = module.backward(g)

        def run(*arrays):
            return module(*arrays)

        problems.append(_compare("input", grad_input, numerical_grad(run, inputs, g, eps)[0], atol, rtol))
        for name, p in module.named_parameters():
            if not p.requires_grad:
                continue
            analytic, original = p.grad, p.data

            def with_param(value, p=p):
                p.data = value
                return module(*inputs)

            numerical = numerical_grad(with_param, [original], g, eps)[0]
            p.data = original
            problems.append(_compare(name, analytic, numerical, atol, rtol))
    else:
        if backward is None:
            raise TypeError("gradcheck: a function needs backward(grad_output, *inputs); only a Module brings its own")
        out = np.asarray(func(*inputs))
        g = rng.standard_normal(out.shape) if grad_output is None else np.asarray(grad_output, dtype=np.float64)
        analytic = backward(g, *inputs)
        analytic = list(analytic) if isinstance(analytic, (tuple, list)) else [analytic]
        numerical = [n for n in numerical_grad(func, inputs, g, eps) if n is not None]
        if len(analytic) != len(numerical):
            raise TypeError(f"gradcheck: backward returned {len(analytic)} gradients, expected {len(numerical)} "
                            f"(one per floating-point input)")
        for k, (a, n) in enumerate(zip(analytic, numerical)):
            if a is not None:
                problems.append(_compare(f"inputs[{k}]", a, n, atol, rtol))
    problems = [p for p in problems if p]
    if problems and raise_exception:
        raise GradcheckError("gradcheck failed:\n  " + "\n  ".join(problems))
    return not problems
