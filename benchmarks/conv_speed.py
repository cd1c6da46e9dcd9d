"""Time every algorithm of cnnref.functional.conv2d against torch, on four layer shapes, at 1 and 2 threads.

    python benchmarks/conv_speed.py [--repeat 7] [--threads 1 2] [--cases 0 1 2 3]

A thin command line over ``cnnref.speed`` (float32): for each case of ``cnnref.speed.CONV_CASES``
and each thread count it checks that every side gives torch's numbers, then prints the median
(fastest-slowest) of alternating runs of ours and torch's forward for each algorithm in its
domain (``direct``, the loops, is left out: minutes per call at these sizes), the backward
(``conv2d_backward``), and NumPy's matrix product of the im2col sizes alone (the floor of every
GEMM-based path). Each row carries the load average of the machine when it was measured. Then
the peak memory (tracemalloc) of one forward call of each algorithm. Needs ``pip install -e .``.
"""

from __future__ import annotations

import argparse
import os

from cnnref import conv_algorithms
from cnnref import functional as F
from cnnref.speed import CONV_CASES, algorithms_vs_torch, conv2d_case, conv2d_vs_torch, gemm_floor, peak_bytes
from cnnref.timing import format_range, machine, significant

# ours / torch, at most, for the fastest forward path and for the backward
TARGETS = {"forward": 1.2, "backward": 2.0}


def load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def in_domain(case) -> list[str]:
    kernel, stride = case.w.shape[2:], (case.stride,) * 2
    return [a for a in conv_algorithms.ALGORITHMS[1:] if conv_algorithms.domain(a, kernel, stride, (1, 1)) is None]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per side")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts, both sides")
    parser.add_argument("--cases", type=int, nargs="+", default=list(range(len(CONV_CASES))),
                        help="indices into cnnref.speed.CONV_CASES")
    args = parser.parse_args(argv)
    print(machine())
    print(f"float32; median (fastest-slowest) of {args.repeat} alternating runs; load = 1/5/15-min load average")
    header = f"{'case':32s} {'thr':>3s} {'pass':16s} {'ours (ms)':>21s} {'torch (ms)':>21s} {'ours/torch':>19s} {'load':>14s}"
    names = list(CONV_CASES)
    for n_threads in args.threads:
        print("\n" + header)
        for i in args.cases:
            name = names[i]
            case = conv2d_case(**CONV_CASES[name])
            rows = algorithms_vs_torch(case, in_domain(case), repeat=args.repeat, n_threads=n_threads)
            rows["backward"] = conv2d_vs_torch(case, repeat=args.repeat, n_threads=n_threads)["backward"]
            torch_forward = min(rows[a].theirs.median for a in rows if a != "backward")
            for label, p in rows.items():
                pass_ = "backward" if label == "backward" else f"forward {label}"
                print(f"{name:32s} {n_threads:3d} {pass_:16s} {format(p.ours, 'ms'):>21s} {format(p.theirs, 'ms'):>21s} "
                      f"{format_range(p.ratio, *p.ratio_range):>19s} {load():>14s}")
            floor = gemm_floor(case, repeat=args.repeat, n_threads=n_threads)
            print(f"{name:32s} {n_threads:3d} {'GEMM alone':16s} {format(floor, 'ms'):>21s} {'':>21s} "
                  f"{significant(floor.median / torch_forward):>19s} {load():>14s}")
            best = min((a for a in rows if a != "backward"), key=lambda a: rows[a].ratio)
            print(f"{'':32s} {'':3s} fastest forward: {best} {significant(rows[best].ratio)}x "
                  f"(target {TARGETS['forward']}x); backward {significant(rows['backward'].ratio)}x "
                  f"(target {TARGETS['backward']}x)")
    mib = 2 ** 20
    print("\npeak traced memory of one call (MiB, tracemalloc: NumPy's buffers)")
    print(f"{'case':32s} " + " ".join(f"{a:>9s}" for a in conv_algorithms.ALGORITHMS[1:]) + f" {'backward':>9s}")
    for i in args.cases:
        case = conv2d_case(**CONV_CASES[names[i]])
        conv = dict(stride=case.stride, padding=case.padding)
        cells = [f"{peak_bytes(lambda a=a: F.conv2d(case.x, case.w, case.b, **conv, algorithm=a)) / mib:9.1f}"
                 if a in in_domain(case) else f"{'-':>9s}" for a in conv_algorithms.ALGORITHMS[1:]]
        backward = peak_bytes(lambda: F.conv2d_backward(case.g, case.x, case.w, **conv)) / mib
        print(f"{names[i]:32s} " + " ".join(cells) + f" {backward:9.1f}")


if __name__ == "__main__":
    main()
