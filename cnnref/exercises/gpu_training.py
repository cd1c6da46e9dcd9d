"""Checkers for the exercises of the GPU-training page (docs/gpu-training.*.md): memory of the
weights in float32 and float16 and of Adam's state, the shares of DistributedDataParallel, and
GradScaler's rule, and why a resumed run sees the batches of an uninterrupted one. All of them run on the CPU: no checker needs CUDA."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from cnnref.exercises.checks import expect_function, expect_shape
from cnnref.exercises.registry import exercise
from cnnref.models import get_model

__all__ = ["lenet5_bytes", "ddp_shares", "grad_scaler_scales", "epoch_order"]


def storage_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


@exercise("gpu-training/1")
def lenet5_bytes(answer):
    """LeNet-5 (10 classes): ``(bytes of its weights in float32, in float16, bytes of the float32
    weights, their gradients and Adam's two buffers together)``; measured here after Adam's first step.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("gpu-training/1", (246_824, 123_412, 3 * 246_824)))
        your answer is wrong at position(s) 2 (counting from 0)
    """
    with torch.device("meta"):                    # shapes and dtypes only: nothing allocated or computed
        model = get_model("lenet5")
    full = storage_bytes(model.parameters())
    half = storage_bytes(p.detach().half() for p in model.parameters())
    optimizer = torch.optim.Adam(model.parameters())
    for p in model.parameters():
        p.grad = torch.zeros_like(p)              # what backward() would leave: float32, the weight's shape
    optimizer.step()                              # Adam makes its state on its first step
    # Adam's state per weight: exp_avg, exp_avg_sq (and a scalar step count, not a buffer)
    buffers = [state[name] for state in optimizer.state.values() for name in ("exp_avg", "exp_avg_sq")]
    total = full + storage_bytes(p.grad for p in model.parameters()) + storage_bytes(buffers)
    expect_shape(answer, (full, half, total))


@exercise("gpu-training/2")
def ddp_shares(answer):
    """1000 training examples, 3 processes, batch size 32 per process, DistributedSampler and a
    DataLoader with drop_last=False: ``(examples per process and epoch, optimizer steps per epoch,
    examples whose gradients one step averages)``.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("gpu-training/2", (333, 11, 32)))
        your answer is wrong at position(s) 0, 2 (counting from 0)
    """
    data = range(1000)
    shares = [DistributedSampler(data, num_replicas=3, rank=rank, shuffle=True, seed=0) for rank in range(3)]
    loaders = [DataLoader(data, batch_size=32, sampler=share) for share in shares]
    # one step: the first batch of every process, their gradients averaged by all-reduce
    per_step = sum(len(next(iter(loader))) for loader in loaders)
    expect_shape(answer, (len(shares[0]), len(loaders[0]), per_step))


def scaler_cases() -> list[tuple]:
    """(found_inf, init_scale, growth_factor, backoff_factor, growth_interval)."""
    rng = np.random.default_rng(16)
    runs = [rng.random(30) < p for p in (0.1, 0.3, 0.5)]
    return [(np.array([False, False, False, True, False, True, True, False, False, False]), 8.0, 2.0, 0.5, 3),
            (runs[0], 2.0 ** 16, 2.0, 0.5, 4), (runs[1], 1024.0, 4.0, 0.25, 2), (runs[2], 1.0, 2.0, 0.5, 1)]


def torch_scales(found_inf, init_scale, growth_factor, backoff_factor, growth_interval) -> np.ndarray:
    """The reference: torch.amp.GradScaler on the CPU, given an inf gradient where found_inf is True."""
    scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, growth_factor=growth_factor,
                                  backoff_factor=backoff_factor, growth_interval=growth_interval)
    param = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.SGD([param], lr=0.1)
    scales = []
    for inf in found_inf:
        optimizer.zero_grad()
        gradient = torch.full((2,), float("inf") if inf else 1.0)
        scaler.scale((param * gradient).sum()).backward()   # d/dparam = gradient × scale
        scaler.step(optimizer)
        scaler.update()
        scales.append(scaler.get_scale())
    return np.array(scales)


@exercise("gpu-training/3")
def grad_scaler_scales(answer):
    """A NumPy function ``answer(found_inf, init_scale, growth_factor, backoff_factor,
    growth_interval) -> scales``: GradScaler's factor after each step, given for each step
    whether the gradients held an inf or NaN.

    found_inf: (T,) bool -> scales: (T,).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("gpu-training/3", lambda inf, s, g, b, n: np.full(len(inf), s)))
        for an input of shape (10,): your function's output is wrong at 6 of 10 positions, the first at index 2
    """
    expect_function(answer, scaler_cases(), torch_scales)


def sampler_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The reference: the order in which a one-process DistributedSampler gives n examples in that epoch."""
    sampler = DistributedSampler(range(n), num_replicas=1, rank=0, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    return np.array(list(sampler))


@exercise("gpu-training/4")
def epoch_order(answer):
    """A function ``answer(n, seed, epoch) -> order``: the order of the n examples in that epoch,
    as ``DistributedSampler(data, num_replicas=1, rank=0, shuffle=True, seed=seed)`` gives it
    after ``set_epoch(epoch)``, as an integer array of shape (n,).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("gpu-training/4", lambda n, seed, epoch: np.arange(n)))
        for the arguments (11, 0, 3): your function's output is wrong at 9 of 11 positions, the first at index 0
    """
    cases = [(11, 0, 3), (11, 0, 0), (20, 5, 2), (7, 1, 9), (1, 3, 4)]
    expect_function(answer, cases, sampler_order)
