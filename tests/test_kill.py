"""SIGKILL ``cnnref train`` anywhere, ``--resume`` it, and get the files of a run never interrupted.

Two ways to choose the moment: at the start of each file write and just before each rename
(the hook of `cnnref.rundir` stops the process there and the test kills it: no guessed delay),
and at random moments over the whole life of the process. Every time, after ``--resume`` to
the end, ``last.pt``, ``best.pt``, ``metrics.json`` and ``metrics.jsonl`` agree with each
other and equal those of an uninterrupted run (weights bit for bit, metrics but the times),
and no temporary file is left.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
import torch

from tests.cli_process import Server, wait_for

ARGS = ["train", "--dataset", "digits-0-4", "--per-class", "8", "--epochs", "6", "--batch-size", "16",
        "--device", "cpu", "--quiet"]
FILES = {"last.pt", "best.pt", "metrics.json", "metrics.jsonl"}
TIMES = {"time_s", "train_time_s"}  # the only entries that differ between two runs


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("server"))
    yield server
    server.close()


def run_to_end(server: Server, out: Path, log: Path) -> None:
    process = server.start(ARGS + ["--out", out, "--resume"], log)
    process.join()
    assert process.exitcode == 0, log.read_text()


@pytest.fixture(scope="module")
def baseline(server, tmp_path_factory):
    """An uninterrupted run, and how long its process lived."""
    folder = tmp_path_factory.mktemp("baseline")
    process = server.start(ARGS + ["--out", folder / "run"], folder / "log")
    begin = time.monotonic()
    process.join()
    assert process.exitcode == 0, (folder / "log").read_text()
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    bests, top = [], (-1.0, float("-inf"))
    for r in metrics["history"]:  # the epochs that wrote best.pt
        if (r["val_accuracy"], -r["val_loss"]) > top:
            bests, top = bests + [r["epoch"]], (r["val_accuracy"], -r["val_loss"])
    # the kill points below need best.pt written at least twice, and not at the last epoch
    assert len(bests) >= 2 and metrics["best_epoch"] < metrics["epochs"], metrics["history"]
    return folder / "run", time.monotonic() - begin


def same(a, b, where="") -> list[str]:
    """Where ``a`` and ``b`` differ (tensors bit for bit), the time entries aside."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        ok = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
        return [] if ok else [where]
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where} keys"]
        return [d for k in a if k not in TIMES for d in same(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{where} length"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in same(x, y, f"{where}[{i}]")]
    return [] if type(a) is type(b) and a == b else [where]


def check_like_uninterrupted(out: Path, base: Path) -> None:
    assert {p.name for p in out.iterdir()} == FILES  # the four files, no temporary file
    load = lambda path: torch.load(path, weights_only=True)
    last, best = load(out / "last.pt"), load(out / "best.pt")
    metrics = json.loads((out / "metrics.json").read_text())
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    # the files agree with each other
    assert last["epoch"] == metrics["epochs"] == len(lines)
    assert best["epoch"] == metrics["best_epoch"] == last["best"]["epoch"]
    assert not same(last["history"], metrics["history"]) and not same(lines, metrics["history"])
    # and with those of the uninterrupted run
    assert not same(last, load(base / "last.pt")), same(last, load(base / "last.pt"))
    assert not same(best, load(base / "best.pt")), same(best, load(base / "best.pt"))
    assert not same(metrics, json.loads((base / "metrics.json").read_text()))
    assert not same(lines, [json.loads(line) for line in (base / "metrics.jsonl").read_text().splitlines()])


# (write point of the killed run, then of the killed resume, ...): "write" is the start of the
# file's write, "replace" the moment its temporary file is complete and about to be renamed.
SCENARIOS = [
    ("write:last.pt:3",), ("replace:last.pt:3",),
    ("write:best.pt:2",), ("replace:best.pt:2",),
    ("write:metrics.jsonl:3",),
    ("write:metrics.json:1",), ("replace:metrics.json:1",),
    ("replace:best.pt:2", "replace:best.pt:1"),          # then killed again while resume repairs best.pt
    ("write:metrics.jsonl:2", "replace:metrics.jsonl:1"),  # ... while resume rewrites metrics.jsonl
]


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: " then ".join(s))
def test_kill_at_each_write_then_resume(scenario, server, baseline, tmp_path):
    base, _ = baseline
    out = tmp_path / "run"
    for i, point in enumerate(scenario):
        marker = tmp_path / f"paused-{i}"
        process = server.start(ARGS + ["--out", out, "--resume"], tmp_path / f"log-{i}", pause=point, marker=marker)
        assert wait_for(marker, process), f"the run never reached {point}: " + (tmp_path / f"log-{i}").read_text()
        process.kill()
        if point.startswith("replace:"):  # killed with a complete temporary file beside the old one
            assert [p for p in out.iterdir() if p.name.endswith(".tmp")]
    run_to_end(server, out, tmp_path / "log-end")
    check_like_uninterrupted(out, base)


@pytest.mark.slow
def test_kill_at_random_moments_then_resume(server, baseline, tmp_path):
    base, lifetime = baseline
    rng = random.Random(20261211)
    kills = with_files = chains = 0
    while kills < 24:
        chains += 1
        out = tmp_path / f"run-{chains}"
        for attempt in range(5):  # at most 4 kills, then to the end
            process = server.start(ARGS + ["--out", out, "--resume"], tmp_path / "log")
            process.join(rng.uniform(0, 1.1 * lifetime) if attempt < 4 else None)
            if not process.is_alive():
                break
            process.kill()
            kills += 1
            with_files += out.is_dir() and any(out.iterdir())
        assert process.exitcode == 0, (tmp_path / "log").read_text()
        check_like_uninterrupted(out, base)
    print(f"{kills} kills in {chains} runs, {with_files} of them after the first file was written")
    assert with_files >= 10  # most kills hit a run that had written something
