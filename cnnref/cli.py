"""The ``cnnref`` command line: ``cnnref train ...`` and ``cnnref finetune ...``.

Also ``python -m cnnref ...``, and under ``torchrun --nproc_per_node=2 -m cnnref train ...``
it trains with DistributedDataParallel. Bad arguments, a missing, corrupt or unsafe
checkpoint, or a checkpoint made for another architecture end with one line on stderr and a
non-zero exit status, never a traceback.

Examples:
    >>> main(["train", "--model", "no-such-net"])
    Traceback (most recent call last):
    ...
    SystemExit: 2
"""

from __future__ import annotations

import argparse
import os
import sys

from cnnref.models import MODELS
from cnnref.train import AMP_DTYPES, DATASETS, OPTIMIZERS, SCHEDULES, TrainConfig

__all__ = ["main", "build_parser"]

EXAMPLES = """examples:
  cnnref train --model lenet5 --dataset digits --epochs 40 --out runs/a
  cnnref train --model lenet5 --dataset digits --epochs 40 --out runs/a --resume   # after a crash
  cnnref finetune --from runs/p/best.pt --dataset digits-5-9 --per-class 10 --out runs/b
  torchrun --nproc_per_node=2 -m cnnref train --out runs/ddp   # one process per GPU (or CPU)
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


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _add_common(p: argparse.ArgumentParser, default_out: str, with_lr: bool) -> None:
    """The options that train and finetune share (defaults from TrainConfig)."""
    d = TrainConfig()
    g = p.add_argument_group("model and data")
    g.add_argument("--model", default=d.model, choices=sorted(MODELS), help="architecture to train")
    g.add_argument("--dataset", default=d.dataset, choices=list(DATASETS),
                   help="offline data set: scikit-learn's digits, all ten or digits 0-4 / 5-9 only "
                        "(labels become 0..k-1), resized to the model's input size")
    g.add_argument("--per-class", type=_positive_int, default=None, metavar="N",
                   help="train on only N examples per class (a small data set); default: all")
    g.add_argument("--val-fraction", type=float, default=d.val_fraction, metavar="F",
                   help="share of each class of the training split held out for validation; best.pt is "
                        "the epoch with the best validation accuracy (0: no validation, best.pt = last epoch)")
    g.add_argument("--shift", type=int, default=d.shift, metavar="PIXELS",
                   help="move each training image at random by up to this many pixels (augmentation; 0: off)")

    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=_positive_int, default=d.epochs, help="passes over the training set")
    g.add_argument("--batch-size", type=_positive_int, default=d.batch_size,
                   help="examples per step per process (under torchrun the global batch is this times the "
                        "number of processes)")
    g.add_argument("--optimizer", default=d.optimizer, choices=OPTIMIZERS, help="torch.optim optimizer")
    if with_lr:
        g.add_argument("--lr", type=float, default=d.lr, help="learning rate (at the start of the schedule)")
    g.add_argument("--momentum", type=float, default=d.momentum, help="momentum of sgd")
    g.add_argument("--weight-decay", type=float, default=d.weight_decay,
                   help="L2 penalty (decoupled for adamw)")
    g.add_argument("--schedule", default=d.schedule, choices=SCHEDULES,
                   help="learning-rate schedule, stepped per epoch: cosine anneals to 0 over --epochs, "
                        "step multiplies by --gamma every --step-size epochs")
    g.add_argument("--step-size", type=_positive_int, default=d.step_size, help="epochs between decays of --schedule step")
    g.add_argument("--gamma", type=float, default=d.gamma, help="decay factor of --schedule step")
    g.add_argument("--clip-grad", type=float, default=None, metavar="NORM",
                   help="clip the global gradient norm to NORM; default: no clipping")
    g.add_argument("--seed", type=int, default=d.seed, help="seeds the weights, the shuffling and every generator")
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
    g.add_argument("--num-workers", type=int, default=d.num_workers,
                   help="DataLoader worker processes (the digits sit in memory: 0 is fine)")

    g = p.add_argument_group("output")
    g.add_argument("--out", default=None, metavar="DIR",
                   help="folder for last.pt (every epoch), best.pt, metrics.jsonl (one line per epoch) and "
                        f"metrics.json (final test_accuracy and the history); default: {default_out}")
    g.add_argument("--resume", action="store_true",
                   help="continue from OUT/last.pt if it exists (weights, optimizer, schedule, scaler, "
                        "random generators): ends exactly where an uninterrupted run would")
    g.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar; default: only when the output is a terminal")
    g.add_argument("--quiet", action="store_true", help="print nothing but errors and the final line")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cnnref`` (``train`` and ``finetune`` sub-commands).

    Examples:
        >>> args = build_parser().parse_args(["train", "--epochs", "3"])
        >>> args.command, args.model, args.epochs
        ('train', 'lenet5', 3)
    """
    parser = _Parser(prog="cnnref", formatter_class=_Formatter, epilog=EXAMPLES,
                     description="Train and fine-tune the CNNs of cnnref on offline data, on the CPU, one GPU "
                                 "or several (torchrun).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,finetune}", parser_class=_Parser)

    train = sub.add_parser("train", formatter_class=_Formatter, epilog=EXAMPLES,
                           help="train a model from random weights",
                           description="Train a model from random weights; writes checkpoints and metrics to --out.")
    _add_common(train, "runs/MODEL-DATASET", with_lr=True)

    ft = sub.add_parser("finetune", formatter_class=_Formatter, epilog=EXAMPLES,
                        help="start from a trained checkpoint, new head, two learning rates",
                        description="Fine-tune: copy every weight of --from whose name and shape match the new "
                                    "model, start the head from random weights, and train the new layers with "
                                    "--head-lr and the reused ones with --base-lr.")
    ft.add_argument("--from", dest="pretrained", required=True, metavar="CHECKPOINT",
                    help="checkpoint to start from, e.g. runs/a/best.pt (loaded with weights_only=True)")
    _add_common(ft, "runs/MODEL-DATASET-finetune", with_lr=False)
    g = ft.add_argument_group("fine-tuning")
    g.add_argument("--freeze", nargs="+", default=[], metavar="LAYER",
                   help="layers (names or prefixes, e.g. c1 c3) to keep fixed")
    g.add_argument("--head-lr", type=float, default=1e-2, help="learning rate of the new layers")
    g.add_argument("--base-lr", type=float, default=1e-3, help="learning rate of the reused layers")
    g.add_argument("--layer-decay", type=float, default=1.0,
                   help="multiply --base-lr by this per layer further from the head (1: the same rate for all)")
    g.add_argument("--reinit", nargs="+", default=None, metavar="LAYER",
                   help="layers to start from random weights even if they match; default: the head "
                        "(the last layer with parameters)")
    return parser


def _config(args: argparse.Namespace) -> TrainConfig:
    from cnnref.finetune import FinetuneConfig

    values = {k: v for k, v in vars(args).items() if k not in ("command", "quiet")}
    values["verbose"] = not args.quiet
    if args.out is None:
        suffix = "-finetune" if args.command == "finetune" else ""
        values["out"] = f"runs/{args.model}-{args.dataset}{suffix}"
    if args.command == "train":
        return TrainConfig(**values)
    return FinetuneConfig(**values)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def main(argv: list[str] | None = None) -> int:
    """Run ``cnnref`` with ``argv`` (default: the command line); returns the exit status.

    Returns:
        0 on success, 1 when the run could not start or failed (one line on stderr),
        2 for arguments argparse rejects (argparse exits itself).
    """
    status = _run(argv)
    if argv is None and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # A process started by torchrun ends here, without the interpreter's finalization: gloo's
        # worker threads can outlive destroy_process_group and abort a rank (SIGABRT, "terminate
        # called without an active exception") while Python tears down, after all the work is done.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


def _run(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    prog = f"cnnref {args.command}"
    try:
        cfg = _config(args)
        if args.command == "train":
            from cnnref.train import fit

            run = fit(cfg)
        else:
            from cnnref.finetune import finetune

            run = finetune(cfg)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, RuntimeError) as e:  # CheckpointError is a ValueError
        print(f"{prog}: error: {_one_line(e)}", file=sys.stderr)
        return 1
    if int(os.environ.get("RANK", "0")) == 0:
        m = run.metrics
        where = m["device"] + (f" x {m['world_size']}" if m["world_size"] > 1 else "")
        print(f"test accuracy {m['test_accuracy']:.2%} after {m['epochs']} epochs "
              f"({m['train_time_s']:.1f} s of training on {where}); files in {cfg.out}", flush=True)
    return 0
