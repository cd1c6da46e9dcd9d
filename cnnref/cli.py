"""The ``cnnref`` command line: ``cnnref train ...``, ``cnnref finetune ...`` and ``cnnref explain ...``.

Also ``python -m cnnref ...``, and under ``torchrun --nproc_per_node=2 -m cnnref train ...``
it trains with DistributedDataParallel. Bad arguments, a missing, corrupt or unsafe
checkpoint, or a checkpoint made for another architecture end with one line on stderr and a
non-zero exit status, never a traceback; an option out of its range, or one that contradicts
the run being resumed, is reported the way argparse reports it (``argument --lr: ...``, status 2).

A command writes only into its ``--out`` folder, and only the run files there: a folder that holds
any of them is refused unless ``--resume`` continues that run or ``--overwrite`` replaces it, and
the ``--from`` checkpoint of a fine-tune is never written over. ``explain`` writes one HTML file,
never over an existing file without ``--overwrite``, and never over its ``--from`` checkpoint or ``--image``.

Examples:
    >>> main(["train", "--model", "no-such-net"])
    Traceback (most recent call last):
    ...
    SystemExit: 2
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any, Callable

from cnnref.checkpoint import CheckpointError, load_checkpoint
from cnnref.config import AMP_DTYPES, OPTIMIZERS, SCHEDULES, ConfigError, TrainConfig
from cnnref.data import DATASETS
from cnnref.distributed import launched
from cnnref.finetune import FinetuneConfig
from cnnref.models import MODELS
from cnnref.rundir import RUN_FILES

__all__ = ["main", "build_parser", "given_options", "config_from_args"]

EXAMPLES = """examples:
  cnnref train --model lenet5 --dataset digits --epochs 40 --out runs/a
  cnnref train --model lenet5 --dataset digits --epochs 40 --out runs/a --resume   # after a crash
  cnnref train --out runs/a --resume                       # the same: left-out options come from runs/a
  cnnref train --model lenet5 --epochs 10 --out runs/a --overwrite   # replace the run in runs/a
  cnnref finetune --from runs/p/best.pt --dataset digits-5-9 --per-class 10 --out runs/b
  torchrun --nproc_per_node=2 -m cnnref train --out runs/ddp   # one process per GPU (or CPU)
  cnnref explain --from runs/a/best.pt --image digit.png --out explain.html   # every layer for one input
"""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks and appends each option's default unless its help
    already says it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" not in text and action.default not in (None, False, [], argparse.SUPPRESS):
            text += " (default: %(default)s)"
        return text


def _number(cls: type[TrainConfig], key: str) -> Callable[[str], Any]:
    """The argparse type of a numeric option: its range is ``cls.OPTIONS[key]``."""
    allowed = cls.OPTIONS[key]

    def parse(text: str):
        try:
            value = int(text) if allowed.kind is int else float(text)
        except ValueError:
            value = None
        if value is None or allowed.check(value):
            raise argparse.ArgumentTypeError(f"expected {allowed.describe()}, got {text!r}")
        return value

    parse.__name__ = key
    return parse


def _name(what: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return text

    parse.__name__ = what
    return parse


def _add_common(p: argparse.ArgumentParser, default_out: str, with_lr: bool) -> None:
    """The options that train and finetune share (defaults from TrainConfig)."""
    d = TrainConfig()
    g = p.add_argument_group("model and data")
    g.add_argument("--model", default=d.model, choices=sorted(MODELS), help="architecture to train")
    g.add_argument("--dataset", default=d.dataset, choices=list(DATASETS),
                   help="offline data set: scikit-learn's digits, all ten or digits 0-4 / 5-9 only "
                        "(labels become 0..k-1), resized to the model's input size")
    g.add_argument("--per-class", type=_number(TrainConfig, "per_class"), default=None, metavar="N",
                   help="train on only N examples per class (a small data set); default: all")
    g.add_argument("--val-fraction", type=_number(TrainConfig, "val_fraction"), default=d.val_fraction, metavar="F",
                   help="share of each class of the training split held out for validation; best.pt is "
                        "the epoch with the best validation accuracy (0: no validation, best.pt = last epoch)")
    g.add_argument("--shift", type=_number(TrainConfig, "shift"), default=d.shift, metavar="PIXELS",
                   help="move each training image at random by up to this many pixels (augmentation; 0: off); "
                        "smaller than the model's image")

    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=_number(TrainConfig, "epochs"), default=d.epochs, help="passes over the training set")
    g.add_argument("--batch-size", type=_number(TrainConfig, "batch_size"), default=d.batch_size,
                   help="examples per step per process (under torchrun the global batch is this times the "
                        "number of processes)")
    g.add_argument("--optimizer", default=d.optimizer, choices=OPTIMIZERS, help="torch.optim optimizer")
    if with_lr:
        g.add_argument("--lr", type=_number(TrainConfig, "lr"), default=d.lr, help="learning rate (at the start of the schedule)")
    g.add_argument("--momentum", type=_number(TrainConfig, "momentum"), default=d.momentum,
                   help="momentum of sgd, in [0, 1)")
    g.add_argument("--weight-decay", type=_number(TrainConfig, "weight_decay"), default=d.weight_decay,
                   help="L2 penalty (decoupled for adamw)")
    g.add_argument("--schedule", default=d.schedule, choices=SCHEDULES,
                   help="learning-rate schedule, stepped per epoch: cosine anneals to 0 over --epochs, "
                        "step multiplies by --gamma every --step-size epochs")
    g.add_argument("--step-size", type=_number(TrainConfig, "step_size"), default=d.step_size, help="epochs between decays of --schedule step")
    g.add_argument("--gamma", type=_number(TrainConfig, "gamma"), default=d.gamma,
                   help="decay factor of --schedule step, in (0, 1]")
    g.add_argument("--clip-grad", type=_number(TrainConfig, "clip_grad"), default=None, metavar="NORM",
                   help="clip the global gradient norm to NORM; default: no clipping")
    g.add_argument("--seed", type=_number(TrainConfig, "seed"), default=d.seed,
                   help="seeds the weights, the shuffling and every generator (any seed numpy.random.seed accepts)")
    g.add_argument("--deterministic", action="store_true",
                   help="ask torch for deterministic kernels (slower on GPUs; the CPU is deterministic anyway)")

    g = p.add_argument_group("hardware")
    g.add_argument("--device", default=d.device,
                   help="auto (CUDA, then Apple MPS, then CPU), or cpu, cuda, cuda:N, mps; "
                        "under torchrun each process takes the GPU of its LOCAL_RANK")
    g.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="mixed precision (autocast); default: on for CUDA, off elsewhere")
    g.add_argument("--amp-dtype", default=d.amp_dtype, choices=AMP_DTYPES,
                   help="autocast dtype: auto = bfloat16 where the device supports it, else float16 "
                        "(with a GradScaler)")
    g.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="NHWC memory layout (faster convolutions on tensor cores); default: on for CUDA")
    g.add_argument("--compile", action="store_true", help="wrap the model in torch.compile")
    g.add_argument("--num-workers", type=_number(TrainConfig, "num_workers"), default=d.num_workers,
                   help="DataLoader worker processes, at most the CPUs of this machine (the digits sit in memory: "
                        "0 is fine)")

    g = p.add_argument_group("output")
    g.add_argument("--out", type=_name("a folder name"), default=None, metavar="DIR",
                   help="folder for last.pt (every epoch), best.pt, metrics.jsonl (one line per epoch) and "
                        f"metrics.json (final test_accuracy and the history); default: {default_out}. "
                        "A folder that holds any of these files is refused without --resume or --overwrite")
    g.add_argument("--resume", action="store_true",
                   help="continue the run in OUT from its last.pt (weights, optimizer, schedule, scaler, "
                        "random generators): ends exactly where an uninterrupted run would. Options left out "
                        "are the run's own; options given must match it (device and precision may change)")
    g.add_argument("--overwrite", action="store_true",
                   help=f"delete the run files in OUT ({', '.join(RUN_FILES)}) and start a new run there; other "
                        "files stay")
    g.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar; default: only when the output is a terminal")
    g.add_argument("--quiet", action="store_true", help="print nothing but errors and the final line")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cnnref`` (``train``, ``finetune`` and ``explain`` sub-commands).

    Examples:
        >>> args = build_parser().parse_args(["train", "--epochs", "3"])
        >>> args.command, args.model, args.epochs
        ('train', 'lenet5', 3)
    """
    return _build()[0]


def _build() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = _Parser(prog="cnnref", formatter_class=_Formatter, epilog=EXAMPLES,
                     description="Train and fine-tune the CNNs of cnnref on offline data, on the CPU, one GPU "
                                 "or several (torchrun), and look inside a trained one (explain).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,finetune,explain}", parser_class=_Parser)

    train = sub.add_parser("train", formatter_class=_Formatter, epilog=EXAMPLES,
                           help="train a model from random weights",
                           description="Train a model from random weights; writes checkpoints and metrics to --out.")
    _add_common(train, "runs/MODEL-DATASET", with_lr=True)

    ft = sub.add_parser("finetune", formatter_class=_Formatter, epilog=EXAMPLES,
                        help="start from a trained checkpoint, new head, two learning rates",
                        description="Fine-tune: copy every weight of --from whose name and shape match the new "
                                    "model, start the head from random weights, and train the new layers with "
                                    "--head-lr and the reused ones with --base-lr.")
    ft.add_argument("--from", dest="pretrained", required=True, metavar="CHECKPOINT", type=_name("a checkpoint file"),
                    help="checkpoint to start from, e.g. runs/a/best.pt (loaded with weights_only=True)")
    _add_common(ft, "runs/MODEL-DATASET-finetune", with_lr=False)
    g = ft.add_argument_group("fine-tuning")
    g.add_argument("--freeze", nargs="+", default=[], metavar="LAYER",
                   help="layers (names or prefixes, e.g. c1 c3) to keep fixed")
    g.add_argument("--head-lr", type=_number(FinetuneConfig, "head_lr"), default=1e-2, help="learning rate of the new layers")
    g.add_argument("--base-lr", type=_number(FinetuneConfig, "base_lr"), default=1e-3, help="learning rate of the reused layers")
    g.add_argument("--layer-decay", type=_number(FinetuneConfig, "layer_decay"), default=1.0,
                   help="multiply --base-lr by this per layer further from the head (1: the same rate for all)")
    g.add_argument("--reinit", nargs="+", default=None, metavar="LAYER",
                   help="layers to start from random weights even if they match; default: the head "
                        "(the last layer with parameters)")
    _add_explain(sub)
    return parser, {"train": train, "finetune": ft}


def _index(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an int >= 0 (an example of the test split), got {text!r}")
    return value


def _add_explain(sub) -> argparse.ArgumentParser:
    """``cnnref explain``: one input through a trained model, written as one HTML file."""
    ex = sub.add_parser("explain", formatter_class=_Formatter, epilog=EXAMPLES,
                        help="show every layer of a trained model for one input, as one HTML file",
                        description="Run the model of a checkpoint on one input and write one self-contained HTML "
                                    "file (it opens from disk, with no network): the top-5 classes, every layer's "
                                    "activations as images with the shape on every edge, and the layer table "
                                    "(name, type, output shape, parameters, multiply-adds).")
    ex.add_argument("--from", dest="checkpoint", required=True, metavar="CHECKPOINT", type=_name("a checkpoint file"),
                    help="a checkpoint of cnnref train or finetune, e.g. runs/a/best.pt (loaded with weights_only=True)")
    what = ex.add_mutually_exclusive_group(required=True)
    what.add_argument("--image", metavar="FILE", type=_name("a picture file"),
                      help="a picture of one digit (PNG, JPEG, ... or a .npy array), prepared as the training "
                           "images were: ink cropped and centred, averaged to 8x8, enlarged to the model's input, "
                           "standardised")
    what.add_argument("--input-index", type=_index, metavar="K",
                      help="take example K of the test split of the checkpoint's data set")
    ex.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                    help="the digits are light ink on black: auto inverts a picture whose border is light")
    ex.add_argument("--out", required=True, metavar="FILE", type=_name("a file name"),
                    help="the HTML file to write; an existing file is refused without --overwrite")
    ex.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    return ex


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return os.path.realpath(a) == os.path.realpath(b)


def _explain(args: argparse.Namespace) -> int:
    """``cnnref explain``: returns the exit status; errors are one line on stderr."""
    prog = "cnnref explain"
    try:
        from cnnref.explain import explain_checkpoint
        from cnnref.explain_html import render_html, write_html

        for option, path in (("--from", args.checkpoint), ("--image", args.image)):
            if path is not None and _same_file(args.out, path):
                raise ValueError(f"--out '{args.out}' is the {option} file; choose another name")
        if Path(args.out).is_dir():
            raise ValueError(f"--out '{args.out}' is a folder, expected a file name such as explain.html")
        if Path(args.out).exists() and not args.overwrite:
            raise ValueError(f"--out '{args.out}' exists; give another name, or --overwrite to replace it")
        e, loaded = explain_checkpoint(args.checkpoint, image=args.image, index=args.input_index, invert=args.invert)
        trained = (f", {loaded.epoch} epoch{'' if loaded.epoch == 1 else 's'} on {loaded.dataset}"
                   if loaded.epoch and loaded.dataset else "")
        details = f"; checkpoint {args.checkpoint} ({loaded.name}{trained})"
        path = write_html(render_html(e, loaded.name, details), args.out, overwrite=args.overwrite)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, RuntimeError) as e:  # CheckpointError is a ValueError
        print(f"{prog}: error: {_one_line(e)}", file=sys.stderr)
        return 1
    label, p = e.top(1)[0]
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB): {loaded.name} predicts {label} "
          f"(probability {p:.1%}) for {e.source}", flush=True)
    return 0


def given_options(argv: list[str]) -> set[str]:
    """The options written on the command line ``argv`` (as `TrainConfig` field names), as
    opposed to those left at their defaults.

    Examples:
        >>> sorted(given_options(["train", "--epochs", "3", "--out", "runs/a"]))
        ['command', 'epochs', 'out']
    """
    parser, subparsers = _build()
    for sub in subparsers.values():
        for action in sub._actions:  # argparse has no public way to say "no defaults"
            action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(argv)))


def _saved_config(out: str) -> dict[str, Any] | None:
    """The configuration in ``out/last.pt``, or None (no such file, or one fit will reject)."""
    path = Path(out) / "last.pt"
    if not path.is_file():
        return None
    try:
        config = load_checkpoint(path).get("config")
    except CheckpointError:
        return None
    return dict(config) if isinstance(config, dict) else None


def config_from_args(args: argparse.Namespace, given: set[str]) -> TrainConfig:
    """The `TrainConfig` (or `cnnref.finetune.FinetuneConfig`) of parsed arguments.

    With ``--resume`` and a run in ``--out``, the options not ``given`` on the command line
    are that run's own, so ``cnnref train --out runs/a --resume`` continues it as it was
    started; given options are kept, and `cnnref.train.fit` refuses those that contradict the run.

    Raises:
        ConfigError: an option out of its range.
        CheckpointError: the run's saved configuration holds an invalid value.
    """
    cls = TrainConfig if args.command == "train" else FinetuneConfig
    values = {k: v for k, v in vars(args).items() if k not in ("command", "quiet")}
    values["verbose"] = not args.quiet
    if args.out is None:
        suffix = "-finetune" if args.command == "finetune" else ""
        values["out"] = f"runs/{args.model}-{args.dataset}{suffix}"
    inherited = set()
    saved = _saved_config(values["out"]) if args.resume else None
    for f in dataclasses.fields(cls):
        if saved is not None and f.name in saved and f.name not in given and f.name not in cls.RUN_CONTROL:
            values[f.name] = saved[f.name]
            inherited.add(f.name)
    try:
        return cls(**values)
    except ConfigError as e:
        if e.key in inherited:
            raise CheckpointError(f"resume: '{Path(values['out']) / 'last.pt'}' is not a usable training checkpoint: "
                                  f"config.{e.key} {e.reason}") from None
        raise


def _option(key: str) -> str:
    """The command-line spelling of a `TrainConfig` field."""
    return {"pretrained": "--from", "verbose": "--quiet"}.get(key, "--" + key.replace("_", "-"))


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def main(argv: list[str] | None = None) -> int:
    """Run ``cnnref`` with ``argv`` (default: the command line); returns the exit status.

    Returns:
        0 on success, 1 when the run could not start or failed (one line on stderr),
        2 for arguments out of their range or contradicting the run resumed (one line, the way
        argparse reports them; argparse exits itself for those it rejects while parsing).
    """
    status = _run(sys.argv[1:] if argv is None else list(argv))
    if argv is None and _under_torchrun():
        # Last resort, kept on purpose: a process started by torchrun ends here with os._exit, without
        # the interpreter's finalization. Nothing is lost by it: fit has left the process group
        # (cnnref.distributed.process_group destroys it), every file is closed and fsynced, and the two
        # streams are flushed below. Without it a rank could abort after all its work was done (SIGABRT,
        # "terminate called without an active exception"; 1 in 6-16 two-process gloo runs under load,
        # 0 in 24 with it): gloo's threads can still hold work objects whose tensors need the GIL when
        # they are destroyed during finalization, the cause PyTorch describes in pytorch/pytorch#179291
        # (its atexit fix was abandoned). Not reproduced since (December 2026): 0 aborts in 58 runs
        # without os._exit, of this code and of the code before the process group had one owner. Remove
        # it once a PyTorch release tears gloo down before finalization and the DDP test stays green.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


def _under_torchrun() -> bool:
    try:
        return launched().world_size > 1
    except ValueError:
        return False


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "explain":
        return _explain(args)
    prog = f"cnnref {args.command}"
    try:
        processes = launched()
        cfg = config_from_args(args, given_options(argv))
        if args.command == "train":
            from cnnref.train import fit

            run = fit(cfg)
        else:
            from cnnref.finetune import finetune

            run = finetune(cfg)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except ConfigError as e:  # an option out of range or contradicting the run: argparse's words
        print(f"{prog}: error: argument {_option(e.key)}: {_one_line(e.reason)} (see {prog} --help)", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError, RuntimeError) as e:  # CheckpointError, RunFolderError are ValueErrors
        print(f"{prog}: error: {_one_line(e)}", file=sys.stderr)
        return 1
    if processes.main:
        m = run.metrics
        where = m["device"] + (f" x {m['world_size']}" if m["world_size"] > 1 else "")
        print(f"test accuracy {m['test_accuracy']:.2%} after {m['epochs']} epochs "
              f"({m['train_time_s']:.1f} s of training on {where}); files in {cfg.out}", flush=True)
    return 0
