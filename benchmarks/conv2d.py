"""Time cnnref.functional.conv2d (im2col + one matrix product) and conv2d_backward against torch.

    python benchmarks/conv2d.py [--n 32] [--channels 64] [--size 32] [--repeat 7] [--threads T]

A thin command line over ``cnnref.speed.conv2d_vs_torch`` (float32, 3x3 kernel, padding 1):
it checks that both sides agree, then prints the median (fastest-slowest) of alternating runs
of each side, the ratio ours / torch, the machine, and the im2col buffer (computed, and the
peak that tracemalloc sees in one call). ``--threads`` defaults to the machine's logical cores.
Needs the package installed (``pip install -e .``).
"""

from __future__ import annotations

import argparse
import os

from cnnref import functional as F
from cnnref.speed import conv2d_case, conv2d_vs_torch, peak_bytes
from cnnref.timing import format_range, machine

# ours / torch, at most: what the vectorised kernels aim for with the same threads on both sides
TARGETS = {"forward": 3, "backward": 4}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32, help="batch size")
    parser.add_argument("--channels", type=int, default=64, help="C_in = C_out")
    parser.add_argument("--size", type=int, default=32, help="H = W")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per side")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for both sides")
    args = parser.parse_args(argv)

    case = conv2d_case(n=args.n, c_in=args.channels, c_out=args.channels, size=args.size, k=3, padding=1)
    rows = conv2d_vs_torch(case, repeat=args.repeat, n_threads=args.threads)
    print(machine())
    print(f"conv2d x {case.x.shape} w {case.w.shape} padding 1 float32; threads on both sides: {args.threads}; "
          f"median (fastest-slowest) of {args.repeat} alternating runs")
    print(f"{'pass':9s} {'ours (ms)':>22s} {'torch (ms)':>22s} {'ours / torch':>22s} {'target':>7s}")
    for name, p in rows.items():
        cells = (format(p.ours, "ms"), format(p.theirs, "ms"), format_range(p.ratio, *p.ratio_range))
        print(f"{name:9s} {cells[0]:>22s} {cells[1]:>22s} {cells[2]:>22s} {TARGETS[name]:>6}x")
    forward = peak_bytes(lambda: F.conv2d(case.x, case.w, case.b, padding=1))
    backward = peak_bytes(lambda: F.conv2d_backward(case.g, case.x, case.w, padding=1))
    mib = 2 ** 20
    print(f"\nim2col matrix (C_in*3*3 x N*H_out*W_out float32): {case.im2col_bytes / mib:.1f} MiB computed")
    print(f"peak traced memory of one forward call:  {forward / mib:.1f} MiB (im2col + padded input + output)")
    print(f"peak traced memory of one backward call: {backward / mib:.1f} MiB (im2col + its gradient + grad_input)")


if __name__ == "__main__":
    main()
