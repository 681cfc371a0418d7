"""Per-sandbox settings and the small walls that are not a subsystem of their own.

The order in which the jail applies the layers lives in :mod:`.jail`; the filesystem view in
:mod:`.rootfs`, the identity in :mod:`.identity`, the whole-sandbox limits in :mod:`.cgroups`.
Here: the :class:`Limits` of a question, namespaces, rlimits, the environment allowlist, file
descriptors, and the Python-level network fallback.

Each layer reports whether it held, so ``grader doctor``, the isolation record and the run metadata
can say honestly which walls stood on this machine (a container may refuse namespaces, a laptop
user is not root).
"""
from __future__ import annotations

import os
import resource
import socket
from dataclasses import dataclass

from . import libc

NAMESPACES = (("network_namespace", libc.CLONE_NEWNET), ("pid_namespace", libc.CLONE_NEWPID),
              ("mount_namespace", libc.CLONE_NEWNS), ("ipc_namespace", libc.CLONE_NEWIPC),
              ("uts_namespace", libc.CLONE_NEWUTS), ("cgroup_namespace", libc.CLONE_NEWCGROUP))
SANDBOX_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "TMPDIR": "/tmp", "TMP": "/tmp", "TEMP": "/tmp", "USER": "student", "HF_HUB_OFFLINE": "1",
               "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
               "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"}
"""The whole environment sandboxed code sees: built from this allowlist, never inherited."""
PASS_THROUGH = ("TZ",)
"""Host variables the zygote keeps (harmless, and some libraries read them at import)."""


@dataclass(frozen=True)
class Limits:
    """One question's limits, for the sandbox as a whole (see docs/autograding.md for the defaults)."""

    timeout_s: float = 20.0
    """Wall-clock seconds; then every process of the sandbox is killed."""
    cpu_s: int = 30
    """RLIMIT_CPU per process (SIGXCPU at the soft limit, SIGKILL at soft + 2)."""
    memory_mb: int = 2048
    """Memory all the sandbox's processes may add together (cgroup), on top of the preloaded libraries;
    also each process's RLIMIT_AS headroom."""
    fsize_mb: int = 16
    """RLIMIT_FSIZE: the largest file the code may write."""
    nproc: int = 128
    """Processes and threads of the whole sandbox (cgroup pids.max; also RLIMIT_NPROC of its uid)."""
    disk_mb: int = 64
    """Size of the sandbox's tmpfs (/work, /tmp and /dev/shm together)."""
    inodes: int = 4096
    """Files and folders the sandbox may create in all."""
    output_kb: int = 256
    """Printed output kept when output is captured (code_output snippets); the rest is discarded."""


def zygote_environment(extra: dict[str, str]) -> dict[str, str]:
    """The environment the zygote is started with: the sandbox allowlist, never the instructor's.

    Everything a forked sandbox could ever find in memory (``/proc/self/environ`` shows the
    zygote's start-up environment, whatever ``os.environ`` says later) comes from here, so tokens
    in the grader's environment never reach student code.
    """
    env = {k: v for k, v in SANDBOX_ENV.items() if k != "USER"}
    env.update({k: os.environ[k] for k in PASS_THROUGH if k in os.environ})
    env.update(extra)
    return env


def sandbox_environment(home: str) -> None:
    """Replace this process's environment with :data:`SANDBOX_ENV` (and ``HOME``)."""
    os.environ.clear()
    os.environ.update(SANDBOX_ENV, HOME=home)


def enter_namespaces(*, as_root: bool, pid: bool = True) -> dict[str, bool]:
    """Unshare new network, PID, mount, IPC, UTS and cgroup namespaces (first a user namespace when not root).

    A new network namespace has no interface but a downed loopback: no connection can leave it.
    The PID namespace takes effect for the next fork: the caller forks once more and that child is
    PID 1, so when it exits the kernel kills every process left in it (``setsid`` does not escape).
    The IPC namespace takes SysV shared memory and message queues with it when it dies.
    ``pid=False`` leaves the PID namespace out (the caller already has one for its children).
    """
    wanted = [(name, flag) for name, flag in NAMESPACES if pid or flag != libc.CLONE_NEWPID]
    held = {name: False for name, _ in NAMESPACES}
    held["user_namespace"] = False
    if not as_root:
        uid, gid = os.geteuid(), os.getegid()
        try:
            libc.unshare(libc.CLONE_NEWUSER)
        except OSError:
            return held
        held["user_namespace"] = True
        try:  # namespaced root (uid 0 inside = us outside) sets up the mounts, then drops every capability
            for path, text in (("/proc/self/setgroups", "deny"), ("/proc/self/uid_map", f"0 {uid} 1"),
                               ("/proc/self/gid_map", f"0 {gid} 1")):
                with open(path, "w") as handle:
                    handle.write(text)
        except OSError:
            pass
    try:
        libc.unshare(sum(flag for _, flag in wanted))
        held.update({name: True for name, _ in wanted})
    except OSError:
        for name, flag in wanted:
            try:
                libc.unshare(flag)
                held[name] = True
            except OSError:
                pass
    return held


def set_limits(limits: Limits, address_space_now: int) -> None:
    """Per-process rlimits: CPU, address space (headroom above ``address_space_now``), file size, processes, no core."""
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


def redirect_stdio_and_close_fds(keep: tuple[int, ...], stdout: int | None = None) -> None:
    """stdin and stderr to /dev/null, stdout to ``stdout`` (or /dev/null); close every fd but ``keep``."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(stdout if fd == 1 and stdout is not None else null, fd)
    os.close(null)
    last = 2
    for fd in sorted(keep):
        os.closerange(last + 1, fd)
        last = fd
    os.closerange(last + 1, 65536)
