"""Attacks on the sandbox's process tree since the restructure (issue 14, red team): zygote, supervisor, jails.

The zygote now forks every jail on an order from the supervisor (pipes passed as file descriptors), keeps
each jail unreaped until the supervisor's monitor thread asks, and a warm server (``grader serve``) may hold
the pool between runs. What these tests attack, with the student's powers (code in an answer cell) and a
local user's (files in /tmp):

* what a jail inherits from the zygote that forked it (other sandboxes' channels and pipes, pidfds, the
  control socket);
* whether a sandbox can signal, trace or read the zygote, the supervisor, or a sandbox running beside it;
* whether a sandbox that exits early, kills itself, closes its pipes, double-forks, stops itself, floods
  its pipes or sleeps past its deadline leaves a process, a descriptor, a thread, a uid or a cgroup behind,
  or holds up the sandboxes graded at the same time;
* whether a run can be made to send its sandboxes (student code, references, hidden probes) to a socket
  another user put where the pool's socket had been.

Everything is checked from outside (``/proc``, the cgroup tree), not from what the
grader says about itself. The sandbox tests need root; they skip where ``doctor`` finds an essential
layer missing (except in CI).
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

import pytest
from hostile import wait_until
from paths import ROOT
from proc_tree import children, status

from grader.sandbox import Limits, SandboxPool
from grader.sandbox.client import socket_connection
from grader.sandbox.framing import recv_frame, send_frame

pytestmark = pytest.mark.usefixtures("sandbox_layers")

NOBODY = 65534


def _tree(pool: SandboxPool) -> tuple[int, int]:
    """(zygote, supervisor) of a started pool: our child working in the pool folder, and its child in our PID namespace."""
    [zygote] = [pid for pid in children(os.getpid()) if os.readlink(f"/proc/{pid}/cwd") == str(pool.folder)]
    [supervisor] = [pid for pid in children(zygote) if len(status(pid).get("NSpid", "").split()) == 1]
    return zygote, supervisor


def _jails(zygote: int, supervisor: int) -> list[int]:
    return [pid for pid in children(zygote) if pid != supervisor]


def _sandbox_cgroups(pool: SandboxPool) -> list[str]:
    group = pool._cgroup  # the pool's own cgroup folders: one child per sandbox while it runs
    if group is None:
        return []
    return [str(child) for folder in set(group.dirs.values()) for child in Path(folder).iterdir() if child.is_dir()]


def _in_thread(target) -> tuple[threading.Thread, list]:
    result: list = []
    thread = threading.Thread(target=lambda: result.append(target()), daemon=True)
    thread.start()
    return thread, result


SLEEP = "import time\ntime.sleep({seconds})\n"

LIST_FDS = """
import os
fds = {}
for name in os.listdir("/proc/self/fd"):
    try:
        fds[name] = os.readlink(f"/proc/self/fd/{name}")
    except OSError:
        pass  # the folder listdir itself had open
"""


@pytest.mark.parametrize("capture", [False, True])
def test_a_jail_holds_only_its_own_pipes_while_other_sandboxes_run(capture):
    """The zygote holds every running sandbox's channel and pidfd, the control socket and its selector when it
    forks the next jail: none of them, nor another sandbox's pipes, may reach the code."""
    with SandboxPool(preload=()) as pool:
        zygote, supervisor = _tree(pool)
        neighbours = [_in_thread(lambda: pool.run(code=SLEEP.format(seconds=3), probes=[("a", "1")],
                                                  limits=Limits(timeout_s=20)))
                      for _ in range(2)]
        assert not wait_until(lambda: len(_jails(zygote, supervisor)) < 2, timeout=20)
        run = pool.run(code=LIST_FDS, probes=[("fds", "[[k, v] for k, v in fds.items()]")], capture_stdout=capture, limits=Limits(timeout_s=20))
        for thread, _ in neighbours:
            thread.join(30)
    assert run.crashed is None, run.crashed
    fds = {int(k): v for k, v in run.values["fds"]}
    assert fds[0] == fds[2] == "/dev/null"
    assert fds[1].startswith("pipe:") if capture else fds[1] == "/dev/null"
    others = {fd: target for fd, target in fds.items() if fd > 2 and target != fds[1]}  # (the capture pipe's own fd)
    assert len(others) == 1 and next(iter(others.values())).startswith("pipe:"), fds  # the result pipe, nothing else
    assert not [t for t in fds.values() if t.startswith(("socket:", "anon_inode:"))], fds
    assert all(result and result[0].values == {"a": 1} for _, result in neighbours)


PRY = """
import ctypes, errno, os, signal
libc = ctypes.CDLL(None, use_errno=True)
attempts = {}
def note(name, call):
    try:
        value = call()
        attempts[name] = "ok" if value is None or value >= 0 else "errno %d" % ctypes.get_errno()
    except OSError as exc:
        attempts[name] = "errno %d" % exc.errno
for who, pid in TARGETS.items():
    note(who + " kill 0", lambda: os.kill(pid, 0))
    note(who + " SIGKILL", lambda: os.kill(pid, signal.SIGKILL))
    note(who + " pidfd_open", lambda: libc.syscall(434, pid, 0))
    note(who + " ptrace attach", lambda: libc.ptrace(16, pid, None, None))
    note(who + " /proc mem", lambda: os.open(f"/proc/{pid}/mem", os.O_RDONLY) and None)
    note(who + " kill group", lambda: os.killpg(pid, signal.SIGKILL))
note("everyone", lambda: os.kill(-1, signal.SIGKILL))
opened = {k: v for k, v in attempts.items() if v == "ok"}
"""


def test_a_sandbox_cannot_signal_trace_or_read_the_zygote_the_supervisor_or_a_neighbour():
    """Host pids given to the code outright: it can still reach none of them (own PID namespace, uid, seccomp)."""
    with SandboxPool(preload=()) as pool:
        zygote, supervisor = _tree(pool)
        secret = "neighbour-" + os.urandom(8).hex()
        thread, neighbour = _in_thread(lambda: pool.run(
            code=f"import time\nsecret = {secret!r}\ntime.sleep(4)\n", probes=[("s", "secret")],
            limits=Limits(timeout_s=30)))
        assert not wait_until(lambda: not _jails(zygote, supervisor), timeout=20)
        [jail] = _jails(zygote, supervisor)
        targets = {"zygote": zygote, "supervisor": supervisor, "neighbour": jail, "grader": os.getpid()}
        run = pool.run(code=f"TARGETS = {targets!r}\n" + PRY, probes=[("opened", "sorted(opened)"), ("tried", "len(attempts)")],
                       limits=Limits(timeout_s=20))
        thread.join(30)
        assert status(zygote) and status(supervisor)  # both still alive, and the pool still works
        assert pool.run(code="x = 2", probes=[("x", "x")]).values == {"x": 2}
    assert run.crashed is None and run.values["tried"] == 4 * 6 + 1, run
    assert run.values["opened"] == [], run.values["opened"]
    assert neighbour and neighbour[0].values == {"s": secret} and neighbour[0].crashed is None


HOSTILE_ENDINGS = {
    "exits_early": "import os\nos._exit(3)\n",
    "kills_itself": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\nimport time\ntime.sleep(60)\n",
    "closes_its_pipes": "import os, time\nos.closerange(3, 1024)\ntime.sleep(60)\n",
    "double_forks": ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                     "        time.sleep(120)\n    os._exit(0)\ntime.sleep(0.2)\nos._exit(0)\n"),
    "stops_a_child": ("import os, signal, time\nif os.fork() == 0:\n    os.kill(os.getpid(), signal.SIGSTOP)\n"
                      "time.sleep(120)\n"),
    "sleeps_past_deadline": "import time\ntime.sleep(120)\n",
    "floods_stdout": "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n",
    "ignores_sigterm": ("import os, signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                        "for _ in range(5):\n    if os.fork() == 0:\n        break\ntime.sleep(120)\n"),
}
RUN_TO_THE_DEADLINE = {"kills_itself", "stops_a_child", "sleeps_past_deadline", "ignores_sigterm"}
"""(The code is PID 1 of its namespace, which its own SIGKILL does not reach: it too sleeps until the deadline.)"""


def test_hostile_endings_leave_no_process_descriptor_thread_uid_or_cgroup_behind():
    """Eight ways to end badly, all at once, in one pool: afterwards the zygote and the supervisor are as they
    were (only each other, no jail or zombie, the same descriptors, uid locks included, the supervisor's one
    accept thread) and no sandbox cgroup is left (one with a process in it cannot be removed); each sandbox was
    over by its deadline. (Only this pool's processes are looked at: other pools may run on this machine.)"""
    timeout = 4.0
    with SandboxPool(preload=()) as pool:
        assert pool.run(code="", limits=Limits(timeout_s=10)).crashed is None  # warm: the baseline below is steady
        zygote, supervisor = _tree(pool)
        assert wait_until(lambda: len(os.listdir(f"/proc/{supervisor}/task")) - 1, timeout=10) == 0  # its thread is done
        before = (len(os.listdir(f"/proc/{zygote}/fd")), len(os.listdir(f"/proc/{supervisor}/fd")))
        results: dict[str, tuple[float, object]] = {}

        def one(name: str, code: str) -> None:
            started = time.monotonic()
            run = pool.run(code=code, probes=[("a", "1")], capture_stdout=name == "floods_stdout",
                           limits=Limits(timeout_s=timeout, output_kb=64))
            results[name] = (time.monotonic() - started, run)

        threads = [threading.Thread(target=one, args=(name, code)) for name, code in HOSTILE_ENDINGS.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert wait_until(lambda: _jails(zygote, supervisor), timeout=10) == []
        assert wait_until(lambda: len(os.listdir(f"/proc/{supervisor}/task")) - 1, timeout=10) == 0
        after = (len(os.listdir(f"/proc/{zygote}/fd")), len(os.listdir(f"/proc/{supervisor}/fd")))
        assert after == before, f"descriptors of (zygote, supervisor) before {before}, after {after}"
        assert wait_until(lambda: _sandbox_cgroups(pool), timeout=10) == []
        assert pool.run(code="x = 3", probes=[("x", "x")]).values == {"x": 3}  # and the pool still works
    assert set(results) == set(HOSTILE_ENDINGS)
    for name, (elapsed, run) in results.items():
        assert elapsed < timeout + 10, (name, elapsed)
        assert run.timed_out == (name in RUN_TO_THE_DEADLINE), (name, run)
    assert results["floods_stdout"][1].stdout_truncated
    assert results["exits_early"][1].crashed and "exit status 3" in results["exits_early"][1].crashed


STALL = {
    "sleeps": "import time\ntime.sleep(120)\n",
    "stopped": "import os, signal, time\nfor _ in range(3):\n    if os.fork() == 0:\n"
               "        os.kill(os.getpid(), signal.SIGSTOP)\ntime.sleep(120)\n",
    "spins": "while True:\n    pass\n",
    "deadlocks": "import threading\nlock = threading.Lock()\nlock.acquire()\nlock.acquire()\n",
}


def test_sandboxes_that_never_answer_hold_up_nobody_else():
    """While four sandboxes stall until their deadline, one after another run to the end at once: one monitor
    thread per sandbox, and a zygote that forks without waiting on any of them."""
    stall_s = 15.0
    with SandboxPool(preload=()) as pool:
        zygote, supervisor = _tree(pool)
        stalled = [_in_thread(lambda code=code: pool.run(code=code, probes=[("a", "1")],
                                                          limits=Limits(timeout_s=stall_s)))
                   for code in STALL.values()]
        assert not wait_until(lambda: len(_jails(zygote, supervisor)) < len(STALL), timeout=20)
        started = time.monotonic()
        quick = [pool.run(code=f"x = {i}", probes=[("x", "x")], limits=Limits(timeout_s=20)) for i in range(6)]
        quick_s = time.monotonic() - started
        still_stalled = sum(thread.is_alive() for thread, _ in stalled)
        for thread, _ in stalled:
            thread.join(stall_s + 30)
    assert [r.values for r in quick] == [{"x": i} for i in range(6)]
    assert still_stalled == len(STALL) and quick_s < stall_s / 2, (still_stalled, quick_s)
    assert all(result and result[0].timed_out for _, result in stalled)


def _forge_server_record(folder: Path, socket_path: str) -> None:
    """A record a run trusts (this test process posing as the server), naming ``socket_path``."""
    from grader.fingerprint import fingerprint
    from grader.sandbox.cgroups import process_start_time

    folder.mkdir(mode=0o700, exist_ok=True)
    record = {"pid": os.getpid(), "start": process_start_time(os.getpid()), "started_at": "now", "socket": socket_path,
              "fingerprint": fingerprint(), "python": os.path.realpath(sys.executable), "preload": [], "cgroup": ""}
    (folder / "server.json").write_text(json.dumps(record))


def _squat(folder: Path, ready: int) -> None:
    """In a forked child: as ``nobody``, make ``folder`` and answer one sandbox request there with a forged 42."""
    try:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
        os.mkdir(folder, 0o700)
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(folder / "zygote.sock"))
            server.listen(1)
            server.settimeout(20)
            os.write(ready, b"1")
            conn, _ = server.accept()
            with conn:
                recv_frame(conn, 1 << 26)  # the student's code, the setup and every probe, hidden ones included
                layers = {"own_identity": True, "filesystem_allowlist": True, "syscall_filter": True}
                records = [{"event": "isolation", "layers": layers, "identity": "uid 1500000"},
                           {"probe": "x", "value": 42}, {"event": "done"}]
                send_frame(conn, json.dumps({"timed_out": False, "exit": 0}).encode())
                send_frame(conn, b"\n".join(json.dumps(r).encode() for r in records))
                send_frame(conn, b"")
    finally:
        os._exit(0)


def test_a_run_never_talks_to_a_socket_another_user_put_where_its_server_was(monkeypatch, tmp_path):
    """A run holds a lease on a warm server; the server's pool goes away (``serve --stop`` mid-run, or its zygote
    restarting after its supervisor died) and its folder in /tmp with it. Another local user makes a folder of the
    same name with a socket in it: the run must not send it the student's code, nor take its answer."""
    monkeypatch.setenv("GRADER_SERVER_DIR", str(tmp_path / "servers"))
    real = SandboxPool(preload=())
    real.start()
    try:
        _forge_server_record(tmp_path / "servers", real.socket_path)
        with SandboxPool(preload=(), use_server=True) as client:
            assert client.server is not None, client.server_note
            assert client.run(code="x = 1", probes=[("x", "x")]).values == {"x": 1}
            folder = real.folder
            real.close()  # the server's pool is gone, its folder with it
            assert not folder.exists()
            ready_r, ready_w = os.pipe()
            squatter = os.fork()
            if squatter == 0:
                _squat(folder, ready_w)
            os.close(ready_w)
            try:
                assert os.read(ready_r, 1) == b"1" and os.stat(folder).st_uid == NOBODY
                run = client.run(code="x = 1", probes=[("x", "x")], limits=Limits(timeout_s=20))
            finally:
                os.close(ready_r)
                os.kill(squatter, signal.SIGKILL)
                os.waitpid(squatter, 0)
                with contextlib.suppress(OSError):
                    (folder / "zygote.sock").unlink()
                with contextlib.suppress(OSError):
                    folder.rmdir()
        assert run.values.get("x") != 42, "the run took a forged value from another user's socket"
        assert run.values == {"x": 1} or run.crashed, run
    finally:
        real.close()


def _zygote_folder(server: int, old_zygote: int) -> str | None:
    """The pool folder of a zygote of ``server`` other than ``old_zygote``, once it has bound its socket."""
    for pid in children(server):
        if pid == old_zygote:
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if (Path(cwd) / "zygote.sock").exists():
            return cwd
    return None


def test_a_servers_record_names_its_live_socket_after_its_zygote_restarts(tmp_path):
    """The supervisor of a server's zygote dies; the zygote removes its pool and exits; the server starts another.
    The record must then name the new socket: a stale one is a path in /tmp that anyone may create."""
    folder = tmp_path / "servers"
    env = dict(os.environ, GRADER_SERVER_DIR=str(folder), HF_HUB_OFFLINE="1")
    server = subprocess.Popen([sys.executable, "-m", "grader", "serve", "--idle-minutes", "5"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = server.stdout.readline()
        assert "sandbox server ready" in line, line
        first = json.loads((folder / "server.json").read_text())["socket"]
        [zygote] = children(server.pid)
        [supervisor] = [p for p in children(zygote) if len(status(p).get("NSpid", "").split()) == 1]
        os.kill(supervisor, signal.SIGKILL)
        assert wait_until(Path(first).parent.exists, timeout=30) is False
        assert not wait_until(lambda: not _zygote_folder(server.pid, zygote), timeout=60)
        new_socket = str(Path(_zygote_folder(server.pid, zygote)) / "zygote.sock")
        request = {"chunks": [["<answer>", "cell", "x = 1"]], "setup": "", "probes": [["x", "x"]],
                   "limits": asdict(Limits()), "capture_stdout": False, "require": []}
        with socket_connection(new_socket, 180) as conn:  # answered once the new zygote has imported and is ready
            send_frame(conn, json.dumps(request).encode())
            assert "monitor_error" not in json.loads(recv_frame(conn, 1 << 20))
        now = wait_until(lambda: json.loads((folder / "server.json").read_text())["socket"] != new_socket, timeout=5)
        record = json.loads((folder / "server.json").read_text())["socket"]
        assert not now and Path(record).exists(), f"the record names {record}, which no longer exists"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
