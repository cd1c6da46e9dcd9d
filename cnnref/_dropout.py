"""Dropout in NumPy: `dropout`, `dropout2d` and their gradient `dropout_backward` (re-exported by
`cnnref.functional`), and the layers `Dropout`, `Dropout2d` (re-exported by `cnnref.nn`).

In training mode each element (`dropout`) or each whole channel (`dropout2d`) is kept with
probability ``1 - p`` and the kept ones are scaled by ``1 / (1 - p)``, so that the expected
output equals the input and evaluation mode can be the identity. The random mask comes from a
NumPy generator (the one `cnnref.nn.manual_seed` resets), not torch's: pass ``mask`` to reproduce a given draw (torch's mask of a call is
``torch_output != 0`` for a nonzero input).
"""

from __future__ import annotations

import warnings

import numpy as np

from cnnref import _args
from cnnref._args import ArrayLike
from cnnref._module import Module, generator as default_generator

__all__ = ["dropout", "dropout2d", "dropout_backward", "Dropout", "Dropout2d"]

def _probability(func: str, p) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:                      # NaN fails too
        raise ValueError(f"{func}: dropout probability p has to be between 0 and 1, but got {p}")
    return p


def _mask(func, x, p, mask, generator, shape):
    """The keep mask (1 kept, 0 dropped) of ``shape``: ``mask`` checked, or drawn with keep rate ``1 - p``."""
    if mask is None:
        rng = default_generator() if generator is None else generator
        return (rng.random(shape) >= p).astype(x.dtype)
    m = np.asarray(mask)
    if m.shape != shape:
        raise ValueError(f"{func}: mask has shape {m.shape}, expected {shape} for input {tuple(x.shape)}")
    if not np.isin(m, (0, 1)).all():
        raise ValueError(f"{func}: mask must hold only 0 (dropped) and 1 (kept)")
    return m.astype(x.dtype)


@_args.quiet
def _apply(x, m, p, inplace):
    if p == 1.0:                                 # nothing kept: torch returns input * 0 (NaN stays NaN)
        out = x * np.zeros((), x.dtype)
    else:
        xc, = _args.computed(x)
        out = (xc * (m.astype(xc.dtype) * (1 / (1 - p)))).astype(x.dtype)
    if inplace:
        x[...] = out
        return x
    return out


def dropout(input: ArrayLike, p: float = 0.5, training: bool = True, inplace: bool = False, *,
            mask: ArrayLike | None = None, generator: np.random.Generator | None = None) -> np.ndarray:
    """Dropout, as ``torch.nn.functional.dropout``: zero each element with probability ``p``,
    scale the others by ``1 / (1 - p)``; the identity when ``training`` is False.

    Shapes: ``input: (*) -> (*)``, ``mask: (*)`` of 0 and 1.

    Args:
        input: any floating-point array.
        p: probability of dropping an element, in [0, 1].
        training: drop; False returns the input unchanged.
        inplace: write the result into ``input``.
        mask: the keep mask to use (1 kept, 0 dropped) instead of a random draw.
        generator: NumPy generator to draw the mask from (when None, the one `cnnref.nn.manual_seed` resets).

    Returns:
        The output, the input's dtype.

    Raises:
        ValueError: ``p`` outside [0, 1], or a mask of the wrong shape or values.

    Examples:
        >>> dropout(np.array([1.0, 2.0, 3.0, 4.0]), 0.5, mask=np.array([1, 0, 0, 1]))
        array([2., 0., 0., 8.])
        >>> dropout(np.array([1.0, 2.0]), 0.5, training=False)
        array([1., 2.])
    """
    func = "dropout"
    p = _probability(func, p)
    x = _args.array(func, "input", input)
    if not training:
        return x
    return _apply(x, _mask(func, x, p, mask, generator, x.shape), p, inplace)


def dropout2d(input: ArrayLike, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              mask: ArrayLike | None = None, generator: np.random.Generator | None = None) -> np.ndarray:
    """Channel dropout, as ``torch.nn.functional.dropout2d``: zero whole channels with probability
    ``p`` (neighbouring pixels are correlated, so dropping single pixels regularises little).

    Shapes: ``input: (N, C, H, W) -> (N, C, H, W)``, ``mask: (N, C, 1, 1)``. As in torch, a 3-d
    input is read as ``(N, C, L)`` (with a warning), mask ``(N, C, 1)``.

    Args:
        input: the feature maps.
        p: probability of dropping a channel, in [0, 1].
        training: drop; False returns the input unchanged.
        inplace: write the result into ``input``.
        mask: the keep mask, ``(N, C, 1, 1)`` of 0 and 1.
        generator: NumPy generator to draw the mask from.

    Returns:
        The output, the input's dtype.

    Raises:
        ValueError: ``p`` outside [0, 1], an input that is not 3-d or 4-d, or a bad mask.

    Examples:
        >>> x = np.ones((1, 2, 2, 2))
        >>> dropout2d(x, 0.5, mask=np.array([[[[0]], [[1]]]]))[0]
        array([[[0., 0.],
                [0., 0.]],
        <BLANKLINE>
               [[2., 2.],
                [2., 2.]]])
    """
    func = "dropout2d"
    p = _probability(func, p)
    x = _args.array(func, "input", input)
    _args.ndim(func, "input", x, {3: "(N, C, L)", 4: "(N, C, H, W)"})
    if x.ndim == 3:
        warnings.warn("dropout2d: received a 3-d input; as torch does, it is read as (N, C, L) and whole "
                      "channels of length L are dropped", UserWarning, stacklevel=2)
    if not training:
        return x
    return _apply(x, _mask(func, x, p, mask, generator, x.shape[:2] + (1,) * (x.ndim - 2)), p, inplace)


@_args.quiet
def dropout_backward(grad_output: ArrayLike, mask: ArrayLike, p: float = 0.5) -> np.ndarray:
    """Gradient of `dropout` / `dropout2d` in training mode: ``grad_output * mask / (1 - p)``
    (the mask broadcast over the channel's positions for `dropout2d`). In evaluation mode the
    gradient is ``grad_output`` itself.

    Args:
        grad_output: the gradient with respect to the output.
        mask: the keep mask of the forward call (broadcastable to ``grad_output``).
        p: the forward call's ``p``.

    Returns:
        ``grad_input``, ``grad_output``'s shape and dtype.

    Examples:
        >>> dropout_backward(np.ones(4), np.array([1, 0, 0, 1]), 0.75)
        array([4., 0., 0., 4.])
    """
    func = "dropout_backward"
    p = _probability(func, p)
    g = _args.array(func, "grad_output", grad_output)
    m = np.asarray(mask)
    try:
        np.broadcast_shapes(m.shape, g.shape)
    except ValueError:
        raise ValueError(f"{func}: mask has shape {m.shape}, expected one that broadcasts to grad_output "
                         f"{g.shape}") from None
    return _apply(g, np.broadcast_to(m, g.shape), p, False)


class _Dropout(Module):
    function = None
    _mask_shape = None

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = _probability(type(self).__name__, p)
        self.inplace = inplace

    def forward(self, input: ArrayLike, mask: ArrayLike | None = None):
        """Drop with a fresh random mask, or with ``mask`` (1 kept, 0 dropped) when given."""
        x = _args.array(type(self).__name__, "input", input)
        if not self.training:
            self._mask = None
            return x
        shape = self._mask_shape(x)
        self._mask = _mask(type(self).__name__, x, self.p, mask, None, shape)
        return self.function(x, self.p, True, self.inplace, mask=self._mask)

    def backward(self, grad_output: ArrayLike):
        if "_mask" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}.backward: call forward first (nothing saved for backward)")
        if self._mask is None:                   # evaluation mode: the identity
            return np.asarray(grad_output)
        return dropout_backward(grad_output, self._mask, self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_Dropout):
    """Dropout layer, as ``torch.nn.Dropout``: in training mode zero each element with
    probability ``p`` and scale the rest by ``1 / (1 - p)``; in evaluation mode the identity.

    Shapes: ``input: (*) -> (*)``. ``forward(x, mask=None)`` draws the mask from the
    generator that `cnnref.nn.manual_seed` resets, or uses ``mask``.

    Args:
        p: probability of dropping, in [0, 1].
        inplace: write into the input.

    Examples:
        >>> d = Dropout(0.5)
        >>> d(np.ones(4), mask=np.array([1, 0, 1, 1])), d.backward(np.ones(4))
        (array([2., 0., 2., 2.]), array([2., 0., 2., 2.]))
        >>> d.eval()(np.ones(2))
        array([1., 1.])
    """

    function = staticmethod(dropout)
    _mask_shape = staticmethod(lambda x: x.shape)


class Dropout2d(_Dropout):
    """Channel dropout layer, as ``torch.nn.Dropout2d``: zero whole channels with probability
    ``p`` in training mode (see `cnnref.functional.dropout2d`); the identity in evaluation mode.

    Shapes: ``input: (N, C, H, W) -> (N, C, H, W)``, ``mask: (N, C, 1, 1)``.

    Args:
        p: probability of dropping a channel, in [0, 1].
        inplace: write into the input.

    Examples:
        >>> Dropout2d(0.5)(np.ones((1, 2, 1, 2)), mask=np.array([[[[1]], [[0]]]]))
        array([[[[2., 2.]],
        <BLANKLINE>
                [[0., 0.]]]])
    """

    function = staticmethod(dropout2d)

    @staticmethod
    def _mask_shape(x):
        _args.ndim("Dropout2d", "input", x, {3: "(N, C, L)", 4: "(N, C, H, W)"})
        return x.shape[:2] + (1,) * (x.ndim - 2)
