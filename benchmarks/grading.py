"""Benchmark: grading speed by class size, and against nbgrader autograde on the same notebooks.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/grading.py                  # sweep 18, 120, 1000; nbgrader at 18 and 120
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/grading.py --sizes 18,120 --nbgrader-sizes 18
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/grading.py --dask --submissions 60   # 1 and 2 Dask workers
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/grading.py --sizes 120 --nbgrader-sizes '' --server

For each class size it builds that many synthetic notebooks of quizzes/lora-assignment.yaml (a third
correct, a third partly wrong, a third broken: tests/fixtures/submissions/synthetic.py) and grades
them with ``python -m grader grade``, timing the whole command (start-up included) and watching the
gradebook, so each row says: wall time, submissions per minute, time to the first graded submission,
CPU seconds of the whole process tree (sandboxes included; where a cpuacct cgroup can be made), peak
memory of the largest process, and the load average before and after. The first size is graded twice,
with an empty reference cache (``cold``) and again (``warm``: the references come from the cache, as
on any later run of the same bank); the other sizes are warm. With ``--server`` a warm sandbox server
(``python -m grader serve``) is started before the sweep and every size is graded once more through it
(``server``: no zygote start, no torch import in the run). For the sizes in ``--nbgrader-sizes``
the same notebooks are also graded with ``nbgrader autograde`` of the exported assignment and the
ratio of the two rates is printed, with whether every student's total agrees. It prints the command
and the machine first; results go in docs/benchmarks.md. ``--dask`` runs the Dask comparison instead
(benchmarks/grading_dask.py).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shlex
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
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "fixtures" / "submissions")]

from synthetic import BROKEN, PARTLY_WRONG, correct_answers, filled_notebook, write

from grader import load_bank
from grader.bank import Bank
from grader.nbgrader_export import export

MARK = "# answer: "
_CHILD = ("import json, os, resource, subprocess, sys\n"
          "group = sys.argv[1]\n"
          "if group:\n    open(os.path.join(group, 'cgroup.procs'), 'w').write(str(os.getpid()))\n"
          "rc = subprocess.run(sys.argv[2:]).returncode\n"
          "print(json.dumps([rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))")
"""Runs the timed command (inside the CPU-accounting group when there is one) and reports its exit
status and the peak RSS of its largest process."""


@dataclass
class Run:
    """One timed grading of one class."""

    tool: str
    size: int
    wall_s: float
    first_s: float | None
    """Seconds from the start of the command to the first graded submission (None if not seen)."""
    cpu_s: float | None
    """CPU seconds of every process the command started, sandboxes included (None where not measurable)."""
    peak_mib: int
    load: tuple[float, float]
    scores: dict[str, float]

    @property
    def per_min(self) -> float:
        return 60 * self.size / self.wall_s

    def line(self) -> str:
        first = f"{self.first_s:5.1f} s" if self.first_s is not None else "   n/a"
        cpu = f"{self.cpu_s:6.1f} s ({self.cpu_s / self.size:.2f} s/submission)" if self.cpu_s is not None else "n/a"
        return (f"{self.tool:<16} {self.size:5d}  {self.wall_s:7.1f} s  {self.per_min:7.1f}/min  first graded {first}"
                f"  CPU {cpu}  peak RSS {self.peak_mib} MiB  load {self.load[0]:.1f} -> {self.load[1]:.1f}")


def machine() -> str:
    """The machine in one line: CPU model, cores, memory, kernel, Python, torch."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or platform.machine())
    memory = next((int(line.split()[1]) // (1024 * 1024) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    try:
        from importlib.metadata import version

        torch = version("torch")
    except Exception:  # noqa: BLE001 - only for the report line
        torch = "not installed"
    return (f"{model}, {os.cpu_count()} cores, {memory} GiB, Linux {platform.release()}, "
            f"Python {platform.python_version()}, torch {torch}")


def make_class(bank: Bank, size: int, folder: Path) -> list[str]:
    """``size`` synthetic notebooks in ``folder`` (a third right, a third partly wrong, a third broken); their stems."""
    good = correct_answers(bank)
    kinds = [good, {**good, **PARTLY_WRONG}, {**good, **BROKEN}]
    folder.mkdir(parents=True)
    students = [f"s{i:04d}" for i in range(size)]
    for i, student in enumerate(students):
        write(filled_notebook(bank, kinds[i % 3]), folder / f"{student}.ipynb")
    return students


def _cpu_group(name: str) -> Path | None:
    """A fresh cgroup-v1 ``cpuacct`` group to account a command's CPU in (None where none can be made).

    Only cpuacct: the grader makes its sandboxes' groups beside its own in the memory, pids, freezer and
    cpu hierarchies (and in the unified one), so moving it anywhere there would change what it measures.
    """
    base = Path("/sys/fs/cgroup/cpuacct")
    try:
        if (base / "cpuacct.usage").exists():
            group = base / f"grading-bench-{os.getpid()}-{name}"
            group.mkdir()
            return group
    except OSError:
        pass
    return None


def _remove_group(group: Path | None) -> None:
    for _ in range(100):  # the last processes of the run may take a moment to leave it
        try:
            if group is not None:
                group.rmdir()
            return
        except OSError:
            time.sleep(0.05)


def _first_row(gradebook: Path, stop: threading.Event, started: float, seen: list[float]) -> None:
    """Note when the gradebook first holds an attempt (polled every 20 ms)."""
    while not stop.is_set() and not seen:
        try:
            with sqlite3.connect(f"file:{gradebook}?mode=ro", uri=True, timeout=1) as db:
                if db.execute("SELECT count(*) FROM attempts").fetchone()[0]:
                    seen.append(time.perf_counter() - started)
        except sqlite3.Error:
            pass
        stop.wait(0.02)


def _nothing(stop: threading.Event, started: float, seen: list[float]) -> None:
    """nbgrader writes a student's files before it runs them: its first graded submission is not timed."""


def _usage(group: Path | None) -> float:
    return int((group / "cpuacct.usage").read_text()) / 1e9 if group is not None else 0.0


def timed(tool: str, size: int, cmd: list[str], cwd: Path, env: dict[str, str], watch,
          also: Path | None = None) -> Run:
    """Run ``cmd``; wall clock, time to the first graded submission (``watch`` notes it), CPU, peak RSS.

    ``also``: the CPU group of a warm sandbox server the command uses; its CPU during the run is added."""
    group = _cpu_group(tool.split()[0])
    also_before = _usage(also)
    seen: list[float] = []
    stop = threading.Event()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    watcher = threading.Thread(target=watch, args=(stop, started, seen), daemon=True)
    watcher.start()
    out = subprocess.run([sys.executable, "-c", _CHILD, str(group or ""), *cmd], cwd=cwd, env=env,
                         capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    stop.set()
    watcher.join()
    cpu = _usage(group) + _usage(also) - also_before if group is not None else None
    _remove_group(group)
    rc, rss_kib = json.loads(out.stdout.strip().splitlines()[-1])
    if rc != 0:
        raise SystemExit(f"{shlex.join(cmd[:6])} … failed ({rc}):\n{out.stderr[-3000:]}")
    return Run(tool, size, wall, seen[0] if seen else None, cpu, rss_kib // 1024, (load, os.getloadavg()[0]), {})


def grade_ours(args: argparse.Namespace, subs: Path, out: Path, size: int, env: dict[str, str], cache: str,
               server_group: Path | None = None) -> Run:
    cmd = [sys.executable, "-m", "grader", "grade", "--bank", args.bank, "--out", str(out), "--no-progress",
           "--jobs", str(args.jobs), *([] if cache == "server" else ["--no-server"]), str(subs)]
    run = timed(f"grader ({cache})", size, cmd, ROOT, env,
                   lambda stop, started, seen: _first_row(out / "gradebook.sqlite", stop, started, seen),
                   server_group if cache == "server" else None)
    run.scores = {r["student"]: float(r["score"]) for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}
    return run


def grade_nbgrader(bank: Bank, subs: Path, students: list[str], course: Path, env: dict[str, str]) -> Run:
    """The same notebooks through ``nbgrader autograde``: each student's answer cells copied into the released
    assignment (nbgrader needs its own cell metadata), then the whole class autograded."""
    source = export(bank=bank, course_dir=course)
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", bank.id, "--force"], cwd=course, env=env,
                   check=True, capture_output=True)
    released = json.loads((course / "release" / bank.id / source.name).read_text())
    for student in students:
        bodies = {}
        for cell in json.loads((subs / f"{student}.ipynb").read_text())["cells"]:
            if cell["cell_type"] == "code" and cell["source"].startswith(MARK):
                first, _, rest = cell["source"].partition("\n")
                bodies[first[len(MARK):].strip()] = rest
        nb = json.loads(json.dumps(released))
        for cell in nb["cells"]:
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            qid = text.partition("\n")[0][len(MARK):].strip() if text.startswith(MARK) else None
            if cell["cell_type"] == "code" and qid in bodies:
                cell["source"] = f"{MARK}{qid}\n{bodies[qid]}"
        folder = course / "submitted" / student / bank.id
        folder.mkdir(parents=True)
        (folder / source.name).write_text(json.dumps(nb))
    run = timed("nbgrader", len(students), [sys.executable, "-m", "nbgrader", "autograde", bank.id, "--force"],
                   course, env, _nothing)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        run.scores = {s: gradebook.find_submission(bank.id, s).score for s in students}
    return run


def _sizes(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_sizes, default=[18, 120, 1000], help="class sizes to grade (default 18,120,1000)")
    parser.add_argument("--submissions", type=int, help="one class size only (same as --sizes N)")
    parser.add_argument("--nbgrader-sizes", type=_sizes, default=[18, 120],
                        help="sizes also graded with nbgrader autograde (default 18,120; '' for none: 17 s a notebook)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--bank", default=str(ROOT / "quizzes" / "lora-assignment.yaml"))
    parser.add_argument("--server", action="store_true", help="also grade each size through a warm sandbox server "
                        "(`python -m grader serve`, started once before the sweep)")
    parser.add_argument("--dask", action="store_true", help="grade the class on 1 and 2 local Dask workers (and "
                        "locally with --jobs 2 to compare) instead of against nbgrader (benchmarks/grading_dask.py)")
    args = parser.parse_args()
    sizes = [args.submissions] if args.submissions else args.sizes
    bank = load_bank(args.bank)
    work = Path(tempfile.mkdtemp(prefix="grading-bench-"))
    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADER_CACHE_DIR=str(work / "cache"), GRADER_SERVER_DIR=str(work / "server"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    print("command:", shlex.join([Path(sys.executable).name, *sys.argv]))
    print("machine:", machine())
    print(f"bank: {Path(args.bank).name}; jobs={args.jobs}; load average at start {os.getloadavg()[0]:.1f}", flush=True)
    try:
        if args.dask:
            subs = work / "subs"
            make_class(bank, sizes[0], subs)
            from grading_dask import main as dask_main

            dask_main(bank=args.bank, subs=subs, submissions=sizes[0], env=env)
            return
        sweep(args, bank, sizes, work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def start_server(env: dict[str, str], group: Path | None) -> subprocess.Popen:
    """``python -m grader serve`` in the benchmark's folder (in CPU group ``group``, so that the sandboxes it runs
    for a timed command are counted); returns once it says it is ready."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(group or ""), sys.executable, "-m", "grader", "serve",
                             "--idle-minutes", "60"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    if "ready" not in line:
        raise SystemExit(f"the sandbox server did not start:\n{line}{proc.stdout.read()[-3000:]}")
    print(f"sandbox server ready after {time.perf_counter() - started:.1f} s (once, before the sweep)", flush=True)
    return proc


def sweep(args: argparse.Namespace, bank: Bank, sizes: list[int], work: Path, env: dict[str, str]) -> None:
    """Every size with our grader (the first one cold and warm), nbgrader where asked; one line per run."""
    group = _cpu_group("server") if args.server else None
    server = start_server(env, group) if args.server else None
    try:
        _sweep(args, bank, sizes, work, env, server is not None, group)
    finally:
        if server is not None:
            subprocess.run([sys.executable, "-m", "grader", "serve", "--stop"], cwd=ROOT, env=env, check=False,
                           capture_output=True)
            server.wait(60)
        _remove_group(group)


def _sweep(args: argparse.Namespace, bank: Bank, sizes: list[int], work: Path, env: dict[str, str],
           server: bool, server_group: Path | None) -> None:
    print(f"{'tool':<16} {'size':>5}  {'wall':>9}  {'rate':>11}  …")
    for index, size in enumerate(sizes):
        subs = work / f"class-{size}"
        students = make_class(bank, size, subs)
        runs = []
        for cache in (("cold", "warm") if index == 0 else ("warm",)) + (("server",) if server else ()):
            if cache == "cold":
                shutil.rmtree(work / "cache", ignore_errors=True)
            runs.append(grade_ours(args, subs, work / f"out-{size}-{cache}", size, env, cache, server_group))
            print(runs[-1].line(), flush=True)
        if any(run.scores != runs[0].scores for run in runs):
            print("  SCORES DIFFER between these runs")
        if size in args.nbgrader_sizes:
            theirs = grade_nbgrader(bank, subs, students, work / f"course-{size}", env)
            print(theirs.line(), flush=True)
            ours = runs[-1]
            differ = {s: (ours.scores[s], round(theirs.scores[s], 3)) for s in students
                      if abs(ours.scores[s] - theirs.scores[s]) > 1e-2}
            print(f"  ratio at {size}: {ours.per_min / theirs.per_min:.1f}x nbgrader's rate; "
                  + ("scores agree for every submission" if not differ else f"scores differ: {differ}"), flush=True)
        shutil.rmtree(subs, ignore_errors=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
