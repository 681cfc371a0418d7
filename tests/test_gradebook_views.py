"""The gradebook as the source of truth: grades.csv rewritten whole, attempts kept, one writer per folder,
LMS grade files (issue 11, "Results get lost or garbled")."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.outlock import FolderLock

from paths import ROOT

BANK = """\
id: views
title: Views quiz
source: original
pass_percent: 60
attempts: 3
keep: highest
show_key: after_last_attempt
questions:
  - id: q1
    type: single_choice
    prompt: One?
    explanation: The first answer is B because of reason-one.
    options: [{text: wrong-a}, {text: right-b, correct: true}, {text: wrong-c}]
  - id: q2
    type: single_choice
    prompt: Two?
    explanation: The second answer is A because of reason-two.
    options: [{text: right-a, correct: true}, {text: wrong-b}]
  - id: q3
    type: numeric
    prompt: How many?
    answer: 294912
    explanation: 8 * 1536 * 24 = 294912.
"""
KEY = {"q1": "B", "q2": "A", "q3": 294912}


def grader(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def answers(path: Path, given: dict, student: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"answers": given} | ({"student": student} if student else {})
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {r["student"]: r for r in csv.DictReader(handle)}


@pytest.fixture
def bank(tmp_path) -> Path:
    path = tmp_path / "views.yaml"
    path.write_text(BANK, encoding="utf-8")
    return path


@pytest.fixture
def klass(tmp_path) -> Path:
    """Per-student folders, as an unpacked LMS archive gives them."""
    subs = tmp_path / "subs"
    answers(subs / "ana" / "quiz.json", KEY)
    answers(subs / "ben" / "quiz.json", {"q1": "B", "q2": "B"})
    answers(subs / "cy" / "nested" / "quiz.json", {"q1": "A"})
    return subs


def grade(bank: Path, out: Path, *subs: Path, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return grader("grade", "--bank", str(bank), "--out", str(out), "--no-progress", *extra, *map(str, subs))


def test_per_student_folders_are_three_students_not_one(bank, klass, tmp_path):
    out = tmp_path / "out"
    proc = grade(bank, out, klass)
    assert proc.returncode == 0, proc.stderr
    got = rows(out / "grades.csv")
    assert set(got) == {"ana", "ben", "cy"}
    assert (got["ana"]["score"], got["ana"]["percent"], got["ana"]["passed"]) == ("3", "100.00", "true")
    assert got["ben"]["score"] == "1" and got["cy"]["score"] == "0"
    assert list(got["ana"])[:5] == ["student", "score", "max_score", "percent", "passed"]
    assert (out / "feedback" / "ana" / "attempt-1.md").is_file() and (out / "feedback" / "cy" / "attempt-1.html").is_file()


def test_a_partial_run_without_resume_keeps_the_class_and_adds_an_attempt(bank, klass, tmp_path):
    out = tmp_path / "out"
    assert grade(bank, out, klass).returncode == 0
    late = tmp_path / "late"
    answers(late / "ben" / "quiz.json", KEY)
    proc = grade(bank, out, late)
    assert proc.returncode == 0, proc.stderr
    got = rows(out / "grades.csv")
    assert set(got) == {"ana", "ben", "cy"}, "a run that grades one file must not shrink grades.csv"
    assert got["ben"]["score"] == "3" and got["ben"]["attempts"] == "2" and got["ben"]["counted_attempt"] == "2"
    attempts = list(csv.DictReader((out / "attempts.csv").open(encoding="utf-8")))
    assert [(a["student"], a["attempt"]) for a in attempts if a["student"] == "ben"] == [("ben", "1"), ("ben", "2")]
    first = (out / "feedback" / "ben" / "attempt-1.md").read_text(encoding="utf-8")
    second = (out / "feedback" / "ben" / "attempt-2.md").read_text(encoding="utf-8")
    assert first != second and "Score 1/3" in first and "Score 3/3" in second


def test_keep_highest_counts_the_best_attempt_not_the_latest(bank, klass, tmp_path):
    out = tmp_path / "out"
    assert grade(bank, out, klass).returncode == 0
    answers(tmp_path / "again" / "ana" / "quiz.json", {"q1": "A"})
    assert grade(bank, out, tmp_path / "again").returncode == 0
    ana = rows(out / "grades.csv")["ana"]
    assert (ana["score"], ana["counted_attempt"], ana["latest_percent"]) == ("3", "1", "0.00")


def test_a_second_run_into_a_folder_in_use_is_refused(bank, klass, tmp_path):
    out = tmp_path / "out"
    with FolderLock(out):
        proc = grade(bank, out, klass)
    assert proc.returncode == 2 and "in use by another run" in proc.stderr and "pid" in proc.stderr
    assert not (out / "grades.csv").exists()
    assert grade(bank, out, klass).returncode == 0  # the lock went with its holder


def test_a_torn_grades_csv_is_repaired_by_the_next_run(bank, klass, tmp_path):
    out = tmp_path / "out"
    assert grade(bank, out, klass).returncode == 0
    text = (out / "grades.csv").read_text(encoding="utf-8")
    (out / "grades.csv").write_text(text[: len(text) - 25], encoding="utf-8")  # a crash mid-row
    answers(tmp_path / "more" / "dee" / "quiz.json", KEY)
    proc = grade(bank, out, klass, tmp_path / "more", extra=("--resume",))
    assert proc.returncode == 0, proc.stderr
    got = rows(out / "grades.csv")
    assert set(got) == {"ana", "ben", "cy", "dee"} and got["cy"]["score"] == "0"
    assert "already graded" in proc.stdout  # --resume skipped the three the gradebook holds


def test_a_huge_answer_id_does_not_break_resume(bank, tmp_path):
    subs = tmp_path / "subs"
    answers(subs / "ana" / "quiz.json", {**KEY, "x" * 140_000: "A"})
    out = tmp_path / "out"
    assert grade(bank, out, subs).returncode == 0
    answers(subs / "ben" / "quiz.json", KEY)
    proc = grade(bank, out, subs, extra=("--resume",))
    assert proc.returncode == 0, proc.stderr
    assert set(rows(out / "grades.csv")) == {"ana", "ben"}


def test_formula_names_are_quoted_in_every_csv(bank, tmp_path):
    subs = tmp_path / "subs"
    for name in ("=cmd", "+sum", "-x", "@at"):
        answers(subs / name / "quiz.json", KEY)
    out = tmp_path / "out"
    assert grade(bank, out, subs).returncode == 0
    assert grader("grades", "--bank", str(bank), "--out", str(out), "--lms", "moodle").returncode == 0
    for name in ("grades.csv", "attempts.csv", "grades-moodle.csv"):
        for row in csv.reader((out / name).open(encoding="utf-8")):
            assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), (name, row)
    assert {"'=cmd", "'+sum", "'-x", "'@at"} <= set(rows(out / "grades.csv"))


def test_a_notebook_claiming_a_classmate_is_graded_for_its_sender_with_a_warning(bank, tmp_path):
    subs = tmp_path / "subs"
    answers(subs / "bob" / "quiz.json", {"q1": "A"})
    answers(subs / "mallory" / "quiz.json", KEY, student="bob")
    out = tmp_path / "out"
    assert grade(bank, out, subs).returncode == 0
    got = rows(out / "grades.csv")
    assert got["bob"]["score"] == "0" and got["mallory"]["score"] == "3"
    assert "names its student 'bob'" in got["mallory"]["reason"]


ROSTER = "id,name,email\nana,Ana Doe,ana@example.org\nben,Ben Roe,ben@example.org\ncy,Cy Poe,cy@example.org\n" \
         "dee,Dee Loe,dee@example.org\n"


def test_roster_lms_grade_files_and_files_matching_no_one(bank, klass, tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    answers(klass / "zed" / "quiz.json", KEY)  # not in the class
    out = tmp_path / "out"
    proc = grade(bank, out, klass, extra=("--roster", str(roster)))
    assert proc.returncode == 1, "a file that matches no one must not pass silently"
    assert "zed" in proc.stderr and "zed" in (out / "collection.md").read_text(encoding="utf-8")
    got = rows(out / "grades.csv")
    assert set(got) == {"ana", "ben", "cy", "dee"}  # zed is not graded into anyone; dee is on the roster
    assert got["dee"]["score"] == "" and got["dee"]["reason"] == "no submission"
    assert got["ana"]["name"] == "Ana Doe" and got["ana"]["email"] == "ana@example.org"

    proc = grader("grades", "--bank", str(bank), "--out", str(out), "--lms", "canvas")
    assert proc.returncode == 0, proc.stderr
    canvas = list(csv.reader((out / "grades-canvas.csv").open(encoding="utf-8")))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Views quiz (views)"]
    assert canvas[1][0] == "Points Possible" and canvas[1][-1] == "3"
    by_id = {row[2]: row for row in canvas[2:]}
    assert set(by_id) == {"ana", "ben", "cy"}  # dee has no grade to import: her cell is left alone
    assert by_id["ana"][0] == "Ana Doe" and by_id["ana"][3] == "ana@example.org" and by_id["ana"][-1] == "3"
    assert by_id["ben"][-1] == "1"

    assert grader("grades", "--bank", str(bank), "--out", str(out), "--lms", "moodle").returncode == 0
    moodle = list(csv.DictReader((out / "grades-moodle.csv").open(encoding="utf-8")))
    assert {r["Email address"]: r["Views quiz (views)"] for r in moodle} == \
        {"ana@example.org": "3", "ben@example.org": "1", "cy@example.org": "0"}


def test_grades_rewrites_the_views_from_the_gradebook(bank, klass, tmp_path):
    out = tmp_path / "out"
    assert grade(bank, out, klass).returncode == 0
    before = (out / "grades.csv").read_text(encoding="utf-8")
    (out / "grades.csv").write_text("garbage", encoding="utf-8")
    (out / "attempts.csv").unlink()
    proc = grader("grades", "--bank", str(bank), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "grades.csv").read_text(encoding="utf-8") == before and (out / "attempts.csv").is_file()
    assert grader("grades", "--bank", str(bank), "--out", str(tmp_path / "none")).returncode == 2


def test_keys_and_explanations_wait_for_the_last_attempt(bank, tmp_path):
    out = tmp_path / "out"
    texts = []
    for attempt, given in enumerate([{"q1": "A"}, {"q1": "C"}, {"q2": "B"}], start=1):
        subs = tmp_path / f"try{attempt}"
        answers(subs / "ana" / "quiz.json", given)
        assert grade(bank, out, subs).returncode == 0
        texts.append((out / "feedback" / "ana" / f"attempt-{attempt}.md").read_text(encoding="utf-8")
                     + (out / "feedback" / "ana" / f"attempt-{attempt}.html").read_text(encoding="utf-8"))
    for text in texts[:2]:
        assert "reason-one" not in text and "reason-two" not in text and "294912" not in text
        assert "294 912" not in text and "Answer:" not in text
        assert "after your last attempt" in text
    assert "reason-one" in texts[2] and "294912" in texts[2]


def test_late_submissions_lose_the_bank_penalty_and_after_the_cutoff_everything(tmp_path):
    path = tmp_path / "late.yaml"
    path.write_text(BANK.replace("show_key: after_last_attempt\n", "show_key: after_each_attempt\n"
                                 "due: 2026-12-01T12:00:00+00:00\nlate_penalty: {percent: 10, per: day}\n"
                                 "cutoff: 2026-12-04T12:00:00+00:00\n"), encoding="utf-8")
    subs = tmp_path / "subs"
    stamps = {"ana": "2026-12-01T11:00:00+00:00", "ben": "2026-12-02T13:00:00+00:00",
              "cy": "2026-12-05T00:00:00+00:00"}
    from datetime import datetime
    for name, stamp in stamps.items():
        file = answers(subs / name / "quiz.json", KEY)
        when = datetime.fromisoformat(stamp).timestamp()
        os.utime(file, (when, when))
    out = tmp_path / "out"
    proc = grade(path, out, subs)
    assert proc.returncode == 0, proc.stderr
    got = rows(out / "grades.csv")
    assert got["ana"]["percent"] == "100.00" and got["ana"]["late_penalty_percent"] == "0"
    assert got["ben"]["percent"] == "80.00" and got["ben"]["late_penalty_percent"] == "20"  # 2 started days late
    assert got["ben"]["submitted_at"].startswith("2026-12-02T13:00:00")
    assert got["cy"]["percent"] == "0.00" and "cut-off" in got["cy"]["reason"]
    assert "after the due date" in (out / "feedback" / "ben" / "attempt-1.md").read_text(encoding="utf-8")


def test_grading_again_after_the_due_date_rewrites_feedback_with_the_keys(tmp_path):
    from datetime import datetime, timezone

    from grader import load_bank
    from grader.grading import grade_submissions

    path = tmp_path / "due.yaml"
    path.write_text(BANK.replace("show_key: after_last_attempt\n", "show_key: after_last_attempt\n"
                                 "due: 2030-01-01T00:00:00+00:00\n"), encoding="utf-8")
    bank = load_bank(path)
    subs = tmp_path / "subs"
    answers(subs / "ana" / "quiz.json", {"q1": "A"})
    out = tmp_path / "out"
    feedback = out / "feedback" / "ana" / "attempt-1.md"
    before = datetime(2029, 12, 31, tzinfo=timezone.utc)
    grade_submissions(bank=bank, submissions=[subs], out_dir=out, progress=False, now=before)
    assert "reason-one" not in feedback.read_text(encoding="utf-8")
    after = datetime(2030, 1, 2, tzinfo=timezone.utc)
    run = grade_submissions(bank=bank, submissions=[subs], out_dir=out, progress=False, now=after)
    assert run.graded[0].attempt == 1 and run.graded[0].key_shown
    assert "reason-one" in feedback.read_text(encoding="utf-8")
    assert rows(out / "grades.csv")["ana"]["attempts"] == "1"
