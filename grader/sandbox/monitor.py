"""The monitor: one trusted process per sandbox, between the zygote and the jail.

It reads the request, takes a uid for the sandbox, creates its cgroup with the question's limits,
starts the jail inside that cgroup, streams the result pipe (and, for ``code_output`` snippets,
what the code printed, cut at a limit) until the code is done or the deadline passes, then kills
*every* process of the sandbox (the cgroup, and the PID namespace's PID 1 — never just a process
group), removes the cgroup, frees the uid and answers with a header and the raw bytes.

It dies with the zygote (parent-death signal), and the jail dies with it, and the PID namespace
with the jail: there is no order of deaths that leaves sandboxed code running.
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import struct
import tempfile
import time
from dataclasses import dataclass

from . import cgroups, identity as identity_module, isolate, libc, rootfs
from .framing import recv_frame, send_frame
from .housekeeping import remove_folder
from .jail import jail

MAX_OUTPUT = 32 * 1024 * 1024
"""Bytes of probe data a monitor forwards at most (a probe returning gigabytes is cut off)."""
MAX_REQUEST = 64 * 1024 * 1024


@dataclass(frozen=True)
class Config:
    """What every monitor of one zygote shares (set once at zygote start, by the trusted grader)."""

    plan: rootfs.RootPlan
    new_root: str
    """An empty folder (root-owned, 0700) each sandbox mounts its new root on, in its own namespace."""
    scratch: str
    """Where the fallback work folders go when no private tmpfs can be made."""
    pool: cgroups.Pool | None


def serve_one(conn: socket.socket, config: Config) -> None:
    """Runs in the forked monitor process; never returns."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        libc.prctl(libc.PR_SET_PDEATHSIG, signal.SIGKILL)
        request = json.loads(recv_frame(conn, limit=MAX_REQUEST))
        header, output, printed = _supervise(request, config)
        send_frame(conn, json.dumps(header).encode())
        send_frame(conn, output)
        send_frame(conn, printed)
    except BaseException as exc:
        try:
            send_frame(conn, json.dumps({"monitor_error": f"{type(exc).__name__}: {exc}"[:300]}).encode())
            send_frame(conn, b"")
            send_frame(conn, b"")
        except OSError:
            pass
    finally:
        os._exit(0)


def _supervise(request: dict, config: Config) -> tuple[dict, bytes, bytes]:
    limits = isolate.Limits(**request["limits"])
    capture = bool(request.get("capture_stdout"))
    identity = identity_module.acquire()
    box, cgroup_layers = _cgroup(config.pool, limits)
    require = request.get("require", [])
    missing = [name for name in require if name in cgroup_layers and not cgroup_layers[name]]
    if missing:
        _cleanup(box, identity, None)
        return {"refused": missing, "cgroup": cgroup_layers}, b"", b""
    request = {**request, "require": [name for name in require if name not in cgroup_layers]}  # the jail checks the rest
    fallback = tempfile.mkdtemp(prefix="sub-", dir=config.scratch)
    if identity is not None:
        os.chown(fallback, identity.uid, identity.gid)
    read_fd, write_fd = os.pipe()
    capture_r, capture_w = os.pipe() if capture else (None, None)
    go_r, go_w = os.pipe()
    pid_r, pid_w = os.pipe()
    in_pid_namespace = _pid_namespace_for_children()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        for fd in (read_fd, go_w, pid_r, capture_r):
            if fd is not None:
                os.close(fd)
        jail(request, plan=config.plan, new_root=config.new_root, fallback_dir=fallback, identity=identity,
             go_fd=go_r, pid_fd=pid_w, out_fd=write_fd, capture_fd=capture_w, in_pid_namespace=in_pid_namespace)
    for fd in (write_fd, go_r, pid_w, capture_w):
        if fd is not None:
            os.close(fd)
    if box is not None:
        try:
            box.add(pid)
        except OSError:
            cgroup_layers = {name: False for name in cgroup_layers}
    os.write(go_w, b"1")
    os.close(go_w)
    init_pid = _read_pid(pid_r) or pid
    streams = {read_fd: MAX_OUTPUT}
    if capture_r is not None:
        streams[capture_r] = limits.output_kb * 1024
    data, timed_out, truncated = _collect(streams, started + limits.timeout_s)
    _kill_all(box, pid, init_pid)
    _, wait_status = os.waitpid(pid, 0)
    header = {"timed_out": timed_out, "truncated": truncated.get(read_fd, False),
              "stdout_truncated": truncated.get(capture_r, False) if capture_r is not None else False,
              "elapsed_s": round(time.monotonic() - started, 4), "exit": os.waitstatus_to_exitcode(wait_status),
              "cgroup": cgroup_layers, "usage": box.usage() if box is not None else {}}
    _cleanup(box, identity, fallback)
    return header, data[read_fd], data.get(capture_r, b"") if capture_r is not None else b""


def _cgroup(pool: cgroups.Pool | None, limits: isolate.Limits) -> tuple[cgroups.Sandbox | None, dict[str, bool]]:
    layers = {"cgroup_memory": False, "cgroup_pids": False, "cgroup_kill": False, "cgroup_cpu": False}
    if pool is None:
        return None, layers
    try:
        box = pool.sandbox(f"s{os.getpid()}", memory_bytes=(limits.memory_mb + limits.disk_mb) * 1024 * 1024,
                           pids=limits.nproc)
    except OSError:
        return None, layers
    return box, {"cgroup_memory": "memory" in pool.limits, "cgroup_pids": "pids" in pool.limits,
                 "cgroup_kill": pool.kill_whole, "cgroup_cpu": "cpu" in pool.limits}


def _pid_namespace_for_children() -> bool:
    """As root, put our next child in a new PID namespace (saves the jail a fork of this big process)."""
    if os.geteuid() != 0:
        return False  # a user namespace must come first: the jail makes both, then forks PID 1
    try:
        libc.unshare(libc.CLONE_NEWPID)
        return True
    except OSError:
        return False


def _read_pid(fd: int) -> int | None:
    """The host pid of the sandbox's PID 1 when the jail forked it (None when the jail is PID 1 itself)."""
    try:
        raw = os.read(fd, 4)
    finally:
        os.close(fd)
    return struct.unpack("!i", raw)[0] if len(raw) == 4 else None


def _kill_all(box: cgroups.Sandbox | None, jail_pid: int, init_pid: int | None) -> None:
    """Every process of the sandbox: its cgroup, its PID namespace (via PID 1), the jail's session."""
    if box is not None:
        box.kill()
    for target in (init_pid, jail_pid):
        if target:
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass
    try:
        os.killpg(jail_pid, signal.SIGKILL)
    except OSError:
        pass
    if box is not None:
        box.kill()


def _cleanup(box: cgroups.Sandbox | None, identity: identity_module.Identity | None, fallback: str | None) -> None:
    if box is not None:
        box.kill()
        box.remove()
    if fallback is not None:
        remove_folder(fallback)
    if identity is not None:
        identity.release()


def _collect(streams: dict[int, int], deadline: float) -> tuple[dict[int, bytes], bool, dict[int, bool]]:
    """Read every stream until each reaches EOF, one goes over its limit of bytes, or the deadline passes."""
    chunks: dict[int, list[bytes]] = {fd: [] for fd in streams}
    sizes = {fd: 0 for fd in streams}
    truncated = {fd: False for fd in streams}
    timed_out = False
    with selectors.DefaultSelector() as selector:
        for fd in streams:
            selector.register(fd, selectors.EVENT_READ)
        open_fds = set(streams)
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            for key, _ in selector.select(left):
                fd = key.fd
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    selector.unregister(fd)
                    open_fds.discard(fd)
                    continue
                room = streams[fd] - sizes[fd]
                chunks[fd].append(chunk[:max(room, 0)])
                sizes[fd] += len(chunk)
                if len(chunk) > room:  # over its limit: stop reading now, the sandbox is killed next
                    truncated[fd] = True
                    open_fds.clear()
                    break
    for fd in streams:
        os.close(fd)
    return {fd: b"".join(parts) for fd, parts in chunks.items()}, timed_out, truncated
