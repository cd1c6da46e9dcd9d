"""Checkpoints: written atomically, loaded without unpickling code, checked before a run
continues from one.

A checkpoint is a dict of tensors and plain Python values (dicts, lists, numbers, strings,
``None``), so it loads with ``torch.load(weights_only=True)``, which refuses any other object.
`save_checkpoint` writes through a temporary file (`cnnref.rundir.atomic_write`): a crash in the
middle of a save never destroys the previous checkpoint. `check_training_checkpoint` looks at
every entry a resumed run needs before anything is restored from it, so a damaged or foreign
file ends with one `CheckpointError` that names the entry, never a ``KeyError`` from deep inside.

Examples:
    >>> import tempfile
    >>> path = save_checkpoint({"epoch": 1, "w": torch.ones(2)}, Path(tempfile.mkdtemp()) / "last.pt")
    >>> load_checkpoint(path)["w"]
    tensor([1., 1.])
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any, Mapping

import torch

from cnnref.data import num_classes
from cnnref.rundir import atomic_write
from cnnref.seeding import rng_state

__all__ = [
    "CHECKPOINT_FORMAT",
    "RECORD_KEYS",
    "CheckpointError",
    "checkpoint_state",
    "save_checkpoint",
    "load_checkpoint",
    "check_training_checkpoint",
    "check_like",
    "check_optimizer_state",
]

CHECKPOINT_FORMAT = "cnnref-checkpoint-v1"
# The entries of one epoch's record in the history (metrics.jsonl has one per line).
RECORD_KEYS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss",
               "test_accuracy", "lr", "time_s")
# What each optimizer keeps per parameter after its first step (torch.optim's names).
OPTIMIZER_STATE = {"sgd": ("momentum_buffer",), "adam": ("step", "exp_avg", "exp_avg_sq"),
                   "adamw": ("step", "exp_avg", "exp_avg_sq")}
_MISSING = object()


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, unsafe, malformed, or for another model."""


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``state`` with ``torch.save`` atomically: to a temporary file in the same folder,
    flushed to disk (``fsync``), then renamed over ``path`` (``os.replace``).

    A crash or an error during the write leaves the previous file at ``path`` untouched (and
    no temporary file behind; after a kill, the next run in the folder removes it).

    Args:
        state: tensors and plain values (dicts, lists, numbers, strings, ``None``).
        path: destination, e.g. ``runs/a/last.pt``; its folder is created.

    Returns:
        The path written.

    Examples:
        >>> import tempfile
        >>> p = save_checkpoint({"w": torch.ones(2)}, Path(tempfile.mkdtemp()) / "x.pt")
        >>> torch.load(p, weights_only=True)["w"]
        tensor([1., 1.])
    """
    return atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a file written by `save_checkpoint` (or any ``torch.save`` of tensors and
    plain values) with ``torch.load(weights_only=True)``: it never unpickles arbitrary objects.

    Args:
        path: the checkpoint file.
        map_location: where to put the tensors.

    Returns:
        The saved dict.

    Raises:
        CheckpointError: the file does not exist, is not a torch checkpoint, is corrupt, or
            holds objects other than tensors and plain values (a pickle that would run code).

    Examples:
        >>> load_checkpoint("no/such/file.pt")
        Traceback (most recent call last):
        ...
        cnnref.checkpoint.CheckpointError: load_checkpoint: no checkpoint at 'no/such/file.pt'
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"load_checkpoint: no checkpoint at '{path}'")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        unsafe = re.search(r"GLOBAL ([\w.]+)", str(e))  # the weights-only unpickler names what it refused
        if unsafe:
            raise CheckpointError(f"load_checkpoint: '{path}' holds an object ({unsafe.group(1)}) that is not a "
                                  f"tensor or plain value; refusing to unpickle it (weights_only=True)") from None
        detail = [line for line in str(e).splitlines() if line.strip()][-2:-1] or [type(e).__name__]
        raise CheckpointError(f"load_checkpoint: '{path}' is not a readable checkpoint ({detail[0].strip()})") from None
    except Exception as e:  # garbage makes the unpickler fail in many ways (EOFError, IndexError, ...)
        detail = " ".join(str(e).split())[:200] or type(e).__name__
        raise CheckpointError(f"load_checkpoint: '{path}' is not a readable checkpoint ({detail})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"load_checkpoint: '{path}' holds a {type(state).__name__}, expected a dict")
    return state


def checkpoint_state(cfg: Any, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
                     scaler: torch.amp.GradScaler, epoch: int, history: list[dict[str, Any]],
                     best: dict[str, Any]) -> dict[str, Any]:
    """Everything a run needs to continue after ``epoch`` epochs, as tensors and plain values:
    the weights, the optimizer, scheduler and scaler states, every random generator, the
    configuration (``cfg.record()``), the history and the best epoch's record (so that a resume
    can tell whether ``best.pt`` was written).

    Examples:
        >>> from cnnref.config import TrainConfig
        >>> from cnnref.models import get_model
        >>> net = get_model("lenet5", num_classes=10)
        >>> opt = torch.optim.Adam(net.parameters())
        >>> state = checkpoint_state(TrainConfig(), net, opt, None, torch.amp.GradScaler("cpu", enabled=False),
        ...                          1, [], {"epoch": 1, "val_accuracy": 0.5, "val_loss": 1.0})
        >>> state["format"], state["model_name"], state["scaler"]
        ('cnnref-checkpoint-v1', 'lenet5', None)
    """
    return {
        "format": CHECKPOINT_FORMAT,
        "model_name": cfg.model,
        "num_classes": num_classes(cfg.dataset),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler.is_enabled() else None,
        "epoch": epoch,  # epochs completed
        "rng": rng_state(),
        "config": cfg.record(),
        "history": history,
        "best": best,
    }


# --------------------------------------------------------------------------- checking a checkpoint

def _describe(value: Any) -> str:
    if value is _MISSING:
        return "missing"
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).replace('torch.', '')} tensor of shape {tuple(value.shape)}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_tensor(dtype: torch.dtype, shape: tuple[int, ...] | None = None, ndim: int | None = None):
    def check(value):
        return (isinstance(value, torch.Tensor) and value.dtype == dtype
                and (shape is None or tuple(value.shape) == shape) and (ndim is None or value.dim() == ndim))
    return check


class _Checker:
    """Collects the first problem of a checkpoint as one message naming the entry."""

    def __init__(self, path: str | os.PathLike, caller: str):
        self.path, self.caller = path, caller

    def fail(self, what: str):
        raise CheckpointError(f"{self.caller}: '{self.path}' is not a usable training checkpoint: {what}")

    def need(self, container: Mapping, key: str, ok, expected: str, where: str = "") -> Any:
        value = container.get(key, _MISSING) if isinstance(container, Mapping) else _MISSING
        if value is _MISSING or not ok(value):
            self.fail(f"{where}{key} is {_describe(value)}, expected {expected}")
        return value

    def keys(self, value: Mapping, expected: tuple[str, ...], where: str) -> None:
        missing = [k for k in expected if k not in value]
        extra = [k for k in value if k not in expected]
        if missing or extra:
            self.fail(f"{where} has " + "; ".join(
                part for part in (f"no {', '.join(map(str, missing))}" if missing else "",
                                  f"unknown {', '.join(map(str, extra))}" if extra else "") if part))


def check_training_checkpoint(ckpt: Mapping[str, Any], path: str | os.PathLike, model_name: str | None = None,
                              num_classes: int | None = None, caller: str = "resume") -> None:
    """Check every entry a resumed run needs, before anything is restored from it.

    The architecture comes first (``model_name``, ``num_classes``: a checkpoint of another
    model is the most common mistake), then the weights, the optimizer, scheduler and scaler
    states (their structure; `check_like` compares them with fresh ones once the objects
    exist), the epoch, the random generators, the configuration, the history and the best
    epoch.

    Raises:
        CheckpointError: one line naming the first entry that is missing or of the wrong type.

    Examples:
        >>> check_training_checkpoint({"format": CHECKPOINT_FORMAT, "model_name": "lenet5"}, "last.pt")
        Traceback (most recent call last):
        ...
        cnnref.checkpoint.CheckpointError: resume: 'last.pt' is not a usable training checkpoint: num_classes is missing, expected an int >= 1
    """
    c = _Checker(path, caller)
    if not isinstance(ckpt, Mapping) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{caller}: '{path}' is not a cnnref training checkpoint (no format "
                              f"{CHECKPOINT_FORMAT!r})")
    name = c.need(ckpt, "model_name", lambda v: isinstance(v, str), "a model name")
    classes = c.need(ckpt, "num_classes", lambda v: _is_int(v) and v >= 1, "an int >= 1")
    if model_name is not None and (name, classes) != (model_name, num_classes):
        raise CheckpointError(f"{caller}: '{path}' is for model {name!r} with {classes} classes, not "
                              f"{model_name!r} with {num_classes}")
    weights = c.need(ckpt, "model", lambda v: isinstance(v, Mapping) and len(v) > 0, "a dict of tensors")
    for key, value in weights.items():
        c.need(weights, key, lambda v: isinstance(v, torch.Tensor), "a tensor", "model.")
    optimizer = c.need(ckpt, "optimizer", lambda v: isinstance(v, Mapping), "an optimizer's state_dict")
    c.need(optimizer, "state", lambda v: isinstance(v, Mapping), "a dict", "optimizer.")
    groups = c.need(optimizer, "param_groups", lambda v: isinstance(v, list) and len(v) > 0
                    and all(isinstance(g, Mapping) for g in v), "a list of dicts", "optimizer.")
    for i, group in enumerate(groups):
        c.need(group, "params", lambda v: isinstance(v, list) and all(_is_int(p) for p in v),
               "a list of parameter indices", f"optimizer.param_groups[{i}].")
    c.need(ckpt, "scheduler", lambda v: v is None or isinstance(v, Mapping), "a scheduler's state_dict or None")
    c.need(ckpt, "scaler", lambda v: v is None or isinstance(v, Mapping), "a GradScaler's state_dict or None")
    epoch = c.need(ckpt, "epoch", lambda v: _is_int(v) and v >= 1, "the number of epochs completed (an int >= 1)")

    rng = c.need(ckpt, "rng", lambda v: isinstance(v, Mapping), "the random generators' states")
    c.keys(rng, ("torch", "cuda", "numpy", "python"), "rng")
    c.need(rng, "torch", _is_tensor(torch.uint8, ndim=1), "a uint8 tensor", "rng.")
    c.need(rng, "cuda", lambda v: isinstance(v, list) and all(_is_tensor(torch.uint8, ndim=1)(s) for s in v),
           "a list of uint8 tensors", "rng.")
    numpy_state = c.need(rng, "numpy", lambda v: isinstance(v, Mapping), "a dict", "rng.")
    c.keys(numpy_state, ("name", "keys", "pos", "has_gauss", "cached_gaussian"), "rng.numpy")
    c.need(numpy_state, "name", lambda v: isinstance(v, str) and v == "MT19937", "'MT19937'", "rng.numpy.")
    c.need(numpy_state, "keys", _is_tensor(torch.int64, (624,)), "an int64 tensor of shape (624,)", "rng.numpy.")
    c.need(numpy_state, "pos", lambda v: _is_int(v) and 0 <= v <= 624, "an int in 0..624", "rng.numpy.")
    c.need(numpy_state, "has_gauss", lambda v: _is_int(v) and v in (0, 1), "0 or 1", "rng.numpy.")
    c.need(numpy_state, "cached_gaussian", _is_number, "a float", "rng.numpy.")
    python_state = c.need(rng, "python", lambda v: isinstance(v, Mapping), "a dict", "rng.")
    c.keys(python_state, ("version", "state", "gauss_next"), "rng.python")
    c.need(python_state, "version", _is_int, "an int", "rng.python.")
    c.need(python_state, "state", _is_tensor(torch.int64, (625,)), "an int64 tensor of shape (625,)", "rng.python.")
    c.need(python_state, "gauss_next", lambda v: v is None or _is_number(v), "a float or None", "rng.python.")

    c.need(ckpt, "config", lambda v: isinstance(v, Mapping), "the run's configuration (a dict)")
    history = c.need(ckpt, "history", lambda v: isinstance(v, list) and len(v) == epoch,
                     f"a list of {epoch} records, one per epoch completed")
    for i, record in enumerate(history):
        where = f"history[{i}]"
        if not isinstance(record, Mapping):
            c.fail(f"{where} is {_describe(record)}, expected a dict")
        c.keys(record, RECORD_KEYS, where)
        c.need(record, "epoch", lambda v: _is_int(v) and v == i + 1, str(i + 1), where + ".")
        for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "time_s"):
            c.need(record, key, _is_number, "a number", where + ".")
        for key in ("val_loss", "val_accuracy"):
            c.need(record, key, lambda v: v is None or _is_number(v), "a number or None", where + ".")
        c.need(record, "lr", lambda v: isinstance(v, list) and len(v) == len(groups) and all(map(_is_number, v)),
               f"a list of {len(groups)} learning rates", where + ".")
    best = c.need(ckpt, "best", lambda v: isinstance(v, Mapping), "the best epoch's record (a dict)")
    c.keys(best, ("epoch", "val_accuracy", "val_loss"), "best")
    c.need(best, "epoch", lambda v: _is_int(v) and 1 <= v <= epoch, f"an int in 1..{epoch}", "best.")
    c.need(best, "val_accuracy", _is_number, "a number", "best.")
    c.need(best, "val_loss", _is_number, "a number", "best.")


def _compatible(saved: Any, fresh: Any) -> bool:
    if isinstance(fresh, bool) or fresh is None:  # flags: torch stores None or a bool
        return saved is None or isinstance(saved, bool)
    if _is_number(fresh):
        return _is_number(saved)
    if isinstance(fresh, (list, tuple)):
        return (isinstance(saved, (list, tuple)) and len(saved) == len(fresh)
                and all(_compatible(s, f) for s, f in zip(saved, fresh)))
    if isinstance(fresh, Mapping):
        return isinstance(saved, Mapping) and all(_compatible(saved[k], v) for k, v in fresh.items() if k in saved)
    if isinstance(fresh, torch.Tensor):
        return isinstance(saved, torch.Tensor) and saved.shape == fresh.shape
    return type(saved) is type(fresh)


def check_like(saved: Any, fresh: Mapping[str, Any], where: str, path: str | os.PathLike,
               caller: str = "resume") -> None:
    """Check a saved ``state_dict`` against a fresh one of the same object: a dict with every
    key the fresh one has, each holding a value of the same kind (numbers, flags, strings,
    lists of the same length, tensors of the same shape).

    ``load_state_dict`` of a scheduler takes any dict and keeps its own value for a missing
    key; an optimizer fills some in with defaults. A checkpoint that lacks one did not come
    from this torch's objects whole, and continuing from it would not be the run it claims.

    Raises:
        CheckpointError: naming ``where`` and the key.

    Examples:
        >>> check_like({"last_epoch": "3"}, {"last_epoch": 0}, "scheduler", "last.pt")
        Traceback (most recent call last):
        ...
        cnnref.checkpoint.CheckpointError: resume: 'last.pt' is not a usable training checkpoint: scheduler.last_epoch is str '3', expected int like a fresh scheduler's
    """
    c = _Checker(path, caller)
    if not isinstance(saved, Mapping):
        c.fail(f"{where} is {_describe(saved)}, expected a dict")
    for key, value in fresh.items():
        theirs = saved.get(key, _MISSING)
        if theirs is _MISSING:
            c.fail(f"{where} has no {key}")
        if not _compatible(theirs, value):
            c.fail(f"{where}.{key} is {_describe(theirs)}, expected {type(value).__name__} like a fresh "
                   f"{where.split('.')[0].split('[')[0]}'s")


def check_optimizer_state(saved: Any, optimizer: torch.optim.Optimizer, name: str, path: str | os.PathLike,
                          caller: str = "resume") -> None:
    """Check the per-parameter state of a saved optimizer (``state_dict()["state"]``) before
    ``optimizer`` loads it: every parameter that trains has the entries ``name``'s update
    needs (`OPTIMIZER_STATE`), shaped like the parameter, and there is no other entry.

    ``load_state_dict`` takes the state of another optimizer (SGD's momentum into Adam), where
    the first step fails with a ``KeyError``, and quietly turns a step count of the wrong type
    into a tensor.

    Examples:
        >>> net = torch.nn.Linear(2, 1)
        >>> check_optimizer_state({0: {"momentum_buffer": torch.zeros(1, 2)}}, torch.optim.Adam(net.parameters()),
        ...                       "adam", "last.pt")
        Traceback (most recent call last):
        ...
        cnnref.checkpoint.CheckpointError: resume: 'last.pt' is not a usable training checkpoint: optimizer.state[0].step is missing, expected the adam state of a parameter of shape (1, 2)
    """
    c = _Checker(path, caller)
    if not isinstance(saved, Mapping):
        c.fail(f"optimizer.state is {_describe(saved)}, expected a dict")
    indices = set()
    i = -1
    for group in optimizer.param_groups:
        for param in group["params"]:
            i += 1
            indices.add(i)
            if not param.requires_grad:
                continue
            state = saved.get(i, {})
            if not isinstance(state, Mapping):
                c.fail(f"optimizer.state[{i}] is {_describe(state)}, expected a dict")
            for key in OPTIMIZER_STATE[name]:
                value = state.get(key, _MISSING)
                if name == "sgd" and not group.get("momentum") and (value is _MISSING or value is None):
                    continue  # SGD without momentum keeps nothing
                if key == "step":  # torch has saved it as a one-element float tensor since 1.12
                    ok = isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point()
                else:
                    ok = isinstance(value, torch.Tensor) and value.shape == param.shape
                if not ok:
                    c.fail(f"optimizer.state[{i}].{key} is {_describe(value)}, expected the {name} state of a "
                           f"parameter of shape {tuple(param.shape)}")
    unknown = [k for k in saved if k not in indices]
    if unknown:
        c.fail(f"optimizer.state has entries {unknown[:5]} for parameters this model does not have")
