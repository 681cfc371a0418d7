"""An instructor's points and comment for one answer, and what they do to an attempt's score.

Kept apart from the automatic result on purpose: the gradebook stores the scorer's verdict as it
was (so the review sheet can always show what the automatic check said, and re-grading the same
file after fixing a bank re-scores it) and the instructor's overrides in a table of their own, keyed
by the file's SHA-256. Every score the views show is the automatic points with the overrides laid
over them by :func:`totals`, whichever path wrote it: ``grade``, ``grade --resume`` or the import of
a review sheet, so an override survives re-grading instead of being dropped by it.

Pure functions only; storage is :mod:`grader.gradebook`, the sheet :mod:`grader.review`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Override", "effective_points", "totals"]


@dataclass(frozen=True)
class Override:
    """What an instructor decided for one question of one attempt."""

    question_id: str
    points: float | None
    """The points that stand instead of the automatic ones; None keeps the automatic points (a comment only)."""
    comment: str = ""
    imported_at: str = ""


def effective_points(auto_points: float, max_points: float, override: Override | None) -> float:
    """The points a question counts with: the instructor's when given, else the automatic ones.

    An override is kept between 0 and the question's points: the import refuses anything outside,
    and a bank whose question has since lost points must not let an old override exceed it.
    """
    if override is None or override.points is None:
        return auto_points
    return min(max(override.points, 0.0), max_points)


def totals(questions: Iterable[tuple[str, float, float]], max_score: float,
           overrides: Mapping[str, Override]) -> tuple[float, float]:
    """Score and raw percent of an attempt from its ``(question id, automatic points, max points)``.

    Rounded exactly as :func:`grader.scorer.score_answers` rounds (score to 4 places, percent to 2), so
    an attempt without overrides keeps the very numbers the scorer gave it.
    """
    score = round(sum(effective_points(points, most, overrides.get(qid)) for qid, points, most in questions), 4)
    percent = round(100.0 * score / max_score, 2) if max_score else 0.0
    return score, percent
