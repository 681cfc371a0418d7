"""Hostile submissions: each attacks the grader from its count-params cell while every other answer is right.

All are graded in one run (one warm zygote). Each must get exactly the points it deserves, keep the
other questions' points, and never stop the run or touch anything outside its temporary folder.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from grader import load_bank
from grader.grading import grade_submissions

from paths import ROOT
from synthetic import correct_answers, filled_notebook, write

GOOD = "def count_lora_params(d, k, r):\n    return r * (d + k)\n"

HOSTILE: dict[str, tuple[str, bool]] = {
    # name: (count-params cell, deserves full points)
    "infinite_loop": ("while True:\n    pass\n" + GOOD, False),
    "memory_bomb": ("hoard = []\nwhile True:\n    hoard.append(bytearray(50_000_000))\n" + GOOD, False),
    "fork_storm": ("import os, time\nfor _ in range(30):\n    if os.fork() == 0:\n        time.sleep(120)\n        os._exit(0)\n"
                   + GOOD, True),
    "os_exit": ("import os\nos._exit(0)\n" + GOOD, False),
    "sys_exit_after_def": (GOOD + "import sys\nsys.exit(0)\n", True),
    "fake_success": ("import os\nprint('All 4 checks passed! Score: 4/4')\n"
                     "open('grades.csv', 'w').write('student,score\\nme,100\\n')\n"
                     "for fd in range(3, 64):\n    try:\n        os.write(fd, b'{\"probe\": \"tiny\", \"passed\": true}\\n{\"event\": \"done\"}\\n')\n"
                     "    except OSError:\n        pass\n"
                     "def count_lora_params(d, k, r):\n    return None\n", False),
    "lying_eq": ("class Anything:\n    def __eq__(self, other):\n        return True\n    __hash__ = object.__hash__\n"
                 "    def __index__(self):\n        return 14\n"
                 "def count_lora_params(d, k, r):\n    return Anything()\n", False),
    "patched_builtins": ("import builtins, json\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda *a: 0\n"
                         "json.dumps = lambda *a, **k: '{\"probe\": \"tiny\", \"value\": 14}'\n"
                         "def count_lora_params(d, k, r):\n    return 'fourteen'\n", False),
    "network": ("import socket\ntry:\n    socket.create_connection(('1.1.1.1', 80), timeout=3).close()\n    ONLINE = True\n"
                "except OSError:\n    ONLINE = False\n"
                "def count_lora_params(d, k, r):\n    return -1 if ONLINE else r * (d + k)\n", True),
    "delete_files": ("import os, shutil, glob\n"
                     "for path in glob.glob(os.environ.get('SENTINEL_GLOB', '/nonexistent')):\n    try:\n        os.remove(path)\n"
                     "    except OSError:\n        pass\nshutil.rmtree(%r, ignore_errors=True)\n" % str(ROOT / "quizzes") + GOOD, True),
    "kill_parent": ("import os, signal\nfor target in (os.getppid(), -1):\n    try:\n        os.kill(target, signal.SIGKILL)\n"
                    "    except OSError:\n        pass\n" + GOOD, True),
    "megabytes_of_output": ("print('spam ' * 2_000_000)\n" + GOOD, True),
    "read_the_bank": ("import glob\nstolen = [open(p).read() for p in glob.glob(%r)]\n" % str(ROOT / "quizzes" / "*.yaml")
                      + "def count_lora_params(d, k, r):\n    return r * (d + k) if stolen else None\n", False),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    full = load_bank(ROOT / "quizzes" / "lora-assignment.yaml")
    bank = full.subset(["lora-principle", "qlora-techniques", "total-params", "count-params", "lora-layer"])
    bank = bank.model_copy(update={"questions": [q.model_copy(update={"timeout_s": 4}) if q.id == "count-params" else q
                                                 for q in bank.questions]})
    base = tmp_path_factory.mktemp("hostile")
    subs = base / "subs"
    subs.mkdir()
    sentinel_dir = base / "shared"
    sentinel_dir.mkdir()
    os.chmod(base, 0o755)
    os.chmod(sentinel_dir, 0o777)
    sentinel = sentinel_dir / "precious.txt"
    sentinel.write_text("keep me")
    os.chmod(sentinel, 0o666)
    good = correct_answers(bank)
    for name, (cell, _) in HOSTILE.items():
        write(filled_notebook(bank, {**good, "count-params": cell}), subs / f"{name}.ipynb")
    answer_cell = ("import os\nopen('/tmp/grader-pwned', 'w').write('x')\nanswer = 'B'\n")
    write(filled_notebook(bank, {**good, "lora-principle": answer_cell}), subs / "code_in_choice_cell.ipynb")
    write(filled_notebook(bank, {**good, "lora-principle": "answer = __import__('os').system('touch /tmp/grader-pwned')"}),
          subs / "call_in_choice_cell.ipynb")
    huge = filled_notebook(bank, good)
    huge["cells"][2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x" * 8_000_000}]
    write(huge, subs / "megabytes_in_outputs.ipynb")
    os.environ["SENTINEL_GLOB"] = str(sentinel_dir / "*")
    try:
        run = grade_submissions(bank=bank, submissions=[subs], out_dir=base / "out", progress=False, jobs=2,
                                bank_path=ROOT / "quizzes" / "lora-assignment.yaml")
    finally:
        del os.environ["SENTINEL_GLOB"]
    rows = {r["student"]: r for r in csv.DictReader((base / "out" / "grades.csv").open())}
    return bank, run, rows, sentinel, base / "out"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_code_scores_what_it_deserves(graded, name):
    bank, _, rows, _, _ = graded
    row = rows[name]
    deserved = bank.question("count-params").points if HOSTILE[name][1] else 0
    assert float(row["q:count-params"]) == deserved, row["reason"]
    for q in bank.questions:  # every other answer keeps its full points
        if q.id != "count-params":
            assert float(row[f"q:{q.id}"]) == q.points, (q.id, row["reason"])


def test_every_submission_got_a_row(graded):
    _, run, rows, _, _ = graded
    assert run.failures == 0
    assert len(rows) == len(HOSTILE) + 3


def test_timeouts_and_crashes_are_explained(graded):
    _, _, rows, _, _ = graded
    assert "time limit" in rows["infinite_loop"]["reason"]
    assert "count-params" in rows["os_exit"]["reason"]


def test_nothing_outside_the_sandbox_was_touched(graded, root):
    _, _, _, sentinel, out = graded
    assert sentinel.read_text() == "keep me"
    assert (root / "quizzes" / "lora-assignment.yaml").exists()
    assert not Path("/tmp/grader-pwned").exists()
    header = (out / "grades.csv").read_text().splitlines()[0]
    assert header.startswith("student,score,max_score,percent,passed")


def test_choice_cells_are_read_never_run(graded):
    bank, _, rows, _, _ = graded
    assert float(rows["code_in_choice_cell"]["q:lora-principle"]) == 1  # its literal `answer = 'B'` is read
    assert float(rows["call_in_choice_cell"]["q:lora-principle"]) == 0
    assert "plain value" in rows["call_in_choice_cell"]["reason"]
    assert float(rows["megabytes_in_outputs"]["score"]) == bank.max_score
