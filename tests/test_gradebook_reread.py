"""The views written during a run come from what the gradebook holds at that moment, though it now keeps
each stored result parsed between two rewrites (issue 14: re-parsing every result on every rewrite was
most of the rewrite's time)."""
from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

from grader import parse_bank, score_answers
from grader.class_grades import write_views
from grader.gradebook import Gradebook

BANK = """\
id: reread
title: Reread quiz
source: original
questions:
  - id: q1
    type: single_choice
    prompt: One?
    options: [{text: a}, {text: b, correct: true}]
  - id: q2
    type: numeric
    prompt: How many?
    answer: 4
"""


@pytest.fixture()
def bank():
    return parse_bank(BANK)


def grades(out: Path) -> dict[str, dict[str, str]]:
    with (out / "grades.csv").open(newline="", encoding="utf-8") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def test_a_result_stored_again_shows_in_the_next_views(bank, tmp_path):
    book = Gradebook(tmp_path / "gradebook.sqlite")
    record = {"bank": bank, "student": "ana", "sha256": "f" * 64, "file": "ana.json", "reason": ""}
    book.record(result=score_answers(bank, {"q1": "A", "q2": 4}), **record)
    write_views(book, bank, tmp_path)
    assert (grades(tmp_path)["ana"]["q:q1"], grades(tmp_path)["ana"]["q:q2"]) == ("0", "1")
    book.record(result=score_answers(bank, {"q1": "B", "q2": 3}), **record)  # the same file graded again
    write_views(book, bank, tmp_path)
    assert (grades(tmp_path)["ana"]["q:q1"], grades(tmp_path)["ana"]["q:q2"]) == ("1", "0")
    assert [a.result["questions"][0]["points"] for a in book.students(bank)[0].attempts] == [1]
    book.close()


def test_a_result_changed_by_another_writer_is_read_again(bank, tmp_path):
    # the text is what counts, not the row: a result rewritten behind this gradebook's back is parsed anew
    book = Gradebook(tmp_path / "gradebook.sqlite")
    book.record(bank=bank, student="bo", sha256="e" * 64, file="bo.json", reason="",
                result=score_answers(bank, {"q1": "B", "q2": 4}))
    assert book.students(bank)[0].attempts[0].question_points() == {"q1": 1.0, "q2": 1.0}
    with sqlite3.connect(tmp_path / "gradebook.sqlite") as other:
        other.execute("UPDATE attempts SET result = replace(result, '\"points\": 1.0', '\"points\": 0.0')")
    assert book.students(bank)[0].attempts[0].question_points() == {"q1": 0.0, "q2": 0.0}
    with sqlite3.connect(tmp_path / "gradebook.sqlite") as other:
        other.execute("UPDATE attempts SET result = 'not json'")
    assert book.students(bank)[0].attempts[0].result is None
    book.close()
