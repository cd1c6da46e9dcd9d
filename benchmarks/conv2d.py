"""Time cnnref.functional.conv2d (im2col + one matrix product) against torch on the CPU.

    python benchmarks/conv2d.py [--repeat 7]

Case: N=32, C_in=64, C_out=64, 32x32, 3x3 kernel, padding 1, float32. Forward is one call;
backward is the gradient with respect to input, weight and bias (ours: `conv2d_backward`,
which rebuilds the im2col matrix; torch: ``out.backward(g)``). Both use the same number of
threads: torch's is set to the BLAS thread count NumPy uses. Prints a table (best and median
of ``--repeat`` runs, ms), the ratio ours / torch, and the size of the im2col buffer, computed
and measured with tracemalloc. OpenBLAS environment variables (OPENBLAS_CORETYPE) are printed
because they change which matrix kernel NumPy runs.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time
import tracemalloc

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))   # this checkout's cnnref
from benchmarks import torch_threads  # noqa: E402
from cnnref import functional as F  # noqa: E402

N, C_IN, C_OUT, H, W, K, PAD = 32, 64, 64, 32, 32, 3, 1
TARGETS = {"forward": 3, "backward": 4}   # ours / torch, at most


def blas_info():
    """(threads, description) of the BLAS NumPy calls, via threadpoolctl when it is installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.cpu_count() or 1, "unknown BLAS (threadpoolctl not installed)"
    for pool in threadpool_info():
        if pool.get("user_api") == "blas" and "numpy" in pool.get("filepath", ""):
            return pool["num_threads"], (f"{pool['internal_api']} {pool.get('version')} "
                                         f"kernel={pool.get('architecture')}")
    return os.cpu_count() or 1, "unknown BLAS"


def timed(fn, repeat):
    fn()                                                     # warm up (allocations, thread pools)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1e3, statistics.median(times) * 1e3


def peak_bytes(fn):
    """Peak traced memory of one call, above what was allocated before it."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def case(n=N, c_in=C_IN, c_out=C_OUT, size=H, k=K, pad=PAD):
    """The float32 arrays of one case: input, weight, bias and an output gradient."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c_in, size, size), dtype=np.float32)                 # (N, C_in, H, W)
    w = (rng.standard_normal((c_out, c_in, k, k), dtype=np.float32) / np.sqrt(c_in * k * k)).astype(np.float32)
    b = np.zeros(c_out, np.float32)                                                   # (C_out,)
    h_out = size + 2 * pad - k + 1
    g = rng.standard_normal((n, c_out, h_out, h_out), dtype=np.float32)              # (N, C_out, H_out, W_out)
    return x, w, b, g


def measure(n=N, c_in=C_IN, c_out=C_OUT, size=H, k=K, pad=PAD, repeat=7, threads=None):
    """Time ours and torch's conv2d forward and backward on one float32 case.

    Returns ``[(pass, (ours_best_ms, ours_median_ms), (torch_best_ms, torch_median_ms)), ...]``
    for the forward and the backward pass, after checking that the two outputs agree.
    """
    with torch_threads(blas_info()[0] if threads is None else threads):
        return _measure(case(n, c_in, c_out, size, k, pad), pad, repeat)


def _measure(arrays, pad, repeat):
    x, w, b, g = arrays
    xt = torch.from_numpy(x).requires_grad_()
    wt = torch.from_numpy(w).requires_grad_()
    bt = torch.from_numpy(b).requires_grad_()
    gt = torch.from_numpy(g)

    def torch_forward():
        with torch.no_grad():
            torch.nn.functional.conv2d(xt, wt, bt, padding=pad)

    def torch_backward():
        out = torch.nn.functional.conv2d(xt, wt, bt, padding=pad)
        start = time.perf_counter()
        out.backward(gt)
        return time.perf_counter() - start

    def timed_torch_backward():
        torch_backward()
        times = [torch_backward() for _ in range(repeat)]
        return min(times) * 1e3, statistics.median(times) * 1e3

    out = F.conv2d(x, w, b, padding=pad)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, torch.nn.functional.conv2d(xt, wt, bt, padding=pad).detach().numpy(),
                               rtol=1e-4, atol=1e-4)
    return [
        ("forward", timed(lambda: F.conv2d(x, w, b, padding=pad), repeat), timed(torch_forward, repeat)),
        ("backward", timed(lambda: F.conv2d_backward(g, x, w, padding=pad), repeat), timed_torch_backward()),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    threads, blas = blas_info()
    rows = measure(repeat=args.repeat, threads=threads)

    print(f"conv2d N={N} C_in={C_IN} C_out={C_OUT} {H}x{W} kernel {K}x{K} padding {PAD} float32")
    print(f"threads: {threads} (NumPy's BLAS: {blas}; torch.set_num_threads({threads}))")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')}; numpy {np.__version__}, "
          f"torch {torch.__version__}")
    print()
    print("| pass     | ours best (ms) | ours median | torch best (ms) | torch median | ratio (best) | target |")
    print("| -------- | -------------- | ----------- | --------------- | ------------ | ------------ | ------ |")
    for name, (ours_best, ours_med), (torch_best, torch_med) in rows:
        target = f"{TARGETS[name]}x"
        print(f"| {name:<8} | {ours_best:14.1f} | {ours_med:11.1f} | {torch_best:15.1f} | {torch_med:12.1f} "
              f"| {ours_best / torch_best:11.2f}x | {target:>6} |")

    x, w, b, g = case()
    cols = C_IN * K * K * N * H * W * np.dtype(np.float32).itemsize
    forward_peak = peak_bytes(lambda: F.conv2d(x, w, b, padding=PAD))
    backward_peak = peak_bytes(lambda: F.conv2d_backward(g, x, w, padding=PAD))
    print()
    print(f"im2col buffer (C_in*kH*kW x N*H_out*W_out float32): {cols:,} bytes ({cols / 2**20:.1f} MiB) computed")
    print(f"peak traced memory of one forward call:  {forward_peak:,} bytes ({forward_peak / 2**20:.1f} MiB)"
          f" = im2col + padded input + output")
    print(f"peak traced memory of one backward call: {backward_peak:,} bytes ({backward_peak / 2**20:.1f} MiB)"
          f" = im2col + its gradient + grad_input")


if __name__ == "__main__":
    main()
