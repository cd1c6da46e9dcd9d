"""Argument checks and conversions shared by `cnnref.functional`, `cnnref.nn`, `cnnref.optim`
and `cnnref.shapes`.

Every check raises a ``TypeError`` or ``ValueError`` whose message starts with
the public function's name and names the argument and what was expected, so
that no IndexError or broadcast error from deep inside NumPy reaches the user.
"""

from __future__ import annotations

import functools
import operator
from typing import Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

IntOrTuple = Union[int, Sequence[int]]

__all__ = ["ArrayLike", "DTypeLike", "IntOrTuple", "Sequence"]   # the annotations of the public signatures


def quiet(func):
    """Run ``func`` without NumPy's floating-point warnings: NaN and infinities flow through an op
    silently, as they do in torch (``inf - inf`` is NaN, ``0 * inf`` is NaN, a float16 sum past
    65504 is inf)."""
    @functools.wraps(func)
    def silent(*args, **kwargs):
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            return func(*args, **kwargs)
    return silent


def to_numpy(value) -> np.ndarray:
    """A torch tensor (any device, with or without grad) or anything array-like -> a NumPy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def array(func: str, name: str, x) -> np.ndarray:
    """``x`` as a floating-point ndarray (float16/32/64); integers, bools, complex are refused."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{func}: {name} has dtype {x.dtype}, expected a floating-point array "
                        f"(float16, float32 or float64); convert it with {name}.astype(np.float32)")
    return x


def float_dtype(dtype: DTypeLike | None) -> np.dtype:
    """A layer's parameter dtype: float32 unless one is given, as torch's default dtype."""
    return np.dtype(np.float32 if dtype is None else dtype)


def compute_dtype(dtype) -> np.dtype:
    """The dtype the arithmetic of an op runs in.

    torch computes float16 ops in float32 (its "opmath" type): every sum accumulates in float32 and
    the result is rounded to float16 once, so that a long sum neither overflows nor stalls. The
    ops here do the same by computing on a float32 copy of a float16 input.
    """
    return np.dtype(np.float32) if np.dtype(dtype) == np.float16 else np.dtype(dtype)


def computed(*arrays):
    """The arrays in the dtype their arithmetic runs in (see `compute_dtype`); None stays None."""
    return [None if a is None else a.astype(compute_dtype(a.dtype), copy=False) for a in arrays]


def nonempty(func: str, name: str, x: np.ndarray, batched: bool) -> None:
    """torch's shape rule for pooling, convolution, unfold/fold and non-constant padding: the batch
    dim (the first, when ``batched``) may be 0, every other dim must not be."""
    if 0 in x.shape[int(batched):]:
        which = "every dim except the batch dim N" if batched else "every dim"
        raise ValueError(f"{func}: {name} has shape {tuple(x.shape)}, expected non-zero sizes in {which}")


def vector(func: str, name: str, value, reference: np.ndarray, length: int, what: str) -> np.ndarray | None:
    """An optional 1-d array of ``length`` entries in ``reference``'s dtype (a bias, class
    weights); ``what`` names the expected shape, as ``(C_out,)``. None stays None."""
    if value is None:
        return None
    v = array(func, name, value)
    same_dtype(func, name, v, reference)
    if v.shape != (length,):
        raise ValueError(f"{func}: {name} has shape {v.shape}, expected {what} = ({length},)")
    return v


def same_dtype(func: str, name: str, x: np.ndarray, reference: np.ndarray, ref_name: str = "input") -> None:
    """torch refuses to mix dtypes (``expected scalar type Float but found Double``); so do we."""
    if x.dtype != reference.dtype:
        raise TypeError(f"{func}: {name} has dtype {x.dtype}, expected {reference.dtype} like {ref_name}")


def ndim(func: str, name: str, x: np.ndarray, expected: dict[int, str]) -> None:
    """Refuse an array whose number of dims is not a key of ``expected`` ({ndim: shape text})."""
    if x.ndim not in expected:
        options = " or ".join(f"{n} {shape}" for n, shape in expected.items())
        raise ValueError(f"{func}: {name} has {x.ndim} dims {tuple(x.shape)}, expected {options}")


def integer(func: str, name: str, value, minimum: int | None = None) -> int:
    """``value`` as an int (anything with ``__index__``: int, np.int64, ...), at least ``minimum``
    when one is given; bools and floats are refused.

    Examples:
        >>> integer("make_cnn", "k", np.int64(2), minimum=0)
        2
    """
    bound = "" if minimum is None else f" >= {minimum}"
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{func}: {name} must be an int{bound}, got bool {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{func}: {name} must be an int{bound}, got {value!r}") from None
    if minimum is not None and value < minimum:
        raise ValueError(f"{func}: {name} must be an int{bound}, got {value}")
    return value


def ntuple(func: str, name: str, value, n: int, minimum: int | None = None, what: str = "") -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints -> a tuple of ``n`` ints, each ``>= minimum``."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            value = tuple(value) * n
        if len(value) != n:
            raise ValueError(f"{func}: {name} must be an int or a tuple of {n} ints, got {value!r}")
        out = tuple(integer(func, name, v) for v in value)
    else:
        out = (integer(func, name, value),) * n
    if minimum is not None and any(v < minimum for v in out):
        raise ValueError(f"{func}: {name} must be {what or f'>= {minimum}'}, got {value!r}")
    return out


def positive(func: str, name: str, value, n: int) -> tuple[int, ...]:
    return ntuple(func, name, value, n, 1, "positive")


def non_negative(func: str, name: str, value, n: int) -> tuple[int, ...]:
    return ntuple(func, name, value, n, 0, "non-negative")


def choice(func: str, name: str, value, options) -> None:
    if value not in options:
        raise ValueError(f"{func}: {name} must be one of {', '.join(map(repr, options))}, got {value!r}")


def reduction(func: str, size_average, reduce, reduction: str) -> str:
    """A loss's ``reduction``, from torch's legacy ``size_average`` / ``reduce`` flags when given."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = ("mean" if size_average else "sum") if reduce else "none"
    choice(func, "reduction", reduction, ("mean", "sum", "none"))
    return reduction


def output_size(func: str, size_fn, *args, **kwargs):
    """Call a `cnnref.shapes` function; its ValueError is re-raised under ``func``'s name."""
    try:
        return size_fn(*args, **kwargs)
    except ValueError as error:
        raise ValueError(f"{func}: {str(error).split(': ', 1)[-1]}") from None


def conv_padding(func: str, padding, kernel: tuple[int, ...], stride: tuple[int, ...],
                 dilation: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Padding as ``((before, after), ...)`` per spatial dim, torch's rules.

    ``"valid"`` is no padding. ``"same"`` pads ``dilation*(kernel-1)`` in total, the smaller
    half before and the larger after (torch's asymmetric choice for even kernels), and, as
    in torch, only for stride 1.
    """
    n = len(kernel)
    if isinstance(padding, str):
        choice(func, "padding", padding, ("same", "valid"))
        if padding == "valid":
            return ((0, 0),) * n
        if any(s != 1 for s in stride):
            shown = stride[0] if len(stride) == 1 else stride
            raise ValueError(f"{func}: padding='same' is not supported for strided convolutions (stride={shown})")
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in total)
    return tuple((p, p) for p in non_negative(func, "padding", padding, n))


def kernel_fits(func: str, size: tuple[int, ...], pads, kernel: tuple[int, ...], dilation: tuple[int, ...],
                name: str = "weight") -> None:
    """Refuse a (dilated) kernel larger than the padded input, naming both shapes."""
    padded = tuple(s + a + b for s, (a, b) in zip(size, pads))
    effective = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(e > p for e, p in zip(effective, padded)):
        raise ValueError(f"{func}: {name} kernel {kernel} (dilated to {effective}) is larger than the padded "
                         f"input {padded} (input {size} plus padding); expected kernel <= padded input "
                         f"in every spatial dim")
