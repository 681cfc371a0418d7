"""Who a sandbox runs as: a uid of its own while it runs, never root, never shared with another sandbox.

Run as root, the grader gives each concurrent sandbox a distinct uid from a reserved range
(``UID_BASE`` …, far above real accounts), so two students graded at once are two users to the
kernel: per-user limits (RLIMIT_NPROC), keyrings and any file that escaped the private tmpfs are
theirs alone. A slot is held by binding an abstract unix socket named after the uid: the kernel
releases it when the holder dies, so a crashed grader never leaks a slot, nothing is written to
disk, and two grader processes on one machine never hand out the same uid.

Run unprivileged, the sandbox gets a user namespace of its own instead (one host uid, but a
separate namespace, mount tree, PID space and IPC per sandbox) and drops every capability.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from . import libc

UID_BASE = 1_500_000
"""First uid handed to sandboxes (and gid: each sandbox's group is its uid)."""
SLOTS = 1024
"""How many sandboxes may run at once on one machine (all graders together)."""


@dataclass
class Identity:
    """A uid/gid held for one sandbox. ``release()`` (or the holder's death) frees the slot."""

    uid: int
    gid: int
    _lock: socket.socket | None = None
    shared: bool = False
    """True for the fallback ``nobody``, shared by every sandbox (no distinct uid could be given)."""

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def lock_fd(self) -> int:
        return self._lock.fileno() if self._lock is not None else -1


def _mapped(start: int, count: int) -> bool:
    """Whether uids ``start``… are usable here (a container's user namespace may map only 65536)."""
    try:
        with open("/proc/self/uid_map") as handle:
            rows = [tuple(int(x) for x in line.split()) for line in handle if line.strip()]
    except OSError:
        return True
    return any(inside <= start and start + count <= inside + size for inside, _, size in rows)


def uid_range() -> tuple[int, int] | None:
    """(first uid, how many) reserved for sandboxes, or None when this machine cannot give distinct uids."""
    if _mapped(UID_BASE, SLOTS):
        return UID_BASE, SLOTS
    low = 100_000  # a container mapping only 0-65535 (or a little more): use its top, below nobody
    if _mapped(low - 35_000, SLOTS):
        return low - 35_000, SLOTS
    return None


NOBODY = 65534


def acquire() -> Identity | None:
    """A free uid for a new sandbox (root only; None otherwise), or the shared ``nobody`` when none is left."""
    if os.geteuid() != 0:
        return None
    found = uid_range()
    if found is None:
        return Identity(NOBODY, NOBODY, shared=True)
    first, count = found
    for uid in range(first, first + count):
        lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            lock.bind(f"\0grader-sandbox-uid-{uid}")
        except OSError:
            lock.close()
            continue
        lock.set_inheritable(False)
        return Identity(uid, uid, lock)
    return Identity(NOBODY, NOBODY, shared=True)


def become(identity: Identity | None) -> str:
    """Drop to ``identity`` (root) or drop every capability (user namespace); irreversible.

    Also sets no_new_privs, so no setuid program can raise privileges again. Returns how the
    sandbox is identified, for the isolation report ('' when it could not drop).
    """
    if identity is not None:
        os.setgroups([])
        os.setresgid(identity.gid, identity.gid, identity.gid)
        os.setresuid(identity.uid, identity.uid, identity.uid)
        how = f"uid {identity.uid}" if os.getresuid() == (identity.uid,) * 3 else ""
    else:
        libc.drop_all_capabilities()
        how = "own user namespace" if os.geteuid() != 0 or _in_user_namespace() else ""
    libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1)
    return how


def _in_user_namespace() -> bool:
    try:
        with open("/proc/self/uid_map") as handle:
            return handle.read().split() != ["0", "0", "4294967295"]
    except OSError:
        return False
