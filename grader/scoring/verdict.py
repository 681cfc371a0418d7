"""The common shape every per-type scorer returns, and how it becomes a QuestionResult.

Scorers decide *how much* credit and *why*; composing the readable feedback is done once here so
every question type explains itself the same way.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..models.question import QuestionBase
from .result import ConceptCheck, QuestionResult, Status


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
    concepts: list[ConceptCheck] = field(default_factory=list)
    """A free response's per-concept verdicts (found, missing or contradicted, with the carrying sentence)."""
    note: str = ""
    """Extra line shown under the verdict (e.g. 'You got 3/4 concepts')."""


def unanswered(reason: str = "no answer given") -> Verdict:
    """No answer: ``reason`` says where one was expected when the caller knows (a notebook cell, a file's key)."""
    return Verdict(0.0, "unanswered", reason=reason)


def invalid(answer: Any, reason: str) -> Verdict:
    return Verdict(0.0, "invalid", answer=answer, reason=reason)


def status_for(fraction: float) -> Status:
    if fraction >= 1 - 1e-9:
        return "correct"
    return "partial" if fraction > 0 else "incorrect"


_HEADLINE = {"correct": "✓ Correct.", "partial": "◐ Partly correct.", "incorrect": "✗ Incorrect.",
             "unanswered": "– Not answered.", "invalid": "⚠ Answer not understood.", "ungraded": "",
             "pending": "… Waiting for the sandboxed grader."}


def sentence(text: str) -> str:
    """``text`` on one line, with a capital first letter and a full stop: how reasons and notes read in
    feedback. Reasons quote students' answers and their code's errors; one line keeps a line break
    in them from starting a Markdown heading or code fence in the feedback."""
    text = one_line(text)
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def one_line(text: str) -> str:
    """``text`` with its line breaks shown as ' ⏎ ' (and its ends trimmed)."""
    return re.sub(r"[ \t]*(?:\r\n|[\r\n\u2028\u2029\x85])\s*", " ⏎ ", text.strip())


def build_result(question: QuestionBase, verdict: Verdict, *, reveal_key: bool,
                 notes: Sequence[str] = ()) -> QuestionResult:
    """Turn a verdict into a :class:`QuestionResult` with readable feedback.

    ``notes`` are what reading or running the answer turned up (a duplicated cell, the code's error):
    shown right after the verdict, except one that the verdict's reason already says.
    """
    fraction = min(max(verdict.fraction, 0.0), 1.0)
    points = round(question.points * fraction, 4)
    parts: list[str] = []
    headline = _HEADLINE[verdict.status]
    shown_reason = verdict.reason and verdict.status not in ("correct", "ungraded")
    if shown_reason:
        headline = f"{headline} {sentence(verdict.reason)}".strip()
    if headline:
        parts.append(headline)
    said = verdict.reason.casefold() if shown_reason else ""
    notes = [n for n in notes if n.strip() and n.strip().rstrip(".").casefold() not in said]
    parts.extend(sentence(n) for n in notes)
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
        found_concepts=list(verdict.found_concepts), missed_concepts=list(verdict.missed_concepts),
        concepts=list(verdict.concepts), notes=list(notes))
