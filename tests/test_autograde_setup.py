"""A probe ``setup`` that fails on a student's code is reported as such, through the public grading path.

The setup runs after the student's cell and before the probes; when it raises (the student's
function raises when the setup calls it, or the student's code never defines a name the setup
uses) every probe then fails with a NameError about a name the *setup* should have made. The
student must read that the setup failed and why, not only those NameErrors.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from grader.grading import grade_submissions
from grader.loader import load_bank

BANK = Path(__file__).parent / "fixtures" / "banks" / "setup_uses_answer.yaml"
ANSWERS = {
    "ana": "def make_table(n):\n    return [2 * i for i in range(n)]\n",
    "raises": "def make_table(n):\n    if n % 2:\n        raise ValueError('n must be even')\n    return [2 * i for i in range(n)]\n",
    "misnamed": "def build_table(n):\n    return [2 * i for i in range(n)]\n",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, sandbox_layers):
    base = tmp_path_factory.mktemp("setup")
    subs = base / "subs"
    subs.mkdir()
    for student, code in ANSWERS.items():
        (subs / f"{student}.json").write_text(json.dumps({"student": student, "answers": {"table": code}}))
    run = grade_submissions(bank=load_bank(BANK), submissions=[subs], out_dir=base / "out", progress=False, jobs=2)
    rows = {r["student"]: r for r in csv.DictReader((base / "out" / "grades.csv").open(encoding="utf-8"))}
    return run, rows, base / "out"


def test_a_working_setup_adds_no_reason(graded):
    run, rows, _ = graded
    assert run.failures == 0
    by_student = {g.student: g for g in run.graded}
    assert set(by_student) == set(ANSWERS) and by_student["ana"].result.passed
    assert float(rows["ana"]["score"]) == 1, rows["ana"]["reason"]
    assert "setup" not in rows["ana"]["reason"]


@pytest.mark.parametrize(("student", "cause"), [
    ("raises", "ValueError: n must be even (line 3 of your cell)"),
    ("misnamed", "NameError: name 'make_table' is not defined"),
])
def test_a_failed_setup_is_reported_with_its_cause(graded, student, cause):
    _, rows, out = graded
    row = rows[student]
    assert float(row["score"]) == 0
    assert f"table: the question's setup failed: {cause}" in row["reason"]
    feedback = (out / "feedback" / student / "attempt-1.md").read_text(encoding="utf-8").replace("\\", "")  # Markdown escapes
    assert "the question's setup failed" in feedback.casefold() and cause.split(" (")[0] in feedback
