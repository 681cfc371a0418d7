"""The warm sandbox server (``python -m grader serve``): runs use it and score the same, and it never
becomes a way in or a thing left behind.

Behaviour through the command line: a real server process, real ``grade`` runs. What is attacked: a
forged, foreign, stale or linked record (it must be ignored, never trusted), a server of another
grader (ignored, with the reason), a server killed mid-run (no student loses a row), and leftovers
(the server, its zygote, its pool folder and record are gone after ``--stop`` or once idle).
"""
from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from paths import ROOT
from proc_tree import descendants
from synthetic import BROKEN, PARTLY_WRONG, correct_answers, filled_notebook, write

from grader import load_bank
from grader.cluster.versions import fingerprint
from grader.sandbox.cgroups import process_start_time
from grader.sandbox.server import ServerRecord, attach

BANK = ROOT / "quizzes" / "lora-assignment.yaml"


@pytest.fixture
def server_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "servers"
    monkeypatch.setenv("GRADER_SERVER_DIR", str(folder))
    return folder


def _env(server_dir: Path, cache: Path) -> dict[str, str]:
    return dict(os.environ, GRADER_SERVER_DIR=str(server_dir), GRADER_CACHE_DIR=str(cache), HF_HUB_OFFLINE="1")


def _start_server(env: dict[str, str], *args: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "grader", "serve", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    assert "sandbox server ready" in line, line + proc.stdout.read()
    return proc


def _grade(env: dict[str, str], subs: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", "--bank", str(BANK), "--out", str(out),
                           "--no-progress", "--jobs", "2", *extra, str(subs)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _scores(out: Path) -> dict[str, tuple[str, ...]]:
    return {row["student"]: tuple(row.values()) for row in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}


def _feedback(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted((out / "feedback").rglob("*")) if p.is_file()}


def _alive(pid: int) -> bool:
    return process_start_time(pid) is not None and "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]


@pytest.fixture(scope="module")
def small_class(tmp_path_factory, sandbox_layers) -> Path:
    bank = load_bank(BANK)
    subs = tmp_path_factory.mktemp("server-class")
    good = correct_answers(bank)
    for index in range(6):
        bodies = (good, {**good, **PARTLY_WRONG}, {**good, **BROKEN})[index % 3]
        write(filled_notebook(bank, bodies), subs / f"s{index}.ipynb")
    return subs


def test_grade_uses_a_running_server_scores_the_same_and_stop_leaves_nothing(small_class, server_dir, tmp_path):
    env = _env(server_dir, tmp_path / "cache")
    own = _grade(env, small_class, tmp_path / "own")
    assert "warm sandbox server" not in own.stderr
    server = _start_server(env, "--idle-minutes", "10")
    try:
        record = ServerRecord.read(server_dir / "server.json")
        assert record is not None and record.pid == server.pid and record.fingerprint == fingerprint()
        zygote = descendants(server.pid)
        pool_folder = Path(record.socket).parent
        assert zygote and pool_folder.is_dir() and oct(pool_folder.stat().st_mode & 0o777) == "0o700"
        warm = _grade(env, small_class, tmp_path / "warm")
        assert f"sandboxes ran in the warm sandbox server (pid {server.pid}" in warm.stderr
        meta = json.loads((tmp_path / "warm" / "grades.meta.json").read_text())
        runs = meta if isinstance(meta, list) else meta.get("runs", [meta])
        assert f"pid {server.pid}" in json.dumps(runs[-1])
        assert _scores(tmp_path / "warm") == _scores(tmp_path / "own")
        assert _feedback(tmp_path / "warm") == _feedback(tmp_path / "own")
        assert server.poll() is None and all(_alive(pid) for pid in zygote), "the run must leave the server running"
        assert set(descendants(server.pid)) == set(zygote), "no sandbox of the run may be left in the server"
        refused = subprocess.run([sys.executable, "-m", "grader", "serve"], cwd=ROOT, env=env, capture_output=True,
                                 text=True, timeout=60, check=False)
        assert refused.returncode == 2 and "already running" in refused.stderr
        status = subprocess.run([sys.executable, "-m", "grader", "serve", "--status"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60, check=False)
        assert status.returncode == 0 and f"pid {server.pid}" in status.stdout and "the same as this one" in status.stdout
        stopped = subprocess.run([sys.executable, "-m", "grader", "serve", "--stop"], cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=60, check=False)
        assert stopped.returncode == 0 and f"pid {server.pid}" in stopped.stdout
        server.wait(30)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in zygote) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in zygote), "the zygote must die with its server"
        assert not pool_folder.exists() and not (server_dir / "server.json").exists()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_a_server_that_stops_by_itself_when_idle_leaves_nothing(server_dir, tmp_path, sandbox_layers):
    server = _start_server(_env(server_dir, tmp_path / "cache"), "--idle-minutes", "0.02")
    record = ServerRecord.read(server_dir / "server.json")
    zygote = descendants(server.pid)
    try:
        assert server.wait(60) == 0
        assert "sandbox server stopped" in server.stdout.read()
        time.sleep(0.5)
        assert not any(_alive(pid) for pid in zygote)
        assert not Path(record.socket).parent.exists() and not (server_dir / "server.json").exists()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_a_server_killed_mid_run_costs_no_student_a_row(small_class, server_dir, tmp_path):
    env = _env(server_dir, tmp_path / "cache")
    own = tmp_path / "own"
    _grade(env, small_class, own, "--no-server")
    server = _start_server(env, "--idle-minutes", "10")
    out = tmp_path / "warm"
    run = subprocess.Popen([sys.executable, "-m", "grader", "grade", "--bank", str(BANK), "--out", str(out),
                            "--no-progress", "--jobs", "2", str(small_class)], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and run.poll() is None:
            try:
                with sqlite3.connect(f"file:{out / 'gradebook.sqlite'}?mode=ro", uri=True, timeout=1) as db:
                    if db.execute("SELECT count(*) FROM attempts").fetchone()[0]:
                        break
            except sqlite3.Error:
                pass
            time.sleep(0.01)
        os.kill(server.pid, signal.SIGKILL)  # the zygote sees EOF and kills every sandbox it had
        _, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, stderr[-3000:]
        assert _scores(out) == _scores(own)
        assert "stopped answering" in stderr
    finally:
        for proc in (server, run):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _forge(server_dir: Path, **changes) -> Path:
    """A record that would be trusted but for ``changes``: this test process, alive, posing as a server."""
    server_dir.mkdir(mode=0o700, exist_ok=True)
    pool = server_dir / "pool"
    pool.mkdir(mode=0o700, exist_ok=True)
    record = {"pid": os.getpid(), "start": process_start_time(os.getpid()), "started_at": "now",
              "socket": str(pool / "zygote.sock"), "fingerprint": fingerprint(), "python": os.path.realpath(sys.executable),
              "preload": ["import torch"], "cgroup": ""}
    record.update(changes)
    path = server_dir / "server.json"
    path.write_text(json.dumps(record))
    return path


def test_a_genuine_record_is_used(server_dir):
    _forge(server_dir)
    lease, why = attach(preload=("import torch",), python=sys.executable)
    assert lease is not None and why == "" and lease.record.pid == os.getpid()
    lease.release()


@pytest.mark.parametrize("changes, reason", [
    ({"pid": 1, "start": 12345}, ""),                      # a live pid, but not the process that wrote it
    ({"start": -1}, ""),                                   # a reused pid
    ({"fingerprint": {"python": "3.11", "grader": "0", "code": "0123456789abcdef"}}, "runs another grader"),
    ({"preload": []}, "another Python or preload"),
    ({"python": "/usr/bin/python3-elsewhere"}, "another Python or preload"),
    ({"socket": "/tmp/zygote.sock"}, "not in a private folder"),  # a socket anyone could have put there
    ({"socket": "relative/zygote.sock"}, "not in a private folder"),
    ({"pid": "1"}, ""),                                    # wrong types are not a record
])
def test_a_stale_forged_or_foreign_record_is_never_used(server_dir, changes, reason):
    _forge(server_dir, **changes)
    lease, why = attach(preload=("import torch",), python=sys.executable)
    assert lease is None and reason in why


def test_a_record_in_a_folder_others_can_write_or_behind_a_link_is_ignored(server_dir, tmp_path):
    _forge(server_dir)
    os.chmod(server_dir, 0o777)
    assert attach(preload=("import torch",), python=sys.executable) == (None, "")
    os.chmod(server_dir, 0o700)
    record = server_dir / "server.json"
    elsewhere = tmp_path / "elsewhere.json"
    record.rename(elsewhere)
    record.symlink_to(elsewhere)
    assert attach(preload=("import torch",), python=sys.executable) == (None, "")
    record.unlink()
    record.write_text("{" * 100_000)  # not JSON a run should choke on
    assert attach(preload=("import torch",), python=sys.executable) == (None, "")
