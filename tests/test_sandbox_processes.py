"""Who holds what in the sandbox's process tree (grader/sandbox/spawn.py, supervisor.py, zygote.py).

The zygote forks every jail, so it must never hold a request or a result: a later jail would inherit
them. The supervisor reads requests and results, so it must never fork. And no jail may outlive the
supervisor, which owns the deadlines. These tests look at the real processes of a light pool.
"""
from __future__ import annotations

import os
import secrets
import signal
import threading

import pytest
from hostile import wait_until
from proc_tree import status

from grader.sandbox import Limits, SandboxPool

pytestmark = pytest.mark.usefixtures("sandbox_layers")


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = status(int(entry))
            if fields.get("PPid") == str(pid) and not fields.get("State", "").startswith("Z"):
                found.append(int(entry))
    return found


def _cwd(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return ""


def _zygote_and_supervisor(pool: SandboxPool) -> tuple[int, int]:
    """The zygote (our child, working in the pool folder) and the supervisor (its child in our PID namespace)."""
    [zygote] = [pid for pid in _children(os.getpid()) if _cwd(pid) == str(pool.folder)]
    [supervisor] = [pid for pid in _children(zygote) if len(status(pid).get("NSpid", "").split()) == 1]
    return zygote, supervisor


def _memory_holds(pid: int, needles: list[bytes]) -> list[bytes]:
    """Which of ``needles`` appear anywhere in the readable memory of ``pid``."""
    found = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            if not fields[1].startswith("r") or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]")):
                continue
            low, high = (int(x, 16) for x in fields[0].split("-"))
            try:
                mem.seek(low)
                data = mem.read(high - low)
            except OSError:
                continue
            found.update(n for n in needles if n in data)
    return sorted(found)


def _slow_run(pool: SandboxPool, seconds: int) -> tuple[threading.Thread, list]:
    result: list = []
    thread = threading.Thread(target=lambda: result.append(pool.run(
        code=f"import time\ntime.sleep({seconds})", probes=[("a", "1")], limits=Limits(timeout_s=seconds * 2))),
        daemon=True)
    thread.start()
    return thread, result


def test_the_zygote_never_holds_a_request_or_a_result():
    secret = "canary-" + secrets.token_hex(16)
    with SandboxPool(preload=()) as pool:
        for _ in range(2):  # the second fork comes from a zygote that already served the first
            run = pool.run(code=f"secret = {secret!r}\n", probes=[("echo", "secret[::-1]")])
            assert run.values == {"echo": secret[::-1]}, run
        zygote, _ = _zygote_and_supervisor(pool)
        assert _memory_holds(zygote, [secret.encode(), secret[::-1].encode()]) == []
        assert _memory_holds(zygote, [str(pool.folder).encode()]) != []  # the scan does see the zygote's memory


def test_jails_are_forked_by_the_zygote_never_by_the_supervisor():
    with SandboxPool(preload=()) as pool:
        zygote, supervisor = _zygote_and_supervisor(pool)
        thread, result = _slow_run(pool, 3)
        assert not wait_until(lambda: not [p for p in _children(zygote) if p != supervisor], timeout=20)
        jails = [p for p in _children(zygote) if p != supervisor]
        assert all(len(status(p)["NSpid"].split()) == 2 for p in jails)  # each PID 1 of a namespace of its own
        assert _children(supervisor) == []
        thread.join(30)
    assert result and result[0].values == {"a": 1} and result[0].crashed is None


def test_a_killed_supervisor_takes_its_sandboxes_and_the_zygote_with_it():
    with SandboxPool(preload=()) as pool:
        zygote, supervisor = _zygote_and_supervisor(pool)
        folder = pool.folder
        thread, _ = _slow_run(pool, 60)
        assert not wait_until(lambda: not [p for p in _children(zygote) if p != supervisor], timeout=20)
        jails = [p for p in _children(zygote) if p != supervisor]
        os.kill(supervisor, signal.SIGKILL)
        assert wait_until(lambda: [p for p in jails if status(p) and not status(p)["State"].startswith("Z")],
                          timeout=15) == []
        assert wait_until(lambda: not status(zygote).get("State", "Z").startswith("Z"), timeout=15) is False
        assert wait_until(folder.exists, timeout=15) is False  # the zygote removed its pool on the way out
    thread.join(30)
