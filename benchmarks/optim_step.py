"""Time one optimizer step, cnnref.optim (NumPy) against torch.optim (CPU, float64).

    python benchmarks/optim_step.py [--repeat 7] [--threads 1]

A thin command line over ``cnnref.speed.optimizer_step_vs_torch``: SGD (momentum), RMSprop,
Rprop and Adam on the parameters of a small digits CNN and of one 1000x1000 layer, torch with
``foreach=False`` (parameter by parameter, as ours). Prints the median (fastest-slowest) time
per step of alternating runs and the ratio ours / torch. Needs the package installed.
"""

from __future__ import annotations

import argparse

from cnnref.speed import optimizer_step_vs_torch
from cnnref.timing import format_range, machine


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per side")
    parser.add_argument("--threads", type=int, default=1, help="threads for both sides")
    args = parser.parse_args(argv)

    rows = optimizer_step_vs_torch(repeat=args.repeat, n_threads=args.threads)
    print(machine())
    print(f"threads on both sides: {args.threads}; median (fastest-slowest) of {args.repeat} alternating runs")
    print(f"{'parameters':16s} {'optimizer':9s} {'ours (us)':>22s} {'torch (us)':>22s} {'ours / torch':>22s}")
    for label, name, p in rows:
        cells = (format(p.ours, "us"), format(p.theirs, "us"), format_range(p.ratio, *p.ratio_range))
        print(f"{label:16s} {name:9s} {cells[0]:>22s} {cells[1]:>22s} {cells[2]:>22s}")


if __name__ == "__main__":
    main()
