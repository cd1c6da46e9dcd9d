"""Time cnnref.train's epoch loop against a bare torch loop: same model, data, batches and optimizer.

    python benchmarks/train_overhead.py [--model lenet5] [--batches 20] [--batch-size 64] [--repeat 7] [--threads 1 2]

A thin command line over ``cnnref.speed.train_epoch_vs_torch``: it checks that one epoch of each
ends at the same weights, then prints the median (fastest-slowest) of alternating runs of each
side, the ratio and the load average. Needs ``pip install -e .``.
"""

from __future__ import annotations

import argparse
import os

from cnnref.speed import train_epoch_vs_torch
from cnnref.timing import format_range, machine

TARGET = 1.05   # ours / bare loop, at most


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet5")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    print(machine())
    print(f"{args.model}, {args.batches} batches of {args.batch_size}, SGD; median (fastest-slowest) of "
          f"{args.repeat} alternating epochs")
    print(f"{'threads':>7s} {'cnnref.train (ms)':>22s} {'bare loop (ms)':>22s} {'ratio':>20s} {'target':>7s} {'load':>14s}")
    for n in args.threads:
        p = train_epoch_vs_torch(args.model, args.batches, args.batch_size, args.repeat, n)
        load = "/".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"{n:7d} {format(p.ours, 'ms'):>22s} {format(p.theirs, 'ms'):>22s} "
              f"{format_range(p.ratio, *p.ratio_range):>20s} {TARGET:>6}x {load:>14s}")


if __name__ == "__main__":
    main()
