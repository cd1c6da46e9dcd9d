"""Run a notebook top to bottom in a fresh kernel of this Python (nbclient + ipykernel).

The kernel is this interpreter (`sys.executable -m ipykernel_launcher`), whatever kernel specs
the user has installed: `ThisPython` gives the kernel manager its spec directly, so nothing is
registered and nothing in the user's home is read or written (the connection file and IPython's
profile go to a temporary folder).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import sys
import tempfile
import time

import nbformat
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = pathlib.Path(__file__).resolve().parents[1]


class ThisPython(KernelManager):
    """A kernel manager whose kernel is always this interpreter's ipykernel."""

    @property
    def kernel_spec(self):
        return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                          display_name=f"Python ({sys.executable})", language="python")


@dataclasses.dataclass
class Run:
    """A notebook after execution: its cells with outputs, the error (None if every cell ran), seconds."""

    path: pathlib.Path
    notebook: nbformat.NotebookNode
    error: str | None
    seconds: float


def run_notebook(path: pathlib.Path, env: dict[str, str] | None = None, timeout: int = 600) -> Run:
    """Execute a notebook in a fresh kernel started in the repository root (as the site build runs
    the pages), with os.environ plus `env`; never raises for a failing cell (see Run.error)."""
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cnnref-kernel-") as scratch:
        # torch on one thread, as in the site build (hooks/torch_threads.py): two kernels share
        # the two cores, and a result `once` shares with the build (an uninterrupted training run
        # a resumed one must equal bit for bit) was computed on one thread too
        kernel_env = {**os.environ, "IPYTHONDIR": str(pathlib.Path(scratch) / "ipython"), "OMP_NUM_THREADS": "1",
                      **(env or {})}
        # unix sockets in the scratch folder: no TCP port, nothing reachable from elsewhere
        manager = ThisPython(connection_file=str(pathlib.Path(scratch) / "kernel.json"), transport="ipc",
                             ip=str(pathlib.Path(scratch) / "ipc"))
        client = NotebookClient(notebook, km=manager, timeout=timeout,
                                resources={"metadata": {"path": str(ROOT)}})
        error = None
        try:
            client.execute(env=kernel_env, cwd=str(ROOT))
        except CellExecutionError as failure:
            error = str(failure)[-4000:]
        except Exception as failure:  # the kernel died or timed out: report it with the notebook
            error = f"{type(failure).__name__}: {failure}"[-4000:]
        finally:
            # nbclient shuts down only a kernel manager it made itself: without this, every
            # kernel (torch imported, a few hundred MB) lived until pytest exited
            if manager.has_kernel:
                manager.shutdown_kernel(now=True)
    return Run(path, notebook, error, time.perf_counter() - start)
