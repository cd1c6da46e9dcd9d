"""Helpers that compare an answer with a reference and say what is wrong, for the checkers.

A checker (see cnnref.exercises.registry) computes its reference independently (torch, or a
NumPy computation written differently from the page's solution) and hands it to one of these;
each returns the answer converted (an array, a tuple, a number) when it matches and raises
``Mistake`` when it does not. A Mistake holds a message key of cnnref.exercises.messages and its
fields, and is put into words in the reader's language only when reported.

The helpers accept what a reader would reasonably give (a torch tensor for an array, a list or a
torch.Size for a shape, 15.0 for the integer 15) and refuse the rest with a message naming what
was expected, never a NumPy traceback.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Sequence

import numpy as np

from cnnref.exercises.messages import say

__all__ = ["Mistake", "expect_array", "expect_shape", "expect_integer", "expect_number", "expect_function"]


class Mistake(Exception):
    """What is wrong with an answer: a message key and its fields; ``message(lang)`` words it.

    Examples:
        >>> Mistake("too_small", what="answer").message("en")
        'your answer is too small'
    """

    def __init__(self, key: str, **fields):
        super().__init__(key)
        self.key, self.fields = key, fields

    def message(self, lang: str) -> str:
        fields = {k: v.message(lang) if isinstance(v, Mistake) else v for k, v in self.fields.items()}
        return say(self.key, lang, **fields)


def type_name(value: Any) -> str:
    """The name a reader knows the value's type by ("list", "str", "NoneType", "torch.Tensor")."""
    t = type(value)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__.split('.')[0]}.{t.__name__}"


def as_array(answer: Any, what: str = "answer") -> np.ndarray:
    """A NumPy array (or torch tensor) of numbers as a NumPy array, else a Mistake."""
    if hasattr(answer, "detach") and hasattr(answer, "numpy"):   # a torch tensor: the reader may well use torch
        answer = answer.detach().cpu().numpy()
    if not isinstance(answer, np.ndarray):
        raise Mistake("type", what=what, kind="array", got=type_name(answer))
    if answer.dtype.kind not in "iuf":
        raise Mistake("dtype", what=what, got=str(answer.dtype))
    return answer


def index_text(flat: int, shape: tuple[int, ...]) -> str:
    """(0, 1, 2) for the flat position of an array of that shape (a 1-d array: 5, not (5,))."""
    index = tuple(int(i) for i in np.unravel_index(flat, shape))
    return str(index[0]) if len(index) == 1 else str(index)


def expect_array(answer: Any, expected: np.ndarray, what: str = "answer",
                 rtol: float = 1e-6, atol: float = 1e-8) -> np.ndarray:
    """``answer`` as an array equal to ``expected`` (same shape, values within the tolerances).

    The tolerance grows with a lower-precision answer (float32, float16): 100 of its machine
    epsilons, relative, so a correct float32 computation passes.

    Examples:
        >>> expect_array(np.ones((2, 2)), np.ones((2, 2))).shape
        (2, 2)
        >>> try:
        ...     expect_array(np.eye(2), np.ones((2, 2)))
        ... except Mistake as m:
        ...     print(m.message("en"))
        your answer is wrong at 2 of 4 positions, the first at index (0, 1)
    """
    array = as_array(answer, what)
    expected = np.asarray(expected)
    if array.shape != expected.shape:
        raise Mistake("shape", what=what, got=array.shape, expected=expected.shape)
    if array.dtype.kind == "f":
        rtol = max(rtol, 100 * float(np.finfo(array.dtype).eps))
    with np.errstate(all="ignore"):
        a, e = array.astype(np.float64), expected.astype(np.float64)
        bad_finite = ~np.isfinite(a) & np.isfinite(e)
        if bad_finite.any():
            raise Mistake("not_finite", what=what, count=int(bad_finite.sum()), total=a.size,
                          first=index_text(int(np.flatnonzero(bad_finite)[0]), a.shape))
        bad = ~np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        raise Mistake("values", what=what, count=int(bad.sum()), total=a.size,
                      first=index_text(int(np.flatnonzero(bad)[0]), a.shape))
    return array


def whole_number(value: Any, what: str, kind: str = "integer") -> int:
    """An int from an int, a NumPy integer or a float with no fraction (15.0); else a Mistake."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise Mistake("type", what=what, kind=kind, got=type_name(value))
    if isinstance(value, numbers.Integral):
        return int(value)
    if not np.isfinite(value) or not float(value).is_integer():
        raise Mistake("not_whole", what=what, got=value)
    return int(value)


def expect_shape(answer: Any, expected: Sequence[int], what: str = "answer") -> tuple[int, ...]:
    """``answer`` as a tuple of integers equal to ``expected`` (a tuple, list or torch.Size).

    Examples:
        >>> expect_shape([1, 16, 8, 8], (1, 16, 8, 8))
        (1, 16, 8, 8)
        >>> try:
        ...     expect_shape((1, 16, 9, 9), (1, 16, 8, 8))
        ... except Mistake as m:
        ...     print(m.message("en"))
        your answer is wrong at position(s) 2, 3 (counting from 0)
    """
    if isinstance(answer, (str, bytes)) or not isinstance(answer, (tuple, list)) and type_name(answer) != "torch.Size":
        raise Mistake("type", what=what, kind="shape", got=type_name(answer))
    got = tuple(whole_number(v, what, kind="shape") for v in answer)
    expected = tuple(int(v) for v in expected)
    if len(got) != len(expected):
        raise Mistake("length", what=what, got=len(got), expected=len(expected))
    wrong = [str(i) for i, (g, e) in enumerate(zip(got, expected)) if g != e]
    if wrong:
        raise Mistake("entries", what=what, positions=", ".join(wrong))
    return got


def expect_integer(answer: Any, expected: int, what: str = "answer") -> int:
    """``answer`` as an int equal to ``expected``; says "too large" or "too small" otherwise.

    Examples:
        >>> expect_integer(7.0, 7)
        7
    """
    got = whole_number(answer, what)
    if got != expected:
        raise Mistake("too_large" if got > expected else "too_small", what=what)
    return got


def expect_number(answer: Any, expected: float, what: str = "answer",
                  rtol: float = 1e-6, atol: float = 1e-8) -> float:
    """``answer`` as a float within the tolerances of ``expected`` (a 0-d array is accepted).

    Examples:
        >>> expect_number(np.float32(0.25), 0.25)
        0.25
    """
    if isinstance(answer, np.ndarray) and answer.shape == () or hasattr(answer, "item") and getattr(answer, "shape", None) == ():
        answer = answer.item()
    if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, numbers.Real):
        raise Mistake("type", what=what, kind="number", got=type_name(answer))
    got = float(answer)
    if not np.isfinite(got):
        raise Mistake("not_finite", what=what, count=1, total=1, first=0)
    if not np.isclose(got, expected, rtol=rtol, atol=atol):
        raise Mistake("too_large" if got > expected else "too_small", what=what)
    return got


def describe(args: Sequence[Any]) -> tuple[str, str]:
    """How a message names one case: ("shape", "(1, 1, 4, 4)") by the shape of its first array,
    or ("args", "(5, 3, 2, 1, 0, 1)") by its arguments when none is an array."""
    shapes = [tuple(a.shape) for a in args if hasattr(a, "shape")]
    return ("shape", str(shapes[0])) if shapes else ("args", repr(tuple(args)))


def expect_function(answer: Any, cases: Sequence[tuple], reference: Callable,
                    compare: Callable = expect_array, what: str = "output") -> Callable:
    """``answer`` as a function that returns what ``reference`` returns on every case.

    Each case is a tuple of arguments; both functions get their own copies (a function that
    writes into its input spoils nothing). ``compare(got, expected, what=what)`` judges one
    output (expect_array by default; pass what="gradient" for a backward pass). A function
    that raises is reported with the error, not a traceback.

    Examples:
        >>> cases = [(np.arange(4.0),)]
        >>> expect_function(lambda x: 2 * x, cases, lambda x: x + x) is not None
        True
        >>> try:
        ...     expect_function(lambda x: x.sum(), cases, lambda x: x + x)
        ... except Mistake as m:
        ...     print(m.message("en"))
        for an input of shape (4,): your function's output should be a NumPy array, got numpy.float64
    """
    if not callable(answer):
        raise Mistake("type", what="answer", kind="function", got=type_name(answer))
    for args in cases:
        expected = reference(*[np.copy(a) if isinstance(a, np.ndarray) else a for a in args])
        by, inputs = describe(args)
        try:
            got = answer(*[np.copy(a) if isinstance(a, np.ndarray) else a for a in args])
        except Exception as error:  # the reader's code: report it, never a traceback
            raise Mistake(f"raised_{by}", what="function", inputs=inputs, error=f"{type(error).__name__}: {error}") from None
        try:
            compare(got, expected, what=what)
        except Mistake as mistake:
            raise Mistake(f"case_{by}", inputs=inputs, detail=mistake) from None
    return answer
