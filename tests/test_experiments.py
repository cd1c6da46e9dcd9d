"""cnnref.experiments: mean ± sd, the paired two-standard-error rule, and once()."""

import ast

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from cnnref.experiments import compare, once, summarize

floats = st.floats(-1e3, 1e3, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(st.lists(floats, min_size=2, max_size=12))
def test_summary_equals_numpy(values):
    s = summarize(values)
    assert np.isclose(s.mean, np.mean(values), atol=1e-9)
    assert np.isclose(s.sd, np.std(values, ddof=1), atol=1e-9)
    assert np.isclose(s.se, np.std(values, ddof=1) / np.sqrt(len(values)), atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 10).flatmap(lambda n: st.tuples(st.lists(floats, min_size=n, max_size=n),
                                                      st.lists(floats, min_size=n, max_size=n))))
def test_a_winner_only_beyond_two_standard_errors_of_the_paired_difference(ab):
    a, b = ab
    d = np.subtract(a, b)
    se = np.std(d, ddof=1) / np.sqrt(len(d))
    expected = ("a" if d.mean() > 0 else "b") if abs(d.mean()) > 2 * se else None
    assert compare(a, b).winner == expected


def test_format_and_errors():
    assert f"{summarize([1.0, 2.0, 3.0]):.1f}" == "2.0 ± 1.0"
    with pytest.raises(ValueError, match="summarize: values is empty"):
        summarize([])
    with pytest.raises(ValueError, match="compare: a has 2 values and b has 3"):
        compare([1, 2], [1, 2, 3])


def test_once_shares_a_result_between_translations_but_not_between_different_code():
    calls = []

    def make(message, factor):
        @once
        def experiment(x):
            calls.append(message)
            return x * factor, message
        return experiment

    zh, en = make("结果", 2), make("result", 2)
    assert zh(3) == (6, "结果") and en(3) == (6, "结果") and calls == ["结果"]
    assert zh(4) == (8, "结果") and len(calls) == 2
    assert make("x", 3)(3) == (9, "x")                   # a different closure value runs again


BLOCK = """
import math

from cnnref.experiments import once

@once
def experiment(n):
    calls.append(n)
    return math.floor(n * SCALE + 0.5)
"""


def run_block(source: str, by_statement: bool, calls: list) -> int:
    """Run BLOCK as the site build does (one compiled unit) or as IPython does (each top-level
    statement compiled alone), in a fresh namespace; the experiment's value for n=2."""
    namespace = {"calls": calls, "SCALE": 10}
    tree = ast.parse(source)
    units = [ast.Module([node], []) for node in tree.body] if by_statement else [tree]
    for unit in units:
        exec(compile(unit, "<block>", "exec"), namespace)
    return namespace["experiment"](2)


def test_once_gives_a_notebook_cell_the_result_of_the_same_block_in_the_build():
    # compiled alone, `math.floor(...)` is a method call; compiled with its import, an attribute load
    calls = []
    assert run_block(BLOCK, False, calls) == run_block(BLOCK, True, calls) == 20 and calls == [2]
    assert run_block(BLOCK.replace("+ 0.5", "+ 1.5"), True, calls) == 21 and calls == [2, 2]


EPOCHS = 2


def test_once_takes_functions_that_use_torch_and_numpy():
    import numpy
    import torch

    @once
    def total():
        return float(torch.as_tensor(numpy.arange(3)).sum())

    assert total() == 3.0 == total()


def test_once_runs_again_when_a_global_it_reads_changes():
    global EPOCHS

    @once
    def train():
        return EPOCHS * 10

    assert train() == 20
    EPOCHS = 3
    assert train() == 30


def test_once_accepts_modules_among_the_globals_it_reads():
    import torch

    @once
    def twin():                              # reads the global torch (which has a detach function)
        return float(torch.ones(2).sum()) + len(np.zeros(3))

    assert twin() == 5.0
    tensor = torch.arange(3.0)

    @once
    def from_tensor():
        return float(tensor.sum())

    assert from_tensor() == 3.0


ONCE_SCRIPT = """
import sys
import ast

import numpy as np
from cnnref.experiments import once

data = np.arange(12.0).reshape(3, 4)            # an array global: part of the key, by its bytes


@once
def experiment(seeds):
    with open(sys.argv[1], "a") as log:
        log.write("ran\\n")
    return {"mean": float(data.sum()) + sum(seeds), "label": "x"}


print(experiment((1, 2)))
"""


def test_once_shares_results_between_processes_through_the_cache_folder(tmp_path):
    """Separate processes (random string hashes differ between them) with the same
    $CNNREF_ONCE_CACHE run the experiment once; without the variable each runs it."""
    import os
    import subprocess
    import sys

    script, log, cache = tmp_path / "exp.py", tmp_path / "calls.log", tmp_path / "cache"
    script.write_text(ONCE_SCRIPT)

    def run(seed, use_cache=True):
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        env.pop("CNNREF_ONCE_CACHE", None)
        if use_cache:
            env["CNNREF_ONCE_CACHE"] = str(cache)
        out = subprocess.run([sys.executable, str(script), str(log)], env=env, capture_output=True, text=True, check=True)
        return out.stdout.strip()

    first, second = run(1), run(2)
    assert first == second == "{'mean': 69.0, 'label': 'x'}"
    assert log.read_text() == "ran\n"                    # the second process read the pickle
    assert [p.suffix for p in cache.iterdir()] == [".pickle"]   # one result, no temporary file left
    run(3, use_cache=False)
    assert log.read_text() == "ran\nran\n"
    script.write_text(ONCE_SCRIPT.replace("np.arange(12.0)", "np.arange(1.0, 13.0)"))   # other data: runs again
    assert run(4) == "{'mean': 81.0, 'label': 'x'}" and log.read_text().count("ran") == 3
