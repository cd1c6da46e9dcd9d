"""Resume a run: check the ``last.pt`` it continues from, load it into the run's objects, and
repair the folder after a kill.

The order of a run's writes (`cnnref.train.fit`: ``last.pt``, which holds the best epoch's
record, then ``best.pt``, then the JSON line) leaves after a kill at any moment a folder that
`repair_folder` can make whole from ``last.pt``: the resumed run ends with the files of a run
that was never interrupted.

Examples:
    >>> import tempfile
    >>> from cnnref.config import TrainConfig
    >>> read_checkpoint(TrainConfig(), Path(tempfile.mkdtemp()) / "last.pt")
    Traceback (most recent call last):
    ...
    cnnref.checkpoint.CheckpointError: load_checkpoint: no checkpoint at '.../last.pt'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import torch

from cnnref.checkpoint import (CHECKPOINT_FORMAT, CheckpointError, check_like, check_optimizer_state,
                               check_training_checkpoint, load_checkpoint)
from cnnref.config import ConfigError, TrainConfig, resume_conflicts
from cnnref.data import num_classes
from cnnref.rundir import clean_temporary_files, copy_file, remove_run_files, write_lines
from cnnref.seeding import set_rng_state

__all__ = ["read_checkpoint", "check_saved_config", "restore", "repair_folder"]


def read_checkpoint(cfg: TrainConfig, path: str | os.PathLike) -> dict[str, Any]:
    """Load the ``last.pt`` a run resumes from and check it in full against ``cfg``, before
    anything is built from it: the options that shape training first (`resume_conflicts`:
    the error names the option), then every entry (`check_training_checkpoint`), the saved
    configuration (`check_saved_config`), the epoch and the history.

    Raises:
        ConfigError: an option of ``cfg`` contradicts the checkpoint's.
        CheckpointError: the file is unreadable, malformed, or for another model.
    """
    path = Path(path)
    ckpt = load_checkpoint(path)
    saved = ckpt.get("config")
    if ckpt.get("format") == CHECKPOINT_FORMAT and isinstance(saved, Mapping):
        conflicts = resume_conflicts(cfg, saved)  # first: it names the option (--dataset, --epochs ...)
        if conflicts:
            key, given, theirs = conflicts[0]
            raise ConfigError("resume", key, f"{given!r} contradicts '{path}', which was trained with "
                                             f"{key}={theirs!r}: leave the option as it was to continue that "
                                             f"run, or start a new run in another folder")
    check_training_checkpoint(ckpt, path, cfg.model, num_classes(cfg.dataset))
    check_saved_config(cfg, ckpt["config"], path)
    if ckpt["epoch"] > cfg.epochs:
        raise CheckpointError(f"resume: '{path}' is not a usable training checkpoint: epoch is {ckpt['epoch']}, "
                              f"beyond its own epochs={cfg.epochs}")
    for record in ckpt["history"]:
        if (record["val_accuracy"] is None) != (cfg.val_fraction == 0):
            raise CheckpointError(f"resume: '{path}' is not a usable training checkpoint: history[{record['epoch'] - 1}]"
                                  f".val_accuracy is {record['val_accuracy']!r} with val_fraction={cfg.val_fraction}")
    return ckpt


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " ".join(lines[:2])[:300] or type(error).__name__


def restore(ckpt: dict[str, Any], path: str | os.PathLike, cfg: TrainConfig, model: torch.nn.Module,
            optimizer: torch.optim.Optimizer, scheduler: Any, scaler: torch.amp.GradScaler) -> tuple[int, list, dict]:
    """Load a checkpoint checked by `read_checkpoint` into the run's objects: weights,
    optimizer, scheduler, scaler and random generators. Each state is compared with a fresh one
    of the same object first (`check_like`, `check_optimizer_state`), and whatever does not fit
    ends with one `CheckpointError`.

    Returns:
        ``(epochs completed, history, best epoch's record)``.
    """
    def broken(what: str, error: BaseException):
        return CheckpointError(f"resume: '{path}' {what}: {_one_line(error)}")

    try:
        model.load_state_dict(ckpt["model"])
    except (RuntimeError, ValueError, TypeError, KeyError) as e:
        raise broken(f"holds weights that do not fit {cfg.model}", e) from None
    fresh_groups, saved_groups = optimizer.state_dict()["param_groups"], ckpt["optimizer"]["param_groups"]
    if len(saved_groups) != len(fresh_groups):
        raise CheckpointError(f"resume: '{path}' holds {len(saved_groups)} optimizer parameter groups, this run "
                              f"has {len(fresh_groups)}")
    for i, (group, fresh) in enumerate(zip(saved_groups, fresh_groups)):
        check_like(group, fresh, f"optimizer.param_groups[{i}]", path)
    check_optimizer_state(ckpt["optimizer"]["state"], optimizer, cfg.optimizer, path)
    try:
        optimizer.load_state_dict(ckpt["optimizer"])
    except (RuntimeError, ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise broken(f"holds an optimizer state that does not fit this {cfg.optimizer} optimizer", e) from None
    if (scheduler is None) != (ckpt["scheduler"] is None):
        raise CheckpointError(f"resume: '{path}' is not a usable training checkpoint: scheduler is "
                              f"{'None' if ckpt['scheduler'] is None else 'a dict'}, expected "
                              f"{'None' if scheduler is None else 'the state of its ' + cfg.schedule + ' schedule'}")
    if scheduler is not None:
        check_like(ckpt["scheduler"], scheduler.state_dict(), "scheduler", path)
        scheduler.load_state_dict(ckpt["scheduler"])
    if ckpt["scaler"] is not None:  # a run on another device may not use it; it must still be a scaler's
        check_like(ckpt["scaler"], torch.amp.GradScaler("cpu", enabled=True).state_dict(), "scaler", path)
        if scaler.is_enabled():
            scaler.load_state_dict(ckpt["scaler"])
    try:
        set_rng_state(ckpt["rng"])
    except (RuntimeError, ValueError, TypeError, KeyError, OverflowError) as e:
        raise broken("holds random generator states that do not load", e) from None
    return ckpt["epoch"], list(ckpt["history"]), dict(ckpt["best"])


def repair_folder(out: str | os.PathLike, mode: str, ckpt: dict[str, Any] | None) -> None:
    """The first writes of a run, once every check has passed: remove the temporary files that
    killed processes left, delete the old run for ``mode="overwrite"``, and when resuming make
    the folder agree with ``last.pt``: ``metrics.jsonl`` rewritten from its history, and
    ``best.pt`` copied from it when ``last.pt`` is the best epoch (a kill may have come between
    the two saves; ``last.pt`` is always written first).

    Args:
        out: the run's folder.
        mode: what `cnnref.rundir.check_folder` said: ``"new"``, ``"resume"`` or ``"overwrite"``.
        ckpt: the checkpoint resumed from (``None`` for a new run).
    """
    out = Path(out)
    clean_temporary_files(out)
    if mode == "overwrite":
        remove_run_files(out)
    if ckpt is None:
        return
    write_lines(out / "metrics.jsonl", ckpt["history"])  # last.pt is the truth; a kill may have cut a line
    if ckpt["best"]["epoch"] == ckpt["epoch"]:
        # last.pt is the best epoch, and a kill may have come before best.pt was written: copy it
        copy_file(out / "last.pt", out / "best.pt")


def check_saved_config(cfg: TrainConfig, saved: Any, path: str | os.PathLike, caller: str = "resume") -> None:
    """Check the configuration stored in a checkpoint: a dict holding every option of
    ``type(cfg)`` (and no other), each in its range.

    Raises:
        CheckpointError: naming the missing, unknown or invalid option.
    """
    prefix = f"{caller}: '{path}' is not a usable training checkpoint: config"
    if not isinstance(saved, Mapping):
        raise CheckpointError(f"{prefix} is {type(saved).__name__}, expected a dict")
    known = cfg.record()
    missing = [k for k in known if k not in saved]
    unknown = [k for k in saved if k not in known and k not in cfg.RUN_CONTROL]
    if unknown:
        raise CheckpointError(f"{caller}: '{path}' was written by a run with options {', '.join(map(str, unknown))}, "
                              f"which {type(cfg).__name__} does not have: continue it with the command that "
                              f"started it (cnnref finetune for a fine-tuning run)")
    if missing:
        raise CheckpointError(f"{prefix} has no {', '.join(missing)}")
    try:
        type(cfg)(**{**cfg.to_dict(), **{k: saved[k] for k in known}})
    except ConfigError as e:
        raise CheckpointError(f"{prefix}.{e.key} {e.reason}") from None
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{prefix}: {' '.join(str(e).split())}") from None
