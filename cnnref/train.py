"""Train a torch model with a plain loop you can read from top to bottom.

No framework: the loop is what the site teaches. It picks a device (CUDA, then Apple MPS, then
the CPU), uses mixed precision on CUDA (bfloat16 where the GPU has it, float16 with a
``GradScaler`` otherwise), ``channels_last`` and optionally ``torch.compile``; it evaluates after
every epoch, writes the metrics as JSON lines and saves checkpoints atomically, so a crash in the
middle of a save never destroys the last good one. ``resume`` continues a run exactly: on the CPU,
a run that was interrupted and resumed ends with bit-identical weights to one that was not.

A run never writes into a folder that holds another run's files unless it is asked to resume
or to overwrite it (`cnnref.rundir`), and it checks every option and the checkpoint it resumes
before its first write. The files of an epoch are written in an order (``last.pt``, which holds
the best epoch's record, then ``best.pt``, then the JSON line) that lets a resume repair a kill
at any moment: after it, the files are those of a run that was never interrupted.

Started by ``torchrun`` (which sets ``RANK`` and ``WORLD_SIZE``), the same loop trains with
PyTorch's ``DistributedDataParallel``: one process per GPU (``nccl``), or per CPU process with
the ``gloo`` backend where there is no GPU. Only rank 0 logs and writes files.

Checkpoints hold only tensors and plain Python values, so they load with
``torch.load(weights_only=True)``, which refuses to unpickle anything else.

Examples:
    >>> cfg = TrainConfig(model="lenet5", dataset="digits", epochs=1, per_class=20, verbose=False)
    >>> run = fit(cfg)
    >>> len(run.history), 0.0 <= run.metrics["test_accuracy"] <= 1.0
    (1, True)
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from cnnref.checkpoint import (CHECKPOINT_FORMAT, CheckpointError, check_like, check_optimizer_state,
                               check_training_checkpoint, load_checkpoint, save_checkpoint)
from cnnref.rundir import (RunFolderError, append_line, check_folder, clean_temporary_files, copy_file,
                           remove_run_files, write_json, write_lines)

__all__ = [
    "DATASETS",
    "TrainConfig",
    "ConfigError",
    "Range",
    "Run",
    "CheckpointError",
    "RunFolderError",
    "fit",
    "check_data_options",
    "resume_conflicts",
    "check_saved_config",
    "pick_device",
    "autocast_dtype",
    "make_dataset",
    "split_sizes",
    "ImageDataset",
    "num_classes",
    "make_optimizer",
    "make_scheduler",
    "seed_everything",
    "rng_state",
    "set_rng_state",
    "save_checkpoint",
    "load_checkpoint",
    "evaluate",
    "train_one_epoch",
]

# Data sets by name: the digits to keep. Labels become 0..k-1 in this order.
DATASETS: dict[str, tuple[int, ...]] = {
    "digits": tuple(range(10)),
    "digits-0-4": (0, 1, 2, 3, 4),
    "digits-5-9": (5, 6, 7, 8, 9),
}
# Mean and standard deviation of the digits' training split at 32x32 (tests recompute them).
DIGITS_MEAN, DIGITS_STD = 0.234, 0.312
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "cosine", "step")
AMP_DTYPES = ("auto", "bf16", "fp16")


# --------------------------------------------------------------------------- configuration

class ConfigError(ValueError):
    """An option outside its range. ``key`` names it (a `TrainConfig` field) and ``reason``
    says what was expected and what was given (the command line shows it as ``--key``)."""

    def __init__(self, owner: str, key: str, reason: str):
        super().__init__(f"{owner}: {key} {reason}")
        self.key, self.reason = key, reason


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Range:
    """The numbers an option accepts: ints or (finite) floats between two bounds, each open
    or closed, and ``None`` if ``optional``.

    Examples:
        >>> Range(float, 0, 1, high_open=True).describe()
        'a number in [0, 1)'
        >>> Range(float, 0, low_open=True).check(float("inf"))
        'must be a finite number > 0, got inf'
    """

    kind: type
    low: int | float | None = None
    high: int | float | None = None
    low_open: bool = False
    high_open: bool = False
    optional: bool = False

    def describe(self) -> str:
        what = "an int" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            return f"{what} in {'(' if self.low_open else '['}{self.low}, {self.high}{')' if self.high_open else ']'}"
        if self.kind is float:
            what = "a finite number"
        if self.low is not None:
            return f"{what} {'>' if self.low_open else '>='} {self.low}"
        return what

    def check(self, value: Any) -> str | None:
        """``None`` if ``value`` is in the range, else the reason (``"must be ..., got ..."``)."""
        if value is None and self.optional:
            return None
        kind = numbers.Integral if self.kind is int else numbers.Real
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if ok and self.kind is float:
            ok = math.isfinite(value)
        if ok and self.low is not None:
            ok = value > self.low if self.low_open else value >= self.low
        if ok and self.high is not None:
            ok = value < self.high if self.high_open else value <= self.high
        return None if ok else f"must be {self.describe()}{' or None' if self.optional else ''}, got {value!r}"


@dataclass
class TrainConfig:
    """Everything a run depends on; saved in every checkpoint (plain types only).

    Args:
        model: a name of `cnnref.models.MODELS`, e.g. ``"lenet5"``.
        dataset: a name of `DATASETS`.
        epochs: passes over the training set.
        batch_size: examples per step *per process* (under torchrun the global batch is
            ``batch_size * WORLD_SIZE``, as in PyTorch's convention).
        optimizer: ``"sgd"`` (with ``momentum``), ``"adam"`` or ``"adamw"``.
        lr: learning rate.
        momentum: SGD momentum, in [0, 1).
        weight_decay: L2 penalty (decoupled for AdamW).
        schedule: ``"none"``, ``"cosine"`` (to 0 over ``epochs``) or ``"step"`` (times
            ``gamma`` every ``step_size`` epochs).
        step_size: epochs between two decays of ``"step"``.
        gamma: factor of ``"step"``, in (0, 1].
        clip_grad: clip the global gradient norm to this value (``None``: no clipping).
        per_class: train on only this many examples per class (a small data set).
        val_fraction: share of each class of the training split held out for validation
            (``best.pt`` is the epoch with the best validation accuracy; ``0``: no validation
            set, ``best.pt`` is the last epoch).
        shift: move each training image at random by up to this many pixels (smaller than
            the image).
        device: ``"auto"`` (CUDA, then MPS, then CPU), or ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``.
        amp: mixed precision; ``None``: on for CUDA, off elsewhere.
        amp_dtype: ``"auto"`` (bfloat16 where supported, else float16), ``"bf16"`` or ``"fp16"``.
        channels_last: NHWC memory layout; ``None``: on for CUDA, off elsewhere.
        compile: wrap the model in ``torch.compile``.
        deterministic: ask torch for deterministic kernels (slower on GPUs).
        seed: seeds the weights, the shuffling and every random generator (0 to 2**32 - 1).
        num_workers: DataLoader worker processes (the digits sit in memory: 0 is fine).
        out: folder for ``last.pt``, ``best.pt``, ``metrics.jsonl`` and ``metrics.json``
            (``None``: write nothing). A folder that holds any of them is refused unless
            ``resume`` or ``overwrite`` is set.
        resume: continue the run in ``out`` from its ``last.pt`` (a new run if ``out`` holds
            no run); the options that shape training must be those of that run.
        overwrite: delete the run files in ``out`` and start a new run there.
        progress: show a progress bar; ``None``: only when the output is a terminal.
        verbose: print one line per epoch.

    Raises:
        ConfigError: an option of the wrong type or outside its range, naming it.

    Examples:
        >>> TrainConfig(epochs=3).epochs
        3
        >>> TrainConfig(optimizer="rmsprop")
        Traceback (most recent call last):
        ...
        cnnref.train.ConfigError: TrainConfig: optimizer must be one of ('sgd', 'adam', 'adamw'), got 'rmsprop'
        >>> TrainConfig(lr=float("nan"))
        Traceback (most recent call last):
        ...
        cnnref.train.ConfigError: TrainConfig: lr must be a finite number > 0, got nan
    """

    model: str = "lenet5"
    dataset: str = "digits"
    epochs: int = 40
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 2e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"
    step_size: int = 10
    gamma: float = 0.1
    clip_grad: float | None = None
    per_class: int | None = None
    val_fraction: float = 0.1
    shift: int = 2
    device: str = "auto"
    amp: bool | None = None
    amp_dtype: str = "auto"
    channels_last: bool | None = None
    compile: bool = False
    deterministic: bool = False
    seed: int = 0
    num_workers: int = 0
    out: str | None = None
    resume: bool = False
    overwrite: bool = False
    progress: bool | None = None
    verbose: bool = True

    # The numeric options and their ranges (the command line checks its options with them).
    OPTIONS: ClassVar[dict[str, Range]] = {
        "epochs": Range(int, 1), "batch_size": Range(int, 1), "step_size": Range(int, 1),
        "per_class": Range(int, 1, optional=True), "val_fraction": Range(float, 0, 1, high_open=True),
        "shift": Range(int, 0), "lr": Range(float, 0, low_open=True),
        "momentum": Range(float, 0, 1, high_open=True), "weight_decay": Range(float, 0),
        "gamma": Range(float, 0, 1, low_open=True), "clip_grad": Range(float, 0, low_open=True, optional=True),
        "seed": Range(int, 0, 2 ** 32 - 1),  # NumPy's generator takes no more
        "num_workers": Range(int, 0, _cpus()),
    }
    # Options that say how this process runs, not what it computes: never saved, never compared.
    RUN_CONTROL: ClassVar[tuple[str, ...]] = ("out", "resume", "overwrite", "progress", "verbose")
    # Options that a resumed run may change (another machine); the others must match the checkpoint's.
    HARDWARE: ClassVar[tuple[str, ...]] = ("device", "amp", "amp_dtype", "channels_last", "compile",
                                           "deterministic", "num_workers")
    # Options holding a path: compared as the files they name.
    PATHS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        from cnnref.models import MODELS

        name = type(self).__name__
        for key, choices in (("model", tuple(sorted(MODELS))), ("dataset", tuple(DATASETS)),
                             ("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("amp_dtype", AMP_DTYPES)):
            value = getattr(self, key)
            if not isinstance(value, str) or value not in choices:
                raise ConfigError(name, key, f"must be one of {choices}, got {value!r}")
        for key, allowed in type(self).OPTIONS.items():
            reason = allowed.check(getattr(self, key))
            if reason:
                raise ConfigError(name, key, reason)
        for key in ("compile", "deterministic", "resume", "overwrite", "verbose"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(name, key, f"must be True or False, got {getattr(self, key)!r}")
        for key in ("amp", "channels_last", "progress"):
            if getattr(self, key) is not None and not isinstance(getattr(self, key), bool):
                raise ConfigError(name, key, f"must be True, False or None, got {getattr(self, key)!r}")
        if not isinstance(self.device, str) or not self.device:
            raise ConfigError(name, "device", f"must be a device name such as 'auto' or 'cpu', got {self.device!r}")
        if isinstance(self.out, os.PathLike):
            self.out = os.fspath(self.out)
        if self.out is not None and (not isinstance(self.out, str) or not self.out.strip()):
            raise ConfigError(name, "out", f"must name a folder (or be None to write nothing), got {self.out!r}")
        if self.resume and self.overwrite:
            raise ConfigError(name, "overwrite", "contradicts resume: resume continues the run in out, "
                                                 "overwrite deletes it; set one of them")
        for key in ("resume", "overwrite"):
            if getattr(self, key) and not self.out:
                raise ConfigError(name, key, "needs out, the folder that holds the run")

    def to_dict(self) -> dict[str, Any]:
        """The configuration as a dict of plain values."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def record(self) -> dict[str, Any]:
        """What checkpoints and ``metrics.json`` store: `to_dict` without the options that only
        say how this process runs (``out``, ``resume``, ``overwrite``, ``progress``, ``verbose``).

        Examples:
            >>> "resume" in TrainConfig(out="runs/a", resume=True).record()
            False
        """
        return {k: v for k, v in self.to_dict().items() if k not in self.RUN_CONTROL}


def _same_value(a: Any, b: Any) -> bool:
    """Equal plain values; 1 and 1.0 are the same number, True and 1 are not."""
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
        return type(a) is type(b) and isinstance(a, (bool, str, type(None))) and a == b
    return a == b


def resume_conflicts(cfg: TrainConfig, saved: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """The options of ``cfg`` that contradict the configuration a checkpoint was trained with.

    Every option that shapes training must match; those of `TrainConfig.HARDWARE` (device,
    precision, workers ...) and `TrainConfig.RUN_CONTROL` may differ.

    Returns:
        ``(key, given, saved)`` for each contradiction, in field order.

    Examples:
        >>> saved = TrainConfig(dataset="digits-0-4", epochs=12).record()
        >>> resume_conflicts(TrainConfig(dataset="digits-5-9", epochs=12, device="cpu"), saved)
        [('dataset', 'digits-5-9', 'digits-0-4')]
    """
    conflicts = []
    for key, given in cfg.record().items():
        if key in cfg.HARDWARE or key not in saved:
            continue
        theirs = saved[key]
        if key in cfg.PATHS and isinstance(theirs, str) and isinstance(given, str):
            same = os.path.realpath(given) == os.path.realpath(theirs)
        else:
            same = _same_value(given, theirs)
        if not same:
            conflicts.append((key, given, theirs))
    return conflicts


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


@dataclass
class Run:
    """What `fit` returns: the trained model (on its device), the final metrics (what
    ``metrics.json`` holds) and the per-epoch history."""

    model: nn.Module
    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- device and precision

def pick_device(name: str = "auto") -> torch.device:
    """The device to train on: ``"auto"`` takes CUDA, then Apple's MPS, then the CPU.

    Args:
        name: ``"auto"`` or a torch device string (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).

    Returns:
        A ``torch.device``.

    Raises:
        ValueError: the name is not a device, or that device is not available here.

    Examples:
        >>> pick_device("cpu")
        device(type='cpu')
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"pick_device: {name!r} is not a device, expected 'auto', 'cpu', 'cuda[:i]' or 'mps'") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"pick_device: {name!r} asked for, but CUDA is not available on this machine")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"pick_device: {name!r} asked for, but there are {torch.cuda.device_count()} CUDA devices")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"pick_device: {name!r} asked for, but MPS is not available on this machine")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"pick_device: device type {device.type!r} is not supported, expected cpu, cuda or mps")
    return device


def autocast_dtype(device: torch.device, amp: bool | None = None, amp_dtype: str = "auto") -> torch.dtype | None:
    """The dtype that autocast computes in, or ``None`` for full float32.

    ``amp=None`` turns mixed precision on for CUDA only. On CUDA ``"auto"`` means bfloat16
    where the GPU supports it (Ampere and newer), else float16 (which then needs a GradScaler);
    on the CPU and MPS ``"auto"`` means bfloat16.

    Examples:
        >>> autocast_dtype(torch.device("cpu")) is None
        True
        >>> autocast_dtype(torch.device("cpu"), amp=True)
        torch.bfloat16
    """
    if amp is None:
        amp = device.type == "cuda"
    if not amp:
        return None
    if amp_dtype == "bf16":
        return torch.bfloat16
    if amp_dtype == "fp16":
        return torch.float16
    if amp_dtype != "auto":
        raise ValueError(f"autocast_dtype: amp_dtype must be one of {AMP_DTYPES}, got {amp_dtype!r}")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16


# --------------------------------------------------------------------------- data

def num_classes(name: str) -> int:
    """Number of classes of a data set of `DATASETS`.

    Examples:
        >>> num_classes("digits"), num_classes("digits-5-9")
        (10, 5)
    """
    if name not in DATASETS:
        raise ValueError(f"num_classes: unknown dataset {name!r}, expected one of {', '.join(DATASETS)}")
    return len(DATASETS[name])


def split_sizes(name: str, val_fraction: float = 0.0, per_class: int | None = None, seed: int = 0
                ) -> dict[int, tuple[int, int]]:
    """How many examples of each digit `make_dataset` puts into the ``"train"`` and ``"val"``
    splits: ``{digit: (n_train, n_val)}``.

    Examples:
        >>> split_sizes("digits-0-4", val_fraction=0.1, per_class=20)[0]
        (20, 13)
    """
    from cnnref.data import load_digits

    if name not in DATASETS:
        raise ValueError(f"split_sizes: unknown dataset {name!r}, expected one of {', '.join(DATASETS)}")
    _, digit = load_digits("train", classes=DATASETS[name], seed=seed)  # 8x8: no resizing
    sizes = {}
    for c in DATASETS[name]:
        n = int((digit == c).sum())
        n_val = int(round(n * val_fraction))
        n_train = n - n_val if per_class is None else min(n - n_val, per_class)
        sizes[c] = (n_train, n_val)
    return sizes


class ImageDataset(Dataset):
    """Images and labels held in memory, standardised with fixed statistics, and for training
    moved at random by up to ``max_shift`` pixels (data augmentation).

    The shift draws from torch's global generator, the way torchvision's transforms do: it is
    seeded by `seed_everything`, saved in every checkpoint and restored on resume.
    (DataLoader workers, if any, are seeded from the loader's generator.)

    Args:
        images: ``(N, C, H, W)`` float32 in [0, 1] (0 is the background).
        labels: ``(N,)`` int64.
        max_shift: largest translation in pixels, up/down and left/right (0: none).
        mean: subtracted after the shift.
        std: divides after the shift.

    Examples:
        >>> ds = ImageDataset(torch.zeros(2, 1, 4, 4), torch.tensor([0, 1]), mean=0.5, std=0.5)
        >>> ds[1][0][0, 0].tolist(), int(ds[1][1])
        ([-1.0, -1.0, -1.0, -1.0], 1)
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, max_shift: int = 0,
                 mean: float = DIGITS_MEAN, std: float = DIGITS_STD):
        self.images, self.labels = images, labels  # (N, C, H, W), (N,)
        self.max_shift, self.mean, self.std = max_shift, mean, std

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        x = self.images[i]  # (C, H, W)
        if self.max_shift:
            s, (h, w) = self.max_shift, x.shape[1:]
            dy, dx = torch.randint(0, 2 * s + 1, (2,)).tolist()
            x = F.pad(x, (s, s, s, s))[:, dy:dy + h, dx:dx + w]  # (C, H, W), moved by (dy - s, dx - s)
        return (x - self.mean) / self.std, self.labels[i]


def make_dataset(
    name: str,
    split: str,
    size: int = 32,
    channels: int = 1,
    per_class: int | None = None,
    val_fraction: float = 0.0,
    max_shift: int = 0,
    seed: int = 0,
) -> ImageDataset:
    """A data set of `DATASETS` as ``(image, label)`` pairs, labels ``0..k-1``.

    The ``"val"`` split is the last ``round(val_fraction * n_c)`` training examples of each
    class; ``"train"`` is the rest, of which ``per_class`` keeps the first ones per class.
    The test split is always whole. Images are standardised with `DIGITS_MEAN` and
    `DIGITS_STD` (the statistics of the whole training split at 32x32), the same for
    every subset, so a model fine-tuned on ``"digits-5-9"`` sees what it was pretrained on.

    Args:
        name: ``"digits"``, ``"digits-0-4"`` or ``"digits-5-9"``.
        split: ``"train"``, ``"val"`` or ``"test"``.
        size: image side (32 for LeNet-5; the 8x8 digits are resized).
        channels: 1, or 3 to repeat the grey channel for RGB models.
        per_class: keep this many training examples per class.
        val_fraction: share of each class held out from the training split for validation.
        max_shift: random translation of the training images, in pixels (ignored for
            ``"val"`` and ``"test"``).
        seed: seed of `cnnref.data.load_digits`'s train/test split.

    Returns:
        An `ImageDataset`: ``x: (channels, size, size)`` float32, ``y`` int64.

    Examples:
        >>> ds = make_dataset("digits-5-9", "train", per_class=3)
        >>> len(ds), tuple(ds[0][0].shape), sorted(set(ds.labels.tolist()))
        (15, (1, 32, 32), [0, 1, 2, 3, 4])
    """
    from cnnref.data import load_digits

    if name not in DATASETS:
        raise ValueError(f"make_dataset: unknown dataset {name!r}, expected one of {', '.join(DATASETS)}")
    if split not in ("train", "val", "test"):
        raise ValueError(f"make_dataset: split must be 'train', 'val' or 'test', got {split!r}")
    if channels not in (1, 3):
        raise ValueError(f"make_dataset: channels must be 1 or 3, got {channels!r}")
    classes = DATASETS[name]
    x, digit = load_digits("test" if split == "test" else "train", size=size, classes=classes, seed=seed)
    if split != "test":
        keep = []
        for c in classes:
            idx = np.flatnonzero(digit == c)
            n_val = int(round(idx.size * val_fraction))
            part = idx[idx.size - n_val:] if split == "val" else idx[:idx.size - n_val]
            keep.append(part if split == "val" or per_class is None else part[:per_class])
        index = np.sort(np.concatenate(keep))
        x, digit = x[index], digit[index]
    y = np.searchsorted(np.asarray(classes), digit)        # digits -> 0..k-1
    images = torch.from_numpy(x)                           # (N, 1, size, size)
    if channels == 3:
        images = images.expand(-1, 3, -1, -1)  # (N, 3, size, size), a view: no copy
    return ImageDataset(images, torch.from_numpy(y), max_shift if split == "train" else 0)


def _train_loader(dataset: Dataset, cfg: TrainConfig, epoch: int, dist: "_Dist", device: torch.device) -> DataLoader:
    """A fresh loader per epoch whose order depends only on (seed, epoch): a resumed run
    sees the same batches as an uninterrupted one."""
    pin = device.type == "cuda"
    # a batch larger than the data is the whole data: the same batches, and older torch versions'
    # BatchSampler preallocate a list of batch_size entries (MemoryError for a huge --batch-size)
    batch_size = min(cfg.batch_size, len(dataset))
    if dist.world_size > 1:
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(dataset, num_replicas=dist.world_size, rank=dist.rank, shuffle=True, seed=cfg.seed)
        sampler.set_epoch(epoch)  # each epoch its own order, the same on every rank
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=cfg.num_workers, pin_memory=pin)
    generator = torch.Generator().manual_seed(cfg.seed + epoch)  # the rule DistributedSampler uses
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator,
                      num_workers=cfg.num_workers, pin_memory=pin)


def _eval_loader(dataset: Dataset, batch_size: int, dist: "_Dist") -> DataLoader:
    """Each process evaluates every WORLD_SIZE-th example (no padding, so sums are exact)."""
    if dist.world_size > 1:
        dataset = Subset(dataset, range(dist.rank, len(dataset), dist.world_size))
    return DataLoader(dataset, batch_size=batch_size, shuffle=False)


# --------------------------------------------------------------------------- optimizer, schedule, seeds

def make_optimizer(params: Iterable, name: str = "adam", lr: float = 1e-3, momentum: float = 0.9,
                   weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """``torch.optim.SGD`` (with momentum), ``Adam`` or ``AdamW`` by name.

    Args:
        params: parameters, or parameter groups (dicts with their own ``"lr"``).
        name: ``"sgd"``, ``"adam"`` or ``"adamw"``.
        lr: learning rate of the groups that do not set their own.
        momentum: SGD's momentum.
        weight_decay: L2 penalty (decoupled for AdamW).

    Examples:
        >>> make_optimizer(nn.Linear(2, 1).parameters(), "sgd", lr=0.1).defaults["momentum"]
        0.9
    """
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"make_optimizer: name must be one of {OPTIMIZERS}, got {name!r}")


def make_scheduler(optimizer: torch.optim.Optimizer, name: str = "none", epochs: int = 1, step_size: int = 10,
                   gamma: float = 0.1) -> torch.optim.lr_scheduler.LRScheduler | None:
    """A learning-rate schedule stepped once per epoch, or ``None`` for ``"none"``.

    ``"cosine"`` anneals every group's rate to 0 over ``epochs``; ``"step"`` multiplies it by
    ``gamma`` every ``step_size`` epochs.

    Examples:
        >>> opt = make_optimizer(nn.Linear(2, 1).parameters(), lr=1.0)
        >>> type(make_scheduler(opt, "cosine", epochs=10)).__name__
        'CosineAnnealingLR'
    """
    if name == "none":
        return None
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)
    raise ValueError(f"make_scheduler: name must be one of {SCHEDULES}, got {name!r}")


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python's, NumPy's and torch's generators (CPU and every GPU).

    With ``deterministic=True`` torch also picks deterministic kernels (and warns where it has
    none); on the CPU the loop is deterministic without it.

    Examples:
        >>> seed_everything(0); a = torch.rand(2)
        >>> seed_everything(0); torch.equal(a, torch.rand(2))
        True
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def rng_state() -> dict[str, Any]:
    """The state of every random generator, as tensors and plain values only (so that a
    checkpoint holding it loads with ``weights_only=True``).

    Examples:
        >>> state = rng_state(); a = torch.rand(1)
        >>> set_rng_state(state); torch.equal(a, torch.rand(1))
        True
    """
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": version, "state": torch.tensor(internal, dtype=torch.int64), "gauss_next": gauss_next},
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the generators saved by `rng_state`.

    Examples:
        >>> state = rng_state(); a = np.random.rand()
        >>> set_rng_state(state); a == np.random.rand()
        True
    """
    # a checkpoint loaded with map_location="cuda" brings the states to the GPU: they live on the CPU
    torch.set_rng_state(state["torch"].cpu())
    if state["cuda"] and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].cpu().numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].cpu().tolist()), p["gauss_next"]))


# --------------------------------------------------------------------------- checkpoints

def _checkpoint_state(cfg, model, optimizer, scheduler, scaler, epoch, history, best) -> dict[str, Any]:
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


# --------------------------------------------------------------------------- several processes

@dataclass
class _Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _setup_distributed(device_name: str) -> tuple[_Dist, torch.device | None]:
    """Join the process group when started by torchrun (``RANK``/``WORLD_SIZE`` set)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1 or "RANK" not in os.environ:
        return _Dist(), None
    import torch.distributed as tdist

    dist = _Dist(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    use_cuda = device_name != "cpu" and torch.cuda.is_available()  # one GPU per process, else CPU processes
    if use_cuda:
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if not tdist.is_initialized():
        tdist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return dist, device


def _all_reduce(totals: torch.Tensor, dist: _Dist) -> torch.Tensor:
    if dist.world_size > 1:
        import torch.distributed as tdist

        tdist.all_reduce(totals)
    return totals


# --------------------------------------------------------------------------- the loop

def _progress(iterable, enabled: bool, desc: str):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, leave=False, dynamic_ncols=True)


def train_one_epoch(net: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer,
                    scaler: torch.amp.GradScaler, device: torch.device, dtype: torch.dtype | None = None,
                    memory_format: torch.memory_format = torch.contiguous_format, clip_grad: float | None = None,
                    progress: bool = False, desc: str = "train") -> tuple[float, float]:
    """One pass over ``loader``: forward, cross-entropy loss, backward, optimizer step.

    Args:
        net: the model (possibly wrapped in DDP or compiled), in train mode afterwards.
        loader: yields ``x: (N, C, H, W)``, ``y: (N,)``.
        optimizer: steps once per batch.
        scaler: scales the loss for float16 (a disabled scaler passes everything through).
        device: where the batches go.
        dtype: autocast dtype, or ``None`` for float32.
        memory_format: ``torch.channels_last`` or ``torch.contiguous_format``.
        clip_grad: maximum global gradient norm, or ``None``.
        progress: show a tqdm bar.
        desc: the bar's label.

    Returns:
        ``(mean loss, accuracy)`` over the examples this process saw.

    Examples:
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
        >>> data = [(torch.randn(8, 1, 2, 2), torch.randint(0, 2, (8,)))]
        >>> opt = make_optimizer(net.parameters(), "sgd", lr=0.1)
        >>> scaler = torch.amp.GradScaler("cpu", enabled=False)
        >>> loss, acc = train_one_epoch(net, data, opt, scaler, torch.device("cpu"))
        >>> 0 <= acc <= 1
        True
    """
    net.train()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    totals = torch.zeros(3, device=device)  # loss sum, correct, count
    for x, y in _progress(loader, progress, desc):
        x = x.to(device, non_blocking=True, memory_format=memory_format)  # (N, C, H, W)
        y = y.to(device, non_blocking=True)                               # (N,)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            scores = net(x)                                               # (N, num_classes)
            loss = F.cross_entropy(scores, y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if clip_grad is not None:
            scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
            nn.utils.clip_grad_norm_(params, clip_grad)
        scaler.step(optimizer)  # skips the step if float16 gradients overflowed
        scaler.update()
        totals[0] += loss.detach().float() * len(y)  # stays on the device: no sync per step
        totals[1] += (scores.argmax(1) == y).sum()
        totals[2] += len(y)
    loss_sum, correct, count = totals.tolist()
    return loss_sum / max(count, 1), correct / max(count, 1)


@torch.no_grad()
def evaluate(net: nn.Module, loader: Iterable, device: torch.device, dtype: torch.dtype | None = None,
             memory_format: torch.memory_format = torch.contiguous_format, dist: _Dist | None = None
             ) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy of ``net`` over ``loader`` (summed over every
    process under torchrun).

    Examples:
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
        >>> data = [(torch.randn(8, 1, 2, 2), torch.randint(0, 2, (8,)))]
        >>> loss, acc = evaluate(net, data, torch.device("cpu"))
        >>> loss > 0
        True
    """
    net.eval()
    totals = torch.zeros(3, device=device)  # loss sum, correct, count
    for x, y in loader:
        x = x.to(device, non_blocking=True, memory_format=memory_format)  # (N, C, H, W)
        y = y.to(device, non_blocking=True)                               # (N,)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            scores = net(x)                                               # (N, num_classes)
        totals[0] += F.cross_entropy(scores.float(), y, reduction="sum")
        totals[1] += (scores.argmax(1) == y).sum()
        totals[2] += len(y)
    loss_sum, correct, count = _all_reduce(totals, dist or _Dist()).tolist()
    return loss_sum / max(count, 1), correct / max(count, 1)

def _log(cfg: TrainConfig, dist: _Dist, message: str) -> None:
    if cfg.verbose and dist.main:
        print(message, flush=True)


def check_data_options(cfg: TrainConfig, model: nn.Module) -> None:
    """Check the options whose range depends on the model and the data: ``shift`` smaller than
    the model's input image, and a ``val_fraction`` (with ``per_class``) that leaves at least
    one training example, and holds out at least one validation example, of every class.

    Raises:
        ConfigError: naming the option.

    Examples:
        >>> from cnnref.models import get_model
        >>> check_data_options(TrainConfig(shift=40), get_model("lenet5"))
        Traceback (most recent call last):
        ...
        cnnref.train.ConfigError: fit: shift must be smaller than the 32-pixel image of lenet5, got 40
    """
    side = min(model.input_size[-2:])
    if cfg.shift >= side:
        raise ConfigError("fit", "shift", f"must be smaller than the {side}-pixel image of {cfg.model}, got {cfg.shift}")
    sizes = split_sizes(cfg.dataset, cfg.val_fraction, cfg.per_class)
    for digit, (n_train, n_val) in sizes.items():
        if n_train == 0:
            raise ConfigError("fit", "val_fraction", f"leaves no training example of digit {digit} "
                                                     f"({n_val} of {n_val} held out), got {cfg.val_fraction!r}")
        if cfg.val_fraction and n_val == 0:
            raise ConfigError("fit", "val_fraction", f"holds out no example of digit {digit} (it has "
                                                     f"{n_train}); expected 0 or at least {0.5 / n_train:.3g}, "
                                                     f"got {cfg.val_fraction!r}")


def _read_resume_checkpoint(cfg: TrainConfig, path: Path) -> dict[str, Any]:
    """``out/last.pt``, checked in full against ``cfg`` before anything is built from it."""
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


def _restore(ckpt: dict[str, Any], path: Path, cfg: TrainConfig, model: nn.Module, optimizer: torch.optim.Optimizer,
             scheduler, scaler: torch.amp.GradScaler) -> tuple[int, list, dict]:
    """Load a checked checkpoint into the run's objects; anything that does not fit ends with
    one CheckpointError. Returns ``(epochs completed, history, best)``."""
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


def _prepare_folder(out: Path, mode: str, ckpt: dict[str, Any] | None) -> None:
    """The first writes of a run, once every check has passed: remove what killed processes
    left, and make the folder agree with ``last.pt``."""
    clean_temporary_files(out)
    if mode == "overwrite":
        remove_run_files(out)
    if ckpt is None:
        return
    write_lines(out / "metrics.jsonl", ckpt["history"])  # last.pt is the truth; a kill may have cut a line
    if ckpt["best"]["epoch"] == ckpt["epoch"]:
        # last.pt is the best epoch, and a kill may have come before best.pt was written: copy it
        copy_file(out / "last.pt", out / "best.pt")


def _save_epoch(out: Path, state: dict[str, Any], improved: bool, record: dict[str, Any]) -> None:
    """The files of one epoch, in the order that lets a resume repair a kill at any point:
    ``last.pt`` (which holds the best epoch's record), then ``best.pt``, then the JSON line."""
    save_checkpoint(state, out / "last.pt")
    if improved:
        save_checkpoint(state, out / "best.pt")
    append_line(out / "metrics.jsonl", record)


def fit(cfg: TrainConfig, model: nn.Module | None = None, params: Iterable | None = None,
        extra: dict[str, Any] | None = None) -> Run:
    """Train ``cfg.model`` on ``cfg.dataset``: the whole loop, with checkpoints and resume.

    Under ``torchrun`` (``RANK``/``WORLD_SIZE`` in the environment) this process trains its
    share with DistributedDataParallel, and only rank 0 prints and writes files.

    Every check (the options, the output folder, the checkpoint to resume) comes before the
    first write: a run that fails before training leaves its folder as it found it.

    Args:
        cfg: the run's configuration.
        model: a model to train instead of building ``cfg.model`` (e.g. one prepared for
            fine-tuning); it must still be the architecture ``cfg.model`` names.
        params: what the optimizer updates: parameters or parameter groups with their own
            ``"lr"`` (default: every parameter of the model).
        extra: more plain values to put into ``metrics.json``.

    Returns:
        A `Run`: the model, the final metrics and the history.

    Raises:
        ConfigError: an option out of its range, or one that contradicts the run resumed.
        RunFolderError: ``cfg.out`` holds a run and neither ``resume`` nor ``overwrite`` is set.
        CheckpointError: the ``last.pt`` to resume from is unreadable, malformed or for another model.
        RuntimeError: the training loss became NaN or infinite (the files keep the last good epoch).

    Files in ``cfg.out`` (rank 0), each written atomically: ``last.pt`` after every epoch,
    ``best.pt`` at the best validation accuracy, ``metrics.jsonl`` (one line per epoch) and
    ``metrics.json`` (final ``test_accuracy``, ``history``, ...). After a kill at any moment,
    ``resume`` ends with the files an uninterrupted run writes.

    Examples:
        >>> run = fit(TrainConfig(epochs=1, per_class=10, val_fraction=0, verbose=False))
        >>> 0.0 <= run.metrics["test_accuracy"] <= 1.0
        True
    """
    from cnnref.models import get_model

    out = Path(cfg.out) if cfg.out else None
    mode = check_folder(out, cfg.resume, cfg.overwrite) if out is not None else "none"
    ckpt = _read_resume_checkpoint(cfg, out / "last.pt") if mode == "resume" else None

    dist, dist_device = _setup_distributed(cfg.device)
    device = dist_device or pick_device(cfg.device)
    dtype = autocast_dtype(device, cfg.amp, cfg.amp_dtype)
    channels_last = device.type == "cuda" if cfg.channels_last is None else cfg.channels_last
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    progress = (sys.stdout.isatty() and sys.stderr.isatty()) if cfg.progress is None else cfg.progress
    progress = progress and dist.main

    seed_everything(cfg.seed, cfg.deterministic)
    if model is None:
        model = get_model(cfg.model, num_classes=num_classes(cfg.dataset))
    check_data_options(cfg, model)
    channels, size = model.input_size[0], model.input_size[-1]
    train_set = make_dataset(cfg.dataset, "train", size, channels, cfg.per_class, cfg.val_fraction, cfg.shift)
    val_set = make_dataset(cfg.dataset, "val", size, channels, val_fraction=cfg.val_fraction) if cfg.val_fraction else None
    test_set = make_dataset(cfg.dataset, "test", size, channels)

    model.to(device, memory_format=memory_format)
    optimizer = make_optimizer(model.parameters() if params is None else params,
                               cfg.optimizer, cfg.lr, cfg.momentum, cfg.weight_decay)
    scheduler = make_scheduler(optimizer, cfg.schedule, cfg.epochs, cfg.step_size, cfg.gamma)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)

    start_epoch, history, best = 0, [], {"epoch": 0, "val_accuracy": -1.0, "val_loss": float("inf")}
    if ckpt is not None:
        start_epoch, history, best = _restore(ckpt, out / "last.pt", cfg, model, optimizer, scheduler, scaler)
        _log(cfg, dist, f"resuming {out / 'last.pt'} after epoch {start_epoch}")

    net = model
    if dist.world_size > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.compile:
        net = torch.compile(net)
    if out is not None and dist.main:
        _prepare_folder(out, mode, ckpt)

    n_params = sum(p.numel() for p in model.parameters())
    precision = {None: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16 + GradScaler"}[dtype]
    _log(cfg, dist, f"{cfg.model} ({n_params:,} parameters) on {device}"
                    f"{f' x {dist.world_size} processes' if dist.world_size > 1 else ''}, {precision}, "
                    f"{'channels_last' if channels_last else 'NCHW'}; {len(train_set)} training examples")
    test_loader = _eval_loader(test_set, 256, dist)
    val_loader = _eval_loader(val_set, 256, dist) if val_set is not None else None
    for epoch in range(start_epoch + 1, cfg.epochs + 1):
        start = time.perf_counter()
        loader = _train_loader(train_set, cfg, epoch, dist, device)
        train_loss, train_acc = train_one_epoch(net, loader, optimizer, scaler, device, dtype, memory_format,
                                                cfg.clip_grad, progress, f"epoch {epoch}/{cfg.epochs}")
        if dist.world_size > 1:  # every process's share
            train_loss, train_acc = (v / dist.world_size for v in
                                     _all_reduce(torch.tensor([train_loss, train_acc], device=device), dist).tolist())
        if not math.isfinite(train_loss):
            where = f"; {out / 'last.pt'} keeps epoch {epoch - 1}" if out is not None and epoch > 1 else ""
            raise RuntimeError(f"fit: training diverged in epoch {epoch} (train loss {train_loss}): lower lr, "
                               f"weight_decay or clip_grad and start a new run{where}")
        lrs = [group["lr"] for group in optimizer.param_groups]
        if scheduler is not None:
            scheduler.step()
        # evaluate the bare model: DDP's forward would sync buffers, which uneven shards must not
        val_loss, val_acc = evaluate(model, val_loader, device, dtype, memory_format, dist) if val_loader else (None, None)
        test_loss, test_acc = evaluate(model, test_loader, device, dtype, memory_format, dist)
        record = {"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_acc,
                  "val_loss": val_loss, "val_accuracy": val_acc, "test_loss": test_loss,
                  "test_accuracy": test_acc, "lr": lrs, "time_s": time.perf_counter() - start}
        history.append(record)
        improved = val_acc is None or (val_acc, -val_loss) > (best["val_accuracy"], -best["val_loss"])
        if improved:
            best = {"epoch": epoch, "val_accuracy": -1.0 if val_acc is None else val_acc,
                    "val_loss": float("inf") if val_loss is None else val_loss}
        _log(cfg, dist, f"epoch {epoch:3d}/{cfg.epochs}  train loss {train_loss:.4f} acc {train_acc:6.2%}  "
                        + (f"val acc {val_acc:6.2%}  " if val_acc is not None else "")
                        + f"test loss {test_loss:.4f} acc {test_acc:6.2%}  {record['time_s']:.1f}s")
        if out is not None and dist.main:
            state = _checkpoint_state(cfg, model, optimizer, scheduler, scaler, epoch, history, best)
            _save_epoch(out, state, improved, record)

    last = history[-1] if history else {}
    metrics = {
        "model": cfg.model, "dataset": cfg.dataset, "epochs": len(history),
        "test_accuracy": last.get("test_accuracy"), "test_loss": last.get("test_loss"),
        "best_epoch": best["epoch"], "best_val_accuracy": best["val_accuracy"] if best["val_accuracy"] >= 0 else None,
        "train_time_s": sum(r["time_s"] for r in history), "parameters": n_params,
        "train_examples": len(train_set), "device": str(device), "world_size": dist.world_size,
        "precision": precision, "config": cfg.record(), **(extra or {}), "history": history,
    }
    if out is not None and dist.main:
        write_json(out / "metrics.json", metrics)
    if dist.world_size > 1:
        import torch.distributed as tdist

        tdist.barrier()
        tdist.destroy_process_group()
    return Run(model, metrics, history)
