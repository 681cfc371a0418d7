"""Writing grades: ``grades.csv`` rows and one Markdown feedback file per student.

Rows are appended and flushed as each submission is scored, so an interrupted run keeps what it did.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

from .models import Bank
from .scoring import QuizResult
from .submissions import Submission

BASE_COLUMNS = ["student", "score", "max_score", "percent", "passed", "file", "reason"]


def grade_columns(bank: Bank) -> list[str]:
    """The contract columns, then the file and a reason, then one points column per question."""
    return BASE_COLUMNS + [f"q:{q.id}" for q in bank.questions]


def safe_name(student: str) -> str:
    """A file name for a student's feedback: letters, digits, '-', '_' and '.' only."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._") or "student"
    return name[:100]


class GradesWriter:
    """Appends one row per submission to ``grades.csv`` and flushes after each row."""

    def __init__(self, out_dir: Path, bank: Bank):
        self.path = out_dir / "grades.csv"
        self.columns = grade_columns(bank)
        self._file = self.path.open("w", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._file, fieldnames=self.columns)
        self._writer.writeheader()
        self._file.flush()

    def write(self, submission: Submission, result: QuizResult | None, reason: str) -> None:
        row = {"student": submission.student, "file": str(submission.path), "reason": reason}
        if result is not None:
            row.update({"score": f"{result.score:g}", "max_score": f"{result.max_score:g}",
                        "percent": f"{result.percent:.2f}", "passed": str(result.passed).lower()})
            row.update({f"q:{q.id}": f"{q.points:g}" for q in result.questions})
        else:
            row.update({"score": "0", "max_score": "", "percent": "0.00", "passed": "false"})
        self._writer.writerow(row)
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def feedback_markdown(bank: Bank, submission: Submission, result: QuizResult | None, reason: str) -> str:
    """What a student reads: score, verdict, problems with the submission, then each question."""
    lines = [f"# {bank.title}", "", f"Student: **{submission.student}**  ", f"Submission: `{submission.path.name}`", ""]
    if result is None:
        lines += [f"**Not graded:** {reason}", ""]
        return "\n".join(lines)
    if submission.problems:
        lines += ["## Problems with the submission", ""] + [f"- {p}" for p in submission.problems] + [""]
    lines.append(result.to_markdown())
    return "\n".join(lines)
