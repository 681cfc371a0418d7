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
import shutil
import signal
import tempfile
import time
from pathlib import Path

from . import cgroups

DIR_PREFIX = "grader-sandbox-"


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
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed + cgroups.remove_stale()
