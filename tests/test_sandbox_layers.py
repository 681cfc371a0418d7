"""Which walls the sandbox has, and what `grade` does without them: `grader doctor`, --unsafe-sandbox,
grades.meta.json, the fallback without cgroups, and the cgroup backends themselves."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader import load_bank
from grader.sandbox import cgroups
from grader.sandbox.layers import ESSENTIAL, LAYERS

from hostile import (ROOT, bank_file, processes_mentioning, run_grader, sandbox_processes,
                     wait_until)
from synthetic import correct_answers, filled_notebook, write

MARKER = "6161.5"
DAEMON = ("import os\nif os.fork() == 0:\n    os.setsid()\n    os.execv('/bin/sleep', ['sleep', '" + MARKER + "'])\n"
          "def count_lora_params(d, k, r):\n    return r * (d + k)\n")


@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    bank = load_bank(ROOT / "quizzes" / "lora-assignment.yaml").subset(["lora-principle", "count-params"])
    base = tmp_path_factory.mktemp("layers")
    bank_path = bank_file(bank, base)
    subs = base / "subs"
    subs.mkdir()
    write(filled_notebook(bank, correct_answers(bank)), subs / "ana.ipynb")
    write(filled_notebook(bank, {**correct_answers(bank), "count-params": DAEMON}), subs / "ben.ipynb")
    return bank, bank_path, subs, base


def test_doctor_reports_every_layer_present_here(sandbox_layers):
    proc = run_grader("doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for layer in LAYERS:
        line = next(line for line in proc.stdout.splitlines() if line.startswith(layer.title))
        assert " ok " in line, line
    assert "all essential layers present" in proc.stdout


def test_doctor_says_what_a_missing_layer_means():
    shm_before = set(os.listdir("/dev/shm"))
    proc = run_grader("doctor", env={cgroups.SKIP_ENV: "cgroup,rootfs"})
    assert set(os.listdir("/dev/shm")) <= shm_before  # its canary reached the host's /dev/shm, and was removed
    assert proc.returncode == 1
    out = proc.stdout
    assert "MISSING" in out and "fork() multiplies it" in out and "repository and its .git" in out
    assert "cgroup_memory" in out and "filesystem_allowlist" in out and "--unsafe-sandbox" in out


@pytest.mark.parametrize("without, missing", [("cgroup", "cgroup_memory"), ("rootfs", "filesystem_allowlist")])
def test_grade_refuses_code_questions_without_an_essential_layer(small_class, sandbox_layers, without, missing):
    _, bank_path, subs, base = small_class
    out = base / f"refused-{without}"
    proc = run_grader("grade", "--bank", str(bank_path), "--out", str(out), "--no-progress", str(subs),
                      env={cgroups.SKIP_ENV: without})
    assert proc.returncode == 2, proc.stderr
    assert missing in proc.stderr and "--unsafe-sandbox" in proc.stderr and "doctor" in proc.stderr
    assert not (out / "grades.csv").exists()  # nothing was graded, nothing half-written
    assert wait_until(sandbox_processes, timeout=10) == []


def test_unsafe_sandbox_grades_and_says_so_in_the_run_metadata(small_class, sandbox_layers):
    bank, bank_path, subs, base = small_class
    out = base / "unsafe"
    proc = run_grader("grade", "--bank", str(bank_path), "--out", str(out), "--no-progress", "--unsafe-sandbox",
                      str(subs), env={cgroups.SKIP_ENV: "cgroup"})
    assert proc.returncode == 0, proc.stderr
    rows = {r["student"]: r for r in csv.DictReader((out / "grades.csv").open())}
    assert float(rows["ana"]["score"]) == bank.max_score and float(rows["ben"]["score"]) == bank.max_score
    run = json.loads((out / "grades.meta.json").read_text())["runs"][-1]
    assert run["sandbox"]["unsafe_sandbox"] is True
    assert {"cgroup_memory", "cgroup_pids", "cgroup_kill"} <= set(run["sandbox"]["missing_essential"])
    # even without cgroups the PID namespace takes a setsid() child with it
    assert wait_until(lambda: processes_mentioning(MARKER), timeout=10) == []


def test_a_normal_run_records_every_layer(small_class, sandbox_layers):
    _, bank_path, subs, base = small_class
    out = base / "normal"
    proc = run_grader("grade", "--bank", str(bank_path), "--out", str(out), "--no-progress", str(subs))
    assert proc.returncode == 0, proc.stderr
    sandbox = json.loads((out / "grades.meta.json").read_text())["runs"][-1]["sandbox"]
    assert sandbox["unsafe_sandbox"] is False and sandbox["missing_essential"] == []
    assert all(sandbox["layers"][name] for name in ESSENTIAL)
    assert json.loads((out / "grades.meta.json").read_text())["runs"][-1]["bank_sha256"]


def test_choice_only_runs_record_that_no_code_ran(tmp_path):
    answers = tmp_path / "a.json"
    answers.write_text('{"answers": {"q1": "B"}}')
    proc = run_grader("grade", "--bank", str(ROOT / "quizzes" / "day48-lora-qlora.yaml"), "--out", str(tmp_path / "o"),
                      "--no-progress", str(answers))
    assert proc.returncode == 0
    assert json.loads((tmp_path / "o" / "grades.meta.json").read_text())["runs"][-1]["sandbox"] is None


def test_the_v2_backend_writes_whole_sandbox_limits(tmp_path):
    """cgroup v2 on a stand-in folder: the files a sandbox's limits go to, and how its usage is read back."""
    pool_dir = tmp_path / "grader-1-2-abc"
    pool_dir.mkdir()
    pool = cgroups.Pool("v2", {"unified": str(pool_dir)}, ("memory", "pids"))
    (pool_dir / "s1").mkdir()
    box = cgroups.Sandbox("v2", {"unified": str(pool_dir / "s1")})
    limits = pool_dir / "s1"
    (limits / "memory.events").write_text("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n")
    (limits / "pids.events").write_text("max 7\n")
    (limits / "memory.peak").write_text("12345")
    # the pool writes the limits into a new child folder
    made = pool.sandbox("s2", memory_bytes=300 * 2 ** 20, pids=64)
    assert (pool_dir / "s2" / "memory.max").read_text() == str(300 * 2 ** 20)
    assert (pool_dir / "s2" / "pids.max").read_text() == "64"
    assert made.dirs == {"unified": str(pool_dir / "s2")}
    assert box.usage() == {"memory_peak": 12345, "oom_kills": 1, "memory_failcnt": 4, "fork_refused": 7}


def _writable_v2() -> str | None:
    mount = next((m for m, _, kind, _ in cgroups._mounts() if kind == "cgroup2"), None)
    return mount if mount and os.access(mount, os.W_OK) else None


@pytest.mark.skipif(_writable_v2() is None, reason="no writable cgroup v2 hierarchy here")
def test_a_v2_kill_reaches_setsid_children():
    pool = cgroups._v2_kill_only(f"grader-{os.getpid()}-{cgroups.process_start_time(os.getpid())}-test")
    if pool is None:
        pytest.skip("cgroup.kill/cgroup.freeze unavailable")
    try:
        box = pool.sandbox("s1", memory_bytes=2 ** 30, pids=64)
        child = subprocess.Popen([sys.executable, "-c", "import os, time\nif os.fork() == 0:\n    os.setsid()\n"
                                  f"    os.execv('/bin/sleep', ['sleep', '{MARKER}1'])\ntime.sleep(60)"],
                                 preexec_fn=lambda: Path(box.dirs["unified"], "cgroup.procs").write_text(str(os.getpid())))
        assert not wait_until(lambda: not processes_mentioning(MARKER + "1"), timeout=10)
        assert box.kill()
        child.wait(10)
        assert wait_until(lambda: processes_mentioning(MARKER + "1"), timeout=10) == []
        box.remove()
    finally:
        pool.remove()
    assert not Path(pool.dirs["unified"]).exists()


def test_a_virtual_environment_under_tmp_stays_visible_in_the_sandbox(tmp_path, sandbox_layers):
    """CI and instructors often check the course out in a temp folder, virtual environment included: the
    sandbox's own /tmp must not hide the packages it is allowed to import."""
    from grader.sandbox import SandboxPool

    venv = tmp_path / "venv"  # tmp_path is under /tmp
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site_packages = next(venv.glob("lib/python*/site-packages"))
    (site_packages / "probe_mod.py").write_text("VALUE = 4242\n")
    # the new environment imports grader itself from this checkout (the zygote runs with the repo on its
    # PYTHONPATH); what it must import inside the sandbox is its own site-packages, under /tmp
    assert str(venv).startswith("/tmp/")
    with SandboxPool(preload=(), python=str(venv / "bin" / "python")) as pool:
        run = pool.run(code="import probe_mod\nvalue = probe_mod.VALUE\n", probes=[("value", "value")])
    assert run.values.get("value") == 4242, run
