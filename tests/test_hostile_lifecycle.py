"""A grader killed by a signal leaves nothing behind (issue 10, root cause 3).

The grader is stopped while a sandbox is running a slow answer: by SIGKILL or SIGTERM alone (the
zygote notices and cleans up its pool), or together with its zygote (as an OOM kill of the whole
group could): then the monitors and jails die with their parents, and the next grader to start
removes the folder and cgroups that were left. Each grader runs with its own TMPDIR so the test can
see exactly its pool folder.
"""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from grader import load_bank

from hostile import (ROOT, SECRET, SECRET_NAME, bank_file, cgroup_pools, grader_command,
                     run_grader, sandbox_processes, wait_until)
from synthetic import correct_answers, filled_notebook, write

pytestmark = pytest.mark.usefixtures("sandbox_layers")
SLOW = "import time\ntime.sleep(120)\ndef count_lora_params(d, k, r):\n    return r * (d + k)\n"


def _processes_in(folder: Path) -> list[int]:
    """Host processes whose working folder is inside ``folder`` (the zygote works in its pool folder)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/cwd").startswith(str(folder)):
                    found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.fixture
def slow_run(tmp_path):
    """Start `grade` on a notebook whose answer sleeps; return (process, its TMPDIR) once a sandbox runs it."""
    bank = load_bank(ROOT / "quizzes" / "lora-assignment.yaml").subset(["count-params"])
    bank = bank.model_copy(update={"questions": [q.model_copy(update={"timeout_s": 300}) for q in bank.questions]})
    bank_path = bank_file(bank, tmp_path)
    subs = tmp_path / "subs"
    subs.mkdir()
    write(filled_notebook(bank, {**correct_answers(bank), "count-params": SLOW}), subs / "slow.ipynb")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = dict(os.environ, TMPDIR=str(tmpdir), HF_HUB_OFFLINE="1", **{SECRET_NAME: SECRET})
    # SIGINT back to its default in the child: a test run started in the background by a non-interactive shell
    # inherits SIGINT ignored, and Python then never turns it into KeyboardInterrupt (what Ctrl-C does).
    proc = subprocess.Popen(grader_command("grade", "--bank", str(bank_path), "--out", str(tmp_path / "out"), "--no-progress",
                                           str(subs)), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert not wait_until(lambda: not sandbox_processes() and proc.poll() is None, timeout=180), \
            proc.stderr.read().decode()[-2000:] if proc.poll() is not None else "no sandbox started"
        yield proc, tmpdir
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()


def _pools_of(pid: int) -> list[str]:
    return [p for p in cgroup_pools() if os.path.basename(p).startswith(f"grader-{pid}-")]


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_grader_leaves_no_zygote_sandbox_folder_or_cgroup(slow_run, signum):
    proc, tmpdir = slow_run
    assert list(tmpdir.glob("grader-sandbox-*")) and _processes_in(tmpdir) and _pools_of(proc.pid)
    os.kill(proc.pid, signum)
    proc.wait(30)
    assert wait_until(sandbox_processes, timeout=20) == []
    assert wait_until(lambda: _processes_in(tmpdir), timeout=20) == []  # the zygote is gone
    assert wait_until(lambda: list(tmpdir.glob("grader-sandbox-*")), timeout=20) == []
    assert wait_until(lambda: _pools_of(proc.pid), timeout=20) == []


def test_what_a_grader_killed_with_its_zygote_left_is_removed_at_the_next_start(slow_run):
    proc, tmpdir = slow_run
    zygotes = _processes_in(tmpdir)
    for pid in [proc.pid, *zygotes]:  # all at once, as the OOM killer or `kill -9` of every process might
        os.kill(pid, signal.SIGKILL)
    proc.wait(30)
    assert wait_until(sandbox_processes, timeout=20) == []  # monitors and jails die with their parents
    left = list(tmpdir.glob("grader-sandbox-*"))
    assert left, "expected the killed run's folder to be left for the next start to find"
    doctor = run_grader("doctor", tmpdir=tmpdir)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert not any(path.exists() for path in left)
    assert _pools_of(proc.pid) == []
    assert _processes_in(tmpdir) == []


def test_an_interrupted_grade_cleans_up_too(slow_run):
    proc, tmpdir = slow_run
    os.kill(proc.pid, signal.SIGINT)
    assert proc.wait(30) == 130
    assert wait_until(sandbox_processes, timeout=20) == []
    assert wait_until(lambda: list(tmpdir.glob("grader-sandbox-*")) + [str(p) for p in _processes_in(tmpdir)],
                      timeout=20) == []
