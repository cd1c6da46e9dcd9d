"""Fine-tuning: start from weights trained for another task instead of random ones.

The notes' recipe, as functions:

1. reuse the weights of every layer the two models share, give the new layers (usually the
   classifier head) random initial weights: `load_pretrained`;
2. train the new layers with a larger learning rate and the reused ones with a smaller one:
   `param_groups` (optionally smaller still the further a layer is from the head);
3. optionally keep some reused layers fixed: `freeze`.

`finetune` puts them together around `cnnref.train.fit`.

Examples:
    >>> from cnnref.models import lenet5
    >>> old, new = lenet5(num_classes=10), lenet5(num_classes=5)
    >>> report = load_pretrained(new, old.state_dict())
    >>> report.new
    ['output.weight', 'output.bias']
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Mapping

import torch
from torch import nn

from cnnref.checkpoint import CheckpointError, load_checkpoint
from cnnref.config import ConfigError, Range, TrainConfig, check_data_options
from cnnref.data import num_classes
from cnnref.distributed import launched
from cnnref.rundir import check_folder, check_not_written
from cnnref.seeding import seed_everything
from cnnref.train import Run, fit

__all__ = [
    "LoadReport",
    "FinetuneConfig",
    "load_pretrained",
    "head_name",
    "freeze",
    "unfreeze",
    "param_groups",
    "finetune",
]


def _matches(name: str, prefixes: Iterable[str]) -> bool:
    """``name`` is one of ``prefixes`` or lies under one: ``"c1"`` matches ``"c1.weight"``,
    not ``"c10.weight"``."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@dataclass
class LoadReport:
    """What `load_pretrained` did, tensor by tensor.

    Attributes:
        reused: model keys given the pretrained values.
        new: model keys left at their random initialisation (no match, or asked for).
        ignored: pretrained keys not used (no such name in the model, another shape, or asked for).
    """

    reused: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"reused {len(self.reused)} tensors ({', '.join(self.reused) or '-'}); "
                f"new, randomly initialised: {len(self.new)} ({', '.join(self.new) or '-'})")


def _state_dict(source: str | os.PathLike | Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], str]:
    """The weights in ``source`` (a checkpoint path, a checkpoint dict, or a state dict) and
    a label for messages."""
    label = "the given state dict"
    if isinstance(source, (str, os.PathLike)):
        label = f"'{source}'"
        source = load_checkpoint(source)
    if not isinstance(source, Mapping):
        raise TypeError(f"load_pretrained: source must be a path or a dict, got {type(source).__name__}")
    if "model" in source and isinstance(source["model"], Mapping):  # a cnnref checkpoint
        source = source["model"]
    weights = {k: v for k, v in source.items() if isinstance(v, torch.Tensor)}
    if not weights:
        raise CheckpointError(f"load_pretrained: {label} holds no weights")
    return weights, label


def load_pretrained(model: nn.Module, source: str | os.PathLike | Mapping[str, Any],
                    reinit: Iterable[str] = ()) -> LoadReport:
    """Copy every pretrained tensor whose name and shape match into ``model``.

    Layers whose names or shapes differ (a head for another number of classes) keep their
    random initial weights, and so do the layers named in ``reinit`` even if they match.

    Args:
        model: the new model, freshly built (randomly initialised).
        source: a checkpoint file (loaded with ``weights_only=True``), a checkpoint dict with a
            ``"model"`` entry, or a state dict.
        reinit: names or prefixes of layers to leave new, e.g. ``["output"]``.

    Returns:
        A `LoadReport` listing reused, new and ignored keys.

    Raises:
        CheckpointError: the file is missing, unreadable or unsafe, or holds no weights.

    Examples:
        >>> from cnnref.models import lenet5
        >>> report = load_pretrained(lenet5(num_classes=5), lenet5(num_classes=5).state_dict(), reinit=["output"])
        >>> len(report.reused), report.new, report.ignored
        (8, ['output.weight', 'output.bias'], ['output.weight', 'output.bias'])
    """
    weights, _ = _state_dict(source)
    reinit = list(reinit)
    own = model.state_dict()
    report = LoadReport()
    update = {}
    for key, value in own.items():
        theirs = weights.get(key)
        if theirs is not None and theirs.shape == value.shape and not _matches(key, reinit):
            update[key] = theirs
            report.reused.append(key)
        else:
            report.new.append(key)
    report.ignored = [k for k in weights if k not in update]
    model.load_state_dict(update, strict=False)
    return report


def head_name(model: nn.Module) -> str:
    """The name of the last layer that has parameters: the classifier head to replace.

    Examples:
        >>> from cnnref.models import lenet5
        >>> head_name(lenet5())
        'output'
    """
    names = [name for name, module in model.named_modules()
             if name and any(True for _ in module.parameters(recurse=False))]
    if not names:
        raise ValueError(f"head_name: {type(model).__name__} has no layer with parameters")
    return names[-1]


def freeze(model: nn.Module, prefixes: Iterable[str]) -> list[str]:
    """Stop training the parameters under ``prefixes`` (``requires_grad = False``).

    Args:
        model: the model.
        prefixes: layer names or parameter names, e.g. ``["c1", "c3"]``.

    Returns:
        The names of the frozen parameters.

    Raises:
        ValueError: a prefix names no parameter (a typo would otherwise freeze nothing).

    Examples:
        >>> from cnnref.models import lenet5
        >>> net = lenet5()
        >>> freeze(net, ["c1"])
        ['c1.weight', 'c1.bias']
        >>> net.c1.weight.requires_grad, net.c3.weight.requires_grad
        (False, True)
    """
    return _set_requires_grad(model, list(prefixes), False, "freeze")


def unfreeze(model: nn.Module, prefixes: Iterable[str] | None = None) -> list[str]:
    """Train the parameters under ``prefixes`` again (every parameter if ``None``).

    Examples:
        >>> from cnnref.models import lenet5
        >>> net = lenet5(); _ = freeze(net, ["c1", "c3"])
        >>> unfreeze(net, ["c3"])
        ['c3.weight', 'c3.bias']
    """
    if prefixes is None:
        prefixes = [name for name, _ in model.named_parameters()]
    return _set_requires_grad(model, list(prefixes), True, "unfreeze")


def _set_requires_grad(model: nn.Module, prefixes: list[str], flag: bool, caller: str) -> list[str]:
    names = [name for name, _ in model.named_parameters()]
    unknown = [p for p in prefixes if not any(_matches(n, [p]) for n in names)]
    if unknown:
        layers = dict.fromkeys(n.rsplit(".", 1)[0] for n in names)  # in model order, once each
        raise ValueError(f"{caller}: {', '.join(map(repr, unknown))} names no parameter, expected layers "
                         f"among {', '.join(layers)}")
    changed = []
    for name, param in model.named_parameters():
        if _matches(name, prefixes):
            param.requires_grad_(flag)
            changed.append(name)
    return changed


def param_groups(model: nn.Module, new: Iterable[str], head_lr: float = 1e-2, base_lr: float = 1e-3,
                 layer_decay: float = 1.0) -> list[dict[str, Any]]:
    """Optimizer parameter groups: ``head_lr`` for the new layers, ``base_lr`` for the reused ones.

    With ``layer_decay < 1`` each reused layer gets its own group and its rate shrinks by
    that factor per layer further from the head: the layer just below the head trains at
    ``base_lr``, the one below at ``base_lr * layer_decay``, and so on (early layers hold
    general features worth keeping). Frozen parameters (``requires_grad=False``) are left out.

    Args:
        model: the model.
        new: names or prefixes of the new parameters (e.g. ``LoadReport.new``, or ``["output"]``).
        head_lr: learning rate of the new parameters.
        base_lr: learning rate of the reused parameters.
        layer_decay: factor per layer away from the head, in (0, 1].

    Returns:
        A list of ``{"name", "params", "lr"}`` dicts for any ``torch.optim`` optimizer.

    Examples:
        >>> from cnnref.models import lenet5
        >>> groups = param_groups(lenet5(), new=["output"], head_lr=0.01, base_lr=0.001)
        >>> [(g["name"], g["lr"], len(g["params"])) for g in groups]
        [('new', 0.01, 2), ('reused', 0.001, 8)]
        >>> [(g["name"], g["lr"]) for g in param_groups(lenet5(), ["output"], 0.01, 0.001, layer_decay=0.5)]
        [('new', 0.01), ('f6', 0.001), ('c5', 0.0005), ('c3', 0.00025), ('c1', 0.000125)]
    """
    if not 0.0 < layer_decay <= 1.0:
        raise ValueError(f"param_groups: layer_decay must be in (0, 1], got {layer_decay!r}")
    if not (head_lr > 0 and base_lr > 0):
        raise ValueError(f"param_groups: head_lr and base_lr must be positive, got {head_lr!r} and {base_lr!r}")
    new = list(new)
    fresh, reused = [], {}  # reused: layer name -> its parameters, in model order
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if _matches(name, new):
            fresh.append(param)
        else:
            reused.setdefault(name.rsplit(".", 1)[0], []).append(param)
    groups = [{"name": "new", "params": fresh, "lr": head_lr}] if fresh else []
    if layer_decay == 1.0:
        if reused:
            groups.append({"name": "reused", "params": [p for ps in reused.values() for p in ps], "lr": base_lr})
        return groups
    for depth, layer in enumerate(reversed(list(reused))):  # nearest the head first
        groups.append({"name": layer, "params": reused[layer], "lr": base_lr * layer_decay ** depth})
    return groups


@dataclass
class FinetuneConfig(TrainConfig):
    """A `TrainConfig` plus the fine-tuning recipe.

    Args:
        pretrained: the checkpoint to start from (e.g. ``runs/a/best.pt``).
        freeze: names or prefixes of layers to keep fixed, e.g. ``["c1", "c3"]``.
        head_lr: learning rate of the new layers.
        base_lr: learning rate of the reused layers.
        layer_decay: per-layer factor on ``base_lr`` away from the head (1: none).
        reinit: layers to start from random weights even if they match
            (``None``: the head, the last layer with parameters).

    ``lr`` of the base class is not used: the two groups carry their own rates.

    Examples:
        >>> FinetuneConfig(pretrained="runs/a/best.pt", dataset="digits-5-9", head_lr=0.01).base_lr
        0.001
    """

    pretrained: str = ""
    freeze: list[str] = field(default_factory=list)
    head_lr: float = 1e-2
    base_lr: float = 1e-3
    layer_decay: float = 1.0
    reinit: list[str] | None = None

    OPTIONS: ClassVar[dict[str, Range]] = {
        **TrainConfig.OPTIONS, "head_lr": Range(float, 0, low_open=True), "base_lr": Range(float, 0, low_open=True),
        "layer_decay": Range(float, 0, 1, low_open=True),
    }
    PATHS: ClassVar[tuple[str, ...]] = ("pretrained",)

    def __post_init__(self):
        super().__post_init__()
        name = type(self).__name__
        if isinstance(self.pretrained, os.PathLike):
            self.pretrained = os.fspath(self.pretrained)
        if not isinstance(self.pretrained, str) or not self.pretrained.strip():
            raise ConfigError(name, "pretrained", f"must name the checkpoint to start from, got {self.pretrained!r}")
        for key in ("freeze", "reinit"):
            value = getattr(self, key)
            if isinstance(value, tuple):
                value = list(value)
                setattr(self, key, value)
            if not (value is None and key == "reinit") and not (
                    isinstance(value, list) and all(isinstance(v, str) and v for v in value)):
                raise ConfigError(name, key, f"must be a list of layer names{' or None' if key == 'reinit' else ''}, "
                                             f"got {value!r}")


def finetune(cfg: FinetuneConfig) -> Run:
    """Fine-tune: build ``cfg.model`` for ``cfg.dataset``, load the pretrained weights that fit,
    freeze what is asked, and train with two learning rates.

    Returns:
        The `Run`; its metrics also hold ``reused``, ``new`` and ``frozen``.

    Raises:
        CheckpointError: the checkpoint is missing, unreadable, unsafe, or shares no weight
            with the model (another architecture).

    Examples:
        >>> import tempfile
        >>> from cnnref.train import fit
        >>> out = tempfile.mkdtemp()
        >>> _ = fit(TrainConfig(dataset="digits-0-4", epochs=1, per_class=5, val_fraction=0, out=out, verbose=False))
        >>> run = finetune(FinetuneConfig(pretrained=f"{out}/last.pt", dataset="digits-5-9", epochs=1,
        ...                               per_class=5, val_fraction=0, verbose=False))
        >>> run.metrics["new"]
        ['output.weight', 'output.bias']
    """
    from cnnref.models import get_model

    if cfg.out:  # fail before any work; fit checks the folder again
        check_not_written(cfg.out, cfg.pretrained, "--from (pretrained)")
        check_folder(cfg.out, cfg.resume, cfg.overwrite)
    seed_everything(cfg.seed)
    model = get_model(cfg.model, num_classes=num_classes(cfg.dataset))
    check_data_options(cfg, model)  # fit checks them too; here before the checkpoint is read
    reinit = [head_name(model)] if cfg.reinit is None else list(cfg.reinit)
    checkpoint = load_checkpoint(cfg.pretrained)
    report = load_pretrained(model, checkpoint, reinit=reinit)
    if not report.reused:
        made_for = f" (made for {checkpoint['model_name']!r})" if "model_name" in checkpoint else ""
        raise CheckpointError(f"finetune: no weight of '{cfg.pretrained}'{made_for} matches model "
                              f"{cfg.model!r} in name and shape")
    frozen = freeze(model, cfg.freeze)
    groups = param_groups(model, report.new, cfg.head_lr, cfg.base_lr, cfg.layer_decay)
    if not groups:
        raise ValueError("finetune: every parameter is frozen, nothing to train")
    if cfg.verbose and launched().main:
        print(f"from {cfg.pretrained}: {report}" + (f"; frozen: {', '.join(frozen)}" if frozen else ""), flush=True)
    extra = {"pretrained": str(cfg.pretrained), "reused": report.reused, "new": report.new, "frozen": frozen}
    return fit(cfg, model=model, params=groups, extra=extra)
