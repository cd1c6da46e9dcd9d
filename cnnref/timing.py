"""Timing a call the way the Performance page and ``benchmarks/`` report it.

- [`measure`][cnnref.timing.measure] runs a call ``repeat`` times (after a warm-up) and keeps
  every run's time per call, so a result is a median with its spread, not one lucky number.
- [`compare`][cnnref.timing.compare] times two calls (ours and a reference) in alternating runs,
  so a change in the machine's load during the measurement hits both sides alike.
- [`threads`][cnnref.timing.threads] runs a block with the same number of threads for NumPy's BLAS
  and for torch, and restores both counts afterwards.
- [`machine`][cnnref.timing.machine] names what was measured on: the CPU, its cores, NumPy's
  BLAS and torch.

``timeit`` from the standard library times one statement at a time, with its setup outside
every run rather than before every call; alternating two calls, an untimed setup per call and
the thread control are what this module adds, so it is written here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import platform
import statistics
import time
from typing import Any, Callable, Iterator

from cnnref._args import integer

__all__ = ["MIN_RUN", "Timing", "Pair", "measure", "compare", "threads", "Machine", "machine", "significant",
           "format_range"]

MIN_RUN = 2e-3
"""Seconds a timed run lasts at least when ``number=None``: long against the clock's resolution
and a thread's wake-up, short enough for seven runs of many cases in a page build."""


def significant(x: float, digits: int = 3) -> str:
    """``x`` with ``digits`` significant digits and no exponent: a small ratio never prints as 0.0.

    Examples:
        >>> significant(0.012345), significant(6.7), significant(123.4), significant(54321.0)
        ('0.0123', '6.70', '123', '54321')
    """
    if not math.isfinite(x) or x == 0:
        return str(x)
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return f"{x:.{decimals}f}"


def format_range(center: float, low: float, high: float, digits: int = 3) -> str:
    """``"center (low–high)"``, each with ``digits`` significant digits.

    Examples:
        >>> format_range(3.0512, 1.234, 7.07)
        '3.05 (1.23–7.07)'
    """
    return f"{significant(center, digits)} ({significant(low, digits)}–{significant(high, digits)})"


@dataclasses.dataclass(frozen=True)
class Timing:
    """Seconds per call of each timed run.

    Attributes:
        times: one entry per run, in the order the runs happened.
        number: calls per run (each entry is its run's time divided by it).

    Examples:
        >>> t = Timing((0.003, 0.001, 0.002))
        >>> t.median, t.min, t.max
        (0.002, 0.001, 0.003)
        >>> f"{t:ms}"                       # median (fastest–slowest), in milliseconds
        '2.00 (1.00–3.00)'
    """

    times: tuple[float, ...]
    number: int = 1

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def min(self) -> float:
        return min(self.times)

    @property
    def max(self) -> float:
        return max(self.times)

    def __format__(self, unit: str) -> str:
        """``f"{t:ms}"`` (or ``s``, ``us``; default ``ms``): the median and, in brackets, the
        fastest and the slowest run, in that unit (a table's header names it)."""
        scales = {"s": 1.0, "ms": 1e3, "us": 1e6, "": 1e3}
        if unit not in scales:
            raise ValueError(f"Timing: format unit must be one of s, ms, us, got {unit!r}")
        scale = scales[unit]
        return format_range(self.median * scale, self.min * scale, self.max * scale)


@dataclasses.dataclass(frozen=True)
class Pair:
    """Ours against a reference, timed in alternating runs (run i of each side is round i).

    Examples:
        >>> p = Pair(Timing((0.004, 0.006, 0.005)), Timing((0.002, 0.002, 0.001)))
        >>> p.ratio, p.ratio_range
        (2.5, (2.0, 5.0))
    """

    ours: Timing
    theirs: Timing

    @property
    def ratio(self) -> float:
        """Median time of ours / median time of theirs (above 1: ours is slower)."""
        return self.ours.median / self.theirs.median

    @property
    def ratio_range(self) -> tuple[float, float]:
        """The smallest and largest ratio of one round, ours_i / theirs_i."""
        ratios = [a / b for a, b in zip(self.ours.times, self.theirs.times)]
        return min(ratios), max(ratios)




def _check_callable(func: str, name: str, value: Any, optional: bool = False) -> None:
    if not (callable(value) or optional and value is None):
        raise TypeError(f"{func}: {name} must be callable{' or None' if optional else ''}, got {value!r}")


def _run(fn: Callable, setup: Callable | None, number: int, clock: Callable[[], float]) -> float:
    """Seconds per call of one run of ``number`` calls; only ``fn`` is timed, never ``setup``."""
    if setup is None:
        start = clock()
        for _ in range(number):
            fn()
        return (clock() - start) / number
    total = 0.0
    for _ in range(number):
        arg = setup()
        start = clock()
        fn(arg)
        total += clock() - start
    return total / number


def measure(fn: Callable, repeat: int = 7, number: int | None = 1, warmup: int = 1,
            setup: Callable | None = None, min_run: float = MIN_RUN,
            clock: Callable[[], float] = time.perf_counter) -> Timing:
    """Time ``fn``: ``warmup`` untimed calls, then ``repeat`` runs of ``number`` calls each.

    Use ``number > 1`` for a call too short to time alone (microseconds): a run should last
    a few milliseconds; ``number=None`` tries runs of 1, 2, 5, 10, 20, ... calls after the
    warm-up and keeps the first that lasts ``min_run`` seconds. With ``setup``, every call is
    ``fn(setup())`` and only ``fn`` is timed (e.g. ``setup`` runs a forward pass and ``fn``
    its backward).

    Args:
        fn: the call to time, ``fn()`` (or ``fn(setup())``).
        repeat: timed runs; the result holds one time per run.
        number: calls per run; each run's time is divided by it. None: enough calls for a
            run of at least ``min_run`` seconds.
        warmup: untimed calls first (allocations, thread pools, caches).
        setup: untimed preparation for each call, or None.
        min_run: seconds a run should last when ``number`` is None.
        clock: the timer, seconds as a float (``time.perf_counter``).

    Returns:
        A [`Timing`][cnnref.timing.Timing] with ``repeat`` times, in seconds per call.

    Raises:
        ValueError: ``repeat`` or ``number`` below 1, ``warmup`` below 0, or ``min_run`` not positive.
        TypeError: ``fn``, ``setup`` or ``clock`` is not callable.

    Examples:
        >>> t = measure(lambda: sum(range(1000)), repeat=7, number=10)
        >>> len(t.times), t.min <= t.median <= t.max
        (7, True)
        >>> measure(print, repeat=0)
        Traceback (most recent call last):
        ...
        ValueError: measure: repeat must be an int >= 1, got 0
    """
    return _timed_runs("measure", [(fn, setup)], repeat, number, warmup, min_run, clock)[0]


def compare(ours: Callable, theirs: Callable, repeat: int = 7, number: int | None = 1, warmup: int = 1,
            setup_ours: Callable | None = None, setup_theirs: Callable | None = None, min_run: float = MIN_RUN,
            clock: Callable[[], float] = time.perf_counter) -> Pair:
    """Time ``ours`` and ``theirs`` in alternating runs: ours, theirs, ours, theirs, ...

    Same arguments as [`measure`][cnnref.timing.measure], for each side. Alternating keeps a
    burst of load from another process from falling on one side only. Both sides make the
    same ``number`` of calls per run (with ``None``, enough for the faster side's run to last
    ``min_run``).

    Returns:
        A [`Pair`][cnnref.timing.Pair]: ``.ratio`` is median ours / median theirs.

    Examples:
        >>> p = compare(lambda: sorted(range(2000)), lambda: list(range(2000)), repeat=7, number=20)
        >>> len(p.ours.times), len(p.theirs.times), p.ratio > 0
        (7, 7, True)
    """
    ours_t, theirs_t = _timed_runs("compare", [(ours, setup_ours), (theirs, setup_theirs)],
                                   repeat, number, warmup, min_run, clock)
    return Pair(ours_t, theirs_t)


def _calls_for(fn: Callable, setup: Callable | None, min_run: float, clock: Callable[[], float]) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... calls whose run lasts at least ``min_run`` (as
    ``timeit``'s autorange): one slow call does not decide it alone."""
    number = 1
    while True:
        for step in (1, 2, 5):
            n = number * step
            if _run(fn, setup, n, clock) * n >= min_run:
                return n
        number *= 10


def _timed_runs(func, calls, repeat, number, warmup, min_run, clock) -> list[Timing]:
    repeat = integer(func, "repeat", repeat, 1)
    number = None if number is None else integer(func, "number", number, 1)
    warmup = integer(func, "warmup", warmup, 0)
    if not (isinstance(min_run, (int, float)) and not isinstance(min_run, bool) and min_run > 0):
        raise ValueError(f"{func}: min_run must be a positive number of seconds, got {min_run!r}")
    for i, (fn, setup) in enumerate(calls):
        names = ("fn", "setup") if len(calls) == 1 else (("ours", "setup_ours"), ("theirs", "setup_theirs"))[i]
        _check_callable(func, names[0], fn)
        _check_callable(func, names[1], setup, optional=True)
    _check_callable(func, "clock", clock)
    for fn, setup in calls:
        for _ in range(warmup):
            fn() if setup is None else fn(setup())
    if number is None:  # enough calls for a run of min_run seconds, on each side: the most of them
        number = max(_calls_for(fn, setup, min_run, clock) for fn, setup in calls)
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(repeat):
        for i, (fn, setup) in enumerate(calls):
            times[i].append(_run(fn, setup, number, clock))
    return [Timing(tuple(t), number) for t in times]


@contextlib.contextmanager
def threads(n: int) -> Iterator[int]:
    """Run the block with ``n`` threads in NumPy's BLAS (via threadpoolctl) and in torch.

    Both counts are put back afterwards, also when the block raises.

    Args:
        n: threads for both sides, at least 1.

    Raises:
        ValueError: ``n`` below 1.

    Examples:
        >>> import torch
        >>> before = torch.get_num_threads()
        >>> with threads(1):
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
    import torch
    from threadpoolctl import threadpool_limits

    n = integer("threads", "n", n, 1)
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n, user_api="blas"):
            yield n
    finally:
        torch.set_num_threads(previous)


@dataclasses.dataclass(frozen=True)
class Machine:
    """What a measurement ran on; ``str()`` gives one line per item."""

    cpu: str
    cores: int
    numpy: str
    blas: str
    torch: str

    def __str__(self) -> str:
        return (f"CPU: {self.cpu}, {self.cores} logical cores\n"
                f"NumPy {self.numpy}, BLAS: {self.blas}\n"
                f"torch {self.torch}")


def _cpu_model() -> str:
    """The CPU's name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf8") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware")) and ":" in line:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _numpy_blas() -> str:
    """NumPy's BLAS library, version and CPU kernel, as threadpoolctl sees it."""
    import numpy
    from threadpoolctl import threadpool_info

    pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    # numpy's wheel keeps its BLAS inside its own folders (numpy.libs, numpy/.dylibs)
    mine = [pool for pool in pools if "numpy" in os.path.basename(os.path.dirname(pool.get("filepath", "")))]
    pool = (mine or pools or [None])[0]
    if pool is None:
        return f"none found by threadpoolctl (numpy {numpy.__version__})"
    kernel = f", kernel {pool['architecture']}" if pool.get("architecture") else ""
    return f"{pool['internal_api']} {pool.get('version') or ''}{kernel}".replace(" ,", ",")


def machine() -> Machine:
    """Describe this machine: CPU model and logical cores, NumPy and its BLAS, torch.

    Examples:
        >>> m = machine()
        >>> m.cores >= 1 and "BLAS" in str(m)
        True
    """
    import numpy
    import torch

    # torch's CPU convolutions run in oneDNN and its matrix products in MKL when it was built with them
    libraries = [name for name, backend in (("oneDNN", torch.backends.mkldnn), ("MKL", torch.backends.mkl))
                 if backend.is_available()]
    return Machine(cpu=_cpu_model(), cores=os.cpu_count() or 1, numpy=numpy.__version__, blas=_numpy_blas(),
                   torch=f"{torch.__version__} ({', '.join(libraries) or 'no oneDNN, no MKL'})")
