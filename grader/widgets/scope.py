"""What the quiz widget can check, and so what its score counts.

A ``code`` question is answered in a notebook cell and graded by ``python -m grader grade`` in a
sandbox; the widget has neither the cell nor the sandbox. Counting its points anyway made a student
with every other answer right see 71 %. :func:`self_check_bank` keeps such a question in its place
(the student still reads it) but worth 0 points in the widget's copy of the bank, so the running
score, the total and the summary at Finish hold only what the widget checked; the question shows
:func:`not_scored_note` instead of Check. The bank on disk, ``grader grade`` and the exports are
unchanged: only the widget's session sees the copy.
"""
from __future__ import annotations

from ..bank import Bank
from ..kinds import KINDS
from ..models import QuestionBase
from ..scoring.result import points_label


def checked_elsewhere(question: QuestionBase) -> bool:
    """Whether the widget cannot check ``question`` (its kind's input lives outside the widget)."""
    return KINDS.of(question).answer_input(question).style == "elsewhere"


def self_check_bank(bank: Bank) -> tuple[Bank, dict[str, float]]:
    """``bank`` as the widget scores it, and the points each question checked elsewhere is worth.

    Questions the widget cannot check keep their place and text with ``points`` 0, so they leave the
    widget's score and total; the returned dict maps their ids to the points ``grader grade`` gives
    them. A bank without such questions comes back as it is."""
    elsewhere = {q.id: float(q.points) for q in bank.questions if checked_elsewhere(q) and q.points > 0}
    if not elsewhere:
        return bank, {}
    questions = [q.model_copy(update={"points": 0}) if q.id in elsewhere else q for q in bank.questions]
    return bank.model_copy(update={"questions": questions}), elsewhere


def not_scored_note(question: QuestionBase, points: float | None) -> str:
    """What a question the widget cannot check says instead of offering Check (plain text)."""
    worth = f", worth {points_label(points)}" if points else ""
    return (f"Checked when you hand in the notebook: `python -m grader grade` runs your code from a cell "
            f"that starts with `# answer: {question.id}`{worth}. Not part of this self-check score.")


__all__ = ["checked_elsewhere", "not_scored_note", "self_check_bank"]
