"""Activations (ReLU, leaky ReLU, sigmoid, tanh) with their gradients, and softmax / log-softmax.
Re-exported by `cnnref.functional`.

Each ``*_backward`` takes ``grad_output`` (d loss / d output) and what torch's autograd saves:
the output for relu, sigmoid and tanh (their derivatives are functions of the output), the
input for leaky_relu; it returns d loss / d input, of that array's shape and dtype.
"""

from __future__ import annotations

import warnings

import numpy as np

from cnnref import _args
from cnnref._args import ArrayLike, DTypeLike

__all__ = ["relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "sigmoid", "sigmoid_backward",
           "tanh", "tanh_backward", "softmax", "log_softmax"]


def _grad_and_saved(func: str, grad_output, saved, name: str):
    """``grad_output`` and the array the forward call gave or took (``name``), checked against each
    other (shape, dtype) and both in the dtype their arithmetic runs in; and that array's dtype."""
    s = _args.array(func, name, saved)
    g = _args.array(func, "grad_output", grad_output)
    _args.same_dtype(func, "grad_output", g, s, name)
    if g.shape != s.shape:
        raise ValueError(f"{func}: grad_output has shape {g.shape}, expected {name}'s shape {s.shape}")
    return (*_args.computed(g, s), s.dtype)


def relu(input: ArrayLike, inplace: bool = False) -> np.ndarray:
    """``max(0, x)`` elementwise.

    Args:
        input: any shape.
        inplace: overwrite ``input`` (which must then be an ndarray) and return it.

    Returns:
        Same shape and dtype.

    Examples:
        >>> relu(np.array([-2., 0., 3.]))
        array([0., 0., 3.])
    """
    x = _args.array("relu", "input", input)
    # torch keeps x unless x < 0: NaN stays NaN and -0.0 stays -0.0
    if inplace:
        np.copyto(x, 0, where=x < 0)
        return x
    return np.where(x < 0, x.dtype.type(0), x)


def relu_backward(grad_output: ArrayLike, output: ArrayLike) -> np.ndarray:
    """Gradient of `relu`, from its output: ``grad_output`` where ``output > 0``, else 0.

    As torch's ``threshold_backward``, only ``output <= 0`` blocks the gradient: a NaN output
    passes it on.

    Args:
        grad_output: d loss / d ``relu(input)``.
        output: ``relu(input)`` itself.

    Returns:
        d loss / d ``input``.

    Examples:
        >>> relu_backward(np.array([5., 5., 5.]), relu(np.array([-1., 2., np.nan])))
        array([0., 5., 5.])
    """
    g, out, dtype = _grad_and_saved("relu_backward", grad_output, output, "output")
    return np.where(out <= 0, 0, g).astype(dtype)


@_args.quiet
def leaky_relu(input: ArrayLike, negative_slope: float = 0.01, inplace: bool = False) -> np.ndarray:
    """``x`` where ``x > 0``, else ``negative_slope * x``.

    Args:
        input: any shape.
        negative_slope: slope for negative inputs.
        inplace: overwrite ``input`` and return it.

    Returns:
        Same shape and dtype.

    Examples:
        >>> leaky_relu(np.array([-2., 3.]), 0.1)
        array([-0.2,  3. ])
    """
    x = _args.array("leaky_relu", "input", input)
    out = np.where(x > 0, x, x * np.asarray(negative_slope, dtype=x.dtype))
    if inplace:
        x[...] = out
        return x
    return out


@_args.quiet
def leaky_relu_backward(grad_output: ArrayLike, input: ArrayLike, negative_slope: float = 0.01) -> np.ndarray:
    """Gradient of `leaky_relu`: ``grad_output`` where ``input > 0``, else ``negative_slope`` times it
    (``negative_slope`` as in the forward call).

    Examples:
        >>> leaky_relu_backward(np.array([1., 1.]), np.array([-3., 3.]), 0.1)
        array([0.1, 1. ])
    """
    g, x, dtype = _grad_and_saved("leaky_relu_backward", grad_output, input, "input")
    return np.where(x > 0, g, g * negative_slope).astype(dtype)


def sigmoid(input: ArrayLike) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))``, computed without overflow for large ``|x|``.

    Args:
        input: any shape.

    Returns:
        Values in (0, 1), same shape and dtype.

    Examples:
        >>> sigmoid(np.array([0., 1000., -1000.]))
        array([0.5, 1. , 0. ])
    """
    x = _args.array("sigmoid", "input", input)
    z = x.astype(_args.compute_dtype(x.dtype), copy=False)   # float16: computed in float32, rounded once
    e = np.exp(-np.abs(z))                                   # never overflows
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


@_args.quiet
def sigmoid_backward(grad_output: ArrayLike, output: ArrayLike) -> np.ndarray:
    """Gradient of `sigmoid`, from its output ``s``: ``grad_output * s * (1 - s)``.

    Examples:
        >>> sigmoid_backward(np.ones(2), sigmoid(np.array([0., 1000.])))
        array([0.25, 0.  ])
    """
    g, s, dtype = _grad_and_saved("sigmoid_backward", grad_output, output, "output")
    return (g * (1 - s) * s).astype(dtype)


def tanh(input: ArrayLike) -> np.ndarray:
    """Hyperbolic tangent ``(e^x - e^-x) / (e^x + e^-x) = 2*sigmoid(2x) - 1``.

    Args:
        input: any shape.

    Returns:
        Values in (-1, 1), same shape and dtype.

    Examples:
        >>> tanh(np.array([0., 1.]))
        array([0.        , 0.76159416])
    """
    return np.tanh(_args.array("tanh", "input", input))


@_args.quiet
def tanh_backward(grad_output: ArrayLike, output: ArrayLike) -> np.ndarray:
    """Gradient of `tanh`, from its output ``t``: ``grad_output * (1 - t**2)``.

    Examples:
        >>> t = tanh(np.array([0., 1000.]))          # the slope is 1 at 0, and 0 where tanh saturates
        >>> tanh_backward(np.array([2., 2.]), t)
        array([2., 0.])
    """
    g, t, dtype = _grad_and_saved("tanh_backward", grad_output, output, "output")
    return (g * (1 - t * t)).astype(dtype)


def _softmax_args(func, input, dim, dtype):
    x = _args.array(func, "input", input)
    if dtype is not None:
        x = x.astype(dtype)
    if dim is None:                                          # torch's legacy implicit choice
        dim = 0 if x.ndim in (0, 1, 3) else 1
        warnings.warn(f"Implicit dimension choice for {func} has been deprecated. Change the call to include "
                      f"dim=X as an argument.", UserWarning, stacklevel=3)
    dim = _args.integer(func, "dim", dim)
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise ValueError(f"{func}: dim {dim} is out of range for input with {x.ndim} dims")
    return x, dim if x.ndim else None


def log_softmax(input: ArrayLike, dim: int | None = None, dtype: DTypeLike | None = None) -> np.ndarray:
    """``x - log(sum(exp(x), dim))``, computed stably by subtracting the maximum first.

    Args:
        input: any shape.
        dim: the dim that sums to one after ``exp``. None picks torch's legacy default with a warning.
        dtype: cast the input to this dtype first.

    Returns:
        Same shape as ``input``.

    Examples:
        >>> log_softmax(np.array([1000., 1000.]), dim=0)
        array([-0.69314718, -0.69314718])
    """
    x, dim = _softmax_args("log_softmax", input, dim, dtype)
    z = x.astype(_args.compute_dtype(x.dtype), copy=False)
    with np.errstate(invalid="ignore", divide="ignore"):     # inf - inf is NaN, silently as in torch
        out = z - np.max(z, axis=dim, keepdims=True, initial=-np.inf)
        out -= np.log(np.sum(np.exp(out), axis=dim, keepdims=True))
        return out.astype(x.dtype, copy=False)


def softmax(input: ArrayLike, dim: int | None = None, dtype: DTypeLike | None = None) -> np.ndarray:
    """``exp(x) / sum(exp(x), dim)``: non-negative, summing to one along ``dim``.

    Args:
        input: any shape.
        dim: the dim that sums to one. None picks torch's legacy default with a warning.
        dtype: cast the input to this dtype first.

    Returns:
        Same shape as ``input``.

    Examples:
        >>> softmax(np.array([[1., 1.], [0., np.log(3.)]]), dim=1)
        array([[0.5 , 0.5 ],
               [0.25, 0.75]])
    """
    x, dim = _softmax_args("softmax", input, dim, dtype)
    z = x.astype(_args.compute_dtype(x.dtype), copy=False)   # float16: sums in float32, as torch's
    with np.errstate(invalid="ignore"):                      # inf - inf is NaN, silently as in torch
        e = np.exp(z - np.max(z, axis=dim, keepdims=True, initial=-np.inf))
        e /= np.sum(e, axis=dim, keepdims=True)
        return e.astype(x.dtype, copy=False)
