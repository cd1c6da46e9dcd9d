"""The options of a training run: `TrainConfig`, the range of every numeric option
(`TrainConfig.OPTIONS`, which the command line parses with), and the checks that need the
model and the data (`check_data_options`) or the run being resumed (`resume_conflicts`).

Nothing here imports torch; the model names come from `cnnref.models` when a configuration
is checked.

Examples:
    >>> TrainConfig(dataset="digits-0-4", epochs=3).record()["epochs"]
    3
    >>> TrainConfig(epochs=0)
    Traceback (most recent call last):
    ...
    cnnref.config.ConfigError: TrainConfig: epochs must be an int >= 1, got 0
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from cnnref.data import DATASETS, split_sizes

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "AMP_DTYPES",
    "ConfigError",
    "Range",
    "TrainConfig",
    "resume_conflicts",
    "check_data_options",
]

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "cosine", "step")
AMP_DTYPES = ("auto", "bf16", "fp16")


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
        seed: seeds the weights, the shuffling and every random generator (any seed `numpy.random.seed` accepts).
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
        cnnref.config.ConfigError: TrainConfig: optimizer must be one of ('sgd', 'adam', 'adamw'), got 'rmsprop'
        >>> TrainConfig(lr=float("nan"))
        Traceback (most recent call last):
        ...
        cnnref.config.ConfigError: TrainConfig: lr must be a finite number > 0, got nan
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


def check_data_options(cfg: TrainConfig, model: Any) -> None:
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
        cnnref.config.ConfigError: fit: shift must be smaller than the 32-pixel image of lenet5, got 40
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
