"""The monitor: one trusted thread of the :mod:`.supervisor` per sandbox, between the grader and the jail.

It reads the request, takes a uid for the sandbox, creates its cgroup with the question's limits,
has the zygote fork the jail (:mod:`.spawn`), puts it inside that cgroup and only then sends it the
request, streams the result pipe (and, for ``code_output`` snippets, what the code printed, cut at a
limit) until the code is done or the deadline passes, then kills *every* process of the sandbox (the
cgroup, and the PID namespace's PID 1 — never just a process group), has the zygote reap the jail,
removes the cgroup, frees the uid and answers with a header and the raw bytes.

The jail dies with the zygote (parent-death signal), the PID namespace with the jail, and the zygote
kills a jail whose monitor went away: there is no order of deaths that leaves sandboxed code running.
"""
from __future__ import annotations

import itertools
import json
import os
import selectors
import signal
import socket
import struct
import tempfile
import time
from dataclasses import dataclass

from . import cgroups, isolate, rootfs, spawn
from . import identity as identity_module
from .framing import recv_frame, send_frame
from .housekeeping import remove_folder

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


def serve_one(conn: socket.socket, config: Config, zygote: spawn.Zygote) -> None:
    """One sandbox, from the grader's request to the answer (a thread of the supervisor); never raises."""
    with conn:
        try:
            request = json.loads(recv_frame(conn, limit=MAX_REQUEST))
            header, output, printed = _supervise(request, config, zygote)
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


def _supervise(request: dict, config: Config, zygote: spawn.Zygote) -> tuple[dict, bytes, bytes]:
    limits = isolate.Limits(**request["limits"])
    identity = identity_module.acquire()
    box, fallback = None, None
    try:
        box, cgroup_layers = _cgroup(config.pool, limits)
        require = request.get("require", [])
        missing = [name for name in require if name in cgroup_layers and not cgroup_layers[name]]
        if missing:
            return {"refused": missing, "cgroup": cgroup_layers}, b"", b""
        request = {**request, "require": [name for name in require if name not in cgroup_layers]}  # the jail checks the rest
        fallback = tempfile.mkdtemp(prefix="sub-", dir=config.scratch)
        if identity is not None:
            os.chown(fallback, identity.uid, identity.gid)
        order = spawn.Order(uid=identity.uid if identity else None, gid=identity.gid if identity else None,
                            shared=identity.shared if identity else False, fallback=fallback,
                            capture=bool(request.get("capture_stdout")))
        required = [name for name in require if name in cgroup_layers]
        return _run(request, limits, order, zygote, box, cgroup_layers, required)
    finally:
        _cleanup(box, identity, fallback)


def _run(request: dict, limits: isolate.Limits, order: spawn.Order, zygote: spawn.Zygote,
         box: cgroups.Sandbox | None, cgroup_layers: dict[str, bool],
         required: list[str]) -> tuple[dict, bytes, bytes]:
    """Start the jail, hand it the request once it is in its cgroup, collect, kill, reap."""
    ours: list[int] = []  # every descriptor still open here: closed whatever happens (a long-lived process)
    try:
        read_fd, write_fd = _pipe(ours)
        capture_r, capture_w = _pipe(ours) if order.capture else (None, None)
        go_r, go_w = _pipe(ours)
        pid_r, pid_w = _pipe(ours)
        payload = b"1" + json.dumps(request).encode()
        started = time.monotonic()
        try:
            jail = zygote.fork(order, spawn.JailFds(go=go_r, pid=pid_w, out=write_fd, capture=capture_w))
        finally:
            _close(ours, write_fd, go_r, pid_w, capture_w)  # the jail's ends: only the jail holds them now
        try:
            if box is not None:
                try:
                    box.add(jail.pid)
                except OSError:
                    cgroup_layers = {name: False for name in cgroup_layers}
                    if required:  # never run code outside limits it was required to have: no go byte, no request
                        _close(ours, go_w)
                        _kill_all(None, jail.pid, None)
                        jail.reap()
                        return {"refused": required, "cgroup": cgroup_layers}, b"", b""
            _send(go_w, payload)  # the go byte, then the request: the jail reads it only now, in its cgroup
            _close(ours, go_w)
            init_pid = _read_pid(pid_r) or jail.pid
            streams = {read_fd: MAX_OUTPUT}
            if capture_r is not None:
                streams[capture_r] = limits.output_kb * 1024
            data, timed_out, truncated = _collect(streams, started + limits.timeout_s)
            _kill_all(box, jail.pid, init_pid)
            wait_status = jail.reap()
        finally:
            jail.close()  # not reaped (an error above): the zygote kills and reaps it
    finally:
        _close(ours, *list(ours))
    header = {"timed_out": timed_out, "truncated": truncated.get(read_fd, False),
              "stdout_truncated": truncated.get(capture_r, False) if capture_r is not None else False,
              "elapsed_s": round(time.monotonic() - started, 4), "exit": os.waitstatus_to_exitcode(wait_status),
              "cgroup": cgroup_layers, "usage": box.usage() if box is not None else {}}
    return header, data[read_fd], data.get(capture_r, b"") if capture_r is not None else b""


def _pipe(ours: list[int]) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    ours += [read_fd, write_fd]
    return read_fd, write_fd


def _close(ours: list[int], *fds: int | None) -> None:
    for fd in fds:
        if fd is not None and fd in ours:
            ours.remove(fd)
            os.close(fd)


def _send(fd: int, data: bytes) -> None:
    """Write all of ``data``; a jail that died before reading it is found out by the collection that follows."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        pass


_SERIAL = itertools.count()
"""Names this supervisor's sandbox cgroups apart (its pid names them apart from another supervisor's)."""


def _cgroup(pool: cgroups.Pool | None, limits: isolate.Limits) -> tuple[cgroups.Sandbox | None, dict[str, bool]]:
    layers = {"cgroup_memory": False, "cgroup_pids": False, "cgroup_kill": False, "cgroup_cpu": False}
    if pool is None:
        return None, layers
    try:
        box = pool.sandbox(f"s{os.getpid()}-{next(_SERIAL)}", memory_bytes=(limits.memory_mb + limits.disk_mb) * 1024 * 1024,
                           pids=limits.nproc)
    except OSError:
        return None, layers
    return box, {"cgroup_memory": "memory" in pool.limits, "cgroup_pids": "pids" in pool.limits,
                 "cgroup_kill": pool.kill_whole, "cgroup_cpu": "cpu" in pool.limits}


def _read_pid(fd: int) -> int | None:
    """The host pid of the sandbox's PID 1 when the jail forked it (None when the jail is PID 1 itself)."""
    raw = os.read(fd, 4)
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
    return {fd: b"".join(parts) for fd, parts in chunks.items()}, timed_out, truncated
