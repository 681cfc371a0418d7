"""The instructor's review of free responses: ``review.csv`` written by ``grade``, points and comments
imported back with ``python -m grader review --import`` (issue 15, "Instructor review").

Hostile sheets first (forged cells, impossible points, unknown rows, duplicates, huge files: all
refused with located messages and nothing changed), then the happy path on a class graded from real
answer files and a notebook: the sheet's content, two students' points imported and the grades as
computed by hand, overrides surviving ``--resume`` and re-grading, and an override removed again.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from paths import ROOT
from synthetic import filled_notebook, write

from grader import load_bank
from grader.gradebook import Gradebook
from grader.grading import grade_submissions
from grader.review import (
    COLUMNS,
    MAX_PROBLEMS,
    MAX_SHEET_BYTES,
    ReviewSheetError,
    check_review_sheet,
    concept_cells,
    import_review,
)
from grader.scoring.result import ConceptCheck, QuestionResult

DUE = datetime(2030, 1, 15, 23, 59, tzinfo=timezone.utc)
BANK = f"""\
id: review-quiz
title: Review quiz
source: original
pass_percent: 60
attempts: 3
due: {DUE.isoformat()}
late_penalty: {{percent: 10, per: day}}
questions:
  - id: q1
    type: single_choice
    prompt: Which one?
    points: 2
    explanation: SECRET-EXPLANATION-OF-Q1 says why B.
    options: [{{text: wrong-a}}, {{text: right-b, correct: true}}]
  - id: fr1
    type: free_response
    prompt: Explain what LoRA is.
    points: 4
    model_answer: SECRET-MODEL-ANSWER adds low-rank matrices and keeps the base weights frozen.
    concepts:
      - {{id: low-rank, label: adds low-rank matrices, keywords: [low-rank, low rank]}}
      - {{id: frozen, label: base weights stay frozen, keywords: [frozen, freeze, freezes]}}
  - id: fr2
    type: free_response
    prompt: Explain what QLoRA adds.
    concepts:
      - {{id: quantized, label: the base model is quantized, keywords: [quantized, quantizes, quantize]}}
"""
FULL = "LoRA adds small low-rank matrices to the layers. The base weights stay frozen."
NOTHING = "I do not know."
HALF = "LoRA adds low-rank matrices to the model."
INJECTED = '=HYPERLINK("http://evil.example/x","click") LoRA adds low-rank matrices'


def grader(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], check=False, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def answer_file(path: Path, answers: dict, when: datetime) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"answers": answers}), encoding="utf-8")
    os.utime(path, (when.timestamp(), when.timestamp()))


def table(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def by_student(path: Path) -> dict[str, dict[str, str]]:
    return {row["student"]: row for row in table(path)}


def sheet_rows(out: Path) -> dict[tuple[str, str, str], dict[str, str]]:
    return {(r["student"], r["attempt"], r["question"]): r for r in table(out / "review.csv")}


def write_sheet(path: Path, rows: list[dict[str, str]], columns: list[str] = COLUMNS, delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, delimiter=delimiter, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def edited(out: Path, changes: dict[tuple[str, str], dict[str, str]]) -> list[dict[str, str]]:
    """The exported sheet with ``changes`` ((student, question) → cells) applied to attempt 1's rows."""
    rows = table(out / "review.csv")
    for row in rows:
        row.update(changes.get((row["student"], row["question"]), {}))
    return rows


def review(bank: Path, out: Path, sheet: Path) -> subprocess.CompletedProcess:
    return grader("review", "--bank", str(bank), "--out", str(out), "--import", str(sheet))


def overrides_in(out: Path) -> list[tuple]:
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        return db.execute("SELECT student, question_id, points, comment FROM overrides ORDER BY student").fetchall()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A class graded once: ana (answer file, both concepts), ben (a notebook, neither), cy (one concept,
    a day late: −10 %), dee (an answer that is a spreadsheet formula)."""
    base = tmp_path_factory.mktemp("review")
    bank_path = base / "review-quiz.yaml"
    bank_path.write_text(BANK, encoding="utf-8")
    bank = load_bank(bank_path)
    subs = base / "subs"
    early = DUE - timedelta(days=1)
    answer_file(subs / "ana" / "quiz.json", {"q1": "B", "fr1": FULL, "fr2": "It stores a quantized base model."}, early)
    notebook = subs / "ben" / "quiz.ipynb"
    notebook.parent.mkdir(parents=True)
    write(filled_notebook(bank, {"q1": "answer = 'B'", "fr1": f"answer = {NOTHING!r}"}), notebook)
    os.utime(notebook, (early.timestamp(), early.timestamp()))
    answer_file(subs / "cy" / "quiz.json", {"q1": "A", "fr1": HALF}, DUE + timedelta(hours=20))
    answer_file(subs / "dee" / "quiz.json", {"q1": "B", "fr1": INJECTED}, early)
    out = base / "out"
    run = grade_submissions(bank=bank, submissions=[subs], out_dir=out, progress=False, jobs=2,
                            now=DUE - timedelta(days=5))
    assert not run.failures and len(run.graded) == 4
    return bank_path, subs, out


@pytest.fixture
def folder(graded, tmp_path):
    """A fresh copy of the graded folder for one test to change."""
    bank_path, subs, out = graded
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    return bank_path, subs, copy


def unchanged(out: Path, before: dict[str, bytes]) -> None:
    after = {name: (out / name).read_bytes() for name in before}
    assert after == before, "a refused import must change nothing"
    assert overrides_in(out) == []


def snapshot(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in ("grades.csv", "attempts.csv", "review.csv",
                                                         "feedback/ben/attempt-1.md")}


# --- hostile sheets ------------------------------------------------------------------------------

def test_impossible_points_and_unknown_rows_are_all_reported_at_once_and_nothing_changes(folder):
    bank, _, out = folder
    before = snapshot(out)
    rows = sheet_rows(out)
    ben = rows[("ben", "1", "fr1")]
    forged = [
        {**ben, "points": "1e309"},
        {**rows[("cy", "1", "fr1")], "points": "nan"},
        {**rows[("ana", "1", "fr1")], "points": "-1"},
        {**rows[("dee", "1", "fr1")], "points": "2; DROP TABLE attempts"},
        {**ben, "student": "zed", "points": "4"},
        {**ben, "attempt": "7", "points": "4"},
        {**ben, "question": "q1", "points": "2"},
        {**rows[("ana", "1", "fr2")], "points": "1"},
        {**rows[("ben", "1", "fr2")], "answer": "LoRA adds low-rank matrices and keeps the base weights frozen."},
        {**rows[("dee", "1", "fr2")], "sha256": "f" * 64},
        {**ben, "points": "4"},
        {**ben, "points": ""},
    ]
    proc = review(bank, out, write_sheet(out.parent / "forged.csv", forged))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = proc.stderr
    assert "Traceback" not in err
    expected = [
        'row 2, points: "1e309" is not a finite number',
        'row 3, points: "nan" is not a finite number',
        'row 4, points: "-1" is outside 0..4, the points fr1 is worth',
        'row 5, points: "2; DROP TABLE attempts" is not a number',
        'row 6, student: no student "zed" has an attempt at review-quiz in the gradebook',
        "row 7, attempt: ben has no attempt 7 (attempts 1..1)",
        'row 8, question: "q1" is not a free-response question of review-quiz',
        "row 9, points: fr2 is worth 0 points in the bank; give it points in the bank to grade it",
        "row 10, answer: not the answer of ben's attempt 1 to fr2 in the gradebook",
        "row 11, sha256: this row was exported for another file than attempt 1 of dee",
        # the same answer twice, whether or not either row is right: which one was meant?
        "row 12: the same answer as row 2 (ben, attempt 1, fr1); keep one of the two rows",
        "row 13: the same answer as row 2 (ben, attempt 1, fr1)",
    ]
    for message in expected:
        assert f"forged.csv: {message}" in err, (message, err)
    assert len(err.strip().splitlines()) == len(expected) + 1 and "nothing was imported" in err
    unchanged(out, before)
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM attempts").fetchone() == (4,)


def test_formula_injection_stays_quoted_on_every_export_and_round_trips_unchanged(folder):
    bank, _, out = folder
    comments = {"ben": '=HYPERLINK("http://evil.example","click")', "cy": "@SUM(1+1)",
                "dee": "-2+3 <script>alert(1)</script>", "ana": "+cmd|' /C calc'!A0"}
    rows = edited(out, {(s, "fr1"): {"comment": c} for s, c in comments.items()})
    proc = review(bank, out, write_sheet(out.parent / "comments.csv", rows))
    assert proc.returncode == 0, proc.stderr
    text = (out / "review.csv").read_text(encoding="utf-8")
    for row in csv.reader(io.StringIO(text)):
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row
    sheet = sheet_rows(out)
    assert sheet[("ben", "1", "fr1")]["comment"] == "'" + comments["ben"]
    assert sheet[("dee", "1", "fr1")]["answer"] == "'" + INJECTED
    assert [(s, c) for s, _, _, c in overrides_in(out)] == sorted(comments.items())  # stored as the instructor wrote them
    # importing the sheet it wrote changes nothing: no apostrophe is added on each round trip
    again = review(bank, out, out / "review.csv")
    assert again.returncode == 0, again.stderr
    assert "0 override(s) stored, 0 removed" in again.stdout
    assert (out / "review.csv").read_text(encoding="utf-8") == text
    page = (out / "feedback" / "dee" / "attempt-1.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_huge_sheet_is_read_in_bounded_memory_and_its_problems_are_capped(folder):
    bank, _, out = folder
    before = snapshot(out)
    row = sheet_rows(out)[("ben", "1", "fr1")]
    huge = out.parent / "huge.csv"
    with huge.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        filler = "x" * 1000
        for n in range(20_000):
            writer.writerow({**row, "student": f"s{n}", "comment": filler})
    assert huge.stat().st_size > 20_000_000
    gradebook = Gradebook(out / "gradebook.sqlite")
    try:
        tracemalloc.start()
        with pytest.raises(ReviewSheetError) as caught:
            check_review_sheet(huge, gradebook, load_bank(bank))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    finally:
        gradebook.close()
    assert peak < 8_000_000, f"reading a 20 MB sheet took {peak / 1e6:.1f} MB"
    problems = caught.value.problems
    assert len(problems) == MAX_PROBLEMS + 1 and problems[-1] == f"… and {20_000 - MAX_PROBLEMS} more problem(s)"
    proc = review(bank, out, huge)
    assert proc.returncode == 1 and len(proc.stderr.splitlines()) == MAX_PROBLEMS + 2
    unchanged(out, before)


def test_a_sheet_over_the_limit_a_giant_cell_and_a_non_utf8_file_are_refused_with_a_reason(folder):
    bank, _, out = folder
    before = snapshot(out)
    sparse = out.parent / "sparse.csv"
    with sparse.open("wb") as handle:
        handle.truncate(MAX_SHEET_BYTES + 1)  # sparse: refused by its size, never read
    proc = review(bank, out, sparse)
    assert proc.returncode == 1 and "is more than a review sheet may hold (32 MiB)" in proc.stderr
    giant = write_sheet(out.parent / "giant.csv", [{**sheet_rows(out)[("ben", "1", "fr1")], "comment": "y" * 200_000}])
    proc = review(bank, out, giant)
    assert proc.returncode == 1 and "giant.csv: row 2: not CSV" in proc.stderr and "Traceback" not in proc.stderr
    latin = out.parent / "latin.csv"
    latin.write_bytes(",".join(COLUMNS).encode() + b"\nben,,1,fr1,4,0,3,tr\xe8s bien\n")
    proc = review(bank, out, latin)
    assert proc.returncode == 1 and 'save the sheet as "CSV UTF-8"' in proc.stderr
    header_only = write_sheet(out.parent / "cols.csv", [], columns=["student", "attempt", "question"])
    proc = review(bank, out, header_only)
    assert proc.returncode == 1 and "row 1: missing column(s): points, comment" in proc.stderr
    unchanged(out, before)


def test_a_comment_over_the_limit_and_points_over_the_question_are_located(folder):
    bank, _, out = folder
    rows = edited(out, {("ben", "fr1"): {"comment": "z" * 5000}, ("cy", "fr1"): {"points": "4.5"}})
    proc = review(bank, out, write_sheet(out.parent / "long.csv", rows))
    assert proc.returncode == 1
    assert "long.csv: row 4, comment: 5,000 characters; a comment may have at most 2,000" in proc.stderr
    assert 'long.csv: row 6, points: "4.5" is outside 0..4' in proc.stderr


# --- the sheet and the happy path ----------------------------------------------------------------

def test_grade_writes_one_row_per_free_response_with_the_concept_verdicts(graded):
    _, _, out = graded
    rows = table(out / "review.csv")
    assert list(rows[0]) == COLUMNS
    assert [(r["student"], r["attempt"], r["question"]) for r in rows] == [
        (s, "1", q) for s in ("ana", "ben", "cy", "dee") for q in ("fr1", "fr2")]
    sheet = sheet_rows(out)
    ana, cy = sheet[("ana", "1", "fr1")], sheet[("cy", "1", "fr1")]
    assert (ana["max_points"], ana["auto_points"], ana["concepts"], ana["points"], ana["comment"]) == ("4", "4", "2/2", "", "")
    assert ana["answer"] == FULL and ana["missing"] == ""
    assert ana["found"] == "adds low-rank matrices; base weights stay frozen"
    assert (cy["auto_points"], cy["concepts"], cy["found"], cy["missing"]) == (
        "2", "1/2", "adds low-rank matrices", "base weights stay frozen")
    assert sheet[("ben", "1", "fr1")]["answer"] == NOTHING  # read from the notebook's answer cell
    assert (sheet[("ana", "1", "fr2")]["max_points"], sheet[("ana", "1", "fr2")]["concepts"]) == ("0", "1/1")
    assert sheet[("ana", "1", "fr1")]["sha256"] == by_student(out / "grades.csv")["ana"]["sha256"]


def test_concept_verdicts_quote_the_sentence_that_carried_or_contradicted_each_concept():
    question = QuestionResult("fr1", "free_response", 2.0, 4.0, "partial", "", answer="…", concepts=[
        ConceptCheck("low-rank", "adds low-rank matrices", "found", "It learns two thin matrices.", 0.71, "meaning"),
        ConceptCheck("frozen", "base weights stay frozen", "contradicted", "The base weights are retrained.", 0.64,
                     "meaning", why="closest to: LoRA trains all the weights"),
        ConceptCheck("fewer", "fewer trainable parameters", "missing")])
    cells = concept_cells(question.to_dict())
    assert cells == {"concepts": "1/3", "found": "adds low-rank matrices", "contradicted": "base weights stay frozen",
                     "missing": "fewer trainable parameters",
                     "evidence": "adds low-rank matrices: «It learns two thin matrices.» | base weights stay frozen "
                                 "(contradicted: closest to: LoRA trains all the weights): «The base weights are retrained.»"}


def test_imported_points_change_the_grades_as_computed_by_hand_and_survive_regrading(folder):
    bank, subs, out = folder
    grades = by_student(out / "grades.csv")
    assert (grades["ben"]["score"], grades["ben"]["percent"]) == ("2", "33.33")  # q1 2 + fr1 0 of 6
    assert (grades["cy"]["percent"], grades["cy"]["late_penalty_percent"]) == ("30.00", "10")  # 2 of 6, −10 %
    rows = edited(out, {("ben", "fr1"): {"points": "3", "comment": "A fair attempt; say why the matrices are small."},
                        ("cy", "fr1"): {"points": "4"},
                        ("ana", "fr2"): {"comment": "Right: the base model is stored in 4 bits."}})
    proc = review(bank, out, write_sheet(out.parent / "points.csv", rows))
    assert proc.returncode == 0, proc.stderr
    assert "3 override(s) stored, 0 removed, 5 unchanged; 3 attempt(s) recomputed" in proc.stdout
    grades = by_student(out / "grades.csv")
    # ben: q1 2 + fr1 3 = 5 of 6 = 83.33 %, on time
    assert (grades["ben"]["score"], grades["ben"]["percent"], grades["ben"]["passed"], grades["ben"]["q:fr1"]) == (
        "5", "83.33", "true", "3")
    # cy: q1 0 + fr1 4 = 4 of 6 = 66.67 % raw, a started day late: 66.67 × 0.9 = 60.00 %, i.e. 3.6 of 6 points
    assert (grades["cy"]["score"], grades["cy"]["percent"], grades["cy"]["passed"], grades["cy"]["q:fr1"]) == (
        "3.6", "60.00", "true", "4")
    assert "points of fr1 given by the instructor" in grades["cy"]["reason"]
    assert (grades["ana"]["score"], grades["dee"]["score"]) == ("6", "4")  # a comment changes no points
    attempts = {r["student"]: r for r in table(out / "attempts.csv")}
    assert (attempts["cy"]["raw_percent"], attempts["cy"]["percent"]) == ("66.67", "60.00")
    sheet = sheet_rows(out)
    assert (sheet[("ben", "1", "fr1")]["points"], sheet[("ben", "1", "fr1")]["auto_points"]) == ("3", "0")
    assert sheet[("ana", "1", "fr2")]["comment"] == "Right: the base model is stored in 4 bits."
    feedback = (out / "feedback" / "ben" / "attempt-1.md").read_text(encoding="utf-8")
    assert "**Score 5/6 (83.33%): passed**" in feedback
    assert "Reviewed by your instructor: 3/4 points** (the automatic check gave 0)" in feedback
    assert "Your instructor's comment: A fair attempt; say why the matrices are small." in feedback
    late = (out / "feedback" / "cy" / "attempt-1.md").read_text(encoding="utf-8")
    assert "After the late penalty this attempt counts 60% (3.6/6 points)" in late
    for text in (feedback, late, (out / "feedback" / "ben" / "attempt-1.html").read_text(encoding="utf-8")):
        assert "SECRET" not in text, "the review must not show the key before the bank's show_key allows"
    assert "the base model is stored in 4 bits" in (out / "feedback" / "ana" / "attempt-1.md").read_text(encoding="utf-8")

    for extra in (["--resume"], []):  # skipped by --resume; graded again (same files, same attempts) without
        proc = grader("grade", "--bank", str(bank), "--out", str(out), "--no-progress", *extra, str(subs))
        assert proc.returncode == 0, proc.stderr
        again = by_student(out / "grades.csv")
        assert {s: (again[s]["score"], again[s]["percent"], again[s]["attempts"]) for s in ("ben", "cy")} == {
            "ben": ("5", "83.33", "1"), "cy": ("3.6", "60.00", "1")}
        assert "Reviewed by your instructor: 3/4" in (out / "feedback" / "ben" / "attempt-1.md").read_text(encoding="utf-8")
    assert sheet_rows(out)[("cy", "1", "fr1")]["points"] == "4"

    # an empty points cell removes the override: ben is back to the automatic 2 of 6
    rows = edited(out, {("ben", "fr1"): {"points": "", "comment": ""}})
    proc = review(bank, out, write_sheet(out.parent / "undo.csv", rows))
    assert proc.returncode == 0, proc.stderr
    assert "0 override(s) stored, 1 removed" in proc.stdout
    grades = by_student(out / "grades.csv")
    assert (grades["ben"]["score"], grades["ben"]["percent"], grades["ben"]["q:fr1"]) == ("2", "33.33", "0")
    assert (grades["cy"]["score"], grades["cy"]["percent"]) == ("3.6", "60.00")
    assert "Reviewed by your instructor" not in (out / "feedback" / "ben" / "attempt-1.md").read_text(encoding="utf-8")
    assert sheet_rows(out)[("ben", "1", "fr1")]["points"] == ""


def test_a_sheet_saved_with_semicolons_and_decimal_commas_is_read(folder):
    bank, _, out = folder
    rows = edited(out, {("ben", "fr1"): {"points": "2,5"}})
    proc = review(bank, out, write_sheet(out.parent / "semicolons.csv", rows, delimiter=";"))
    assert proc.returncode == 0, proc.stderr
    assert by_student(out / "grades.csv")["ben"]["score"] == "4.5"


def test_the_rewritten_feedback_shows_the_key_once_the_policy_allows(folder):
    bank, _, out = folder
    rows = edited(out, {("ben", "fr1"): {"points": "1"}})
    sheet = write_sheet(out.parent / "after-due.csv", rows)
    import_review(bank=load_bank(bank), out_dir=out, sheet=sheet, now=DUE + timedelta(days=30))
    text = (out / "feedback" / "ben" / "attempt-1.md").read_text(encoding="utf-8")
    assert "SECRET-EXPLANATION-OF-Q1" in text and "SECRET-MODEL-ANSWER" in text
    assert "Reviewed by your instructor: 1/4 points" in text


def test_review_without_import_writes_the_sheet_and_a_bank_without_free_responses_has_none(folder, tmp_path):
    bank, _, out = folder
    (out / "review.csv").unlink()
    proc = grader("review", "--bank", str(bank), "--out", str(out))
    assert proc.returncode == 0 and (out / "review.csv").is_file(), proc.stderr
    plain = tmp_path / "plain.yaml"
    plain.write_text(BANK.split("  - id: fr1")[0], encoding="utf-8")
    answer_file(tmp_path / "plain" / "ana.json", {"q1": "B"}, DUE - timedelta(days=1))
    proc = grader("grade", "--bank", str(plain), "--out", str(tmp_path / "plain-out"), "--no-progress",
                  str(tmp_path / "plain"))
    assert proc.returncode == 0 and not (tmp_path / "plain-out" / "review.csv").exists()
    proc = grader("review", "--bank", str(plain), "--out", str(tmp_path / "plain-out"))
    assert proc.returncode == 2 and "no free-response question" in proc.stderr


def test_an_attempt_graded_before_feedback_inputs_were_kept_gets_its_points_and_keeps_its_old_page(folder):
    bank, _, out = folder
    with sqlite3.connect(out / "gradebook.sqlite") as db:  # as a gradebook written by the previous grader
        db.execute("UPDATE attempts SET feedback = NULL WHERE student = 'ben'")
    page = (out / "feedback" / "ben" / "attempt-1.md").read_bytes()
    rows = edited(out, {("ben", "fr1"): {"points": "4"}})
    proc = review(bank, out, write_sheet(out.parent / "old.csv", rows))
    assert proc.returncode == 0, proc.stderr
    assert "the feedback of ben attempt 1 was written by an older grader and was not rewritten" in proc.stdout
    assert by_student(out / "grades.csv")["ben"]["score"] == "6"
    assert (out / "feedback" / "ben" / "attempt-1.md").read_bytes() == page
