"""Benchmark: this grader against nbgrader autograde, same submissions, same machine, same run.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/grading.py --submissions 12 --jobs 2

Builds N synthetic notebooks of quizzes/lora-assignment.yaml (a third correct, a third partly
wrong, a third broken), grades them with ``python -m grader grade`` and with ``nbgrader autograde``
of the exported assignment, and prints submissions/minute for each (wall clock, start-up
included), their ratio, the peak resident memory of the largest process of each, and whether every
student's total agrees. Results go in docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "fixtures" / "submissions")]

from grader import load_bank  # noqa: E402
from grader.nbgrader_export import export  # noqa: E402
from synthetic import BROKEN, PARTLY_WRONG, correct_answers, filled_notebook, write  # noqa: E402

MARK = re.compile(r"^# answer: (\S+)")


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and the peak RSS (MiB) of the largest child process of ``cmd``."""
    code = ("import resource, subprocess, sys, json, time\nt = time.perf_counter()\n"
            "rc = subprocess.run(sys.argv[1:]).returncode\n"
            "print(json.dumps([time.perf_counter() - t, rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))")
    out = subprocess.run([sys.executable, "-c", code, *cmd], cwd=cwd, env=env, capture_output=True, text=True)
    seconds, rc, rss_kib = json.loads(out.stdout.strip().splitlines()[-1])
    if rc != 0:
        raise SystemExit(f"{cmd[:4]} failed ({rc}):\n{out.stderr[-3000:]}")
    return seconds, rss_kib // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--bank", default=str(ROOT / "quizzes" / "lora-assignment.yaml"))
    args = parser.parse_args()
    bank = load_bank(args.bank)
    work = Path(tempfile.mkdtemp(prefix="grading-bench-"))
    env = dict(os.environ, HF_HUB_OFFLINE="1", PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    good = correct_answers(bank)
    kinds = [good, {**good, **PARTLY_WRONG}, {**good, **BROKEN}]
    subs = work / "subs"
    subs.mkdir()
    students = [f"s{i:03d}" for i in range(args.submissions)]
    for i, student in enumerate(students):
        write(filled_notebook(bank, kinds[i % 3]), subs / f"{student}.ipynb")

    ours_s, ours_mib = _timed([sys.executable, "-m", "grader", "grade", "--bank", args.bank, "--out", str(work / "ours"),
                               "--no-progress", "--jobs", str(args.jobs), str(subs)], ROOT, env)
    ours = {r["student"]: float(r["score"]) for r in csv.DictReader((work / "ours" / "grades.csv").open())}

    course = work / "course"
    source = export(bank=bank, course_dir=course)
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", bank.id, "--force"], cwd=course, env=env,
                   check=True, capture_output=True)
    released = json.loads((course / "release" / bank.id / source.name).read_text())
    for student, path in zip(students, sorted(subs.iterdir())):
        ours_nb = json.loads(path.read_text())
        bodies = {}
        for cell in ours_nb["cells"]:
            match = MARK.match(cell["source"]) if cell["cell_type"] == "code" else None
            if match:
                bodies[match[1]] = cell["source"].split("\n", 1)[1]
        nb = json.loads(json.dumps(released))
        for cell in nb["cells"]:
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            match = MARK.match(text)
            if cell["cell_type"] == "code" and match and match[1] in bodies:
                cell["source"] = f"# answer: {match[1]}\n{bodies[match[1]]}"
        folder = course / "submitted" / student / bank.id
        folder.mkdir(parents=True)
        (folder / source.name).write_text(json.dumps(nb))
    theirs_s, theirs_mib = _timed([sys.executable, "-m", "nbgrader", "autograde", bank.id, "--force"], course, env)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        theirs = {s: gradebook.find_submission(bank.id, s).score for s in students}
    disagree = {s: (ours[s], round(theirs[s], 3)) for s in students if abs(ours[s] - theirs[s]) > 1e-2}
    n = args.submissions
    print(f"submissions: {n} ({n - 2 * (n // 3)} correct, {n // 3} partly wrong, {n // 3} broken); jobs={args.jobs}; "
          f"cores={os.cpu_count()}")
    print(f"grader:   {ours_s:7.1f} s  {60 * n / ours_s:7.1f} submissions/min  {ours_s / n:6.2f} s/submission  "
          f"peak RSS {ours_mib} MiB (largest process)")
    print(f"nbgrader: {theirs_s:7.1f} s  {60 * n / theirs_s:7.1f} submissions/min  {theirs_s / n:6.2f} s/submission  "
          f"peak RSS {theirs_mib} MiB (largest process)")
    print(f"ratio: {theirs_s / ours_s:.1f}x nbgrader's throughput")
    print("scores agree for every submission" if not disagree else f"scores differ: {disagree}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
