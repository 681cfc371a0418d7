"""Grading on a real Dask cluster: `dask scheduler` and two `dask worker` processes on 127.0.0.1, started
by their command-line entry points (tests/fixtures/dask_processes.py), not an in-process LocalCluster.

The cluster must give exactly the grades.csv, attempts.csv and feedback that grading on this machine
gives for the same files (the synthetic class through the CLI, the hostile class through the API);
lose and duplicate nothing when a worker is killed mid-run; give a file that brings down every
worker it is sent to its own row after the scheduler's bounded tries while the others are graded;
stop on Ctrl-C with what was graded kept, and finish with ``--resume``; refuse workers without the
sandbox's essential layers or with another grader, naming them; say what to install without Dask;
leave no process or sandbox folder behind; and run docs/autograding.md's cluster walkthrough as
written.

No submission can bring a worker down through the sandbox (the hostile suites check that), so the
test of a file that kills every worker it reaches starts its workers with a preload
(tests/fixtures/dask_crash_preload.py) that SIGKILLs the worker process when it is handed a file
holding a marker, as the OOM killer or a crash in a C library would; everything else is real.

The module's scheduler runs with ``allowed-failures`` 1 (a file is given up after killing two
workers) and ``worker-saturation`` 1.0 (a worker holds only the tasks it runs, so a dying worker
takes no innocent queued task's try with it), as docs/autograding.md recommends.
"""
from __future__ import annotations

import ast
import contextlib
import csv
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from dask_processes import LocalDask
from hostile import (
    SECRET,
    SECRET_NAME,
    bank_file,
    output_text,
    run_grader,
    sandbox_processes,
)
from paths import FIXTURES, ROOT
from synthetic import BROKEN, PARTLY_WRONG, correct_answers, filled_notebook, write
from test_hostile_submissions import GOOD, HOSTILE

from grader import load_bank
from grader.grading import grade_submissions
from grader.sandbox import cgroups

pytestmark = pytest.mark.cluster

ASSIGNMENT = ROOT / "quizzes" / "lora-assignment.yaml"
VOLATILE = {"graded_at"}
"""Columns that say when a row was written, not what it says."""
CRASH_MARKER = "this notebook brings down the Dask worker that grades it"
"""A file holding this kills the worker that grades it (tests/fixtures/dask_crash_preload.py)."""
SCHEDULER_ENV = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",
                 "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0"}


def require_dask() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        if os.environ.get("REQUIRE_DASK") == "1":
            pytest.fail("dask.distributed is not installed, and REQUIRE_DASK=1 (CI) needs these tests to run")
        pytest.skip("dask.distributed is not installed (pip install 'peft-course[cluster]')")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, sandbox_layers):
    """Scheduler and two workers (``--nthreads 1``) for the module; the secret token in every environment."""
    require_dask()
    dask = LocalDask(tmp_path_factory.mktemp("dask"), workers=2, scheduler_env=SCHEDULER_ENV,
                     worker_env={SECRET_NAME: SECRET, "GRADER_TEST_CRASH_MARKER": CRASH_MARKER},
                     worker_args=("--preload", str(FIXTURES / "dask_crash_preload.py")))
    with dask:
        yield dask


def small_bank(timeout_s: float = 4):
    """Five questions of the assignment, two of them code; count-params with a short time limit (as the
    hostile suite has it, so an infinite loop costs seconds)."""
    bank = load_bank(ASSIGNMENT).subset(["lora-principle", "qlora-techniques", "total-params", "count-params",
                                         "lora-layer"])
    return bank.model_copy(update={"questions": [q.model_copy(update={"timeout_s": timeout_s}) if q.id == "count-params"
                                                 else q for q in bank.questions]})


def table(path: Path) -> list[dict[str, str]]:
    """A CSV's rows by student and attempt, without the columns that only say when they were written."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [{k: v for k, v in row.items() if k not in VOLATILE} for row in csv.DictReader(handle)]
    return sorted(rows, key=lambda r: (r["student"], r.get("attempt", "")))


def feedback(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text(encoding="utf-8") for p in sorted((out / "feedback").rglob("*.md"))}


def assert_same_grading(local: Path, remote: Path) -> None:
    assert table(remote / "grades.csv") == table(local / "grades.csv")
    assert table(remote / "attempts.csv") == table(local / "attempts.csv")
    assert feedback(remote) == feedback(local)


def gradebook_rows(out: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(f"file:{out / 'gradebook.sqlite'}?mode=ro", uri=True, timeout=10) as db:
        return db.execute("SELECT student, sha256 FROM attempts ORDER BY student").fetchall()


def synthetic_class(folder: Path) -> Path:
    """The benchmark's three kinds of notebook, an answer file, an empty file and a symbolic link."""
    bank = load_bank(ASSIGNMENT)
    good = correct_answers(bank)
    subs = folder / "subs"
    subs.mkdir()
    for name, answers in {"ana": good, "ben": {**good, **PARTLY_WRONG}, "cyd": {**good, **BROKEN}}.items():
        write(filled_notebook(bank, answers), subs / f"{name}.ipynb")
    literal = {qid: ast.literal_eval(body.split("=", 1)[1]) for qid, body in good.items() if body.startswith("answer =")}
    (subs / "dee.json").write_text(json.dumps({"answers": dict(list(literal.items())[:4])}))
    (subs / "eve.json").write_text("")
    (subs / "fay.ipynb").symlink_to(subs / "ana.ipynb")  # refused by the client's reader, as locally
    return subs


def test_synthetic_class_grades_as_on_this_machine(cluster, tmp_path):
    subs = synthetic_class(tmp_path)
    common = ("grade", "--bank", str(ASSIGNMENT), "--no-progress", str(subs))
    local = run_grader(*common, "--out", str(tmp_path / "local"))
    remote = run_grader(*common, "--out", str(tmp_path / "remote"), "--cluster", cluster.address)
    assert local.returncode == 0, local.stderr[-3000:]
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert_same_grading(tmp_path / "local", tmp_path / "remote")
    rows = {r["student"]: r for r in table(tmp_path / "remote" / "grades.csv")}
    assert set(rows) == {"ana", "ben", "cyd", "dee", "eve", "fay"}
    assert rows["ana"]["percent"] == "100.00" and float(rows["ben"]["percent"]) < 100
    assert "symbolic link" in rows["fay"]["reason"] and "empty" in rows["eve"]["reason"]
    meta = json.loads((tmp_path / "remote" / "grades.meta.json").read_text())["runs"][-1]["sandbox"]
    assert meta["cluster"]["scheduler"] == cluster.address
    assert len(meta["cluster"]["workers"]) == 2
    assert all(w["missing_essential"] == [] for w in meta["cluster"]["workers"].values())
    assert SECRET not in output_text(tmp_path / "remote")

    again = run_grader(*common, "--out", str(tmp_path / "remote"), "--cluster", cluster.address, "--resume")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "6 already graded (--resume)" in again.stdout
    assert len(gradebook_rows(tmp_path / "remote")) == 6


def test_hostile_class_scores_what_it_deserves_as_on_this_machine(cluster, tmp_path):
    bank = small_bank(timeout_s=10)  # the fork storm needs more than 4 s on a loaded machine: reasons would differ
    subs = tmp_path / "subs"
    subs.mkdir()
    good = correct_answers(bank)
    cells = {name: cell for name, (cell, _) in HOSTILE.items()}
    cells["read_secrets"] = (f"import os\nLEAK = {SECRET_NAME!r} in os.environ\n"  # the workers' environment has it
                             f"try:\n    LEAK = LEAK or {SECRET_NAME!r} in open('/proc/1/environ').read()\n"
                             "except OSError:\n    pass\n"
                             "def count_lora_params(d, k, r):\n    return -1 if LEAK else r * (d + k)\n")
    for name, cell in cells.items():
        write(filled_notebook(bank, {**good, "count-params": cell}), subs / f"{name}.ipynb")
    local = grade_submissions(bank=bank, submissions=[subs], out_dir=tmp_path / "local", progress=False, jobs=2)
    remote = grade_submissions(bank=bank, submissions=[subs], out_dir=tmp_path / "remote", progress=False,
                               cluster=cluster.address)
    assert local.failures == remote.failures == 0
    assert_same_grading(tmp_path / "local", tmp_path / "remote")
    rows = {r["student"]: r for r in table(tmp_path / "remote" / "grades.csv")}
    points = bank.question("count-params").points
    for name in cells:
        deserved = points if HOSTILE.get(name, ("", True))[1] else 0
        assert float(rows[name]["q:count-params"]) == deserved, (name, rows[name]["reason"])
    assert "time limit" in rows["infinite_loop"]["reason"]
    assert (ROOT / "quizzes" / "lora-assignment.yaml").exists()
    assert SECRET not in output_text(tmp_path / "remote")
    assert not sandbox_processes()


def test_a_file_that_kills_every_worker_gets_its_row_and_the_others_are_graded(cluster, tmp_path):
    """With allowed-failures 1, the scheduler gives the file up after it killed two workers (KilledWorker)."""
    bank = small_bank()
    subs = tmp_path / "subs"
    subs.mkdir()
    good = correct_answers(bank)
    for name in ("gus", "hal", "ivy", "jon"):
        write(filled_notebook(bank, {**good, "count-params": f"# {name}\n{GOOD}"}), subs / f"{name}.ipynb")
    write(filled_notebook(bank, {**good, "count-params": f"# {CRASH_MARKER}\n{GOOD}"}), subs / "crasher.ipynb")
    proc = run_grader("grade", "--bank", str(bank_file(bank, tmp_path)), "--out", str(tmp_path / "out"),
                      "--no-progress", "--cluster", cluster.address, str(subs))
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {r["student"]: r for r in table(tmp_path / "out" / "grades.csv")}
    assert set(rows) == {"gus", "hal", "ivy", "jon", "crasher"}
    assert "the submission crashed 2 grading workers" in rows["crasher"]["reason"]
    assert float(rows["crasher"]["score"]) == 0
    assert all(rows[name]["percent"] == "100.00" for name in ("gus", "hal", "ivy", "jon"))
    assert sorted(s for s, _ in gradebook_rows(tmp_path / "out")) == ["crasher", "gus", "hal", "ivy", "jon"]
    cluster.wait_for_workers(2)  # their nannies restart them


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(cluster, tmp_path):
    bank = small_bank()
    subs = tmp_path / "subs"
    subs.mkdir()
    good = correct_answers(bank)
    students = [f"slow{i}" for i in range(6)]
    for name in students:  # each takes a second or more, so the kill finds one running
        write(filled_notebook(bank, {**good, "count-params": f"import time\ntime.sleep(1.5)  # {name}\n{GOOD}"}),
              subs / f"{name}.ipynb")
    out = tmp_path / "out"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    grading = subprocess.Popen([sys.executable, "-m", "grader", "grade", "--bank", str(bank_file(bank, tmp_path)),
                                "--out", str(out), "--no-progress", "--cluster", cluster.address, str(subs)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with cluster.client() as client:
            victim = next(a for a, pid in client.run(os.getpid).items() if cluster.is_worker(0, pid))
            deadline = time.monotonic() + 300
            while not ((out / "gradebook.sqlite").exists() and gradebook_rows(out)
                       and any(str(k).startswith("grade-") for k in client.processing().get(victim, ()))):
                assert grading.poll() is None and time.monotonic() < deadline, grading.communicate()
                time.sleep(0.05)
        cluster.kill_worker(0)
        _, stderr = grading.communicate(timeout=600)
    finally:
        if grading.poll() is None:
            grading.kill()
            grading.communicate()
    assert grading.returncode == 0, stderr[-3000:]
    rows = table(out / "grades.csv")
    assert [r["student"] for r in rows] == students
    assert all(r["percent"] == "100.00" and r["attempts"] == "1" for r in rows), rows
    assert [s for s, _ in gradebook_rows(out)] == students  # exactly once each
    assert len(table(out / "attempts.csv")) == len(students)
    cluster.add_worker()
    cluster.wait_for_workers(2)


def test_an_interrupted_cluster_run_resumes_where_it_stopped(cluster, tmp_path):
    bank = small_bank()
    subs = tmp_path / "subs"
    subs.mkdir()
    good = correct_answers(bank)
    students = [f"int{i}" for i in range(8)]
    for name in students:
        write(filled_notebook(bank, {**good, "count-params": f"import time\ntime.sleep(1)  # {name}\n{GOOD}"}),
              subs / f"{name}.ipynb")
    bank_path, out = bank_file(bank, tmp_path), tmp_path / "out"
    args = ["grade", "--bank", str(bank_path), "--out", str(out), "--no-progress", "--cluster", cluster.address, str(subs)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    grading = subprocess.Popen([sys.executable, "-m", "grader", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               # a shell that started pytest in the background ignores SIGINT; Ctrl-C must arrive
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    try:
        deadline = time.monotonic() + 300
        while not ((out / "gradebook.sqlite").exists() and len(gradebook_rows(out)) >= 2):
            assert grading.poll() is None and time.monotonic() < deadline, grading.communicate()
            time.sleep(0.05)
        grading.send_signal(signal.SIGINT)  # Ctrl-C
        _, stderr = grading.communicate(timeout=120)
    finally:
        if grading.poll() is None:
            grading.kill()
            grading.communicate()
    assert grading.returncode == 130, stderr[-3000:]
    done = len(gradebook_rows(out))
    assert 2 <= done < len(students)
    with cluster.client() as client:  # the run's plugins are gone from the workers, and with them their pools
        assert all(not [n for n in names if n.startswith("grader-")] for names in
                   client.run(lambda dask_worker: list(dask_worker.plugins)).values())
    again = run_grader(*args, "--resume")
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{done} already graded (--resume)" in again.stdout
    assert [s for s, _ in gradebook_rows(out)] == students
    assert [r["student"] for r in table(out / "grades.csv")] == students


def test_stopping_the_cluster_leaves_nothing_behind(cluster):
    cluster.remember()
    assert len(cluster.alive()) >= 5  # the scheduler, two nannies and their workers
    cluster.stop()
    assert cluster.leftovers() == []
    assert cgroups_of(cluster.seen) == []
    assert not sandbox_processes()


def cgroups_of(pids: dict[int, float]) -> list[str]:
    """Cgroup pools ('grader-<pid>-…') of a process of the cluster still on the machine."""
    from hostile import cgroup_pools

    return [p for p in cgroup_pools() if int(Path(p).name.split("-")[1]) in pids]


@pytest.fixture
def small_class(tmp_path):
    bank = small_bank()
    subs = tmp_path / "subs"
    subs.mkdir()
    write(filled_notebook(bank, correct_answers(bank)), subs / "kim.ipynb")
    return bank_file(bank, tmp_path), subs


def test_a_worker_without_the_sandbox_layers_or_with_another_grader_is_refused(tmp_path, small_class, sandbox_layers):
    require_dask()
    bank, subs = small_class
    with LocalDask(tmp_path / "dask", workers=1, worker_env={cgroups.SKIP_ENV: "cgroup"}) as dask:
        proc = run_grader("grade", "--bank", str(bank), "--out", str(tmp_path / "out"), "--no-progress",
                          "--cluster", dask.address, str(subs))
        assert proc.returncode == 2, proc.stderr[-3000:]
        assert "Dask worker tcp://127.0.0.1:" in proc.stderr and "cgroup_memory" in proc.stderr
        assert "--unsafe-sandbox" in proc.stderr and "Traceback" not in proc.stderr
        assert not (tmp_path / "out" / "grades.csv").exists()

        dask.kill_worker(0)
        other = tmp_path / "other-build"
        shutil.copytree(ROOT / "grader", other / "grader", ignore=shutil.ignore_patterns("__pycache__"))
        with (other / "grader" / "reports.py").open("a") as handle:
            handle.write("\n# a different build of the grader\n")
        dask.worker_env = {"PYTHONPATH": str(other)}
        dask.add_worker()
        dask.wait_for_workers(1)
        proc = run_grader("grade", "--bank", str(bank), "--out", str(tmp_path / "out"), "--no-progress",
                          "--cluster", dask.address, str(subs))
        assert proc.returncode == 2, proc.stderr[-3000:]
        assert "runs grader 0.1.0, source" in proc.stderr and "install the same Python and grader" in proc.stderr
        assert "Traceback" not in proc.stderr
        dask.stop()
        assert dask.leftovers() == []


def test_without_dask_local_grading_works_and_cluster_says_what_to_install(tmp_path, small_class):
    """``distributed`` made unimportable: local grading never needs it; --cluster names the extra."""
    bank, _ = small_class
    answers = tmp_path / "answers"
    answers.mkdir()
    (answers / "lee.json").write_text(json.dumps({"answers": {"lora-principle": "B"}}))
    code = ("import sys; sys.modules['distributed'] = None; sys.modules['dask'] = None\n"
            "from grader.cli import main\nraise SystemExit(main(sys.argv[1:]))")
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")

    def grade(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", code, "grade", "--bank", str(bank), "--no-progress", *args],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)

    proc = grade("--out", str(tmp_path / "local"), str(answers))
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = grade("--out", str(tmp_path / "remote"), "--dask-scheduler", "tcp://127.0.0.1:8786", str(answers))
    assert proc.returncode == 2
    assert "pip install 'peft-course[cluster]'" in proc.stderr and "Traceback" not in proc.stderr


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path, small_class):
    require_dask()
    import socket

    bank, subs = small_class
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    proc = run_grader("grade", "--bank", str(bank), "--out", str(tmp_path / "out"), "--no-progress",
                      "--cluster", f"tcp://127.0.0.1:{port}", str(subs),
                      env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"})
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr


def cluster_walkthrough() -> str:
    doc = (ROOT / "docs" / "autograding.md").read_text(encoding="utf-8")
    block = doc.split("<!-- cluster-walkthrough:start -->", 1)[1].split("<!-- cluster-walkthrough:end -->", 1)[0]
    return block.split("```bash\n", 1)[1].split("```", 1)[0]


def grader_tracebacks(stderr: str) -> list[str]:
    """Tracebacks in ``stderr`` other than Dask's own log records about its connections.

    Dask logs a record with a traceback when a worker's heartbeat races the shutdown of step 4 (seen in
    CI: "distributed.worker - ERROR - Failed to communicate with scheduler during heartbeat.", then a
    comm error in distributed/comm/tcp.py). That is Dask talking about itself; a traceback anywhere else,
    or one that passes through the grader's code, is ours and fails the walkthrough."""
    lines = stderr.splitlines()
    found = []
    for index, line in enumerate(lines):
        if not line.startswith("Traceback (most recent call last):"):
            continue
        end = next((i for i in range(index + 1, len(lines)) if re.match(r"\d{4}-\d\d-\d\d ", lines[i])), len(lines))
        chunk = "\n".join(lines[index:end])
        logged_by_dask = index > 0 and " - distributed." in lines[index - 1]
        if not logged_by_dask or "/grader/" in chunk:
            found.append("\n".join(lines[max(0, index - 1):end]))
    return found


def test_dask_s_own_logged_tracebacks_are_told_apart_from_ours():
    dask_noise = ("2026-12-07 03:45:12,345 - distributed.worker - ERROR - Failed to communicate with scheduler during "
                  "heartbeat.\nTraceback (most recent call last):\n  File \"/x/site-packages/distributed/comm/tcp.py\", "
                  "line 226, in read\ntornado.iostream.StreamClosedError: Stream is closed\n"
                  "2026-12-07 03:45:13,000 - distributed.nanny - INFO - Closing Nanny\n")
    assert grader_tracebacks(dask_noise) == []
    ours = "Traceback (most recent call last):\n  File \"/repo/grader/cli.py\", line 1, in main\nValueError: x\n"
    assert len(grader_tracebacks(dask_noise + ours)) == 1
    through_us = dask_noise.replace("/x/site-packages/distributed/comm/tcp.py", "/repo/grader/cluster/plugin.py")
    assert len(grader_tracebacks(through_us)) == 1


def test_the_cluster_walkthrough_runs_as_documented(tmp_path, sandbox_layers):
    """docs/autograding.md's "Grading on a cluster" commands, run as written (port 8786 included)."""
    require_dask()
    import socket

    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 8786)) == 0:
            pytest.fail("port 8786 is taken: the documented walkthrough needs it free")
    (tmp_path / "quizzes").symlink_to(ROOT / "quizzes")
    bank = load_bank(ASSIGNMENT)
    good = correct_answers(bank)
    (tmp_path / "submissions").mkdir()
    for name, answers in {"ana": good, "ben": {**good, **PARTLY_WRONG}, "cyd": {**good, **BROKEN}}.items():
        write(filled_notebook(bank, answers), tmp_path / "submissions" / f"{name}.ipynb")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    shell = subprocess.Popen(["bash", "-e", "-c", cluster_walkthrough()], cwd=tmp_path, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = shell.communicate(timeout=600)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGKILL)
    assert shell.returncode == 0, stdout[-3000:] + stderr[-3000:]
    assert "all essential layers present" in stdout and "graded 3 submission(s) of 3 student(s)" in stdout
    assert grader_tracebacks(stderr) == []
    rows = {r["student"]: r for r in table(tmp_path / "graded" / "grades.csv")}
    assert rows["ana"]["percent"] == "100.00" and float(rows["ben"]["percent"]) < 100
    assert float(rows["cyd"]["percent"]) < float(rows["ben"]["percent"])
    meta = json.loads((tmp_path / "graded" / "grades.meta.json").read_text())["runs"][-1]["sandbox"]
    assert meta["cluster"]["scheduler"] == "tcp://127.0.0.1:8786" and len(meta["cluster"]["workers"]) == 2
    with socket.socket() as probe:  # the scheduler is gone
        assert probe.connect_ex(("127.0.0.1", 8786)) != 0
    assert not [p for p in psutil.process_iter(["cmdline"]) if "tcp://127.0.0.1:8786" in " ".join(p.info["cmdline"] or [])]
