"""The warm parent: imports torch/transformers/peft once, then forks one sandbox per request.

    python -m grader.sandbox SOCKET_PATH

Process tree for one code question (the zygote never reads a request, so it never holds student
code or anything else that a later fork could find in its memory)::

    zygote ── accept() ─ fork ─▶ monitor  (trusted: reads the request, owns the deadline)
                                   └─ fork ─▶ jail  (setsid; new user?/net/pid/mount namespaces)
                                                └─ fork ─▶ PID 1 of the new namespace: hides
                                                   paths, sets rlimits, enters its temp dir,
                                                   drops to nobody, runs student code + probes

The monitor streams the jail's pipe back to the grader, kills the whole process group at the
wall-clock deadline, removes the temp dir and exits. The wire format is a length-prefixed JSON
header followed by the raw bytes of the pipe, which the grader decodes itself.
"""
from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import socket
import struct
import sys
import tempfile
import time

from . import isolate
from .harness import run as run_harness

PRELOAD = ("import torch", "torch.set_num_threads(1)", "import transformers", "import peft",
           "transformers.BitsAndBytesConfig", "peft.LoraConfig", "import numpy")
"""Heavy imports done once in the zygote; each fork then starts with them already loaded."""
MAX_OUTPUT = 32 * 1024 * 1024
"""Bytes of probe data a monitor forwards at most (a probe returning gigabytes is cut off)."""


def send_frame(conn: socket.socket, payload: bytes) -> None:
    conn.sendall(struct.pack("!Q", len(payload)) + payload)


def recv_exact(conn: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = conn.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed early")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv_frame(conn: socket.socket, limit: int = 1 << 30) -> bytes:
    (size,) = struct.unpack("!Q", recv_exact(conn, 8))
    if size > limit:
        raise ConnectionError(f"frame of {size} bytes is over the limit")
    return recv_exact(conn, size)


def _jail(request: dict, write_fd: int, workdir: str, user: tuple[int, int] | None) -> None:
    """Runs in the forked jail process; never returns."""
    status = 70
    try:
        os.setsid()
        held = isolate.enter_namespaces()
        if held["pid_namespace"]:
            child = os.fork()  # the child is PID 1 of the new namespace
            if child:
                _, wait_status = os.waitpid(child, 0)
                os._exit(os.waitstatus_to_exitcode(wait_status) & 0xFF)
        held["mount_namespace"] = held["mount_namespace"] and isolate.make_mounts_private()
        if held["mount_namespace"] and user is not None:
            isolate.expose_interpreter([sys.base_prefix, sys.prefix, *[p for p in sys.path if p]])
        held["hidden_paths"] = held["mount_namespace"] and isolate.hide_paths(request.get("hide_paths", []))
        held["read_only_elsewhere"] = held["mount_namespace"] and isolate.read_only_except(workdir)
        limits = isolate.Limits(**request["limits"])
        isolate.set_limits(limits, isolate.address_space_bytes())
        os.chdir(workdir)
        held["unprivileged"] = isolate.drop_privileges(user)
        if not held["network_namespace"]:
            isolate.block_sockets()
        held["socket_block"] = not held["network_namespace"]
        os.environ.update(HOME=workdir, TMPDIR=workdir, TMP=workdir, TEMP=workdir)
        tempfile.tempdir = workdir
        isolate.redirect_stdio_and_close_fds(write_fd)
        os.write(write_fd, (json.dumps({"event": "isolation", "layers": held}) + "\n").encode())
        run_harness(write_fd, request["code"], request["setup"], request["probes"])
        status = 0
    except BaseException:  # the harness reports student errors itself; this is our own failure
        status = 71
    finally:
        os._exit(status)


def _monitor(conn: socket.socket, user: tuple[int, int] | None) -> None:
    """Runs in the forked monitor process; never returns."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        request = json.loads(recv_frame(conn))
        timeout = float(request["limits"]["timeout_s"])
        workdir = tempfile.mkdtemp(prefix="sub-", dir=request["scratch_dir"])
        if user is not None:
            os.chown(workdir, *user)
        read_fd, write_fd = os.pipe()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            conn.close()
            _jail(request, write_fd, workdir, user)
        os.close(write_fd)
        output, timed_out, truncated = _collect(read_fd, started + timeout)
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        _, wait_status = os.waitpid(pid, 0)
        header = {"timed_out": timed_out, "truncated": truncated, "elapsed_s": round(time.monotonic() - started, 4),
                  "exit": os.waitstatus_to_exitcode(wait_status)}
        shutil.rmtree(workdir, ignore_errors=True)
        send_frame(conn, json.dumps(header).encode())
        send_frame(conn, output)
    except BaseException as exc:
        try:
            send_frame(conn, json.dumps({"monitor_error": f"{type(exc).__name__}: {exc}"}).encode())
            send_frame(conn, b"")
        except OSError:
            pass
    finally:
        os._exit(0)


def _collect(read_fd: int, deadline: float) -> tuple[bytes, bool, bool]:
    """Read the pipe until EOF or the deadline; keep at most MAX_OUTPUT bytes."""
    chunks: list[bytes] = []
    size, truncated = 0, False
    with selectors.DefaultSelector() as selector:
        selector.register(read_fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return b"".join(chunks), True, truncated
            if not selector.select(left):
                continue
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                return b"".join(chunks), False, truncated
            if size < MAX_OUTPUT:
                chunks.append(chunk[: MAX_OUTPUT - size])
                truncated = truncated or size + len(chunk) > MAX_OUTPUT
                size += len(chunk)
            else:
                truncated = True


def serve(socket_path: str, preload: tuple[str, ...] = PRELOAD) -> None:
    """Import the heavy modules, announce readiness on stdout, then fork a monitor per connection."""
    namespace: dict = {}
    for statement in preload:
        try:
            exec(statement, namespace)  # noqa: S102 - fixed strings above
        except Exception:  # a missing optional library only costs its import time later
            pass
    namespace.clear()
    user = isolate.sandbox_user()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped by the kernel
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(64)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        conn, _ = server.accept()
        if os.fork() == 0:
            server.close()
            _monitor(conn, user)
        conn.close()

