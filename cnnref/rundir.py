"""The run folder: which files a run owns, how they are written, and when a folder may be used.

A run writes four files into its folder, `RUN_FILES`. The rules that keep a trained model safe:

- a new run refuses a folder that holds any of them (`check_folder`), unless it is told to
  ``resume`` the run there or to ``overwrite`` it;
- every file is written through a temporary file in the same folder, flushed to disk and
  renamed over the old one (`atomic_write`): a kill at any moment leaves the complete old
  file or the complete new one, never half of one;
- temporary files have a recognisable name (`TEMPORARY`), so that one left by a killed
  process is removed by the next run in that folder (`clean_temporary_files`).

Nothing here imports torch: these are plain files.

Examples:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> check_folder(folder, resume=False, overwrite=False)
    'new'
    >>> _ = write_json(folder / "metrics.json", {"epochs": 3})
    >>> check_folder(folder, resume=False, overwrite=False)
    Traceback (most recent call last):
    ...
    cnnref.rundir.RunFolderError: '...' already holds a run (metrics.json): continue it with --resume (resume=True), replace it with --overwrite (overwrite=True), or choose another --out
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable

__all__ = [
    "RUN_FILES",
    "TEMPORARY",
    "RunFolderError",
    "run_files",
    "check_folder",
    "check_not_written",
    "remove_run_files",
    "temporary_name",
    "temporary_files",
    "clean_temporary_files",
    "atomic_write",
    "write_json",
    "write_lines",
    "copy_file",
    "append_line",
]

# Every file a run writes into its folder, in the order a new epoch writes them.
RUN_FILES = ("last.pt", "best.pt", "metrics.jsonl", "metrics.json")
# ".last.pt.<pid>.<8 hex>.tmp": the temporary file of a save in progress by process <pid>.
TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")

# Test hook, not an option: with CNNREF_PAUSE_AT="<point>:<file>:<n>" (point "write" at the start of a
# file's write, "replace" when its temporary file is complete but not yet renamed), the process creates
# the file CNNREF_PAUSE_MARKER on the n-th time it reaches that point and waits there until it is
# killed. The kill tests use it to stop a run at an exact moment without guessing a delay.
_PAUSE_COUNTS: dict[str, int] = {}


class RunFolderError(ValueError):
    """The folder holds a run that this command was not asked to continue or replace, or a file
    that must not be written over."""


def _pause_point(point: str, path: Path) -> None:
    spec = os.environ.get("CNNREF_PAUSE_AT")
    if not spec:
        return
    where = f"{point}:{path.name}"
    _PAUSE_COUNTS[where] = _PAUSE_COUNTS.get(where, 0) + 1
    if spec == f"{where}:{_PAUSE_COUNTS[where]}":
        Path(os.environ["CNNREF_PAUSE_MARKER"]).write_text(f"{os.getpid()}\n")
        threading.Event().wait()  # until killed


def run_files(folder: str | os.PathLike) -> list[str]:
    """The names of `RUN_FILES` present in ``folder`` (none if it does not exist).

    Examples:
        >>> run_files("no/such/folder")
        []
    """
    folder = Path(folder)
    return [name for name in RUN_FILES if (folder / name).exists() or (folder / name).is_symlink()]


def check_folder(folder: str | os.PathLike, resume: bool, overwrite: bool) -> str:
    """Decide what a run may do with ``folder``, without touching it.

    Returns:
        ``"new"`` (the folder holds no run file: start there), ``"resume"`` (continue from its
        ``last.pt``) or ``"overwrite"`` (delete its run files, then start).

    Raises:
        RunFolderError: ``folder`` is a file; or it holds run files and neither ``resume`` nor
            ``overwrite`` is given; or ``resume`` is asked for a folder with run files but no
            ``last.pt`` to continue from; or both flags are given.

    Examples:
        >>> check_folder("no/such/folder", resume=True, overwrite=False)   # nothing to resume: a new run
        'new'
    """
    folder = Path(folder)
    if resume and overwrite:
        raise RunFolderError("resume and overwrite contradict each other: --resume continues the run in the "
                             "folder, --overwrite deletes it; give one of them")
    if folder.exists() and not folder.is_dir():
        raise RunFolderError(f"'{folder}' is a file, expected a folder for the run's files")
    present = run_files(folder)
    if not present:
        return "new"
    if overwrite:
        return "overwrite"
    if not resume:
        raise RunFolderError(f"'{folder}' already holds a run ({', '.join(present)}): continue it with --resume "
                             f"(resume=True), replace it with --overwrite (overwrite=True), or choose another --out")
    if "last.pt" not in present:
        raise RunFolderError(f"'{folder}' holds {', '.join(present)} but no last.pt to resume from: replace them "
                             f"with --overwrite (overwrite=True), or choose another --out")
    return "resume"


def check_not_written(folder: str | os.PathLike, path: str | os.PathLike, what: str) -> None:
    """Refuse a run into ``folder`` that would write over ``path`` (e.g. the checkpoint a
    fine-tune starts from), whatever the flags; symbolic links are followed.

    Examples:
        >>> check_not_written("runs/a", "runs/a/best.pt", "--from")
        Traceback (most recent call last):
        ...
        cnnref.rundir.RunFolderError: --from 'runs/a/best.pt' is best.pt of the output folder 'runs/a', which this run would write over; choose another --out
    """
    target = Path(path)
    candidates = {target.resolve(), target.parent.resolve() / target.name}
    for name in RUN_FILES:
        if (Path(folder) / name).resolve() in candidates or Path(folder).resolve() / name in candidates:
            raise RunFolderError(f"{what} '{path}' is {name} of the output folder '{folder}', which this run "
                                 f"would write over; choose another --out")


def remove_run_files(folder: str | os.PathLike) -> list[str]:
    """Delete the run files of ``folder`` (``last.pt`` first, so that an interrupted deletion
    cannot be resumed as if it were the old run); other files stay. Returns the names deleted."""
    folder = Path(folder)
    present = run_files(folder)
    for name in present:
        (folder / name).unlink()
    return present


def temporary_name(path: str | os.PathLike) -> Path:
    """A fresh name beside ``path`` that matches `TEMPORARY` (same folder, so that the final
    rename stays on one file system).

    Examples:
        >>> bool(TEMPORARY.match(temporary_name("runs/a/last.pt").name))
        True
    """
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process has no save in progress when it cleans
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except (OverflowError, OSError):
        return False  # no such pid can exist
    return True


def temporary_files(folder: str | os.PathLike) -> list[Path]:
    """Temporary files of saves in ``folder`` (finished or not), by their `TEMPORARY` name."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if TEMPORARY.match(p.name) and p.is_file())


def clean_temporary_files(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that processes no longer running left in ``folder`` (a
    save interrupted by a kill); those of a live process are its saves in progress.

    Returns:
        The paths deleted.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / ".last.pt.999999999.0123abcd.tmp").write_bytes(b"half a checkpoint")
        >>> [p.name for p in clean_temporary_files(folder)], sorted(folder.iterdir())
        (['.last.pt.999999999.0123abcd.tmp'], [])
    """
    removed = []
    for path in temporary_files(folder):
        if not _alive(int(TEMPORARY.match(path.name)["pid"])):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _fsync_folder(folder: Path) -> None:
    if hasattr(os, "O_DIRECTORY"):  # make a rename itself durable (POSIX)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], Any]) -> Path:
    """Write a file atomically: ``write(f)`` fills a temporary file in the same folder, which
    is flushed to disk (``fsync``) and renamed over ``path`` (``os.replace``).

    At every moment ``path`` is the complete old file or the complete new one. An error
    during the write leaves the old file and removes the temporary one; a kill leaves the
    temporary file, which `clean_temporary_files` removes later.

    Args:
        path: the destination; its folder is created.
        write: called with the temporary file, opened in binary mode.

    Returns:
        ``path``.

    Examples:
        >>> import tempfile
        >>> p = atomic_write(Path(tempfile.mkdtemp()) / "a.txt", lambda f: f.write(b"hello"))
        >>> p.read_text()
        'hello'
    """
    path = Path(path)
    _pause_point("write", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        with open(tmp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        _pause_point("replace", path)
        os.replace(tmp, path)  # atomic on POSIX and Windows: readers see the old or the new file
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """``obj`` as an indented JSON file, written with `atomic_write`."""
    return atomic_write(path, lambda f: f.write((json.dumps(obj, indent=1) + "\n").encode("utf8")))


def write_lines(path: str | os.PathLike, records: Iterable[Any]) -> Path:
    """JSON lines (one record per line), written with `atomic_write`."""
    return atomic_write(path, lambda f: f.write("".join(json.dumps(r) + "\n" for r in records).encode("utf8")))


def copy_file(source: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Copy ``source`` to ``path`` byte for byte, with `atomic_write`."""
    data = Path(source).read_bytes()
    return atomic_write(path, lambda f: f.write(data))


def append_line(path: str | os.PathLike, record: Any) -> None:
    """Append ``record`` as one JSON line and flush it to disk. A kill can leave half a line at
    the end; a resumed run rewrites the file from ``last.pt`` (`write_lines`)."""
    path = Path(path)
    _pause_point("write", path)
    with open(path, "a", encoding="utf8") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())
