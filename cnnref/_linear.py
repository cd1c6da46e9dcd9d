"""The fully connected layer ``y = x A^T + b`` and its gradients. Re-exported by `cnnref.functional`."""

from __future__ import annotations

import numpy as np

from cnnref import _args
from cnnref._args import ArrayLike

__all__ = ["linear", "linear_backward"]


@_args.quiet
def linear(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None) -> np.ndarray:
    """Fully connected layer: ``y = x @ weight.T + bias``.

    Shapes: ``input: (*, in_features) -> (*, out_features)``, ``weight: (out_features, in_features)``,
    ``bias: (out_features,)``.

    Args:
        input: any number of leading dims, the last one ``in_features``.
        weight: the matrix ``A`` of ``y = x A^T + b``.
        bias: ``b``, or None.

    Returns:
        ``(*, out_features)``, ``input``'s dtype.

    Raises:
        TypeError: integer arrays or mixed dtypes.
        ValueError: weight not 2-d, or ``in_features`` not matching.

    Examples:
        >>> linear(np.array([1., 2.]), np.array([[1., 1.], [0., 3.], [1., -1.]]), np.array([0., 0., 10.]))
        array([3., 6., 9.])
    """
    func = "linear"
    x = _args.array(func, "input", input)
    w = _args.array(func, "weight", weight)
    _args.same_dtype(func, "weight", w, x)
    _args.ndim(func, "weight", w, {2: "(out_features, in_features)"})
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"{func}: input has shape {x.shape}, expected (*, in_features={w.shape[1]}) "
                         f"to match weight {w.shape}")
    compute = _args.compute_dtype(x.dtype)
    out = x.astype(compute) @ w.T.astype(compute)            # (*, out_features)
    b = _args.vector(func, "bias", bias, x, w.shape[0], "(out_features,)")
    if b is not None:
        out = out + b.astype(compute)
    return out.astype(x.dtype, copy=False)


@_args.quiet
def linear_backward(grad_output: ArrayLike, input: ArrayLike,
                    weight: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``linear(input, weight, bias)``: ``grad_input = g @ weight``,
    ``grad_weight = g^T x`` and ``grad_bias = sum g``, summed over every leading dim.

    Args:
        grad_output: ``(*, out_features)``, the gradient with respect to the output.
        input: ``(*, in_features)``, the input of the forward call.
        weight: ``(out_features, in_features)``, the weight of the forward call.

    Returns:
        ``(grad_input, grad_weight, grad_bias)`` with the shapes of input, weight and ``(out_features,)``.

    Raises:
        ValueError: ``grad_output`` not of the forward output's shape.

    Examples:
        >>> gx, gw, gb = linear_backward(np.ones((2, 3)), np.ones((2, 4)), np.ones((3, 4)))
        >>> gx, gw.shape, gb
        (array([[3., 3., 3., 3.],
               [3., 3., 3., 3.]]), (3, 4), array([2., 2., 2.]))
    """
    func = "linear_backward"
    x, w = _args.array(func, "input", input), _args.array(func, "weight", weight)
    g = _args.array(func, "grad_output", grad_output)
    _args.same_dtype(func, "weight", w, x)
    _args.same_dtype(func, "grad_output", g, x)
    _args.ndim(func, "weight", w, {2: "(out_features, in_features)"})
    if x.ndim == 0 or x.shape[-1] != w.shape[1] or g.shape != x.shape[:-1] + (w.shape[0],):
        raise ValueError(f"{func}: grad_output {g.shape}, input {x.shape} and weight {w.shape} do not fit: expected "
                         f"(*, out_features), (*, in_features) and (out_features, in_features)")
    compute = _args.compute_dtype(x.dtype)
    g2 = g.reshape(-1, w.shape[0]).astype(compute)          # (batch, out_features)
    x2 = x.reshape(-1, w.shape[1]).astype(compute)          # (batch, in_features)
    return ((g2 @ w.astype(compute)).reshape(x.shape).astype(x.dtype), (g2.T @ x2).astype(x.dtype),
            g2.sum(axis=0).astype(x.dtype))
