"""Several processes under ``torchrun``: who this process is, and the lifetime of the process group.

``torchrun`` starts one process per GPU (or per CPU share) and tells each its place through
the environment: ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``. `launched` reads them (the one
place that does); `process_group` joins the group for the length of a ``with`` block and
leaves it at the end: it owns the group it created, and never destroys one that the caller
made.

Examples:
    >>> launched({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
    Processes(rank=1, world_size=2, local_rank=1)
    >>> launched({}).main
    True
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Mapping

import torch

__all__ = ["Processes", "launched", "process_group", "all_reduce"]


@dataclass(frozen=True)
class Processes:
    """This process's place among those ``torchrun`` started (one process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the process that prints and writes files."""
        return self.rank == 0


def launched(environ: Mapping[str, str] | None = None) -> Processes:
    """This process's place, from ``torchrun``'s ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``
    (``os.environ`` by default); without them, the single process ``Processes()``.

    Raises:
        ValueError: a variable that is not a whole number, or a rank outside ``0..WORLD_SIZE-1``.

    Examples:
        >>> launched({"WORLD_SIZE": "2", "RANK": "two"})
        Traceback (most recent call last):
        ...
        ValueError: launched: RANK must be a whole number, got 'two'
    """
    environ = os.environ if environ is None else environ

    def number(name: str, default: str) -> int:
        text = environ.get(name, default)
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"launched: {name} must be a whole number, got {text!r}") from None

    world_size = number("WORLD_SIZE", "1")
    if world_size <= 1 or "RANK" not in environ:  # RANK alone is too common a name to mean torchrun
        return Processes()
    rank, local_rank = number("RANK", "0"), number("LOCAL_RANK", "0")
    if not 0 <= rank < world_size or local_rank < 0:
        raise ValueError(f"launched: RANK={rank}, LOCAL_RANK={local_rank} do not fit WORLD_SIZE={world_size}")
    return Processes(rank, world_size, local_rank)


@contextmanager
def process_group(device_name: str = "auto") -> Iterator[tuple[Processes, torch.device | None]]:
    """Join the process group for the length of the ``with`` block when started by torchrun.

    Yields ``(processes, device)``: with GPUs, each process takes the one of its
    ``LOCAL_RANK`` and the ``nccl`` backend; without (or with ``device_name="cpu"``), the CPU
    and ``gloo``. A single process yields ``(Processes(), None)`` and joins nothing. At the end
    of the block the processes wait for each other (``barrier``) and the group is destroyed; if
    the block raised, the group is destroyed at once (a barrier could wait for ever on a process
    that failed elsewhere). A group that existed before the block is left to its owner.

    Examples:
        >>> with process_group("cpu") as (processes, device):
        ...     processes.world_size, device
        (1, None)
    """
    processes = launched()
    if processes.world_size == 1:
        yield processes, None
        return
    import torch.distributed as tdist

    use_cuda = device_name != "cpu" and torch.cuda.is_available()  # one GPU per process, else CPU processes
    if use_cuda:
        device = torch.device("cuda", processes.local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    created = not tdist.is_initialized()
    if created:
        tdist.init_process_group(backend="nccl" if use_cuda else "gloo")
    try:
        yield processes, device
    except BaseException:
        if created:
            tdist.destroy_process_group()
        raise
    if created:
        tdist.barrier()
        tdist.destroy_process_group()


def all_reduce(totals: torch.Tensor, processes: Processes) -> torch.Tensor:
    """Sum ``totals`` over every process, in place (nothing to do for a single process).

    Examples:
        >>> all_reduce(torch.tensor([1.0, 2.0]), Processes()).tolist()
        [1.0, 2.0]
    """
    if processes.world_size > 1:
        import torch.distributed as tdist

        tdist.all_reduce(totals)
    return totals
