"""The common shape every per-type scorer returns, and how it becomes a QuestionResult.

Scorers decide *how much* credit and *why*; composing the readable feedback is done once here so
every question type explains itself the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..models.question import QuestionBase
from .result import QuestionResult, Status


@dataclass
class Verdict:
    """What a scorer concluded: a fraction of the question's points and the reasons."""

    fraction: float
    status: Status
    answer: Any = None
    reason: str = ""
    option_feedback: list[str] = field(default_factory=list)
    correct_answer: Any = None
    found_concepts: list[str] = field(default_factory=list)
    missed_concepts: list[str] = field(default_factory=list)
    note: str = ""
    """Extra line shown under the verdict (e.g. 'You got 3/4 concepts')."""


def unanswered() -> Verdict:
    return Verdict(0.0, "unanswered", reason="no answer given")


def invalid(answer: Any, reason: str) -> Verdict:
    return Verdict(0.0, "invalid", answer=answer, reason=reason)


def status_for(fraction: float) -> Status:
    if fraction >= 1 - 1e-9:
        return "correct"
    return "partial" if fraction > 0 else "incorrect"


_HEADLINE = {"correct": "✓ Correct.", "partial": "◐ Partly correct.", "incorrect": "✗ Incorrect.",
             "unanswered": "– Not answered.", "invalid": "⚠ Answer not understood.", "ungraded": "",
             "pending": "… Waiting for the sandboxed grader."}


def build_result(question: QuestionBase, verdict: Verdict, *, reveal_key: bool) -> QuestionResult:
    """Turn a verdict into a :class:`QuestionResult` with readable feedback."""
    fraction = min(max(verdict.fraction, 0.0), 1.0)
    points = round(question.points * fraction, 4)
    parts: list[str] = []
    headline = _HEADLINE[verdict.status]
    if verdict.reason and verdict.status not in ("correct", "ungraded"):
        headline = f"{headline} {verdict.reason[0].upper()}{verdict.reason[1:]}".strip()
        if not headline.endswith((".", "!", "?")):
            headline += "."
    if headline:
        parts.append(headline)
    if verdict.note:
        parts.append(verdict.note)
    parts.extend(verdict.option_feedback)
    if reveal_key and verdict.correct_answer is not None and verdict.status != "correct":
        parts.append(f"Answer: {verdict.correct_answer}")
    if question.explanation:
        parts.append(question.explanation.strip())
    return QuestionResult(
        id=question.id, type=question.type, points=points, max_points=float(question.points),
        status=verdict.status, feedback="\n\n".join(parts), answer=verdict.answer, reason=verdict.reason,
        explanation=question.explanation, option_feedback=list(verdict.option_feedback),
        correct_answer=verdict.correct_answer if reveal_key else None,
        found_concepts=list(verdict.found_concepts), missed_concepts=list(verdict.missed_concepts))
