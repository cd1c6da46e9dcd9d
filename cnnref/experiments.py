"""Comparisons over several seeds, the way the site states them.

A page that says "A beats B" after training runs both over several seeds, prints the mean ± sd
of each, and names a winner only where the mean difference exceeds twice its standard error
(``compare``). The same experiment runs on the Chinese and the English page of a topic, in
one build process: ``once`` runs it on the first page and hands the second page the same result.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
from typing import Any, Callable, Iterable, Sequence

__all__ = ["Summary", "Comparison", "summarize", "compare", "once"]


@dataclasses.dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation (ddof=1), count and standard error of the mean."""

    mean: float
    sd: float
    n: int

    @property
    def se(self) -> float:
        return self.sd / math.sqrt(self.n) if self.n else math.nan

    def __format__(self, spec: str) -> str:
        """``f"{s:.1f}"`` -> ``"84.9 ± 1.2"``."""
        return f"{self.mean:{spec}} ± {self.sd:{spec}}"


def summarize(values: Iterable[float]) -> Summary:
    """Mean ± sd of one quantity over seeds.

    Examples:
        >>> s = summarize([0.80, 0.84, 0.88])
        >>> f"{s:.2f}", round(s.se, 4)
        ('0.84 ± 0.04', 0.0231)
    """
    values = [float(v) for v in values]
    n = len(values)
    if n == 0:
        raise ValueError("summarize: values is empty, expected one value per seed")
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else math.nan
    return Summary(mean, sd, n)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """A against B over the same seeds: the paired difference A − B and its verdict."""

    a: Summary
    b: Summary
    difference: Summary  # of the per-seed differences a_i − b_i

    @property
    def winner(self) -> str | None:
        """"a" or "b" when the mean difference exceeds twice its standard error, else None."""
        d = self.difference
        if d.n < 2 or not abs(d.mean) > 2 * d.se:
            return None
        return "a" if d.mean > 0 else "b"


def compare(a: Sequence[float], b: Sequence[float]) -> Comparison:
    """Compare two arms run with the same seeds (a[i] and b[i] share seed i).

    Examples:
        >>> compare([0.90, 0.91, 0.92, 0.90, 0.91], [0.80, 0.83, 0.81, 0.82, 0.80]).winner
        'a'
        >>> compare([0.90, 0.80, 0.92, 0.78, 0.91], [0.85, 0.86, 0.84, 0.85, 0.83]).winner is None
        True
    """
    if len(a) != len(b):
        raise ValueError(f"compare: a has {len(a)} values and b has {len(b)}, expected one per seed in each")
    return Comparison(summarize(a), summarize(b), summarize([x - y for x, y in zip(a, b)]))


def _code_key(code: types.CodeType) -> tuple:
    """What a function computes, without its strings: the Chinese and the English page define
    the same function with translated messages, and share one result."""
    consts = tuple(_code_key(c) if isinstance(c, types.CodeType) else c
                   for c in code.co_consts if not isinstance(c, str))
    return (code.co_code, code.co_names, code.co_varnames, consts)


def _value_key(value: Any) -> Any:
    """A global or closure value as part of the key: numbers as they are, arrays by their bytes,
    strings (translated) and everything else (modules, functions) left out."""
    if value is None or isinstance(value, (bool, int, float, complex)):
        return value
    if isinstance(value, (types.ModuleType, type)) or callable(value):
        return None  # torch itself has a .detach; a function is not data
    if isinstance(value, (tuple, range)) and all(isinstance(v, (bool, int, float)) for v in value):
        return tuple(value)  # seeds, sizes (a list is left out: the function may append to it)
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if hasattr(value, "tobytes") and hasattr(value, "dtype"):
        return (value.shape, str(value.dtype), hash(value.tobytes()))
    return None


def _key(fn: Callable, args: tuple, kwargs: dict) -> tuple:
    cells = tuple(_value_key(c.cell_contents) for c in fn.__closure__ or ())
    used = tuple((name, _value_key(fn.__globals__[name])) for name in fn.__code__.co_names if name in fn.__globals__)
    return (_code_key(fn.__code__), cells, used, repr(args), repr(sorted(kwargs.items())))


_results: dict[tuple, Any] = {}


def once(fn: Callable) -> Callable:
    """Decorator: call ``fn`` once per process for given arguments, keyed on what it computes.

    The site builds both languages in one process and the tests run both pages in one process,
    so a multi-seed experiment defined on a page costs one run, not two. The key holds the
    function's code without its strings, the numbers and arrays it reads from globals and
    closures, and its arguments: a changed experiment or changed data runs again. Both callers
    get the same object: treat it as read-only.

    Examples:
        >>> calls = []
        >>> @once
        ... def square(x):
        ...     calls.append(x)
        ...     return x * x
        >>> square(3), square(3), calls
        (9, 9, [3])
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        key = _key(fn, args, kwargs)
        if key not in _results:
            _results[key] = fn(*args, **kwargs)
        return _results[key]

    return wrapper
