"""Views of the gradebook: ``grades.csv`` (one row per student), ``attempts.csv`` and LMS grade files.

Every file here is written *whole* from :class:`grader.gradebook.Gradebook`, through a temporary
file and a rename, so a reader never sees half a file, a run that graded one late submission
never shrinks the class's table, and a torn write of an older version cannot outlive the next
run. ``python -m grader grades`` writes them again on demand.

Cells are hostile text (student ids, file names, reasons): each is made printable on one line and
quoted with a leading apostrophe when a spreadsheet would run it as a formula
(:func:`grader.reports.csv_text`).
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from .bank import Bank
from .gradebook import Attempt, Gradebook, StudentRecord
from .reports import csv_text
from .scoring.result import number_text

GRADES_COLUMNS = ["student", "score", "max_score", "percent", "passed", "name", "email", "attempts",
                  "counted_attempt", "latest_percent", "best_percent", "submitted_at", "late_penalty_percent",
                  "file", "sha256", "reason"]
"""grades.csv: the contract columns first (student, score, max_score, percent, passed: what stands by
the bank's attempt rules and late penalties), then who, which attempt counts and why."""

ATTEMPT_COLUMNS = ["student", "attempt", "score", "max_score", "raw_percent", "late_penalty_percent", "percent",
                   "submitted_at", "graded_at", "file", "sha256", "reason"]
"""attempts.csv: every recorded attempt, oldest first per student."""

LMS_FORMATS = ("canvas", "moodle")


def question_columns(bank: Bank) -> list[str]:
    return [f"q:{q.id}" for q in bank.questions]


def _number(value: float) -> str:
    """Points as feedback writes them (one number format everywhere: :func:`grader.scoring.result.number_text`)."""
    return _number_text(float(value))


_number_text = lru_cache(maxsize=4096)(number_text)
"""A class's cells hold few distinct numbers (points, maxima), and the views are rewritten every few seconds."""


def _percent(value: float) -> str:
    """Percents with two decimals, as grades.csv always wrote them."""
    return f"{value:.2f}"


def counted_score(record: StudentRecord, bank: Bank) -> float:
    """The points that stand: the counted attempt's own points when no penalty changed them (exact: 1 of 3
    stays 1, not 33.33 % of 3), else the counted percent of the bank's maximum, to two decimals."""
    assert record.summary is not None
    counted = record.counted
    percent = record.summary.counted_percent
    if counted is not None and abs(percent - round(counted.raw_percent, 2)) < 1e-9:
        return counted.score
    return round(percent * bank.max_score / 100.0, 2)


def grades_rows(records: Sequence[StudentRecord], bank: Bank) -> list[dict[str, str]]:
    """One row per student: what stands, with the counted attempt's per-question points.

    A roster student without any attempt gets a row with empty scores and the reason "no submission".
    """
    rows = []
    for record in records:
        row = {"student": record.id, "name": record.name, "email": record.email, "attempts": str(len(record.attempts))}
        counted = record.counted
        if record.summary is None or counted is None:
            row.update({"score": "", "max_score": _number(bank.max_score), "percent": "", "passed": "false",
                        "reason": "no submission"})
        else:
            summary = record.summary
            row.update({"score": _number(counted_score(record, bank)), "max_score": _number(bank.max_score),
                        "percent": _percent(summary.counted_percent), "passed": str(summary.passed).lower(),
                        "counted_attempt": str(counted.number), "latest_percent": _percent(summary.latest_percent or 0),
                        "best_percent": _percent(summary.best_percent or 0), "submitted_at": counted.submitted_at or "",
                        "late_penalty_percent": _number(counted.late_penalty_percent), "file": counted.file,
                        "sha256": counted.sha256, "reason": _reason(counted, summary.ignored_attempts)})
            row.update({f"q:{qid}": _number(points) for qid, points in counted.question_points().items()})
        rows.append(row)
    return rows


def _reason(attempt: Attempt, ignored: int) -> str:
    parts = [p for p in (attempt.reason, attempt.late_note) if p]
    if reviewed := sorted(qid for qid, o in attempt.overrides.items() if o.points is not None):
        parts.append(f"points of {', '.join(reviewed)} given by the instructor (review.csv)")
    if ignored:
        parts.append(f"{ignored} attempt(s) after the limit were recorded but not counted")
    return "; ".join(parts)


def attempt_rows(records: Sequence[StudentRecord]) -> list[dict[str, str]]:
    rows = []
    for record in records:
        for attempt in record.attempts:
            row = {"student": record.id, "attempt": str(attempt.number), "score": _number(attempt.score),
                   "max_score": _number(attempt.max_score), "raw_percent": _percent(attempt.raw_percent),
                   "late_penalty_percent": _number(attempt.late_penalty_percent), "percent": _percent(attempt.percent),
                   "submitted_at": attempt.submitted_at or "", "graded_at": attempt.graded_at, "file": attempt.file,
                   "sha256": attempt.sha256, "reason": _reason(attempt, 0)}
            row.update({f"q:{qid}": _number(points) for qid, points in attempt.question_points().items()})
            rows.append(row)
    return rows


def lms_rows(records: Sequence[StudentRecord], bank: Bank, lms: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a grade file the LMS imports (students without a submission are left out:
    an import must not overwrite a grade entered by hand with an empty cell).

    * ``canvas``: the Gradebook's "Import" CSV: ``Student, ID, SIS User ID, SIS Login ID, Section``
      then one column named after the assignment, and a ``Points Possible`` row. Canvas matches a
      row to a student by ID, SIS User ID or SIS Login ID: the roster's ``id`` is written as SIS User
      ID and its ``email`` as SIS Login ID (docs/autograding.md says how to build such a roster).
    * ``moodle``: "Import grades from CSV": ``ID number, Email address, Full name`` and the grade
      item column; on import, map "Email address" (or "ID number") to the matching user field and
      the grade column to the grade item.
    """
    item = f"{bank.title} ({bank.id})"
    graded = [r for r in records if r.summary is not None and r.counted is not None]
    if lms == "canvas":
        header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", item]
        rows = [["Points Possible", "", "", "", "", _number(bank.max_score)]]
        rows += [[r.name or r.id, "", r.id, r.email, "", _number(counted_score(r, bank))] for r in graded]
        return header, rows
    if lms == "moodle":
        header = ["ID number", "Email address", "Full name", item]
        return header, [[r.id, r.email, r.name or r.id, _number(counted_score(r, bank))] for r in graded]
    raise ValueError(f"unknown LMS grade format {lms!r} (known: {', '.join(LMS_FORMATS)})")


def csv_document(header: Sequence[str], rows: Sequence[Sequence[str]] | Sequence[dict[str, str]]) -> str:
    """A CSV document with every cell made safe (printable, one line, never a formula)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_text(h) for h in header])
    for row in rows:
        cells = [row.get(h, "") for h in header] if isinstance(row, dict) else list(row)
        writer.writerow([csv_text(str(c)) for c in cells])
    return buffer.getvalue()


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def write_views(gradebook: Gradebook, bank: Bank, out_dir: Path) -> list[Path]:
    """Rewrite ``grades.csv`` and ``attempts.csv`` in ``out_dir`` from the gradebook, and ``review.csv``
    (every free response, for the instructor's review: :mod:`grader.review`) when the bank has any."""
    from .review import write_review_sheet  # review builds on the writers here

    records = gradebook.students(bank)
    questions = question_columns(bank)
    written = [write_atomic(out_dir / "grades.csv", csv_document(GRADES_COLUMNS + questions, grades_rows(records, bank))),
               write_atomic(out_dir / "attempts.csv", csv_document(ATTEMPT_COLUMNS + questions, attempt_rows(records)))]
    sheet = write_review_sheet(gradebook, bank, out_dir, records=records)
    return written + ([sheet] if sheet is not None else [])


def write_lms(gradebook: Gradebook, bank: Bank, lms: str, path: Path) -> Path:
    """Write the LMS grade file ``lms`` (:data:`LMS_FORMATS`) for ``bank`` to ``path``."""
    header, rows = lms_rows(gradebook.students(bank), bank, lms)
    return write_atomic(path, csv_document(header, rows))
