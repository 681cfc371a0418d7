"""The Dask part of ``benchmarks/grading.py --dask``: the same synthetic class graded on 1 and 2 Dask workers.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/grading.py --dask --submissions 60

For each worker count a real cluster is started on this machine exactly as the cluster tests start
one (``dask scheduler`` and ``dask worker --nthreads 1`` as subprocesses on 127.0.0.1,
tests/fixtures/dask_processes.py), then ``python -m grader grade --cluster`` grades the class; the
same class is also graded locally with ``--jobs 2`` for comparison. While a run goes, the gradebook
is polled every 0.05 s, so each row has: the wall clock of the whole command (start-up included), the
time to the first graded submission (connect, every worker's warm sandbox, the references), the
steady rate between the first and the last graded submission (the number that decides how many
workers a large class needs), and the CPU the ``grade`` process itself spent per submission in that
window (for a Dask run, all the client does: what bounds one client's rate). Scores must agree with
the local run.
"""
from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "fixtures")]

from dask_processes import LocalDask

SCHEDULER_ENV = {"DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0"}


@dataclass
class Row:
    setting: str
    submissions: int
    wall_s: float
    first_s: float
    steady_per_min: float
    own_cpu_ms: float
    """CPU milliseconds per submission of the ``grade`` process itself (not what it starts) between the
    first and the last graded submission. For a Dask run that is the client's whole share: it bounds
    the rate one client can record, however many workers grade."""
    load: tuple[float, float]
    """Load average (1 min) at the start and the end of the run."""
    scores: dict[str, float]

    def line(self) -> str:
        return (f"{self.setting:<26} {self.wall_s:7.1f} s wall  {60 * self.submissions / self.wall_s:6.1f}/min overall  "
                f"first graded after {self.first_s:5.1f} s  steady {self.steady_per_min:6.1f}/min  "
                f"grade process {self.own_cpu_ms:4.0f} ms CPU/submission  load {self.load[0]:.1f} -> {self.load[1]:.1f}")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _watch(gradebook: Path, pid: int, stop: threading.Event, seen: list[tuple[float, float]], started: float) -> None:
    """Note when each row appears in the gradebook: (seconds since ``started``, CPU seconds of ``pid``)."""
    count = 0
    while not stop.is_set():
        try:
            with sqlite3.connect(f"file:{gradebook}?mode=ro", uri=True, timeout=1) as db:
                now = db.execute("SELECT count(*) FROM attempts").fetchone()[0]
        except sqlite3.Error:
            now = count
        if now > count:
            seen.extend([(time.perf_counter() - started, _cpu_s(pid))] * (now - count))
            count = now
        stop.wait(0.05)


def _graded(setting: str, command: list[str], out: Path, n: int, env: dict[str, str]) -> Row:
    seen: list[tuple[float, float]] = []
    stop = threading.Event()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watcher = threading.Thread(target=_watch, args=(out / "gradebook.sqlite", proc.pid, stop, seen, started),
                               daemon=True)
    watcher.start()
    _, stderr = proc.communicate()
    wall = time.perf_counter() - started
    stop.set()
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"{setting}: grading failed ({proc.returncode}):\n{stderr[-3000:]}")
    if len(seen) < 2 or seen[-1][0] <= seen[0][0]:
        raise SystemExit(f"{setting}: too few submissions graded apart to measure a rate ({len(seen)})")
    (t0, c0), (t1, c1) = seen[0], seen[-1]
    scores = {r["student"]: float(r["score"]) for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}
    return Row(setting, n, wall, t0, 60 * (len(seen) - 1) / (t1 - t0), 1000 * (c1 - c0) / (len(seen) - 1),
               (load, os.getloadavg()[0]), scores)


def dask_rows(*, bank: str, subs: Path, submissions: int, env: dict[str, str],
              workers: tuple[int, ...] = (1, 2)) -> list[Row]:
    """Grade ``subs`` locally (``--jobs 2``) and on ``workers`` local Dask workers; one :class:`Row` each."""
    work = Path(tempfile.mkdtemp(prefix="grading-bench-dask-"))
    try:
        grade = [sys.executable, "-m", "grader", "grade", "--bank", bank, "--no-progress"]
        rows = [_graded("local, --jobs 2", [*grade, "--jobs", "2", "--no-server", "--out", str(work / "local"),
                                            str(subs)], work / "local", submissions, env)]
        for count in workers:
            shared = {k: env[k] for k in ("GRADER_CACHE_DIR", "HF_HUB_OFFLINE") if k in env}  # as for the local run
            with LocalDask(work / f"dask-{count}", workers=count, threads=1, scheduler_env=SCHEDULER_ENV,
                           worker_env=shared) as cluster:
                out = work / f"out-{count}"
                rows.append(_graded(f"Dask, {count} worker{'s' if count > 1 else ''} x 1 thread",
                                    [*grade, "--cluster", cluster.address, "--out", str(out), str(subs)], out,
                                    submissions, env))
        return rows
    finally:  # the workers' folders and every run's output: nothing of the benchmark stays in /tmp
        shutil.rmtree(work, ignore_errors=True)


def report(rows: list[Row]) -> None:
    """Print the rows, whether the scores agree, and the per-submission cost and scaling they imply."""
    local, *remote = rows
    for row in rows:
        print(row.line())
    agree = all(row.scores == local.scores for row in remote)
    print("scores agree with the local run for every submission" if agree else "SCORES DIFFER from the local run")
    by_workers = {int(row.setting.split()[1]): row for row in remote}
    if 1 in by_workers:
        cost = 60 / by_workers[1].steady_per_min
        print(f"one worker thread: {cost:.2f} s per submission in steady state")
        if 2 in by_workers:
            scaling = by_workers[2].steady_per_min / by_workers[1].steady_per_min
            print(f"1 -> 2 workers: {scaling:.2f}x the steady rate (efficiency {scaling / 2:.0%}, on {os.cpu_count()} cores)")
        client = max(row.own_cpu_ms for row in remote)
        print(f"the client: {client:.0f} ms of CPU per submission (one client core records at most "
              f"{60_000 / client:,.0f} submissions/min)")


def main(*, bank: str, subs: Path, submissions: int, env: dict[str, str]) -> None:
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {submissions} submissions")
    report(dask_rows(bank=bank, subs=subs, submissions=submissions, env=env))
