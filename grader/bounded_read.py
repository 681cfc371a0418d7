"""Read a file that someone else controls: a regular file only, and never more than a bound.

Why one module: banks (``yaml_source``) and submissions (``submissions.limits``) are both files whose
author may be hostile. A FIFO or a device under such a name would block the grader or never end, a
huge file would fill its memory, and a submission that is a symbolic link could point at a
classmate's notebook. Each caller turns the exceptions below into its own located error or reason.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["NotRegularFile", "TooLarge", "read_regular"]

_CHUNK = 1 << 20


class NotRegularFile(Exception):
    """The path names a pipe, a socket or a device: nothing was read."""


class TooLarge(Exception):
    """The file holds more than the bound; ``size`` is its size when the file system told it, else None."""

    def __init__(self, size: int | None, limit: int) -> None:
        super().__init__(f"{size if size is not None else 'more than ' + str(limit)} bytes, limit {limit}")
        self.size, self.limit = size, limit


def read_regular(path: str | Path, max_bytes: int, *, follow_links: bool = True) -> bytes:
    """The bytes of ``path``, a regular file of at most ``max_bytes``.

    Opened non-blocking, so a FIFO cannot make the caller wait, and with ``follow_links=False`` with
    O_NOFOLLOW, so a symbolic link is refused (``OSError``). A directory raises ``IsADirectoryError``;
    a pipe or device ``NotRegularFile``; a file larger than the bound ``TooLarge``, checked both from
    its size and while reading (a file that grows, or a size the file system does not report).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(str(path))
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(str(path))
        if info.st_size > max_bytes:
            raise TooLarge(info.st_size, max_bytes)
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, _CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > max_bytes:
        raise TooLarge(None, max_bytes)
    return raw
