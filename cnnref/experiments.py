"""Comparisons over several seeds, the way the site states them.

A page that says "A beats B" after training runs both over several seeds, prints the mean ± sd
of each, and names a winner only where the mean difference exceeds twice its standard error
(``compare``). The same experiment runs on the Chinese and the English page of a topic, in
one build process: ``once`` runs it on the first page and hands the second page the same result.
"""

from __future__ import annotations

import dataclasses
import dis
import functools
import hashlib
import math
import os
import pathlib
import pickle
import tempfile
import types
from typing import Any, Callable, Iterable, Sequence

__all__ = ["Summary", "Comparison", "summarize", "compare", "once", "CACHE_VARIABLE"]


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
    return (_instructions(code), code.co_names, code.co_varnames, consts)


# what a jump's target or a call's plumbing is: it moves with the way the code was compiled
_PLUMBING = {"CACHE", "NOP", "EXTENDED_ARG", "PRECALL", "PUSH_NULL", "RESUME"}
_JUMPS = set(dis.hasjrel) | set(dis.hasjabs)


def _instructions(code: types.CodeType) -> tuple:
    """The code's operations and their names and numbers, the same however it was compiled.

    Not ``co_code``: Python 3.11 compiles ``optim.Adam(...)`` as a method call when ``optim`` is not
    imported in the same compiled unit and as an attribute load when it is, and jump offsets move
    with that. IPython compiles a notebook cell statement by statement and the site build a page's
    block at once, so the same function had two keys and the notebooks never read the build's results.
    """
    ops = []
    for ins in dis.get_instructions(code):
        if ins.opname in _PLUMBING:
            continue
        name = "LOAD_ATTR" if ins.opname == "LOAD_METHOD" else ins.opname
        arg = None if ins.opcode in _JUMPS or isinstance(ins.argval, (str, types.CodeType)) and name == "LOAD_CONST" \
            else ins.argval
        ops.append((name, repr(arg)))
    return tuple(ops)


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
        # a digest, not hash(): the same in every process (the disk cache is shared by processes)
        return (value.shape, str(value.dtype), hashlib.sha256(value.tobytes()).hexdigest())
    return None


def _key(fn: Callable, args: tuple, kwargs: dict) -> tuple:
    cells = tuple(_value_key(c.cell_contents) for c in fn.__closure__ or ())
    used = tuple((name, _value_key(fn.__globals__[name])) for name in fn.__code__.co_names if name in fn.__globals__)
    return (_code_key(fn.__code__), cells, used, repr(args), repr(sorted(kwargs.items())))


_results: dict[tuple, Any] = {}

CACHE_VARIABLE = "CNNREF_ONCE_CACHE"


def cache_file(key: tuple) -> pathlib.Path | None:
    """Where the result for ``key`` is pickled: a file in the folder named by $CNNREF_ONCE_CACHE,
    None when the variable is not set (no disk cache)."""
    folder = os.environ.get(CACHE_VARIABLE)
    if not folder:
        return None
    return pathlib.Path(folder) / f"{hashlib.sha256(repr(key).encode()).hexdigest()}.pickle"


def load(path: pathlib.Path | None) -> tuple[bool, Any]:
    """(True, result) from the disk cache, or (False, None) when it has none that unpickles here."""
    if path is None or not path.is_file():
        return False, None
    try:
        with open(path, "rb") as f:
            return True, pickle.load(f)
    except Exception:  # written by another version, or of a class this process lacks: run again
        return False, None


def store(path: pathlib.Path | None, result: Any) -> None:
    """Pickle ``result`` to ``path`` atomically (a killed writer leaves no half file); a result
    that does not pickle stays in memory only."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = pickle.dumps(result)
    except Exception:  # e.g. a function defined on the page: only this process reuses it
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def once(fn: Callable) -> Callable:
    """Decorator: call ``fn`` once per process for given arguments, keyed on what it computes.

    The site builds both languages in one process, so a multi-seed experiment defined on a page
    costs one run, not two. The key holds the function's code without its strings, the numbers
    and arrays it reads from globals and closures, and its arguments: a changed experiment or
    changed data runs again. Both callers get the same object: treat it as read-only.

    With $CNNREF_ONCE_CACHE naming a folder, results are also pickled there and read back by
    other processes: the tests set it for the site build and for the notebooks' kernels (one
    process per page and language), so an experiment runs once per test run. The folder is the
    caller's to clear; a result computed by older code is never read, since the key changes with
    the code.

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
            path = cache_file(key)
            found, result = load(path)
            if not found:
                result = fn(*args, **kwargs)
                store(path, result)
            _results[key] = result
        return _results[key]

    return wrapper
