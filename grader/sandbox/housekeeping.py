"""Nothing left behind: find and remove what a grader that died without cleaning up left.

Each :class:`~grader.sandbox.SandboxPool` writes ``owner.json`` in its folder: the grader's pid and
start time, the zygote's, and its cgroup pool. Normally the zygote notices the grader's death (its
standard input reaches EOF) and removes everything itself; if both were killed at once (``kill -9``
of the whole group, the OOM killer, a power cut), the next pool to start finds the folder, sees its
owner is gone, kills any process still in its cgroups (or a zygote still alive) and removes it all.
"""
from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from pathlib import Path

from . import cgroups

DIR_PREFIX = "grader-sandbox-"


def remove_folder(path: str | os.PathLike) -> None:
    """Delete the folder at ``path`` and everything in it, however deep; never follows a link; never raises.

    ``shutil.rmtree`` recurses once per level, so a tree a few thousand folders deep (which sandboxed
    code can build in a fallback work folder) made it raise RecursionError, ``ignore_errors`` or not,
    and left the rest behind. This keeps one folder open at a time and a list of the subfolders still
    to visit per level, going back up through ``..`` (nothing writes into the tree any more: the
    processes that did are gone).
    """
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError:
        try:
            os.unlink(path)  # a file or a link where a folder was expected
        except OSError:
            pass
        return

    def empty_files(folder: int) -> list[str]:
        """Unlink everything in ``folder`` that is not a folder; return the names of the folders."""
        folders = []
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return folders
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.name)
                else:
                    os.unlink(entry.name, dir_fd=folder)
            except OSError:
                pass
        return folders

    names: list[str] = []
    levels: list[list[str]] = []
    pending = empty_files(fd)
    try:
        while True:
            if pending:
                name = pending.pop()
                try:
                    inner = os.open(name, flags, dir_fd=fd)
                except OSError:
                    continue
                levels.append(pending)
                names.append(name)
                os.close(fd)
                fd = inner
                pending = empty_files(fd)
                continue
            if not names:
                break
            parent = os.open("..", flags & ~os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = parent
            try:
                os.rmdir(names.pop(), dir_fd=fd)
            except OSError:
                pass
            pending = levels.pop()
    except OSError:
        pass
    finally:
        os.close(fd)
    try:
        os.rmdir(path)
    except OSError:
        pass


def write_owner(folder: Path, pool: cgroups.Pool | None, *, zygote: int | None = None) -> None:
    pid = os.getpid()
    owner = {"pid": pid, "start": cgroups.process_start_time(pid), "cgroup": pool.to_dict() if pool else None}
    if zygote is not None:
        owner.update(zygote=zygote, zygote_start=cgroups.process_start_time(zygote))
    tmp = folder / "owner.json.tmp"
    tmp.write_text(json.dumps(owner))
    tmp.replace(folder / "owner.json")


def _stale(folder: Path) -> dict | None:
    """The owner record of ``folder`` when its grader is gone (None while it lives, or if not ours)."""
    try:
        if folder.is_symlink() or folder.stat().st_uid != os.geteuid():
            return None
        owner = json.loads((folder / "owner.json").read_text())
    except (OSError, ValueError):
        try:  # a folder whose owner never wrote its record: stale once it is old
            return {} if time.time() - folder.stat().st_mtime > 600 else None
        except OSError:
            return None
    if not isinstance(owner, dict):
        return {}
    pid, start = owner.get("pid"), owner.get("start")
    if isinstance(pid, int) and isinstance(start, int) and cgroups.owner_alive(pid, start):
        return None
    return owner


def remove_stale() -> int:
    """Remove every pool folder (and its cgroups and zygote) whose grader is gone; return how many."""
    removed = 0
    for folder in Path(tempfile.gettempdir()).glob(DIR_PREFIX + "*"):
        owner = _stale(folder)
        if owner is None:
            continue
        zygote, start = owner.get("zygote"), owner.get("zygote_start")
        if isinstance(zygote, int) and isinstance(start, int) and cgroups.owner_alive(zygote, start):
            try:
                os.kill(zygote, signal.SIGKILL)
            except OSError:
                pass
        if isinstance(owner.get("cgroup"), dict):
            try:
                pool = cgroups.Pool.from_dict(owner["cgroup"])
            except (KeyError, TypeError, ValueError):
                pool = None
            if pool is not None and all(cgroups.is_pool_dir(d) for d in pool.dirs.values()):
                pool.remove()
        remove_folder(folder)
        removed += 1
    return removed + cgroups.remove_stale()
