"""Run ``cnnref`` command lines as separate processes that a test can kill at any moment.

A fresh interpreter spends about 1.5 s importing torch here, more than a whole tiny run. So one
server process imports `cnnref.cli` once (and runs no torch code, which makes forking it safe)
and forks a child per command line: each child is a real process running ``cnnref.cli.main``,
and SIGKILL ends it as it would end ``cnnref train`` started in a terminal. The server reaps
its children and writes each one's exit status to a file, which the test waits for.
(`multiprocessing`'s fork server would re-import pytest's ``__main__`` in every child.)
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def serve() -> None:
    """The server: one JSON request per line on stdin, the child's pid per line on stdout."""
    # imported once, here, before any fork (torch.optim imports torch._dynamo on first use)
    import sklearn.datasets  # noqa: F401
    import torch._dynamo  # noqa: F401

    import cnnref.cli  # noqa: F401

    status_files: dict[int, str] = {}
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], 0.005)
        while status_files:  # reap every child that ended, record how
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            path = Path(status_files.pop(pid))
            path.with_suffix(".tmp").write_text(str(code))
            os.replace(path.with_suffix(".tmp"), path)  # the test never reads half of it
        if not ready:
            continue
        line = sys.stdin.readline()
        if not line:
            return
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(**request)
        status_files[pid] = request["status"]
        print(pid, flush=True)


def _child(argv: list[str], env: dict[str, str], log: str, status: str) -> None:
    code = 1
    try:
        os.environ.update(env)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        import torch

        torch.set_num_threads(1)  # every process computes alike, so weights compare bit for bit
        from cnnref.cli import main

        code = main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class Child:
    """A ``cnnref`` process started by the server."""

    def __init__(self, pid: int, status: Path):
        self.pid, self.status = pid, status

    @property
    def exitcode(self) -> int | None:
        return int(self.status.read_text()) if self.status.exists() else None

    def is_alive(self) -> bool:
        return self.exitcode is None

    def join(self, timeout: float | None = None) -> None:
        """Wait until the process ended, or ``timeout`` seconds passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.is_alive() and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.002)  # polls the status file the server writes when the process ends

    def kill(self) -> None:
        """SIGKILL: no handler, no cleanup, no flush; returns once the process is gone."""
        if self.is_alive():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.join()


class Server:
    def __init__(self, folder: Path):
        self.folder, self.count = folder, 0
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               "OMP_NUM_THREADS": "1"}
        self.process = subprocess.Popen([sys.executable, "-c", "from tests.cli_process import serve; serve()"],
                                        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def start(self, argv: list, log: Path, pause: str | None = None, marker: Path | None = None) -> Child:
        """Start ``cnnref *argv`` (stdout and stderr to ``log``); with ``pause`` (the test hook of
        `cnnref.rundir`) it stops at that write point and creates ``marker``."""
        self.count += 1
        status = self.folder / f"status-{self.count}"
        request = {"argv": [str(a) for a in argv], "log": str(log), "status": str(status),
                   "env": {"CNNREF_PAUSE_AT": pause or "", "CNNREF_PAUSE_MARKER": str(marker or "")}}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return Child(int(self.process.stdout.readline()), status)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def wait_for(marker: Path, child: Child, timeout: float = 300.0) -> bool:
    """Wait until ``marker`` exists (True) or ``child`` ended without creating it (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists():
            return True
        if not child.is_alive():
            return marker.exists()
        time.sleep(0.002)  # polls for the marker the paused process writes
    raise TimeoutError(f"no {marker} after {timeout} s")
