"""Train a torch model with a plain loop you can read from top to bottom.

No framework: the loop is what the site teaches. It picks a device (CUDA, then Apple MPS, then
the CPU), uses mixed precision on CUDA (bfloat16 where the GPU has it, float16 with a
``GradScaler`` otherwise), ``channels_last`` and optionally ``torch.compile``; it evaluates after
every epoch, writes the metrics as JSON lines and saves checkpoints atomically, so a crash in the
middle of a save never destroys the last good one. ``resume`` continues a run exactly: on the CPU,
a run that was interrupted and resumed ends with bit-identical weights to one that was not.

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
import json
import os
import random
import re
import sys
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

__all__ = [
    "DATASETS",
    "TrainConfig",
    "Run",
    "CheckpointError",
    "fit",
    "pick_device",
    "autocast_dtype",
    "make_dataset",
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
CHECKPOINT_FORMAT = "cnnref-checkpoint-v1"


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, unsafe, or for another model."""


# --------------------------------------------------------------------------- configuration

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
        momentum: SGD momentum.
        weight_decay: L2 penalty (decoupled for AdamW).
        schedule: ``"none"``, ``"cosine"`` (to 0 over ``epochs``) or ``"step"`` (times
            ``gamma`` every ``step_size`` epochs).
        step_size: epochs between two decays of ``"step"``.
        gamma: factor of ``"step"``.
        clip_grad: clip the global gradient norm to this value (``None``: no clipping).
        per_class: train on only this many examples per class (a small data set).
        val_fraction: share of each class of the training split held out for validation
            (``best.pt`` is the epoch with the best validation accuracy; ``0``: no validation
            set, ``best.pt`` is the last epoch).
        device: ``"auto"`` (CUDA, then MPS, then CPU), or ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``.
        amp: mixed precision; ``None``: on for CUDA, off elsewhere.
        amp_dtype: ``"auto"`` (bfloat16 where supported, else float16), ``"bf16"`` or ``"fp16"``.
        channels_last: NHWC memory layout; ``None``: on for CUDA, off elsewhere.
        compile: wrap the model in ``torch.compile``.
        deterministic: ask torch for deterministic kernels (slower on GPUs).
        seed: seeds the weights, the shuffling and every random generator.
        num_workers: DataLoader worker processes (the digits sit in memory: 0 is fine).
        out: folder for ``last.pt``, ``best.pt``, ``metrics.jsonl`` and ``metrics.json``
            (``None``: write nothing).
        resume: continue from ``out/last.pt`` when it exists.
        progress: show a progress bar; ``None``: only when the output is a terminal.
        verbose: print one line per epoch.

    Examples:
        >>> TrainConfig(epochs=3).epochs
        3
        >>> TrainConfig(optimizer="rmsprop")
        Traceback (most recent call last):
        ...
        ValueError: TrainConfig: optimizer must be one of ('sgd', 'adam', 'adamw'), got 'rmsprop'
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
    progress: bool | None = None
    verbose: bool = True

    def __post_init__(self):
        name = type(self).__name__
        for key, choices in (("dataset", tuple(DATASETS)), ("optimizer", OPTIMIZERS),
                             ("schedule", SCHEDULES), ("amp_dtype", AMP_DTYPES)):
            if getattr(self, key) not in choices:
                raise ValueError(f"{name}: {key} must be one of {choices}, got {getattr(self, key)!r}")
        if isinstance(self.shift, bool) or not isinstance(self.shift, int) or self.shift < 0:
            raise ValueError(f"{name}: shift must be an int >= 0, got {self.shift!r}")
        for key in ("epochs", "batch_size", "step_size"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: {key} must be a positive int, got {value!r}")
        if self.per_class is not None and (not isinstance(self.per_class, int) or self.per_class < 1):
            raise ValueError(f"{name}: per_class must be a positive int or None, got {self.per_class!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"{name}: val_fraction must be in [0, 1), got {self.val_fraction!r}")
        if not self.lr > 0:
            raise ValueError(f"{name}: lr must be positive, got {self.lr!r}")
        if self.clip_grad is not None and not self.clip_grad > 0:
            raise ValueError(f"{name}: clip_grad must be positive or None, got {self.clip_grad!r}")
        if self.resume and not self.out:
            raise ValueError(f"{name}: resume needs out, the folder that holds last.pt")

    def to_dict(self) -> dict[str, Any]:
        """The configuration as a dict of plain values (what checkpoints store)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


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
    if dist.world_size > 1:
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(dataset, num_replicas=dist.world_size, rank=dist.rank, shuffle=True, seed=cfg.seed)
        sampler.set_epoch(epoch)  # each epoch its own order, the same on every rank
        return DataLoader(dataset, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.num_workers, pin_memory=pin)
    generator = torch.Generator().manual_seed(cfg.seed + epoch)  # the rule DistributedSampler uses
    return DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, generator=generator,
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

def _temporary_name(path: Path) -> Path:
    """A fresh name beside ``path`` (same folder, so the final rename stays on one file system)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``state`` with ``torch.save`` atomically: to a temporary file in the same folder,
    flushed to disk (``fsync``), then renamed over ``path`` (``os.replace``).

    A crash or an error during the write leaves the previous file at ``path`` untouched (and
    no temporary file behind).

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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(path)
    try:
        with open(tmp, "xb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows: readers see the old or the new file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path


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
        cnnref.train.CheckpointError: load_checkpoint: no checkpoint at 'no/such/file.pt'
    """
    import pickle

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
        "config": cfg.to_dict(),
        "history": history,
        "best": best,
    }


def _check_architecture(ckpt: dict[str, Any], cfg: TrainConfig, path: Path) -> None:
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"resume: '{path}' is not a cnnref training checkpoint")
    if ckpt["model_name"] != cfg.model or ckpt["num_classes"] != num_classes(cfg.dataset):
        raise CheckpointError(f"resume: '{path}' is for model {ckpt['model_name']!r} with {ckpt['num_classes']} "
                              f"classes, not {cfg.model!r} with {num_classes(cfg.dataset)}")


def _write_json(path: Path, obj: Any) -> None:
    """JSON file, written atomically like the checkpoints."""
    tmp = _temporary_name(path)
    with open(tmp, "x", encoding="utf8") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


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


def fit(cfg: TrainConfig, model: nn.Module | None = None, params: Iterable | None = None,
        extra: dict[str, Any] | None = None) -> Run:
    """Train ``cfg.model`` on ``cfg.dataset``: the whole loop, with checkpoints and resume.

    Under ``torchrun`` (``RANK``/``WORLD_SIZE`` in the environment) this process trains its
    share with DistributedDataParallel, and only rank 0 prints and writes files.

    Args:
        cfg: the run's configuration.
        model: a model to train instead of building ``cfg.model`` (e.g. one prepared for
            fine-tuning); it must still be the architecture ``cfg.model`` names.
        params: what the optimizer updates: parameters or parameter groups with their own
            ``"lr"`` (default: every parameter of the model).
        extra: more plain values to put into ``metrics.json``.

    Returns:
        A `Run`: the model, the final metrics and the history.

    Files in ``cfg.out`` (rank 0): ``last.pt`` after every epoch, ``best.pt`` at the best
    validation accuracy, ``metrics.jsonl`` (one line per epoch) and ``metrics.json`` (final
    ``test_accuracy``, ``history``, ...).

    Examples:
        >>> run = fit(TrainConfig(epochs=1, per_class=10, val_fraction=0, verbose=False))
        >>> 0.0 <= run.metrics["test_accuracy"] <= 1.0
        True
    """
    from cnnref.models import get_model

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
    channels, size = model.input_size[0], model.input_size[-1]
    train_set = make_dataset(cfg.dataset, "train", size, channels, cfg.per_class, cfg.val_fraction, cfg.shift)
    val_set = make_dataset(cfg.dataset, "val", size, channels, val_fraction=cfg.val_fraction) if cfg.val_fraction else None
    test_set = make_dataset(cfg.dataset, "test", size, channels)

    model.to(device, memory_format=memory_format)
    optimizer = make_optimizer(model.parameters() if params is None else params,
                               cfg.optimizer, cfg.lr, cfg.momentum, cfg.weight_decay)
    scheduler = make_scheduler(optimizer, cfg.schedule, cfg.epochs, cfg.step_size, cfg.gamma)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)

    out = Path(cfg.out) if cfg.out else None
    start_epoch, history, best = 0, [], {"epoch": 0, "val_accuracy": -1.0, "val_loss": float("inf")}
    if out is not None and (out / "last.pt").exists():
        if not cfg.resume:
            raise ValueError(f"fit: '{out}' already holds a run (last.pt): resume it (resume=True, --resume) "
                             f"or choose another out folder")
        ckpt = load_checkpoint(out / "last.pt", map_location=device)
        _check_architecture(ckpt, cfg, out / "last.pt")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None and ckpt["scheduler"] is not None:
            scheduler.load_state_dict(ckpt["scheduler"])
        if scaler.is_enabled() and ckpt["scaler"] is not None:
            scaler.load_state_dict(ckpt["scaler"])
        set_rng_state(ckpt["rng"])
        start_epoch, history, best = ckpt["epoch"], ckpt["history"], ckpt["best"]
        _log(cfg, dist, f"resuming {out / 'last.pt'} after epoch {start_epoch}")
    if out is not None and dist.main:
        out.mkdir(parents=True, exist_ok=True)
        # the history in last.pt is the truth: rewrite the JSON lines from it
        with open(out / "metrics.jsonl", "w", encoding="utf8") as f:
            f.writelines(json.dumps(record) + "\n" for record in history)

    net = model
    if dist.world_size > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.compile:
        net = torch.compile(net)

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
            save_checkpoint(state, out / "last.pt")
            if improved:
                save_checkpoint(state, out / "best.pt")
            with open(out / "metrics.jsonl", "a", encoding="utf8") as f:
                f.write(json.dumps(record) + "\n")

    last = history[-1] if history else {}
    metrics = {
        "model": cfg.model, "dataset": cfg.dataset, "epochs": len(history),
        "test_accuracy": last.get("test_accuracy"), "test_loss": last.get("test_loss"),
        "best_epoch": best["epoch"], "best_val_accuracy": best["val_accuracy"] if best["val_accuracy"] >= 0 else None,
        "train_time_s": sum(r["time_s"] for r in history), "parameters": n_params,
        "train_examples": len(train_set), "device": str(device), "world_size": dist.world_size,
        "precision": precision, "config": cfg.to_dict(), **(extra or {}), "history": history,
    }
    if out is not None and dist.main:
        _write_json(out / "metrics.json", metrics)
    if dist.world_size > 1:
        import torch.distributed as tdist

        tdist.barrier()
        tdist.destroy_process_group()
    return Run(model, metrics, history)
