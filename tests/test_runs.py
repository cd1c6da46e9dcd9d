"""Nothing a user saved is lost: the run folder, resume, malformed checkpoints and option ranges.

Every test runs the command line in this process (`cnnref.cli.main`) and looks at the files:
a refused command leaves every byte and every modification time of the folder as it was.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnref.checkpoint import save_checkpoint
from cnnref.cli import build_parser, config_from_args, given_options, main
from cnnref.config import ConfigError, TrainConfig, check_data_options
from cnnref.finetune import FinetuneConfig
from cnnref.models import get_model
from cnnref.rundir import RUN_FILES
from cnnref.train import fit

ROOT = Path(__file__).resolve().parents[1]
RUN = ["--dataset", "digits-0-4", "--per-class", "5", "--epochs", "2", "--device", "cpu", "--quiet"]


def cli(argv) -> tuple[int, str]:
    """``cnnref *argv`` in this process: (exit status, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = main([str(a) for a in argv])
        except SystemExit as e:  # argparse's own errors
            status = e.code
    return status, err.getvalue()


def one_line_error(status: int, err: str, *needles: str) -> None:
    assert status != 0, "the command succeeded"
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and its modification time."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished two-epoch run (digits 0-4, Adam, cosine schedule), made by the command line."""
    out = tmp_path_factory.mktemp("finished") / "run"
    status, err = cli(["train", *RUN, "--out", out])
    assert status == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)
    return out


@pytest.fixture
def run_copy(finished, tmp_path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    return out


# --------------------------------------------------------------------------- the folder of a run

@pytest.mark.parametrize("command", ["train", "finetune"])
@pytest.mark.parametrize("name", RUN_FILES)
def test_a_folder_holding_any_run_file_is_refused(command, name, finished, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(finished / name, out / name)
    (out / "notes.txt").write_text("mine")
    before = snapshot(out)
    source = ["--from", finished / "best.pt"] if command == "finetune" else []
    one_line_error(*cli([command, *source, *RUN, "--out", out]), "already holds a run", name, "--resume", "--overwrite")
    assert snapshot(out) == before


@pytest.mark.parametrize("flags", [[], ["--overwrite"], ["--resume"]])
def test_finetune_never_writes_over_its_from_checkpoint(flags, finished, tmp_path):
    # the case: best.pt and metrics.json, no last.pt, and --out is the folder of --from
    out = tmp_path / "pre"
    out.mkdir()
    for name in ("best.pt", "metrics.json"):
        shutil.copy(finished / name, out / name)
    before = snapshot(out)
    one_line_error(*cli(["finetune", "--from", out / "best.pt", *RUN, "--out", out, *flags]))
    assert snapshot(out) == before
    # also when --from is a link to it from another folder
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "model.pt").symlink_to(out / "best.pt")
    one_line_error(*cli(["finetune", "--from", tmp_path / "elsewhere" / "model.pt", *RUN, "--out", out, *flags]))
    assert snapshot(out) == before


def test_overwrite_replaces_the_run_and_keeps_other_files(run_copy):
    (run_copy / "notes.txt").write_text("mine")
    status, err = cli(["train", *RUN[:-3], "--epochs", "1", "--seed", "7", "--quiet", "--out", run_copy, "--overwrite"])
    assert status == 0, err
    assert (run_copy / "notes.txt").read_text() == "mine"
    metrics = json.loads((run_copy / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["config"]["seed"] == 7
    assert len((run_copy / "metrics.jsonl").read_text().splitlines()) == 1
    assert torch.load(run_copy / "best.pt", weights_only=True)["epoch"] == 1


def test_resume_and_overwrite_together_are_refused(run_copy):
    before = snapshot(run_copy)
    one_line_error(*cli(["train", *RUN, "--out", run_copy, "--resume", "--overwrite"]), "--overwrite")
    assert snapshot(run_copy) == before


def test_resume_needs_last_pt(run_copy):
    (run_copy / "last.pt").unlink()
    before = snapshot(run_copy)
    one_line_error(*cli(["train", *RUN, "--out", run_copy, "--resume"]), "no last.pt to resume from")
    assert snapshot(run_copy) == before


def test_a_folder_with_only_other_files_is_used(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    status, err = cli(["train", *RUN[:-3], "--epochs", "1", "--quiet", "--out", out])
    assert status == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted([*RUN_FILES, "notes.txt"])


def test_temporary_files_of_dead_processes_are_removed(run_copy):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = run_copy / f".last.pt.{int(dead.stdout)}.0123abcd.tmp"    # a kill during a save left it
    live = run_copy / ".best.pt.1.89abcdef.tmp"                        # pid 1 is alive: a save in progress
    other = run_copy / ".notes.tmp"                                    # not ours
    for path in (stale, live, other):
        path.write_bytes(b"x" * 1000)
    status, err = cli(["train", *RUN, "--out", run_copy, "--resume"])
    assert status == 0, err
    assert not stale.exists() and live.exists() and other.exists()


# --------------------------------------------------------------------------- a failing run changes nothing

@pytest.mark.parametrize("argv", [
    ["--shift", "40"],                 # larger than LeNet-5's 32-pixel image
    ["--val-fraction", "0.9999"],      # no training example left
    ["--val-fraction", "0.001"],       # no validation example held out
    ["--device", "cuda:7"],
    ["--clip-grad", "inf"],
], ids=lambda a: " ".join(a))
def test_a_run_that_fails_before_training_leaves_no_folder(argv, tmp_path):
    out = tmp_path / "new"
    one_line_error(*cli(["train", *RUN, "--out", out, *argv]))
    assert not out.exists()


@pytest.mark.parametrize("argv, needles", [
    (["--dataset", "digits-5-9"], ["argument --dataset", "'digits-5-9'", "'digits-0-4'"]),
    (["--epochs", "5"], ["argument --epochs", "5", "epochs=2"]),
    (["--optimizer", "sgd"], ["argument --optimizer", "'sgd'", "'adam'"]),
    (["--dataset", "digits"], ["argument --dataset", "'digits'", "'digits-0-4'"]),   # 10 classes, not 5
    (["--model", "caffe_lenet"], ["argument --model", "'caffe_lenet'", "'lenet5'"]),
    (["--lr", "0.1"], ["argument --lr", "0.1", "lr=0.002"]),
    (["--shift", "40"], ["argument --shift"]),
], ids=["dataset", "epochs", "optimizer", "classes", "model", "lr", "shift"])
def test_a_resume_that_contradicts_the_run_is_refused(argv, needles, run_copy):
    before = snapshot(run_copy)
    status, err = cli(["train", "--out", run_copy, "--resume", "--quiet", *argv])
    one_line_error(status, err, *needles)
    assert status == 2  # argparse's status for a bad option
    assert snapshot(run_copy) == before


class Interrupt(Exception):
    pass


def test_resume_takes_the_options_left_out_from_the_run(tmp_path, monkeypatch):
    import cnnref.train as train

    options = ["--dataset", "digits-5-9", "--per-class", "6", "--epochs", "3", "--optimizer", "sgd", "--lr", "0.05",
               "--schedule", "step", "--step-size", "1", "--gamma", "0.5", "--shift", "1", "--seed", "3",
               "--device", "cpu", "--quiet"]
    real = train.save_checkpoint

    def save_then_stop(state, path):
        real(state, path)
        if state["epoch"] == 2:
            raise Interrupt

    with monkeypatch.context() as m:
        m.setattr(train, "save_checkpoint", save_then_stop)
        with pytest.raises(Interrupt):
            cli(["train", *options, "--out", tmp_path / "r"])
    status, err = cli(["train", "--out", tmp_path / "r", "--resume", "--quiet"])  # nothing else said
    assert status == 0, err
    whole = fit(TrainConfig(dataset="digits-5-9", per_class=6, epochs=3, optimizer="sgd", lr=0.05, schedule="step",
                            step_size=1, gamma=0.5, shift=1, seed=3, device="cpu", verbose=False))
    resumed = torch.load(tmp_path / "r" / "last.pt", weights_only=True)
    assert resumed["epoch"] == 3
    assert all(torch.equal(resumed["model"][k], v) for k, v in whole.model.state_dict().items())
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["config"] == whole.metrics["config"]


# --------------------------------------------------------------------------- malformed checkpoints

def key_paths(value, path=()) -> list[tuple]:
    """Every dict key of a checkpoint, down to the entries of the first history record, the
    first parameter group and the first parameter's optimizer state; one tensor of the model."""
    paths = []
    if isinstance(value, dict):
        keys = list(value)[:1] if path == ("model",) else list(value)
        for key in keys:
            paths.append(path + (key,))
            if path + (key,) not in (("rng", "cuda"),):
                paths += key_paths(value[key], path + (key,))
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        paths += key_paths(value[0], path + (0,))
    return paths


def wrong_values(original) -> list:
    """Values of a type that ``original``'s entry never takes."""
    tensor = torch.zeros(2)
    if isinstance(original, torch.Tensor):
        return ["x", 3, [], {}, None]
    if isinstance(original, bool):
        return ["x", 3, [], {}, tensor]
    if isinstance(original, (int, float)) or original is None:
        return ["x", [], {}, tensor]
    if isinstance(original, str):
        return [3, [], {}, None, tensor]
    if isinstance(original, (list, tuple)):
        return ["x", 3, {}, None, tensor]
    return ["x", 3, [], None, tensor]  # a dict


def mutate(ckpt: dict, path: tuple, value) -> None:
    *parents, last = path
    for key in parents:
        ckpt = ckpt[key]
    if value is DELETE:
        del ckpt[last]
    else:
        ckpt[last] = value


DELETE = object()


@pytest.fixture(scope="module")
def checkpoint_paths(finished):
    return key_paths(torch.load(finished / "last.pt", weights_only=True))


def test_the_mutations_reach_every_part_of_the_checkpoint(checkpoint_paths):
    tops = {p[0] for p in checkpoint_paths}
    assert tops == {"format", "model_name", "num_classes", "model", "optimizer", "scheduler", "scaler", "epoch",
                    "rng", "config", "history", "best"}
    for inner in [("rng", "numpy", "keys"), ("rng", "python", "gauss_next"), ("config", "seed"),
                  ("history", 0, "lr"), ("optimizer", "param_groups", 0, "lr"), ("optimizer", "state", 0, "exp_avg"),
                  ("scheduler", "last_epoch"), ("best", "epoch")]:
        assert inner in checkpoint_paths


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_key_deleted_or_of_the_wrong_type_gives_one_line(data, finished, checkpoint_paths, tmp_path_factory):
    path = data.draw(st.sampled_from(checkpoint_paths), label="key")
    ckpt = torch.load(finished / "last.pt", weights_only=True)
    original = ckpt
    for key in path:
        original = original[key]
    value = data.draw(st.sampled_from([DELETE, *wrong_values(original)]), label="value")
    out = tmp_path_factory.mktemp("malformed") / "run"
    shutil.copytree(finished, out)
    mutate(ckpt, path, value)
    save_checkpoint(ckpt, out / "last.pt")
    before = snapshot(out)
    status, err = cli(["train", "--out", out, "--resume", "--quiet"])
    one_line_error(status, err, str(out / "last.pt"))
    assert snapshot(out) == before
    shutil.rmtree(out.parent)


@pytest.mark.parametrize("case", ["model_name", "rng", "optimizer of another kind", "config"])
def test_checkpoints_missing_a_key_give_one_line(case, run_copy):
    ckpt = torch.load(run_copy / "last.pt", weights_only=True)
    if case == "optimizer of another kind":  # SGD's momentum where Adam's moments belong
        model = get_model("lenet5", num_classes=5)
        sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        model(torch.zeros(1, 1, 32, 32)).sum().backward()
        sgd.step()
        ckpt["optimizer"]["state"] = sgd.state_dict()["state"]
    else:
        del ckpt[case]
    save_checkpoint(ckpt, run_copy / "last.pt")
    before = snapshot(run_copy)
    one_line_error(*cli(["train", *RUN, "--out", run_copy, "--resume"]), "last.pt")
    assert snapshot(run_copy) == before


# --------------------------------------------------------------------------- numeric options and their ranges

TRAIN_NUMBERS = {  # option: (int or float, the values that make sense), written here from what each option means
    "--per-class": (int, lambda v: v >= 1),
    "--val-fraction": (float, lambda v: 0 <= v < 1),
    "--shift": (int, lambda v: 0 <= v < 32),                # LeNet-5's images are 32 pixels wide
    "--epochs": (int, lambda v: v >= 1),
    "--batch-size": (int, lambda v: v >= 1),
    "--lr": (float, lambda v: 0 < v < math.inf),
    "--momentum": (float, lambda v: 0 <= v < 1),
    "--weight-decay": (float, lambda v: 0 <= v < math.inf),
    "--step-size": (int, lambda v: v >= 1),
    "--gamma": (float, lambda v: 0 < v <= 1),
    "--clip-grad": (float, lambda v: 0 < v < math.inf),
    "--seed": (int, lambda v: 0 <= v < 2 ** 32),
    "--num-workers": (int, lambda v: 0 <= v <= len(os.sched_getaffinity(0))),
}
FINETUNE_NUMBERS = {**TRAIN_NUMBERS, "--head-lr": TRAIN_NUMBERS["--lr"], "--base-lr": TRAIN_NUMBERS["--lr"],
                    "--layer-decay": (float, lambda v: 0 < v <= 1)}
del FINETUNE_NUMBERS["--lr"]
SPECIAL = ["nan", "inf", "-inf", "-1", "0", "1", "0.5", "1e30", str(10 ** 30), "2", "31", "32", "", "x"]


def sensible(option, kind, accepts, text: str) -> bool:
    try:
        value = int(text) if kind is int else float(text)
    except ValueError:
        return False
    if option == "--val-fraction" and 0 < value < 1:  # every digit keeps a training and a validation example
        from cnnref.data import load_digits

        _, labels = load_digits("train")
        counts = [int((labels == c).sum()) for c in range(10)]
        return all(1 <= round(n * value) <= n - 1 for n in counts)
    return math.isfinite(value) and accepts(value)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(["train", "finetune"]), data=st.data())
def test_every_numeric_option_is_checked_against_its_range(command, data, tmp_path_factory):
    table = TRAIN_NUMBERS if command == "train" else FINETUNE_NUMBERS
    option = data.draw(st.sampled_from(sorted(table)), label="option")
    text = data.draw(st.one_of(st.sampled_from(SPECIAL), st.integers(-10 ** 20, 10 ** 20).map(str),
                               st.floats(allow_nan=True, allow_infinity=True).map(repr)), label="value")
    out = tmp_path_factory.mktemp("options") / "run"
    argv = [command, *(["--from", "pre.pt"] if command == "finetune" else []), "--out", str(out), "--quiet",
            f"{option}={text}"]
    kind, accepts = table[option]
    if sensible(option, kind, accepts, text):
        cfg = config_from_args(build_parser().parse_args(argv), given_options(argv))
        check_data_options(cfg, get_model(cfg.model, num_classes=5))
    else:
        status, err = cli(argv)
        one_line_error(status, err, f"argument {option}")
        assert status == 2
    assert not out.exists()


@pytest.mark.parametrize("argv, needle", [
    (["train", "--out", ""], "argument --out: expected a folder name"),
    (["train", "--out", "  "], "argument --out: expected a folder name"),
    (["finetune", "--from", ""], "argument --from: expected a checkpoint file"),
    (["train", "--shift", "32"], "argument --shift: must be smaller than the 32-pixel image of lenet5"),
    (["train", "--model", "alexnet", "--shift", "227"], "argument --shift"),
    (["train", "--val-fraction", "0.001"], "argument --val-fraction: holds out no example"),
    (["train", "--val-fraction", "0.999"], "argument --val-fraction: leaves no training example"),
])
def test_option_errors_name_the_option(argv, needle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default --out is runs/MODEL-DATASET here
    one_line_error(*cli(argv), needle)
    assert not any(tmp_path.iterdir())


def test_a_file_as_out_is_refused(tmp_path):
    (tmp_path / "taken").write_text("mine")
    one_line_error(*cli(["train", *RUN, "--out", tmp_path / "taken"]), "is a file")
    assert (tmp_path / "taken").read_text() == "mine"


NUMERIC_FIELDS = {name: allowed for name, allowed in FinetuneConfig.OPTIONS.items()}


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_config_fields_refuse_values_out_of_range(data):
    """The Python API checks the same ranges: every numeric field x {nan, inf, -1, 0, huge, wrong type}."""
    field = data.draw(st.sampled_from(sorted(NUMERIC_FIELDS)), label="field")
    value = data.draw(st.sampled_from([math.nan, math.inf, -math.inf, -1, 0, 0.5, 1, 1e30, 10 ** 30, "1", True, None]),
                      label="value")
    table = {**{k.lstrip("-").replace("-", "_"): v for k, v in FINETUNE_NUMBERS.items()},
             "lr": TRAIN_NUMBERS["--lr"]}
    kind, accepts = table[field]
    optional = field in ("per_class", "clip_grad")
    ok = (value is None and optional) or (
        not isinstance(value, (bool, str)) and value is not None and (kind is float or isinstance(value, int))
        and math.isfinite(value) and accepts(value))
    if field == "shift":  # the image side is checked by fit (check_data_options), not by the config
        ok = ok or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)
    if ok:
        FinetuneConfig(pretrained="pre.pt", **{field: value})
    else:
        with pytest.raises(ConfigError, match=rf"^FinetuneConfig: {field} ") as error:
            FinetuneConfig(pretrained="pre.pt", **{field: value})
        assert error.value.key == field


# --------------------------------------------------------------------------- the README's commands

def readme_commands() -> list[str]:
    """The command lines of the README's bash blocks that run cnnref."""
    text = (ROOT / "README.md").read_text()
    lines = [line.split("#")[0].strip() for fence in re.findall(r"```bash\n(.*?)```", text, re.S)
             for line in fence.splitlines()]
    return [line for line in lines if line.startswith(("cnnref", "torchrun"))]


def test_the_readme_runs_these_commands():
    """If the README gains a command, the test below must cover it."""
    assert readme_commands() == [
        "cnnref train --model lenet5 --dataset digits --epochs 10 --out runs/a",
        "cnnref finetune --from runs/a/best.pt --model lenet5 --dataset digits-5-9 --out runs/b",
        "cnnref explain --from runs/a/best.pt --input-index 3 --out explain.html",
        "torchrun --nproc_per_node=2 -m cnnref train --model lenet5 --out runs/ddp",
        "cnnref --help",
    ]


@pytest.mark.parametrize("line", readme_commands())
def test_no_readme_command_writes_over_a_file_it_was_not_asked_to_write(line, finished, tmp_path, monkeypatch):
    """Each command of the README, run again where its --out already holds a run (and the
    fine-tune also into the folder of its --from), leaves every file as it was."""
    argv = shlex.split(line)
    out = argv[argv.index("--out") + 1] if "--out" in argv else None
    shutil.copytree(finished, tmp_path / "runs" / "a")
    if out is not None and out.endswith(".html"):  # explain writes one file: a user's file is there
        (tmp_path / out).write_text("<p>the user's own page</p>")
    elif out is not None:
        shutil.copytree(finished, tmp_path / out, dirs_exist_ok=True)
    variants = [argv]
    if "--from" in argv:  # also into the folder its checkpoint comes from
        variants.append(argv[:argv.index("--out") + 1] + [str(Path(argv[argv.index("--from") + 1]).parent)])
    before = snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    for command in variants:
        if command[0] == "torchrun":
            result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", *command[1:]],
                                    cwd=tmp_path, capture_output=True, text=True, timeout=300,
                                    env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
            assert result.returncode != 0 and "already holds a run" in result.stderr, result.stderr[-3000:]
        elif "--help" in command:
            assert cli(command[1:])[0] == 0
        else:
            status, err = cli(command[1:])
            one_line_error(status, err)
            assert any(words in err for words in ("already holds a run", "would write over", "exists;", "is a folder")), err
        assert snapshot(tmp_path) == before
