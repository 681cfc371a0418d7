"""The isolation layers a sandbox can have, which are essential, and what a missing one means.

One table, used by ``grader doctor`` (what it prints), by ``grade`` (which layers it requires unless
``--unsafe-sandbox``), by the run metadata and by docs/autograding.md's threat model.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layer:
    name: str
    title: str
    stops: str
    """What this layer stops (shown when it holds)."""
    missing: str
    """What a submission can do when it is missing."""
    essential: bool = True


LAYERS: tuple[Layer, ...] = (
    Layer("filesystem_allowlist", "filesystem allowlist (pivot_root into a fresh root)",
          "the sandbox sees only Python, site-packages and /usr read-only, and its own tmpfs",
          "the code can read the repository and its .git (every bank with references and hidden probes), "
          "other submissions, the output folder and nbgrader exports"),
    Layer("private_proc", "private /proc",
          "/proc shows only the sandbox's own processes",
          "the code can read other sandboxes' paths and the grader's command lines from the host's /proc"),
    Layer("pid_namespace", "PID namespace",
          "every process of the sandbox dies with it, setsid() or not; no other process can be signalled",
          "a process the code starts can outlive the question and read later students' files"),
    Layer("network_namespace", "network namespace",
          "no network, not even loopback",
          "the code can open connections (only a Python-level socket block remains, which ctypes bypasses)"),
    Layer("ipc_namespace", "IPC namespace and private /dev/shm",
          "shared memory and message queues are the sandbox's own and vanish with it",
          "the code can hold host memory in SysV or /dev/shm segments beyond the run"),
    Layer("clean_environment", "environment from an allowlist",
          "the grader's environment variables (tokens included) never reach the sandbox",
          "the code can read the instructor's environment and echo it into feedback"),
    Layer("own_identity", "a distinct uid per sandbox",
          "two sandboxes running at once are different users to the kernel",
          "sandboxes graded at the same time share one user and may reach each other's processes or files"),
    Layer("unprivileged", "unprivileged",
          "the code has no root and no capabilities",
          "the code runs with root's powers"),
    Layer("cgroup_memory", "memory limit for the whole sandbox (cgroup)",
          "all processes together, their tmpfs and shared memory, stay under the question's memory_mb",
          "the memory limit is per process (RLIMIT_AS), so fork() multiplies it"),
    Layer("cgroup_pids", "process limit for the whole sandbox (cgroup)",
          "a fork bomb stops at the question's process limit",
          "only RLIMIT_NPROC, counted per uid, limits forks"),
    Layer("cgroup_kill", "kill of the whole cgroup",
          "at the deadline every process of the sandbox is killed at once, none can fork away",
          "killing relies on the PID namespace alone"),
    Layer("cgroup_cpu", "CPU share for the whole sandbox (cgroup)",
          "each sandbox gets an equal share of the CPU, however many processes or sessions it starts",
          "a submission whose children each call setsid() takes a share per process and can make students "
          "graded at the same time run out of time", essential=False),
    Layer("disk_quota", "disk quota (size-limited tmpfs)",
          "everything the code writes (work folder, /tmp, /dev/shm) fits in the quota and vanishes with it",
          "only a per-file size limit: the code can fill the disk the gradebook is written to"),
    Layer("syscall_filter", "system-call filter (seccomp)",
          "no keyrings, new namespaces, mounts, ptrace, bpf, perf events or io_uring inside the sandbox",
          "the code can leave keys in its uid's keyrings for the next sandbox given that uid, and reach more of "
          "the kernel (a user namespace of its own, io_uring, bpf)", essential=False),
    Layer("uts_namespace", "UTS namespace", "the sandbox has its own host name", "the host name is visible",
          essential=False),
    Layer("cgroup_namespace", "cgroup namespace", "the host's cgroup paths are hidden",
          "the code can read the grader's cgroup path", essential=False),
)

ESSENTIAL = tuple(layer.name for layer in LAYERS if layer.essential)
"""Layers ``grade`` requires before it runs any code (unless ``--unsafe-sandbox``)."""


def missing_essential(held: dict[str, bool]) -> list[str]:
    return [name for name in ESSENTIAL if not held.get(name)]
