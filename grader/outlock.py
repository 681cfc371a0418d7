"""One writer per grading folder: an advisory lock on ``DIR/.grader.lock``.

Two ``grade`` runs into one ``--out`` used to both exit 0 while one run's rows vanished. The lock is
taken before anything is written and held until the run ends; the kernel drops it when the process
dies (``flock``), so a killed run never leaves a stale lock behind. The file keeps the holder's pid,
start time and command so the refused run can say who is writing.
"""
from __future__ import annotations

import fcntl
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from .errors import UserError
from .safetext import printable

LOCK_NAME = ".grader.lock"


class FolderLock:
    """``with FolderLock(out_dir):`` — exclusive use of ``out_dir`` by this process, or UserError."""

    def __init__(self, out_dir: str | Path, purpose: str = "grading"):
        self.path = Path(out_dir) / LOCK_NAME
        self.purpose = purpose
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise UserError(f"{self.path.parent} is in use by another run ({holder}); wait for it to finish, "
                            "or write to another --out folder") from None
        os.ftruncate(fd, 0)
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        os.write(fd, f"pid {os.getpid()}, {self.purpose} since {started}: {' '.join(sys.argv)[:300]}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock; the file stays (removing it would race a waiter)
            self._fd = None


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 400, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return printable(text, one_line=True) or "unknown process"
