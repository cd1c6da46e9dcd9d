"""cnnref.timing: what it computes from the clock, the order it calls things in, and the thread
counts it sets and restores. No test asserts how long anything takes."""

import math
import statistics

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from threadpoolctl import threadpool_info

from cnnref import timing


class FakeClock:
    """A clock that advances by the given durations, one per pair of readings (start, stop),
    and logs every event, so a test knows exactly what each run measured."""

    def __init__(self, durations, log):
        self.durations = iter(durations)
        self.now = 0.0
        self.started = False
        self.log = log

    def __call__(self):
        if self.started:
            self.now += next(self.durations)
        self.started = not self.started
        self.log.append("clock")
        return self.now


def blas_threads():
    return sorted({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})


def test_median_and_spread_of_known_timings():
    durations = [0.005, 0.001, 0.009, 0.002, 0.004, 0.003, 0.008]
    log = []
    t = timing.measure(lambda: log.append("call"), repeat=7, warmup=0, clock=FakeClock(durations, log))
    assert t.times == pytest.approx(durations)
    assert t.median == pytest.approx(statistics.median(durations)) and t.median == pytest.approx(0.004)
    assert (t.min, t.max) == pytest.approx((0.001, 0.009))
    assert f"{t:ms}" == "4.00 (1.00–9.00)" and f"{t:us}" == "4000 (1000–9000)"


def test_number_divides_each_run_and_warmup_is_not_timed():
    log = []
    t = timing.measure(lambda: log.append("call"), repeat=3, number=4, warmup=2,
                       clock=FakeClock([0.04, 0.08, 0.02], log))
    assert t.times == pytest.approx((0.01, 0.02, 0.005)) and t.number == 4
    # two warm-up calls before the first clock reading, then 4 calls inside each pair of readings
    assert log == ["call"] * 2 + (["clock"] + ["call"] * 4 + ["clock"]) * 3


def test_setup_runs_outside_the_clock_and_feeds_fn():
    log = []
    seen = []
    t = timing.measure(seen.append, repeat=2, number=2, warmup=0, setup=lambda: log.append("setup") or len(log),
                       clock=FakeClock([1.0, 3.0, 5.0, 7.0], log))
    assert t.times == (2.0, 6.0)                      # (1 + 3) / 2, (5 + 7) / 2
    assert log[:3] == ["setup", "clock", "clock"]      # setup, then the timed call between two readings
    assert seen == [1, 4, 7, 10]                       # fn got what setup returned each time


def test_compare_alternates_the_two_sides_and_reports_ratios():
    log = []
    durations = [0.006, 0.002, 0.004, 0.002, 0.010, 0.001]
    pair = timing.compare(lambda: log.append("ours"), lambda: log.append("theirs"), repeat=3, warmup=1,
                          clock=FakeClock(durations, log))
    calls = [e for e in log if e != "clock"]
    assert calls == ["ours", "theirs"] * 4              # one warm-up each, then three alternating rounds
    assert pair.ours.times == pytest.approx((0.006, 0.004, 0.010))
    assert pair.theirs.times == pytest.approx((0.002, 0.002, 0.001))
    assert pair.ratio == pytest.approx(0.006 / 0.002)
    assert pair.ratio_range == pytest.approx((2.0, 10.0))


def test_number_none_makes_runs_last_min_run():
    log = []
    # after the untimed warm-up, runs of 1, 2 and 5 calls last 0.4, 0.8 and 2 ms: 5 calls make 2 ms
    t = timing.measure(lambda: log.append("call"), repeat=2, number=None, warmup=1, min_run=0.002,
                       clock=FakeClock([0.0004, 0.0008, 0.002, 0.002, 0.003], log))
    assert t.number == 5 and t.times == pytest.approx((0.0004, 0.0006))
    assert log[:4] == ["call", "clock", "call", "clock"]
    assert log.count("call") == 1 + (1 + 2 + 5) + 2 * 5
    # a call slower than min_run: one call per run, decided by a single call
    log.clear()
    t = timing.measure(lambda: log.append("call"), repeat=1, number=None, warmup=0, min_run=0.002,
                       clock=FakeClock([0.003, 0.003], log))
    assert t.number == 1 and log.count("call") == 2
    # compare: each side is sized, and both make the calls the faster side needs (10 here)
    pair = timing.compare(lambda: None, lambda: None, repeat=1, number=None, warmup=0, min_run=0.002,
                          clock=FakeClock([0.003] + [0.0002, 0.0004, 0.001, 0.002] + [0.03, 0.002], []))
    assert pair.ours.number == pair.theirs.number == 10
    assert pair.ours.times == pytest.approx((0.003,)) and pair.theirs.times == pytest.approx((0.0002,))


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(repeat=0), ValueError, "measure: repeat must be an int >= 1, got 0"),
    (dict(repeat=-3), ValueError, "measure: repeat must be an int >= 1, got -3"),
    (dict(repeat=2.5), TypeError, "measure: repeat must be an int >= 1, got 2.5"),
    (dict(repeat=True), TypeError, "measure: repeat must be an int >= 1, got bool True"),
    (dict(number=0), ValueError, "measure: number must be an int >= 1, got 0"),
    (dict(warmup=-1), ValueError, "measure: warmup must be an int >= 0, got -1"),
    (dict(min_run=0), ValueError, "measure: min_run must be a positive number of seconds, got 0"),
    (dict(setup=3), TypeError, "measure: setup must be callable or None, got 3"),
])
def test_measure_refuses_bad_arguments(kwargs, error, message):
    calls = []
    with pytest.raises(error, match=f"^{message.replace('(', r'[(]').replace(')', r'[)]')}$"):
        timing.measure(lambda *a: calls.append(a), **kwargs)
    assert calls == []                                  # nothing ran before the check


def test_compare_names_the_side_that_is_not_callable():
    with pytest.raises(TypeError, match="compare: theirs must be callable, got 'torch'"):
        timing.compare(lambda: None, "torch")


def test_threads_sets_both_sides_and_restores_them():
    torch_before, blas_before = torch.get_num_threads(), blas_threads()
    target = 1 if torch_before != 1 or blas_before != [1] else 2
    with timing.threads(target) as n:
        assert n == target
        assert torch.get_num_threads() == target
        assert blas_threads() == [target]
        np.ones((64, 64)) @ np.ones((64, 64))           # BLAS runs inside the block
    assert torch.get_num_threads() == torch_before
    assert blas_threads() == blas_before


def test_threads_restores_after_an_error_and_refuses_zero():
    torch_before, blas_before = torch.get_num_threads(), blas_threads()
    with pytest.raises(RuntimeError, match="inside"):
        with timing.threads(1):
            raise RuntimeError("inside")
    assert (torch.get_num_threads(), blas_threads()) == (torch_before, blas_before)
    with pytest.raises(ValueError, match="threads: n must be an int >= 1, got 0"):
        with timing.threads(0):
            pass
    assert torch.get_num_threads() == torch_before


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-9, 1e9, allow_nan=False), st.integers(1, 6), st.booleans())
def test_significant_keeps_the_digits_asked_for_and_never_an_exponent(x, digits, negative):
    x = -x if negative else x
    text = timing.significant(x, digits)
    assert "e" not in text.lower()
    assert float(text) != 0
    # rounding to `digits` significant digits moves the value by at most half a unit of the last digit
    unit = 10 ** (math.floor(math.log10(abs(x))) - digits + 1)
    assert abs(float(text) - x) <= 0.5 * unit * (1 + 1e-9) + 1e-12 * abs(x)


def test_machine_names_the_cpu_and_numpys_blas():
    m = timing.machine()
    apis = {pool["internal_api"] for pool in threadpool_info() if pool["user_api"] == "blas"}
    assert m.cpu and m.cores >= 1
    assert any(api in m.blas for api in apis)
    assert m.numpy == np.__version__ and m.torch.startswith(torch.__version__)
