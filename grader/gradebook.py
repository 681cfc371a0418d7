"""The gradebook: every graded attempt of every student, in SQLite (``DIR/gradebook.sqlite``).

Attempts accumulate across runs, so the bank's attempt limit and keep-highest/latest rule
(:func:`grader.scoring.attempts.summarize_attempts`) see a student's whole history. Grading the
same file content again (same SHA-256) updates that attempt instead of adding one: re-running the
grader after fixing a bank must not use up a student's attempts.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from .bank import Bank
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
"""


class Gradebook:
    """A thin wrapper over one SQLite file; use from one thread (the grading loop's)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._db = sqlite3.connect(self.path)
        self._db.executescript(SCHEMA)
        self._db.commit()

    def record(self, *, bank: Bank, student: str, sha256: str, file: str, result: QuizResult | None,
               reason: str) -> AttemptSummary:
        """Store (or update) this attempt and return the student's attempt summary after it."""
        student = printable(student, one_line=True)  # a lone surrogate cannot be stored (it is not UTF-8)
        percent = result.percent if result is not None else 0.0
        payload = json.dumps(result.to_dict() if result is not None else None, default=str)
        self._db.execute(
            "INSERT INTO attempts (bank_id, student, sha256, file, graded_at, score, max_score, percent, reason, result)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (bank_id, student, sha256) DO UPDATE SET file = excluded.file, graded_at = excluded.graded_at,"
            " score = excluded.score, max_score = excluded.max_score, percent = excluded.percent,"
            " reason = excluded.reason, result = excluded.result",
            (bank.id, student, sha256, printable(file, one_line=True),
             datetime.now(timezone.utc).isoformat(timespec="seconds"),
             result.score if result is not None else 0.0, result.max_score if result is not None else bank.max_score,
             percent, printable(reason), payload))
        self._db.commit()
        return self.summary(bank, student)

    def percents(self, bank_id: str, student: str) -> list[float]:
        """The student's attempt percents, oldest first."""
        rows = self._db.execute("SELECT percent FROM attempts WHERE bank_id = ? AND student = ? ORDER BY id",
                                (bank_id, printable(student, one_line=True)))
        return [row[0] for row in rows]

    def attempt_number(self, bank_id: str, student: str, sha256: str) -> int:
        """1-based position of this content among the student's attempts (0 when not recorded)."""
        rows = self._db.execute("SELECT sha256 FROM attempts WHERE bank_id = ? AND student = ? ORDER BY id",
                                (bank_id, printable(student, one_line=True))).fetchall()
        return next((i + 1 for i, (sha,) in enumerate(rows) if sha == sha256), 0)

    def summary(self, bank: Bank, student: str) -> AttemptSummary:
        return summarize_attempts(bank, self.percents(bank.id, student))

    def close(self) -> None:
        self._db.close()
