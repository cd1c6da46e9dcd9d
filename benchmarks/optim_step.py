"""Time one optimizer step, cnnref.optim (NumPy) vs torch.optim (CPU), on the parameters of a
small CNN and of a 1M-weight layer. Prints a table: ours, torch, ratio. Not part of the tests.

    python -m benchmarks.optim_step      # from the repository root
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import torch

from benchmarks import torch_threads
from cnnref import optim

SHAPES = {"digits CNN (1898 weights)": [(8, 1, 3, 3), (8,), (16, 8, 3, 3), (16,), (10, 64), (10,)],
          "one 1000x1000 layer": [(1000, 1000), (1000,)]}
OPTIONS = {"SGD": dict(lr=0.01, momentum=0.9), "RMSprop": dict(lr=0.01), "Rprop": dict(lr=0.01),
           "Adam": dict(lr=0.001)}


def per_step(opt, steps):
    opt.step()  # creates the state
    start = time.perf_counter()
    for _ in range(steps):
        opt.step()
    return (time.perf_counter() - start) / steps


def measure(steps: int = 200, shapes: dict = SHAPES) -> list[tuple[str, str, float, float]]:
    """(parameters, optimizer, ours s/step, torch s/step) for each case; one thread for both."""
    with torch_threads(1):
        return _measure(steps, shapes)


def _measure(steps, shapes):
    rows = []
    for label, shape_list in shapes.items():
        rng = np.random.default_rng(0)
        arrays = [rng.standard_normal(s) for s in shape_list]
        for name, options in OPTIONS.items():
            ours = [SimpleNamespace(data=a.copy(), grad=rng.standard_normal(a.shape)) for a in arrays]
            theirs = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrays]
            for p, q in zip(theirs, ours):
                p.grad = torch.from_numpy(q.grad.copy())
            t_ours = per_step(getattr(optim, name)(ours, **options), steps)
            t_torch = per_step(getattr(torch.optim, name)(theirs, foreach=False, **options), steps)
            rows.append((label, name, t_ours, t_torch))
    return rows


def main(steps: int = 200) -> None:
    print(f"{'parameters':28s} {'optimizer':8s} {'ours (us)':>10s} {'torch (us)':>11s} {'ratio':>6s}")
    for label, name, t_ours, t_torch in measure(steps):
        print(f"{label:28s} {name:8s} {1e6 * t_ours:10.1f} {1e6 * t_torch:11.1f} {t_ours / t_torch:6.2f}")

if __name__ == "__main__":
    main()
