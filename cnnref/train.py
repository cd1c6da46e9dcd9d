"""Train a torch model with a plain loop you can read from top to bottom.

No framework: the loop is what the site teaches. It picks a device (CUDA, then Apple MPS, then
the CPU, `cnnref.device`), uses mixed precision on CUDA (bfloat16 where the GPU has it, float16
with a ``GradScaler`` otherwise), ``channels_last`` and optionally ``torch.compile``; it evaluates
after every epoch, writes the metrics as JSON lines and saves checkpoints atomically
(`cnnref.checkpoint`), so a crash in the middle of a save never destroys the last good one.
``resume`` continues a run exactly (`cnnref.resume`): on the CPU, a run that was interrupted and
resumed ends with bit-identical weights to one that was not.

A run never writes into a folder that holds another run's files unless it is asked to resume
or to overwrite it (`cnnref.rundir`), and it checks every option (`cnnref.config`) and the
checkpoint it resumes before its first write. The files of an epoch are written in an order
(``last.pt``, which holds the best epoch's record, then ``best.pt``, then the JSON line) that
lets a resume repair a kill at any moment: after it, the files are those of a run that was
never interrupted.

Started by ``torchrun`` (which sets ``RANK`` and ``WORLD_SIZE``), the same loop trains with
PyTorch's ``DistributedDataParallel`` (`cnnref.distributed`): one process per GPU (``nccl``), or
per CPU process with the ``gloo`` backend where there is no GPU. Only rank 0 logs and writes files.

Examples:
    >>> cfg = TrainConfig(model="lenet5", dataset="digits", epochs=1, per_class=20, verbose=False)
    >>> run = fit(cfg)
    >>> len(run.history), 0.0 <= run.metrics["test_accuracy"] <= 1.0
    (1, True)
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Subset

from cnnref.checkpoint import checkpoint_state, save_checkpoint
from cnnref.config import TrainConfig, check_data_options
from cnnref.data import make_dataset, num_classes
from cnnref.device import autocast_dtype, pick_device
from cnnref.distributed import Processes, all_reduce, process_group
from cnnref.resume import read_checkpoint, repair_folder, restore
from cnnref.rundir import append_line, check_folder, write_json
from cnnref.seeding import seed_everything

# What `from cnnref.train import ...` has always offered, now defined beside what they are about.
from cnnref.checkpoint import CHECKPOINT_FORMAT, CheckpointError, load_checkpoint  # noqa: F401
from cnnref.config import AMP_DTYPES, OPTIMIZERS, SCHEDULES, ConfigError, Range  # noqa: F401
from cnnref.data import DATASETS, DIGITS_MEAN, DIGITS_STD, ImageDataset, split_sizes  # noqa: F401
from cnnref.rundir import RunFolderError  # noqa: F401
from cnnref.seeding import rng_state, set_rng_state  # noqa: F401

__all__ = ["Run", "fit", "train_one_epoch", "evaluate", "make_optimizer", "make_scheduler"]

NO_BEST = {"epoch": 0, "val_accuracy": -1.0, "val_loss": float("inf")}  # the record before any epoch


@dataclass
class Run:
    """What `fit` returns: the trained model (on its device), the final metrics (what
    ``metrics.json`` holds) and the per-epoch history."""

    model: nn.Module
    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- data, optimizer, schedule

def _train_loader(dataset, cfg: TrainConfig, epoch: int, processes: Processes, device: torch.device) -> DataLoader:
    """A fresh loader per epoch whose order depends only on (seed, epoch): a resumed run
    sees the same batches as an uninterrupted one."""
    pin = device.type == "cuda"
    # a batch larger than the data is the whole data: the same batches, and older torch versions'
    # BatchSampler preallocate a list of batch_size entries (MemoryError for a huge --batch-size)
    batch_size = min(cfg.batch_size, len(dataset))
    if processes.world_size > 1:
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(dataset, num_replicas=processes.world_size, rank=processes.rank, shuffle=True, seed=cfg.seed)
        sampler.set_epoch(epoch)  # each epoch its own order, the same on every rank
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=cfg.num_workers, pin_memory=pin)
    generator = torch.Generator().manual_seed(cfg.seed + epoch)  # the rule DistributedSampler uses
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator,
                      num_workers=cfg.num_workers, pin_memory=pin)


def _eval_loader(dataset, batch_size: int, processes: Processes) -> DataLoader:
    """Each process evaluates every WORLD_SIZE-th example (no padding, so sums are exact)."""
    if processes.world_size > 1:
        dataset = Subset(dataset, range(processes.rank, len(dataset), processes.world_size))
    return DataLoader(dataset, batch_size=batch_size, shuffle=False)


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
             memory_format: torch.memory_format = torch.contiguous_format, processes: Processes | None = None
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
    loss_sum, correct, count = all_reduce(totals, processes or Processes()).tolist()
    return loss_sum / max(count, 1), correct / max(count, 1)


def _save_epoch(out: Path, state: dict[str, Any], improved: bool, record: dict[str, Any]) -> None:
    """The files of one epoch, in the order that lets a resume repair a kill at any point:
    ``last.pt`` (which holds the best epoch's record), then ``best.pt``, then the JSON line."""
    save_checkpoint(state, out / "last.pt")
    if improved:
        save_checkpoint(state, out / "best.pt")
    append_line(out / "metrics.jsonl", record)


def _log(cfg: TrainConfig, processes: Processes, message: str) -> None:
    if cfg.verbose and processes.main:
        print(message, flush=True)


@dataclass
class _Hardware:
    """Where and how this process computes."""

    device: torch.device
    dtype: torch.dtype | None  # autocast's, None for float32
    memory_format: torch.memory_format
    progress: bool

    @classmethod
    def choose(cls, cfg: TrainConfig, processes: Processes, device: torch.device | None) -> "_Hardware":
        device = device or pick_device(cfg.device)  # torchrun gives each process its GPU
        channels_last = device.type == "cuda" if cfg.channels_last is None else cfg.channels_last
        progress = (sys.stdout.isatty() and sys.stderr.isatty()) if cfg.progress is None else cfg.progress
        return cls(device, autocast_dtype(device, cfg.amp, cfg.amp_dtype),
                   torch.channels_last if channels_last else torch.contiguous_format, progress and processes.main)

    @property
    def precision(self) -> str:
        return {None: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16 + GradScaler"}[self.dtype]


def _one_epoch(epoch: int, cfg: TrainConfig, hw: _Hardware, processes: Processes, model: nn.Module, net: nn.Module,
               optimizer, scheduler, scaler, train_set, val_loader, test_loader) -> dict[str, Any]:
    """Train one epoch, step the schedule, evaluate: the epoch's record."""
    start = time.perf_counter()
    loader = _train_loader(train_set, cfg, epoch, processes, hw.device)
    train_loss, train_acc = train_one_epoch(net, loader, optimizer, scaler, hw.device, hw.dtype, hw.memory_format,
                                            cfg.clip_grad, hw.progress, f"epoch {epoch}/{cfg.epochs}")
    if processes.world_size > 1:  # every process's share
        train_loss, train_acc = (v / processes.world_size for v in all_reduce(
            torch.tensor([train_loss, train_acc], device=hw.device), processes).tolist())
    if not math.isfinite(train_loss):
        where = f"; {cfg.out}/last.pt keeps epoch {epoch - 1}" if cfg.out and epoch > 1 else ""
        raise RuntimeError(f"fit: training diverged in epoch {epoch} (train loss {train_loss}): lower lr, "
                           f"weight_decay or clip_grad and start a new run{where}")
    lrs = [group["lr"] for group in optimizer.param_groups]
    if scheduler is not None:
        scheduler.step()
    # evaluate the bare model: DDP's forward would sync buffers, which uneven shards must not
    args = (hw.device, hw.dtype, hw.memory_format, processes)
    val_loss, val_acc = evaluate(model, val_loader, *args) if val_loader is not None else (None, None)
    test_loss, test_acc = evaluate(model, test_loader, *args)
    return {"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_acc, "val_loss": val_loss,
            "val_accuracy": val_acc, "test_loss": test_loss, "test_accuracy": test_acc, "lr": lrs,
            "time_s": time.perf_counter() - start}


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

    # 1. The output folder and the checkpoint to resume: read and checked, nothing written.
    out = Path(cfg.out) if cfg.out else None
    mode = check_folder(out, cfg.resume, cfg.overwrite) if out is not None else "none"
    ckpt = read_checkpoint(cfg, out / "last.pt") if mode == "resume" else None

    with process_group(cfg.device) as (processes, device):
        # 2. Hardware, model and data (the data's options are checked against the model).
        hw = _Hardware.choose(cfg, processes, device)
        seed_everything(cfg.seed, cfg.deterministic)
        if model is None:
            model = get_model(cfg.model, num_classes=num_classes(cfg.dataset))
        check_data_options(cfg, model)
        channels, size = model.input_size[0], model.input_size[-1]
        train_set = make_dataset(cfg.dataset, "train", size, channels, cfg.per_class, cfg.val_fraction, cfg.shift)
        val_loader = (_eval_loader(make_dataset(cfg.dataset, "val", size, channels, val_fraction=cfg.val_fraction),
                                   256, processes) if cfg.val_fraction else None)
        test_loader = _eval_loader(make_dataset(cfg.dataset, "test", size, channels), 256, processes)

        # 3. Optimizer, schedule, scaler; on resume, everything as last.pt left it.
        model.to(hw.device, memory_format=hw.memory_format)
        optimizer = make_optimizer(model.parameters() if params is None else params,
                                   cfg.optimizer, cfg.lr, cfg.momentum, cfg.weight_decay)
        scheduler = make_scheduler(optimizer, cfg.schedule, cfg.epochs, cfg.step_size, cfg.gamma)
        scaler = torch.amp.GradScaler(hw.device.type, enabled=hw.dtype == torch.float16)
        start_epoch, history, best = 0, [], dict(NO_BEST)
        if ckpt is not None:
            start_epoch, history, best = restore(ckpt, out / "last.pt", cfg, model, optimizer, scheduler, scaler)
            _log(cfg, processes, f"resuming {out / 'last.pt'} after epoch {start_epoch}")

        # 4. The network that trains: DDP across processes, compiled if asked.
        net = model
        if processes.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(model, device_ids=[hw.device.index] if hw.device.type == "cuda" else None)
        if cfg.compile:
            net = torch.compile(net)

        # 5. The first writes, once every check has passed.
        if out is not None and processes.main:
            repair_folder(out, mode, ckpt)

        # 6. The epochs: train, evaluate, save (last.pt, best.pt, the JSON line).
        n_params = sum(p.numel() for p in model.parameters())
        _log(cfg, processes, f"{cfg.model} ({n_params:,} parameters) on {hw.device}"
                             f"{f' x {processes.world_size} processes' if processes.world_size > 1 else ''}, "
                             f"{hw.precision}, {'NCHW' if hw.memory_format == torch.contiguous_format else 'channels_last'}; "
                             f"{len(train_set)} training examples")
        for epoch in range(start_epoch + 1, cfg.epochs + 1):
            record = _one_epoch(epoch, cfg, hw, processes, model, net, optimizer, scheduler, scaler, train_set,
                                val_loader, test_loader)
            history.append(record)
            val_acc, val_loss = record["val_accuracy"], record["val_loss"]
            improved = val_acc is None or (val_acc, -val_loss) > (best["val_accuracy"], -best["val_loss"])
            if improved:
                best = {"epoch": epoch, "val_accuracy": -1.0 if val_acc is None else val_acc,
                        "val_loss": float("inf") if val_loss is None else val_loss}
            _log(cfg, processes, f"epoch {epoch:3d}/{cfg.epochs}  train loss {record['train_loss']:.4f} "
                                 f"acc {record['train_accuracy']:6.2%}  "
                                 + (f"val acc {val_acc:6.2%}  " if val_acc is not None else "")
                                 + f"test loss {record['test_loss']:.4f} acc {record['test_accuracy']:6.2%}  "
                                 f"{record['time_s']:.1f}s")
            if out is not None and processes.main:
                state = checkpoint_state(cfg, model, optimizer, scheduler, scaler, epoch, history, best)
                _save_epoch(out, state, improved, record)

        # 7. The final metrics.
        last = history[-1] if history else {}
        metrics = {
            "model": cfg.model, "dataset": cfg.dataset, "epochs": len(history),
            "test_accuracy": last.get("test_accuracy"), "test_loss": last.get("test_loss"),
            "best_epoch": best["epoch"],
            "best_val_accuracy": best["val_accuracy"] if best["val_accuracy"] >= 0 else None,
            "train_time_s": sum(r["time_s"] for r in history), "parameters": n_params,
            "train_examples": len(train_set), "device": str(hw.device), "world_size": processes.world_size,
            "precision": hw.precision, "config": cfg.record(), **(extra or {}), "history": history,
        }
        if out is not None and processes.main:
            write_json(out / "metrics.json", metrics)
    return Run(model, metrics, history)
