"""The review sheet of free responses (``DIR/review.csv``) and its import: manual grading, file-based.

The concept check reads free responses for a student's self-check; whether an explanation earns
points is an instructor's call. ``grade`` (and ``grades``) write every free response of the gradebook
to ``review.csv`` with what the check found; the instructor opens it in a spreadsheet, fills in
``points`` and ``comment`` where they disagree, and ``python -m grader review --import review.csv``
brings them back into the gradebook as overrides (:mod:`grader.overrides`), like nbgrader's
formgrader, with a file in place of a web page.

**Layout: one row per answer** (student, attempt, free-response question), because an answer is
what an instructor grades: one ``points`` cell per decision, so a row can never say two things; a
sheet sorted or filtered by question reads as "all answers to fr1"; and the import's key is the row.
One row per concept would repeat the points cell over each concept's row (which one counts?).
The concepts sit beside the answer instead: ``concepts`` ("3/4" found), then ``found``,
``contradicted`` and ``missing`` (the concepts' labels, "; " between them) and ``evidence``, each
credited or contradicted concept with the student's sentence that decided it
(``label: «sentence»``, " | " between them; a contradiction also says what gave it away). The
editable ``points`` and ``comment`` come right after ``auto_points``, before the long text, so they
stay on screen; ``answer`` (the full answer, one line) comes last but for ``submitted_at`` and
``sha256``. Concepts judged by keywords only (no :class:`~grader.scoring.result.ConceptCheck`
recorded) list the labels found and missing, without evidence.

**Import** checks the whole file before changing anything and reports every problem with its row
and column, as the spreadsheet numbers them (the header is row 1). ``student``, ``attempt``,
``question``, ``points`` and ``comment`` are required; ``sha256`` and ``answer`` are checked when
present, so a row pasted beside another student's answer, or kept from a gradebook graded again
with other files, is refused rather than credited to the wrong work. ``points`` is a number from 0
to the question's points (a decimal comma is read too); empty keeps the automatic points (and
removes an earlier override); a question worth 0 points takes a comment only. Rows left out of the
file keep their overrides. Then the attempts are recomputed (late penalty again), the views, the
LMS files already there and this sheet are written again, and each changed attempt's feedback
shows the instructor's points and comment (:mod:`grader.attempt_feedback`).

Cells are written by :func:`grader.class_grades.csv_document` (printable, one line, never a
formula); on import a leading apostrophe that quoted a formula is taken off again, so a comment
round-trips unchanged and stays quoted on every export.
"""
from __future__ import annotations

import csv
import itertools
import math
import os
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .bank import Bank
from .class_grades import (
    LMS_FORMATS,
    csv_document,
    write_atomic,
    write_lms,
    write_views,
)
from .gradebook import Attempt, Gradebook, StudentRecord
from .overrides import Override
from .reports import FORMULA_START
from .safetext import path_text, printable
from .scoring.result import answer_text, number_text

__all__ = ["COLUMNS", "SHEET_NAME", "ImportReport", "ReviewSheetError", "check_review_sheet", "export_review",
           "import_review", "import_review_sheet", "review_rows", "write_review_sheet"]

SHEET_NAME = "review.csv"
COLUMNS = ["student", "name", "attempt", "question", "max_points", "auto_points", "points", "comment", "concepts",
           "found", "contradicted", "missing", "evidence", "answer", "submitted_at", "sha256"]
REQUIRED = ("student", "attempt", "question", "points", "comment")
MAX_SHEET_BYTES = 32 * 1024 * 1024
"""A sheet larger than this is refused before it is read. The sheet of a class of 500 with three
attempts and two free responses of 2 000 characters each is about 7 MB."""
MAX_HEADER_CHARS = 10_000
MAX_ANSWER_CHARS = 30_000
"""Characters of an answer in its cell: spreadsheets hold at most 32 767 per cell (Excel, LibreOffice)
and cut the rest silently, which would then read as an edited answer."""
MAX_COMMENT_CHARS = 2_000
MAX_PROBLEMS = 100
"""Problems listed one by one; the rest are counted (a wrong file must not print a million lines)."""
FREE_RESPONSE = "free_response"


class ReviewSheetError(Exception):
    """The sheet cannot be imported; ``problems`` says where and why, one located message each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Change:
    """One row's decision for one answer; ``override`` None removes the answer's earlier override."""

    student: str
    sha256: str
    attempt: int
    question_id: str
    override: Override | None


@dataclass
class ImportReport:
    """What an import changed."""

    sheet: Path
    rows: int = 0
    stored: int = 0
    """Overrides added or changed."""
    removed: int = 0
    unchanged: int = 0
    attempts: list[tuple[str, int]] = field(default_factory=list)
    """(student, attempt number) of every attempt whose overrides changed."""
    feedback_kept: list[tuple[str, int]] = field(default_factory=list)
    """Changed attempts whose feedback could not be written again (graded by an older grader)."""
    written: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"imported {self.sheet.name}: {self.rows} row(s), {self.stored} override(s) stored, {self.removed} "
                f"removed, {self.unchanged} unchanged; {len(self.attempts)} attempt(s) recomputed")
        if self.feedback_kept:
            kept = ", ".join(f"{s} attempt {n}" for s, n in self.feedback_kept[:10])
            text += (f"\nnote: the feedback of {kept} was written by an older grader and was not rewritten; "
                     "grade those files again to show the review in it")
        return text


# --- the sheet -----------------------------------------------------------------------------------

def _free_responses(bank: Bank) -> dict[str, Any]:
    return {q.id: q for q in bank.questions if q.type == FREE_RESPONSE}


def _answer_cell(answer: Any) -> str:
    """The answer as one bounded cell (the gradebook keeps the answer as understood; None when none)."""
    if answer is None:
        return ""
    text = printable(answer if isinstance(answer, str) else answer_text(answer), one_line=True)
    return text if len(text) <= MAX_ANSWER_CHARS else text[:MAX_ANSWER_CHARS] + "…"


def _quote(text: str) -> str:
    return f"«{printable(text, one_line=True)}»"


def concept_cells(question: Mapping[str, Any]) -> dict[str, str]:
    """``concepts``, ``found``, ``contradicted``, ``missing`` and ``evidence`` of one stored free-response
    result: from its concept verdicts when the check recorded them, else from the labels found and missed."""
    checks = [c for c in question.get("concepts") or [] if isinstance(c, Mapping)]
    if checks:
        by_state = {state: [str(c.get("label", c.get("id", ""))) for c in checks if c.get("state") == state]
                    for state in ("found", "contradicted", "missing")}
        evidence = []
        for check in checks:
            if check.get("state") == "missing" or not check.get("evidence"):
                continue
            line = f"{check.get('label', check.get('id', ''))}"
            if check.get("state") == "contradicted":
                line += " (contradicted" + (f": {check['why']}" if check.get("why") else "") + ")"
            evidence.append(f"{line}: {_quote(str(check['evidence']))}")
        found, total = len(by_state["found"]), len(checks)
    else:
        by_state = {"found": [str(x) for x in question.get("found_concepts") or []], "contradicted": [],
                    "missing": [str(x) for x in question.get("missed_concepts") or []]}
        evidence = []
        found, total = len(by_state["found"]), len(by_state["found"]) + len(by_state["missing"])
    cells = {state: "; ".join(labels) for state, labels in by_state.items()}
    return {"concepts": f"{found}/{total}" if total else "", **cells, "evidence": " | ".join(evidence)}


def review_rows(records: Sequence[StudentRecord], bank: Bank) -> list[dict[str, str]]:
    """One row per (student, attempt, free-response question of ``bank``), students and attempts in
    order, questions in the bank's order; an attempt that could not be graded has no answers to review."""
    questions = _free_responses(bank)
    rows = []
    for record in records:
        for attempt in record.attempts:
            for stored in (attempt.result or {}).get("questions", []):
                if not isinstance(stored, Mapping) or stored.get("id") not in questions:
                    continue
                override = attempt.overrides.get(stored["id"])
                points = "" if override is None or override.points is None else number_text(override.points)
                row = {"student": record.id, "name": record.name, "attempt": str(attempt.number),
                       "question": stored["id"], "max_points": number_text(float(stored.get("max_points", 0))),
                       "auto_points": number_text(float(stored.get("points", 0))), "points": points,
                       "comment": override.comment if override is not None else "",
                       "answer": _answer_cell(stored.get("answer")), "submitted_at": attempt.submitted_at or "",
                       "sha256": attempt.sha256}
                row.update(concept_cells(stored))
                rows.append(row)
    return rows


def write_review_sheet(gradebook: Gradebook, bank: Bank, out_dir: str | Path, *,
                       records: Sequence[StudentRecord] | None = None) -> Path | None:
    """Write ``DIR/review.csv`` whole from the gradebook (the instructor's overrides filled in); None,
    and nothing written, when the bank has no free-response question. ``records``: the gradebook's
    students when the caller has just read them."""
    if not _free_responses(bank):
        return None
    records = gradebook.students(bank) if records is None else records
    return write_atomic(Path(out_dir) / SHEET_NAME, csv_document(COLUMNS, review_rows(records, bank)))


# --- reading a sheet back ------------------------------------------------------------------------

def _unquote(cell: str) -> str:
    """A cell as the instructor meant it: trimmed, and without the apostrophe the export put before a formula."""
    text = cell.strip()
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def _shown(cell: str, limit: int = 40) -> str:
    text = printable(cell, one_line=True)
    return '"' + (text if len(text) <= limit else text[:limit] + "…") + '"'


def _same_text(given: str, expected: str) -> bool:
    """Whether a cell still holds the exported text, forgiving what spreadsheets change on the way
    (the formula apostrophe, runs of spaces, spaces at the ends)."""
    def norm(text: str) -> str:
        return re.sub(r"\s+", " ", _unquote(text)).strip()
    return norm(given) == norm(expected)


def _records(sheet: Path) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) of each record, the header first as row 1; streamed, so memory
    stays bounded by one row. Raises :class:`ReviewSheetError` for a file that cannot be a sheet."""
    name = path_text(sheet)
    try:
        info = os.stat(sheet)
    except OSError as exc:
        raise ReviewSheetError([f"{name}: cannot be read ({exc.strerror or exc})"]) from None
    if not stat.S_ISREG(info.st_mode):
        raise ReviewSheetError([f"{name}: not a regular file"])
    if info.st_size > MAX_SHEET_BYTES:
        raise ReviewSheetError([(f"{name}: {info.st_size / 2**20:.1f} MiB is more than a review sheet may hold "
                                f"({MAX_SHEET_BYTES // 2**20} MiB); is it the right file? Import only the rows "
                                "you changed, or split the sheet")])
    number = 0
    try:
        with open(sheet, encoding="utf-8-sig", newline="", errors="strict") as handle:
            first = handle.readline(MAX_HEADER_CHARS)
            counts = {d: first.count(d) for d in (",", ";", "\t")}  # a spreadsheet set to a comma-decimal locale writes ';'
            reader = csv.reader(itertools.chain([first], handle), delimiter=max(counts, key=lambda d: counts[d]))
            for number, cells in enumerate(reader, start=1):
                yield number, cells
    except UnicodeDecodeError:
        raise ReviewSheetError([(f"{name}: row {number + 1}: not UTF-8 text; save the sheet as \"CSV UTF-8\" and "
                                "import it again")]) from None
    except csv.Error as exc:
        raise ReviewSheetError([f"{name}: row {number + 1}: not CSV ({exc}); the rest of the file was not read"]) from None


@dataclass
class _Index:
    """What the rows are checked against: the gradebook's attempts and the bank's free responses."""

    bank: Bank
    attempts: dict[str, dict[int, Attempt]]
    questions: dict[str, Any]

    @classmethod
    def of(cls, gradebook: Gradebook, bank: Bank) -> _Index:
        return cls(bank, {r.id: {a.number: a for a in r.attempts} for r in gradebook.students(bank) if r.attempts},
                   _free_responses(bank))

    def holds(self, student: str, attempt: str, question_id: str) -> bool:
        """Whether the gradebook has this answer to review (the key cells as written in a row)."""
        return (question_id in self.questions and attempt.isdigit() and len(attempt) < 10
                and int(attempt) in self.attempts.get(student, {}))


def _points(cell: str, question_id: str, max_points: float) -> tuple[float | None, str | None]:
    """The points a cell gives (None: keep the automatic ones) or what is wrong with it."""
    text = _unquote(cell)
    if not text:
        return None, None
    if re.fullmatch(r"[+-]?\d+,\d+", text):
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None, f"{_shown(cell)} is not a number"
    if not math.isfinite(value):
        return None, f"{_shown(cell)} is not a finite number"
    if max_points <= 0:
        if value == 0:
            return None, None
        return None, f"{question_id} is worth 0 points in the bank; give it points in the bank to grade it"
    if not -1e-9 <= value <= max_points + 1e-9:
        return None, f"{_shown(cell)} is outside 0..{number_text(max_points)}, the points {question_id} is worth"
    return round(min(max(value, 0.0), max_points), 4), None


def _check_row(cells: Mapping[str, str], index: _Index) -> tuple[Change | None, list[tuple[str, str]]]:
    """One row's change, or its problems as (column, message)."""
    problems: list[tuple[str, str]] = []
    student = _unquote(cells["student"])
    attempts = index.attempts.get(student)
    if attempts is None:
        problems.append(("student", f"no student {_shown(student)} has an attempt at {index.bank.id} in the gradebook"))
    attempt: Attempt | None = None
    attempt_text = _unquote(cells["attempt"])
    if not re.fullmatch(r"\d{1,9}", attempt_text):
        problems.append(("attempt", f"{_shown(attempt_text)} is not an attempt number"))
    elif attempts is not None:
        attempt = attempts.get(int(attempt_text))
        if attempt is None:
            problems.append(("attempt", f"{student} has no attempt {int(attempt_text)} (attempts 1..{len(attempts)})"))
        elif not attempt.result:
            problems.append(("attempt", (f"attempt {attempt.number} of {student} could not be graded: "
                                        "it has no answers to review")))
            attempt = None
    question_id = _unquote(cells["question"])
    if question_id not in index.questions:
        what = "not a free-response question" if question_id in index.bank.question_ids else "not a question"
        problems.append(("question", f"{_shown(question_id)} is {what} of {index.bank.id}"))
        return None, problems
    if attempt is None:
        return None, problems
    stored = next((q for q in attempt.result["questions"] if isinstance(q, Mapping) and q.get("id") == question_id), None)
    if stored is None:
        problems.append(("question", (f"attempt {attempt.number} of {student} was graded without {question_id}; "
                                     "grade it again against this bank first")))
        return None, problems
    sha = _unquote(cells.get("sha256", ""))
    if sha and sha != attempt.sha256:
        problems.append(("sha256", (f"this row was exported for another file than attempt {attempt.number} of "
                                   f"{student} (the gradebook holds {attempt.sha256[:12]}…); export the sheet again")))
    if "answer" in cells and not _same_text(cells["answer"], _answer_cell(stored.get("answer"))):
        problems.append(("answer", (f"not the answer of {student}'s attempt {attempt.number} to {question_id} in the "
                                   "gradebook (edited, or moved from another row?); export the sheet again")))
    points, wrong = _points(cells["points"], question_id, float(stored.get("max_points", 0)))
    if wrong:
        problems.append(("points", wrong))
    comment = printable(_unquote(cells["comment"]), one_line=True)
    if len(comment) > MAX_COMMENT_CHARS:
        problems.append(("comment", f"{len(comment):,} characters; a comment may have at most {MAX_COMMENT_CHARS:,}"))
    if problems:
        return None, problems
    override = Override(question_id, points, comment) if points is not None or comment else None
    return Change(student, attempt.sha256, attempt.number, question_id, override), []


def check_review_sheet(sheet: str | Path, gradebook: Gradebook, bank: Bank) -> tuple[list[Change], int]:
    """Every row's change and the number of rows, or :class:`ReviewSheetError` with every problem of the file."""
    sheet = Path(sheet)
    name = path_text(sheet)
    index = _Index.of(gradebook, bank)
    problems: list[str] = []
    hidden = 0
    changes: list[Change] = []
    seen: dict[tuple[str, str, str], int] = {}
    columns: dict[str, int] = {}
    rows = 0

    def problem(text: str) -> None:
        nonlocal hidden
        if len(problems) < MAX_PROBLEMS:
            problems.append(text)
        else:
            hidden += 1

    for number, cells in _records(sheet):
        if number == 1:
            header = [printable(c, one_line=True).strip().lower() for c in cells]
            columns = {h: i for i, h in reversed(list(enumerate(header))) if h}
            twice = sorted({h for h in header if h and header.count(h) > 1})
            missing = [c for c in REQUIRED if c not in columns]
            if twice or missing:
                raise ReviewSheetError([f"{name}: row 1: " + "; ".join(
                    ([f"column(s) given twice: {', '.join(twice)}"] if twice else [])
                    + ([f"missing column(s): {', '.join(missing)} (export the sheet with `python -m grader review`)"]
                       if missing else []))])
            continue
        if not any(c.strip() for c in cells):
            continue
        rows += 1
        values = {c: (cells[i] if i < len(cells) else "") for c, i in columns.items()}
        attempt = _unquote(values["attempt"])
        key = (_unquote(values["student"]), attempt.lstrip("0") or attempt, _unquote(values["question"]))
        if key in seen:  # whether or not either row is right: which of the two was meant?
            problem(f"{name}: row {number}: the same answer as row {seen[key]} ({key[0]}, attempt {key[1]}, "
                    f"{key[2]}); keep one of the two rows")
            continue
        if index.holds(*key):  # only answers the gradebook has: bounds the memory whatever the file holds
            seen[key] = number
        change, found = _check_row(values, index)
        for column, message in found:
            problem(f"{name}: row {number}, {column}: {message}")
        if change is not None:
            changes.append(change)
    if not columns:
        raise ReviewSheetError([f"{name}: empty; export the sheet with `python -m grader review` first"])
    if problems:
        raise ReviewSheetError(problems + ([f"… and {hidden} more problem(s)"] if hidden else []))
    return changes, rows


def import_review_sheet(*, gradebook: Gradebook, bank: Bank, out_dir: str | Path, sheet: str | Path,
                        now: datetime | None = None) -> ImportReport:
    """Check ``sheet`` whole, then store its overrides and write again everything they change: the
    attempts' scores, the grade views, the LMS files already in ``out_dir``, the review sheet and the
    changed attempts' feedback (key shown as the bank's ``show_key`` allows at ``now``).

    Raises :class:`ReviewSheetError` (nothing changed) when any row is wrong. The caller holds the
    folder's lock (:class:`grader.outlock.FolderLock`).
    """
    from .attempt_feedback import rewrite_feedback

    out_dir = Path(out_dir)
    changes, rows = check_review_sheet(sheet, gradebook, bank)
    report = ImportReport(Path(sheet), rows=rows)
    before = {(r.id, a.sha256): a.overrides for r in gradebook.students(bank) for a in r.attempts}
    effective = []
    for change in changes:
        old = before.get((change.student, change.sha256), {}).get(change.question_id)
        new = change.override
        if (old is None and new is None) or (old is not None and new is not None
                                             and (old.points, old.comment) == (new.points, new.comment)):
            report.unchanged += 1
            continue
        report.removed += new is None
        report.stored += new is not None
        effective.append(change)
    gradebook.save_overrides(bank.id, [(c.student, c.sha256, c.question_id, c.override) for c in effective])
    touched = sorted({(c.student, c.sha256) for c in effective})
    by_key = {(r.id, a.sha256): a for r in gradebook.students(bank) for a in r.attempts}
    for student, sha in touched:
        attempt = by_key[(student, sha)]
        report.attempts.append((student, attempt.number))
        if not rewrite_feedback(bank=bank, out_dir=out_dir, student=student, attempt=attempt.number, file=attempt.file,
                                stored_result=attempt.result, reason=attempt.reason,
                                summary=gradebook.summary(bank, student),
                                stored_inputs=gradebook.feedback_inputs(bank.id, student, sha),
                                overrides=attempt.overrides, now=now):
            report.feedback_kept.append((student, attempt.number))
    report.written = write_views(gradebook, bank, out_dir)
    for lms in LMS_FORMATS:  # a grade file left as it was would hand the LMS the points before the review
        if (out_dir / f"grades-{lms}.csv").is_file():
            report.written.append(write_lms(gradebook, bank, lms, out_dir / f"grades-{lms}.csv"))
    return report


# --- the workflows behind `python -m grader review` -----------------------------------------------

def _open(out_dir: Path) -> Gradebook:
    from .errors import UserError

    if not (out_dir / "gradebook.sqlite").is_file():
        raise UserError(f"{out_dir} has no gradebook.sqlite: grade into it first (python -m grader grade --out {out_dir} ...)")
    return Gradebook(out_dir / "gradebook.sqlite")


def export_review(*, bank: Bank, out_dir: str | Path) -> Path:
    """Write ``DIR/review.csv`` (as ``grade`` does at its end); UserError when there is nothing to review."""
    from .errors import UserError
    from .outlock import FolderLock

    out_dir = Path(out_dir)
    if not _free_responses(bank):
        raise UserError(f"{bank.id} has no free-response question: there is nothing to review")
    with FolderLock(out_dir, purpose="writing the review sheet"):
        gradebook = _open(out_dir)
        try:
            path = write_review_sheet(gradebook, bank, out_dir)
        finally:
            gradebook.close()
    assert path is not None
    return path


def import_review(*, bank: Bank, out_dir: str | Path, sheet: str | Path, now: datetime | None = None) -> ImportReport:
    """Import an edited review sheet into ``DIR``'s gradebook (:func:`import_review_sheet`), holding the
    folder's lock. Raises :class:`ReviewSheetError` (nothing changed) when any row is wrong."""
    from .errors import UserError
    from .outlock import FolderLock

    out_dir = Path(out_dir)
    if not Path(sheet).exists():
        raise UserError(f"no such file: {path_text(sheet)}")
    with FolderLock(out_dir, purpose="importing a review sheet"):
        gradebook = _open(out_dir)
        try:
            return import_review_sheet(gradebook=gradebook, bank=bank, out_dir=out_dir, sheet=sheet, now=now)
        finally:
            gradebook.close()
