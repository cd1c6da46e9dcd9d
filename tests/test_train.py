"""The training loop, checkpoints, resume, DDP, fine-tuning and the command line.

The runs are small (a few epochs, often a few examples per class) so the file stays well
under a few minutes on two busy cores; what is checked does not depend on the run's length.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest
import torch

from cnnref.checkpoint import CHECKPOINT_FORMAT, CheckpointError, load_checkpoint, save_checkpoint
from cnnref.config import TrainConfig
from cnnref.data import DIGITS_MEAN, DIGITS_STD, make_dataset
from cnnref.finetune import FinetuneConfig, finetune, freeze, load_pretrained, param_groups
from cnnref.models import get_model
from cnnref.train import fit, make_optimizer

ROOT = pathlib.Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
       "OMP_NUM_THREADS": "1"}


def cnnref(*args, cwd=None, module=("-m", "cnnref")):
    """Run the command line in a fresh interpreter."""
    return subprocess.run([sys.executable, *module, *map(str, args)], cwd=cwd or ROOT, env=ENV,
                          capture_output=True, text=True, timeout=300)


def small(**kw) -> TrainConfig:
    """A run of a few seconds: few epochs, few examples."""
    return TrainConfig(**{"epochs": 3, "per_class": 20, "verbose": False, **kw})


def accuracy(model, dataset) -> float:
    """Test accuracy computed here, independently of the loop's evaluate()."""
    model = model.cpu().eval()
    with torch.no_grad():
        x = torch.stack([dataset[i][0] for i in range(len(dataset))])  # (N, 1, 32, 32)
        return (model(x).argmax(1) == dataset.labels).float().mean().item()


def state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------- data

def test_digit_statistics_are_those_of_the_training_split():
    from cnnref.data import load_digits

    x, _ = load_digits("train", size=32)
    assert abs(x.mean() - DIGITS_MEAN) < 1e-3 and abs(x.std() - DIGITS_STD) < 1e-3


def test_datasets_split_and_relabel():
    train = make_dataset("digits-5-9", "train", val_fraction=0.1, per_class=7)
    val = make_dataset("digits-5-9", "val", val_fraction=0.1)
    assert train.labels.bincount().tolist() == [7] * 5
    assert sorted(set(val.labels.tolist())) == [0, 1, 2, 3, 4]
    # validation images are not training images
    flat = lambda ds: {tuple(ds.images[i].flatten().tolist()) for i in range(len(ds))}
    assert not flat(train) & flat(val)


# --------------------------------------------------------------------------- command line, end to end

def test_cli_train_end_to_end(tmp_path):
    out = tmp_path / "a"
    result = cnnref("train", "--model", "lenet5", "--dataset", "digits", "--epochs", "5", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout.splitlines()[-1]
    metrics = json.loads((out / "metrics.json").read_text())
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3, 4, 5]
    assert [r["epoch"] for r in metrics["history"]] == [1, 2, 3, 4, 5]
    assert metrics["test_accuracy"] > 0.9
    # the saved weights give the reported accuracy, computed here from the checkpoint alone
    ckpt = torch.load(out / "last.pt", weights_only=True)
    model = get_model("lenet5", num_classes=10)
    model.load_state_dict(ckpt["model"])
    assert accuracy(model, make_dataset("digits", "test")) == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    best = torch.load(out / "best.pt", weights_only=True)
    assert best["epoch"] == metrics["best_epoch"]


# --------------------------------------------------------------------------- checkpoints and resume

class Interrupt(Exception):
    pass


def interrupt_after(monkeypatch, epoch):
    """Make the next run stop right after it saved last.pt for `epoch` (like a kill there)."""
    import cnnref.train as train

    real = train.save_checkpoint

    def save_then_stop(state, path):
        real(state, path)
        if state["epoch"] == epoch and pathlib.Path(path).name == "last.pt":
            raise Interrupt

    monkeypatch.setattr(train, "save_checkpoint", save_then_stop)


def test_resume_ends_with_bit_identical_weights(tmp_path, monkeypatch):
    import cnnref.resume as resume

    cfg = small(epochs=4, shift=2)  # augmentation draws from the global generator: must be restored
    whole = fit(cfg)

    with monkeypatch.context() as m:
        interrupt_after(m, epoch=2)
        with pytest.raises(Interrupt):
            fit(small(epochs=4, shift=2, out=str(tmp_path / "r")))
    resumed = fit(small(epochs=4, shift=2, out=str(tmp_path / "r"), resume=True))

    assert state_equal(whole.model.state_dict(), resumed.model.state_dict())
    strip = lambda history: [{k: v for k, v in r.items() if k != "time_s"} for r in history]
    assert strip(resumed.history) == strip(whole.history)
    assert len((tmp_path / "r" / "metrics.jsonl").read_text().splitlines()) == 4

    # the test can fail: without restoring the random generators the resumed run differs
    with monkeypatch.context() as m:
        interrupt_after(m, epoch=2)
        with pytest.raises(Interrupt):
            fit(small(epochs=4, shift=2, out=str(tmp_path / "s")))
    monkeypatch.setattr(resume, "set_rng_state", lambda state: None)
    careless = fit(small(epochs=4, shift=2, out=str(tmp_path / "s"), resume=True))
    assert not state_equal(whole.model.state_dict(), careless.model.state_dict())


def test_failure_during_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint({"epoch": 1, "w": torch.ones(3)}, path)

    def crash(obj, f, *args, **kwargs):  # half a file written, then the disk is full
        f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="No space"):
        save_checkpoint({"epoch": 2, "w": torch.zeros(3)}, path)
    monkeypatch.undo()

    state = load_checkpoint(path)
    assert state["epoch"] == 1 and torch.equal(state["w"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]  # no temporary file left


def test_failure_during_a_runs_save_leaves_last_epoch_loadable(tmp_path, monkeypatch):
    import cnnref.train as train

    real = torch.save

    def crash_at_epoch_2(obj, f, *args, **kwargs):
        if obj.get("epoch") == 2:
            f.write(b"\x00" * 100)
            raise KeyboardInterrupt  # killed mid-write
        real(obj, f, *args, **kwargs)

    monkeypatch.setattr(train.torch, "save", crash_at_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        fit(small(out=str(tmp_path)))
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 1
    assert not list(tmp_path.glob(".*.tmp"))


def test_mixed_precision_and_channels_last_paths_run_on_the_cpu(tmp_path):
    run = fit(small(amp=True, amp_dtype="fp16", channels_last=True, clip_grad=1.0, out=str(tmp_path)))
    assert run.metrics["precision"] == "float16 + GradScaler"
    assert load_checkpoint(tmp_path / "last.pt")["scaler"]["scale"] > 0  # the scaler's state is saved
    assert run.metrics["test_accuracy"] > 0.3  # 10 classes: chance is 0.1


# --------------------------------------------------------------------------- never unpickle arbitrary objects

class Payload:
    """Unpickling this object runs code: it writes the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def test_loading_refuses_a_malicious_pickle(tmp_path):
    evil = tmp_path / "evil.pt"
    torch.save({"model": {"c1.weight": Payload(tmp_path / "marker")}}, evil)

    with pytest.raises(CheckpointError, match="refusing to unpickle"):
        load_checkpoint(evil)
    with pytest.raises(CheckpointError, match="refusing to unpickle"):
        load_pretrained(get_model("lenet5"), evil)
    result = cnnref("finetune", "--from", evil, "--out", tmp_path / "b")
    assert result.returncode == 1 and "refusing to unpickle" in result.stderr
    assert not (tmp_path / "marker").exists()

    # the file really is dangerous: a careless load runs the payload
    torch.load(evil, weights_only=False)
    assert (tmp_path / "marker").read_text() == "pwned"


# --------------------------------------------------------------------------- command-line errors

def error_of(capsys, argv):
    from cnnref.cli import main

    try:
        status = main(list(map(str, argv)))
    except SystemExit as exit:  # argparse's own errors
        status = exit.code
    err = capsys.readouterr().err
    return status, err


@pytest.fixture
def other_architecture(tmp_path):
    """A checkpoint folder whose last.pt was made for caffe_lenet."""
    out = tmp_path / "caffe"
    model = get_model("caffe_lenet", num_classes=10)
    save_checkpoint({"format": CHECKPOINT_FORMAT, "model_name": "caffe_lenet", "num_classes": 10,
                     "model": model.state_dict()}, out / "last.pt")
    return out


@pytest.mark.parametrize("case", ["unknown model", "missing checkpoint", "corrupt file", "truncated file",
                                  "other architecture", "resume other architecture", "bad value"])
def test_cli_errors_are_one_line(case, tmp_path, capsys, other_architecture):
    (tmp_path / "corrupt.pt").write_bytes(b"this is not a checkpoint")
    good = tmp_path / "good.pt"
    save_checkpoint({"model": get_model("lenet5").state_dict()}, good)
    (tmp_path / "truncated.pt").write_bytes(good.read_bytes()[:3000])
    argv, expected = {
        "unknown model": (["train", "--model", "resnet9000"], "invalid choice: 'resnet9000'"),
        "missing checkpoint": (["finetune", "--from", tmp_path / "none.pt"], "no checkpoint at"),
        "corrupt file": (["finetune", "--from", tmp_path / "corrupt.pt"], "not a readable checkpoint"),
        "truncated file": (["finetune", "--from", tmp_path / "truncated.pt"], "not a readable checkpoint"),
        "other architecture": (["finetune", "--from", other_architecture / "last.pt", "--model", "lenet5"],
                               "made for 'caffe_lenet'"),
        "resume other architecture": (["train", "--out", other_architecture, "--resume"],
                                      "is for model 'caffe_lenet'"),
        "bad value": (["train", "--val-fraction", "1.5"], "argument --val-fraction: expected a number in [0, 1)"),
    }[case]
    status, err = error_of(capsys, argv + ["--quiet"])
    assert status != 0
    assert len(err.strip().splitlines()) == 1 and expected in err and "Traceback" not in err


def test_cli_error_through_the_real_entry_point_has_no_traceback(tmp_path):
    result = cnnref("finetune", "--from", tmp_path / "missing.pt")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"cnnref finetune: error: load_checkpoint: no checkpoint at "
                                                 f"'{tmp_path / 'missing.pt'}'"]


def test_help_explains_every_option():
    from cnnref.cli import build_parser

    parser = build_parser()
    subparsers = parser._subparsers._group_actions[0].choices
    for name, sub in subparsers.items():
        for action in sub._actions:
            assert action.help and len(action.help) > 10, (name, action.option_strings)


# --------------------------------------------------------------------------- several processes

def test_two_process_gloo_ddp_matches_one_process(tmp_path):
    args = ["--epochs", "6", "--device", "cpu", "--quiet"]
    result = cnnref("--nproc_per_node=2", "--standalone", "-m", "cnnref", "train", *args, "--batch-size", "32",
                    "--out", tmp_path / "ddp", module=("-m", "torch.distributed.run"))
    assert result.returncode == 0, result.stderr[:6000]
    ddp = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    single = fit(TrainConfig(epochs=6, batch_size=64, device="cpu", verbose=False))  # the same global batch

    assert ddp["world_size"] == 2 and single.metrics["world_size"] == 1
    assert len((tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()) == 6  # rank 0 alone wrote
    assert result.stdout.count("test accuracy") == 1  # and printed
    assert ddp["test_accuracy"] > 0.9 and single.metrics["test_accuracy"] > 0.9
    assert abs(ddp["test_accuracy"] - single.metrics["test_accuracy"]) < 0.03


# --------------------------------------------------------------------------- fine-tuning

def test_load_pretrained_reuses_matching_tensors_and_reports_the_new_ones():
    old = get_model("lenet5", num_classes=10)
    new = get_model("lenet5", num_classes=5)
    report = load_pretrained(new, old.state_dict())
    assert report.new == ["output.weight", "output.bias"]
    assert report.ignored == ["output.weight", "output.bias"]
    for key in report.reused:
        assert torch.equal(new.state_dict()[key], old.state_dict()[key])
    assert not torch.equal(new.output.weight[:5], old.output.weight[:5])


def test_param_groups_carry_the_two_learning_rates():
    model = get_model("lenet5", num_classes=5)
    report = load_pretrained(model, get_model("lenet5", num_classes=10).state_dict())
    optimizer = make_optimizer(param_groups(model, report.new, head_lr=0.05, base_lr=0.002), "sgd")
    by_lr = {g["lr"]: {id(p) for p in g["params"]} for g in optimizer.param_groups}
    assert by_lr == {0.05: {id(model.output.weight), id(model.output.bias)},
                     0.002: {id(p) for n, p in model.named_parameters() if not n.startswith("output.")}}

    decayed = param_groups(model, ["output"], head_lr=0.05, base_lr=0.002, layer_decay=0.5)
    assert [(g["name"], g["lr"]) for g in decayed] == [
        ("new", 0.05), ("f6", 0.002), ("c5", 0.001), ("c3", 0.0005), ("c1", 0.00025)]


def test_finetune_trains_the_groups_and_leaves_frozen_layers_alone(tmp_path):
    pre = fit(small(dataset="digits-0-4", out=str(tmp_path / "pre"), val_fraction=0))
    cfg = FinetuneConfig(pretrained=str(tmp_path / "pre" / "last.pt"), dataset="digits-5-9", epochs=2, per_class=5,
                         val_fraction=0, schedule="none", head_lr=0.03, base_lr=0.003, freeze=["c1"],
                         verbose=False, out=str(tmp_path / "ft"))
    run = finetune(cfg)
    groups = load_checkpoint(tmp_path / "ft" / "last.pt")["optimizer"]["param_groups"]
    assert [(g["name"], g["lr"]) for g in groups] == [("new", 0.03), ("reused", 0.003)]
    assert run.metrics["frozen"] == ["c1.weight", "c1.bias"]
    assert torch.equal(run.model.c1.weight.cpu(), pre.model.c1.weight.cpu())          # frozen: untouched
    assert not torch.equal(run.model.c3.weight.cpu(), pre.model.c3.weight.cpu())      # reused: trained


def test_freeze_rejects_a_name_that_matches_nothing():
    with pytest.raises(ValueError, match="'c9' names no parameter"):
        freeze(get_model("lenet5"), ["c9"])
