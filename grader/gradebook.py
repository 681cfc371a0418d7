"""The gradebook: every graded attempt of every student, in SQLite (``DIR/gradebook.sqlite``).

It is the source of truth of a grading folder: ``grades.csv``, ``attempts.csv`` and the LMS grade
files are views written whole from it (:mod:`grader.class_grades`), so a run that grades one late
file never shrinks the class's table, and a crash between two writes loses nothing (SQLite commits
each attempt). Attempts accumulate across runs, so the bank's attempt limit and keep rule
(:func:`grader.scoring.attempts.summarize_attempts`) see a student's whole history. Grading the same
file content again (same SHA-256) updates that attempt instead of adding one: re-running the grader
after fixing a bank must not use up a student's attempts.

Each attempt keeps its raw percent, the late penalty applied to it (:mod:`grader.scoring.late`) and
the percent that results; the keep rule works on the latter. The roster (``--roster``) is stored
too, so later exports know every student's name and e-mail without being given it again.

An instructor's points for an answer (imported from the review sheet, :mod:`grader.review`) live in
table ``overrides``, keyed by the file's SHA-256 like the attempt itself; ``result`` keeps the
automatic verdict and the attempt's score and percents are the automatic points with the overrides
laid over them (:func:`grader.overrides.totals`), recomputed whenever either changes, so grading the
same file again re-applies an override instead of dropping it. Column ``feedback`` keeps what the
attempt's feedback files are written from besides the result (:mod:`grader.attempt_feedback`), so an
import can write them again.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .bank import Bank
from .overrides import Override, effective_points, totals
from .safetext import printable
from .scoring import QuizResult
from .scoring.attempts import AttemptSummary, summarize_attempts

SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_id    TEXT NOT NULL,
    student    TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    file       TEXT NOT NULL,
    graded_at  TEXT NOT NULL,
    score      REAL NOT NULL,
    max_score  REAL NOT NULL,
    percent    REAL NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    result     TEXT NOT NULL,
    UNIQUE (bank_id, student, sha256)
);
CREATE INDEX IF NOT EXISTS attempts_by_student ON attempts (bank_id, student, id);
CREATE TABLE IF NOT EXISTS students (
    id     TEXT PRIMARY KEY,
    name   TEXT NOT NULL DEFAULT '',
    email  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS overrides (
    bank_id      TEXT NOT NULL,
    student      TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    question_id  TEXT NOT NULL,
    points       REAL,
    comment      TEXT NOT NULL DEFAULT '',
    imported_at  TEXT NOT NULL,
    PRIMARY KEY (bank_id, student, sha256, question_id)
);
"""

ADDED_COLUMNS = {
    "raw_percent": "REAL",
    "late_penalty_percent": "REAL NOT NULL DEFAULT 0",
    "submitted_at": "TEXT",
    "time_source": "TEXT NOT NULL DEFAULT ''",
    "late_note": "TEXT NOT NULL DEFAULT ''",
    "feedback": "TEXT",
}
"""Columns added after the first release: a gradebook written by an older grader gets them on open."""

RESULTS_KEPT = 2_000
"""Attempts whose parsed result a :class:`Gradebook` keeps between two :meth:`Gradebook.students` calls
(about 35 KB each). Grading rewrites the views every few seconds from the whole gradebook, and parsing
every stored result again was most of that rewrite's time."""


@dataclass(frozen=True)
class Attempt:
    """One stored attempt, as the views need it."""

    number: int
    """1-based position among the student's attempts at this bank."""
    student: str
    sha256: str
    file: str
    graded_at: str
    submitted_at: str | None
    score: float
    max_score: float
    raw_percent: float
    late_penalty_percent: float
    percent: float
    """After the late penalty: what the keep rule sees."""
    reason: str
    late_note: str
    result: dict[str, Any] | None
    """The automatic result, as the scorer gave it (overrides are not in it). Read it, never change it:
    the gradebook hands the same parsed dict to later calls while the stored text is unchanged."""
    overrides: Mapping[str, Override] = field(default_factory=dict)
    """The instructor's overrides of this attempt, by question id."""

    def question_points(self) -> dict[str, float]:
        """Points per question id of this attempt, the instructor's where given (empty when it could not be graded)."""
        if not self.result:
            return {}
        return {q["id"]: effective_points(float(q["points"]), float(q.get("max_points", q["points"])),
                                          self.overrides.get(q["id"]))
                for q in self.result.get("questions", []) if isinstance(q, dict) and "id" in q and "points" in q}


@dataclass(frozen=True)
class StudentRecord:
    """A student of the roster or of the gradebook, with every attempt at one bank."""

    id: str
    name: str
    email: str
    attempts: list[Attempt]
    summary: AttemptSummary | None
    """None when the student has no attempt."""

    @property
    def counted(self) -> Attempt | None:
        """The attempt whose percent stands by the bank's keep rule (None without attempts)."""
        if self.summary is None or not self.summary.adjusted_percents:
            return None
        percents = self.summary.adjusted_percents
        target = self.summary.counted_percent
        # keep: latest -> the last counted attempt; highest -> the first attempt reaching the best
        index = len(percents) - 1 if percents[-1] == target else percents.index(target)
        return self.attempts[index]


class Gradebook:
    """A thin wrapper over one SQLite file; use from one thread (the grading loop's)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._db = sqlite3.connect(self.path)
        self._results: dict[int, tuple[tuple[int, int], dict[str, Any] | None]] = {}
        """Attempt id → (hash and length of its stored result text, that text parsed)."""
        self._db.executescript(SCHEMA)
        have = {row[1] for row in self._db.execute("PRAGMA table_info(attempts)")}
        for name, kind in ADDED_COLUMNS.items():
            if name not in have:
                self._db.execute(f"ALTER TABLE attempts ADD COLUMN {name} {kind}")
        self._db.commit()

    def record(self, *, bank: Bank, student: str, sha256: str, file: str, result: QuizResult | None,
               reason: str, submitted_at: datetime | None = None, time_source: str = "",
               late_penalty_percent: float = 0.0, late_note: str = "", refused: bool = False,
               feedback: str | None = None) -> AttemptSummary:
        """Store (or update) this attempt and return the student's attempt summary after it.

        ``late_penalty_percent`` is the share of the attempt's own percent lost to lateness;
        ``refused`` (after the bank's cut-off) stores the attempt with 0 %. ``result`` is the automatic
        result; the instructor's overrides of this file (same SHA-256) are laid over it for the score.
        ``feedback`` (JSON) is what its feedback files are written from besides the result.
        """
        student = _text(student)  # a lone surrogate cannot be stored (it is not UTF-8)
        score, raw = 0.0, 0.0
        if result is not None:
            score, raw = totals(((q.id, q.points, q.max_points) for q in result.questions), result.max_score,
                                self.overrides(bank.id, student, sha256))
        percent = 0.0 if refused else round(max(0.0, raw * (1.0 - late_penalty_percent / 100.0)), 2)
        payload = json.dumps(result.to_dict() if result is not None else None, default=str)
        self._db.execute(
            "INSERT INTO attempts (bank_id, student, sha256, file, graded_at, score, max_score, percent, reason, result,"
            " raw_percent, late_penalty_percent, submitted_at, time_source, late_note, feedback)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (bank_id, student, sha256) DO UPDATE SET file = excluded.file, graded_at = excluded.graded_at,"
            " score = excluded.score, max_score = excluded.max_score, percent = excluded.percent,"
            " reason = excluded.reason, result = excluded.result, raw_percent = excluded.raw_percent,"
            " late_penalty_percent = excluded.late_penalty_percent, submitted_at = excluded.submitted_at,"
            " time_source = excluded.time_source, late_note = excluded.late_note, feedback = excluded.feedback",
            (bank.id, student, sha256, _text(file), _now(),
             score, result.max_score if result is not None else bank.max_score,
             percent, printable(reason), payload, raw, 100.0 if refused else float(late_penalty_percent),
             submitted_at.astimezone(timezone.utc).isoformat(timespec="seconds") if submitted_at else None,
             _text(time_source), printable(late_note), feedback))
        self._db.commit()
        return self.summary(bank, student)

    def overrides(self, bank_id: str, student: str, sha256: str) -> dict[str, Override]:
        """The instructor's overrides of one attempt (by its file's SHA-256), by question id."""
        rows = self._db.execute("SELECT question_id, points, comment, imported_at FROM overrides"
                                " WHERE bank_id = ? AND student = ? AND sha256 = ?", (bank_id, _text(student), sha256))
        return {row[0]: Override(*row) for row in rows}

    def save_overrides(self, bank_id: str, changes: Iterable[tuple[str, str, str, Override | None]]) -> None:
        """Apply ``(student, sha256, question_id, override)`` changes and recompute the attempts they
        touch, in one transaction: an override is stored (replacing an earlier one), None removes that
        question's override."""
        now = _now()
        touched = set()
        with self._db:  # all or nothing: an import never leaves half its rows, or stale scores, stored
            for student, sha256, question_id, override in changes:
                touched.add((_text(student), sha256))
                key = (bank_id, _text(student), sha256, question_id)
                if override is None:
                    self._db.execute("DELETE FROM overrides WHERE bank_id = ? AND student = ? AND sha256 = ?"
                                     " AND question_id = ?", key)
                    continue
                self._db.execute(
                    "INSERT INTO overrides (bank_id, student, sha256, question_id, points, comment, imported_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (bank_id, student, sha256, question_id) DO UPDATE"
                    " SET points = excluded.points, comment = excluded.comment, imported_at = excluded.imported_at",
                    (*key, override.points, printable(override.comment, one_line=True), now))
            for student, sha256 in sorted(touched):
                self._rescore(bank_id, student, sha256)

    def _rescore(self, bank_id: str, student: str, sha256: str) -> None:
        """Recompute one attempt's score and percents from its automatic result and its overrides (no
        commit); the late penalty stored with it is applied again to the new raw percent
        (:func:`grader.scoring.late.apply_late`)."""
        from .scoring.late import Lateness, apply_late

        row = self._db.execute("SELECT result, max_score, late_penalty_percent FROM attempts"
                               " WHERE bank_id = ? AND student = ? AND sha256 = ?", (bank_id, student, sha256)).fetchone()
        if row is None:
            return
        try:
            result = json.loads(row[0])
        except ValueError:
            result = None
        if not isinstance(result, dict):
            return
        questions = [(q["id"], float(q["points"]), float(q.get("max_points", q["points"])))
                     for q in result.get("questions", []) if isinstance(q, dict) and "id" in q and "points" in q]
        score, raw = totals(questions, float(row[1]), self.overrides(bank_id, student, sha256))
        percent = apply_late(raw, Lateness(None, float(row[2]), False, ""))
        self._db.execute("UPDATE attempts SET score = ?, raw_percent = ?, percent = ?"
                         " WHERE bank_id = ? AND student = ? AND sha256 = ?", (score, raw, percent, bank_id, student, sha256))

    def feedback_inputs(self, bank_id: str, student: str, sha256: str) -> str | None:
        """The JSON its feedback files were written from (None for an attempt graded before it was kept)."""
        row = self._db.execute("SELECT feedback FROM attempts WHERE bank_id = ? AND student = ? AND sha256 = ?",
                               (bank_id, _text(student), sha256)).fetchone()
        return row[0] if row is not None else None

    def has(self, bank_id: str, student: str, sha256: str) -> bool:
        """Whether this content is already recorded as an attempt of ``student`` (for ``--resume``)."""
        row = self._db.execute("SELECT 1 FROM attempts WHERE bank_id = ? AND student = ? AND sha256 = ?",
                               (bank_id, _text(student), sha256)).fetchone()
        return row is not None

    def students_with(self, bank_id: str, sha256: str) -> list[str]:
        """Students with an attempt of exactly this content (to flag identical work across runs)."""
        rows = self._db.execute("SELECT DISTINCT student FROM attempts WHERE bank_id = ? AND sha256 = ? ORDER BY student",
                                (bank_id, sha256))
        return [row[0] for row in rows]

    def percents(self, bank_id: str, student: str) -> list[float]:
        """The student's attempt percents (after late penalties), oldest first."""
        rows = self._db.execute("SELECT percent FROM attempts WHERE bank_id = ? AND student = ? ORDER BY id",
                                (bank_id, _text(student)))
        return [row[0] for row in rows]

    def attempt_number(self, bank_id: str, student: str, sha256: str) -> int:
        """1-based position of this content among the student's attempts (0 when not recorded)."""
        rows = self._db.execute("SELECT sha256 FROM attempts WHERE bank_id = ? AND student = ? ORDER BY id",
                                (bank_id, _text(student))).fetchall()
        return next((i + 1 for i, (sha,) in enumerate(rows) if sha == sha256), 0)

    def summary(self, bank: Bank, student: str) -> AttemptSummary:
        return summarize_attempts(bank, self.percents(bank.id, student))

    def set_roster(self, entries: Iterable[tuple[str, str, str]]) -> None:
        """Store (id, name, email) of every roster entry, replacing what an earlier roster said of them."""
        self._db.executemany("INSERT INTO students (id, name, email) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE"
                             " SET name = excluded.name, email = excluded.email",
                             [(_text(i), _text(n), _text(e)) for i, n, e in entries])
        self._db.commit()

    def students(self, bank: Bank) -> list[StudentRecord]:
        """Every student of the roster and every student with an attempt at ``bank``, sorted by id."""
        roster = {row[0]: (row[1], row[2]) for row in self._db.execute("SELECT id, name, email FROM students")}
        by_student: dict[str, list[Attempt]] = {}
        overrides: dict[tuple[str, str], dict[str, Override]] = {}
        for row in self._db.execute("SELECT student, sha256, question_id, points, comment, imported_at FROM overrides"
                                    " WHERE bank_id = ?", (bank.id,)):
            overrides.setdefault((row[0], row[1]), {})[row[2]] = Override(*row[2:])
        rows = self._db.execute(
            "SELECT student, sha256, file, graded_at, submitted_at, score, max_score,"
            " COALESCE(raw_percent, percent), late_penalty_percent, percent, reason, late_note, result, id"
            " FROM attempts WHERE bank_id = ? ORDER BY id", (bank.id,))
        for row in rows:
            attempts = by_student.setdefault(row[0], [])
            attempts.append(Attempt(len(attempts) + 1, *row[:12], self._parsed_result(row[13], row[12]),
                                    overrides.get((row[0], row[1]), {})))
        records = []
        for student in sorted(set(roster) | set(by_student)):
            attempts = by_student.get(student, [])
            name, email = roster.get(student, ("", ""))
            summary = summarize_attempts(bank, [a.percent for a in attempts]) if attempts else None
            records.append(StudentRecord(student, name, email, attempts, summary))
        return records

    def _parsed_result(self, attempt_id: int, text: str) -> dict[str, Any] | None:
        """An attempt's stored result as a dict (None when unreadable), parsed again only when its text changed."""
        key = (hash(text), len(text))
        kept = self._results.get(attempt_id)
        if kept is not None and kept[0] == key:
            return kept[1]
        try:
            result = json.loads(text)
        except (TypeError, ValueError):
            result = None
        result = result if isinstance(result, dict) else None
        if attempt_id in self._results or len(self._results) < RESULTS_KEPT:
            self._results[attempt_id] = (key, result)
        return result

    def close(self) -> None:
        self._db.close()


def _text(value: str) -> str:
    return printable(value, one_line=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
