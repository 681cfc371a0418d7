"""The walls around a sandboxed process: namespaces, resource limits, privileges, file descriptors.

Everything here runs in a freshly forked child *before* any student code, in this order (the order
matters): new namespaces need root or a user namespace, so they come first; mounts that hide the
instructor's files need the mount namespace; limits are set while we may still raise them; the
temporary folder is entered; privileges are dropped last of the privileged steps, so student code
can neither undo the limits nor signal or read the grader's root-owned processes.

Each layer reports whether it held, so the documentation and the feedback can say honestly which
walls stood on this machine (a container may refuse namespaces, a laptop user is not root).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import pwd
import resource
import socket
from dataclasses import dataclass

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_BIND = 0x1000
MS_REC = 0x4000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_PRIVATE = 1 << 18
_KERNEL_FS = ("/proc", "/sys", "/dev")

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


@dataclass(frozen=True)
class Limits:
    """Per-question limits for the student's process (see docs/autograding.md for the defaults)."""

    timeout_s: float = 20.0
    """Wall-clock seconds before the process group is killed."""
    cpu_s: int = 30
    """RLIMIT_CPU: CPU seconds (SIGXCPU at the soft limit, SIGKILL at soft + 2)."""
    memory_mb: int = 2048
    """RLIMIT_AS headroom above what the warm parent already mapped (torch maps a lot up front)."""
    fsize_mb: int = 16
    """RLIMIT_FSIZE: the largest file the student's code may write."""
    nproc: int = 256
    """RLIMIT_NPROC: processes and threads of the sandbox user (shared by the sandboxes running at once)."""


def _unshare(flags: int) -> bool:
    return _libc.unshare(flags) == 0


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def enter_namespaces() -> dict[str, bool]:
    """New network, PID and mount namespaces (a user namespace first when not root).

    A new network namespace has no interface but a downed loopback: no connection can leave it.
    The new PID namespace takes effect for the next fork: the caller forks once more and that child
    becomes PID 1, so when it exits the kernel kills every process it left behind (fork storms).
    """
    held = {"user_namespace": False, "network_namespace": False, "pid_namespace": False, "mount_namespace": False}
    flags = CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS
    if os.geteuid() != 0:
        uid, gid = os.geteuid(), os.getegid()
        if not _unshare(CLONE_NEWUSER):
            return held
        held["user_namespace"] = True
        try:  # map ourselves so that files we create keep a real owner
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{uid} {uid} 1")
            _write("/proc/self/gid_map", f"{gid} {gid} 1")
        except OSError:
            pass
    if _unshare(flags):
        held.update(network_namespace=True, pid_namespace=True, mount_namespace=True)
        return held
    for name, flag in (("network_namespace", CLONE_NEWNET), ("pid_namespace", CLONE_NEWPID),
                       ("mount_namespace", CLONE_NEWNS)):
        held[name] = _unshare(flag)
    return held


def make_mounts_private() -> bool:
    """Stop mount events propagating from our namespace to the host's: must precede every other mount."""
    return _libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) == 0


def hide_paths(paths: list[str]) -> bool:
    """Cover the bank, the submissions and the output folder inside our private mount namespace.

    A folder is covered by an empty read-only tmpfs, a file by ``/dev/null``. Call
    :func:`make_mounts_private` first. Returns False when any path stayed visible.
    """
    ok = True
    for path in paths:
        target = os.fsencode(path)
        if os.path.isdir(path):
            rc = _libc.mount(b"tmpfs", target, b"tmpfs", MS_RDONLY, b"size=4k,mode=0555")
        elif os.path.exists(path):
            rc = _libc.mount(b"/dev/null", target, None, MS_BIND, None)
        else:
            continue
        ok = ok and rc == 0
    return ok


def _blocking_ancestor(path: str) -> str | None:
    """The highest folder above ``path`` that others may not traverse (e.g. /root, mode 0700), if any."""
    parts = os.path.abspath(path).split(os.sep)[1:]
    current = ""
    for part in parts[:-1]:
        current += os.sep + part
        try:
            if not os.stat(current).st_mode & 0o001:
                return current
        except OSError:
            return None
    return None


def expose_interpreter(paths: list[str]) -> bool:
    """Let the unprivileged sandbox user read the Python installation when it lives under a private folder.

    A root-owned pyenv under ``/root`` (mode 0700) would make every not-yet-imported module fail for
    ``nobody``. In our private mount namespace the private folder is covered by an empty tmpfs and
    only the needed child folders are bind-mounted back, so the rest of it stays invisible.
    """
    by_ancestor: dict[str, set[str]] = {}
    for path in paths:
        ancestor = _blocking_ancestor(path)
        if ancestor:
            child = os.path.abspath(path)[len(ancestor) + 1:].split(os.sep)[0]
            by_ancestor.setdefault(ancestor, set()).add(child)
    ok = True
    for ancestor, children in by_ancestor.items():
        fds = {child: os.open(os.path.join(ancestor, child), os.O_PATH | os.O_DIRECTORY) for child in children}
        if _libc.mount(b"tmpfs", os.fsencode(ancestor), b"tmpfs", 0, b"size=64k,mode=0755") != 0:
            ok = False
            continue
        for child, fd in fds.items():
            os.mkdir(os.path.join(ancestor, child))
            rc = _libc.mount(os.fsencode(f"/proc/self/fd/{fd}"), os.fsencode(os.path.join(ancestor, child)), None,
                             MS_BIND | MS_REC, None)
            ok = ok and rc == 0
            os.close(fd)
    return ok


def read_only_except(workdir: str) -> bool:
    """Remount every mount read-only in our private namespace, except ``workdir`` (and /proc, /sys, /dev).

    Without this the sandbox user could still delete world-writable files elsewhere. Flags a mount
    already has (nosuid, nodev, noexec) are kept, or the kernel refuses the remount.
    """
    target = os.fsencode(workdir)
    if _libc.mount(target, target, None, MS_BIND | MS_REC, None) != 0:
        return False
    with open("/proc/self/mountinfo") as handle:
        points = [line.split()[4].encode().decode("unicode_escape") for line in handle]
    ok = True
    for point in points:
        if point == workdir or point.startswith(_KERNEL_FS) and point != "/":
            continue
        try:
            flags = os.statvfs(point).f_flag
        except OSError:
            continue
        extra = (MS_NOSUID if flags & os.ST_NOSUID else 0) | (MS_NODEV if flags & os.ST_NODEV else 0) \
            | (MS_NOEXEC if flags & os.ST_NOEXEC else 0)
        rc = _libc.mount(None, os.fsencode(point), None, MS_REMOUNT | MS_BIND | MS_RDONLY | extra, None)
        ok = ok and (rc == 0 or point.startswith(workdir.rstrip("/") + "/"))
    return ok


def set_limits(limits: Limits, address_space_now: int) -> None:
    """RLIMIT_CPU, RLIMIT_AS (headroom above ``address_space_now``), RLIMIT_FSIZE, RLIMIT_NPROC, no core files."""
    cpu = max(1, int(limits.cpu_s))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
    memory = address_space_now + limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    fsize = limits.fsize_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.nproc, limits.nproc))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def address_space_bytes() -> int:
    """The current process's virtual memory size (VmSize), read from /proc."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def sandbox_user() -> tuple[int, int] | None:
    """(uid, gid) of ``nobody`` when we are root, else None (nothing to drop)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return (65534, 65534)
    return entry.pw_uid, entry.pw_gid


def drop_privileges(user: tuple[int, int] | None) -> bool:
    """setgroups([]), setgid, setuid: irreversible. True when we now run unprivileged."""
    if user is None:
        return os.geteuid() != 0
    uid, gid = user
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    return os.geteuid() == uid and os.getuid() == uid


def block_sockets() -> None:
    """Python-level fallback when no network namespace could be made: inet sockets cannot be created.

    Weak on its own (ctypes can still reach the syscall); docs/autograding.md says so. AF_UNIX stays
    usable because libraries use it internally.
    """
    inet = {socket.AF_INET, socket.AF_INET6}

    class _NoNetworkSocket(socket.socket):
        def __init__(self, family: int = socket.AF_INET, *args, **kwargs):
            if family in inet:
                raise PermissionError("network access is disabled while grading")
            super().__init__(family, *args, **kwargs)

    def _refuse(*_args, **_kwargs):
        raise PermissionError("network access is disabled while grading")

    socket.socket = _NoNetworkSocket  # type: ignore[misc]
    socket.create_connection = _refuse  # type: ignore[assignment]


def redirect_stdio_and_close_fds(keep: int) -> None:
    """stdin/stdout/stderr to /dev/null (megabytes of prints cost nothing); close every other fd but ``keep``."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)
