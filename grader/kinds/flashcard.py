"""flashcard: a card to flip, prompt on the front and ``back`` on the back. Never graded."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

from pydantic import field_validator

from ..models.base import NonEmptyStr
from ..models.question import QuestionBase
from ..scoring.verdict import Verdict
from .common import general_feedback
from .records import InputSpec, LmsItem
from .registry import Kind, conceal_key


class FlashcardQuestion(QuestionBase):
    """A card to flip: prompt on the front, ``back`` on the back. Never graded."""

    type: Literal["flashcard"]
    back: NonEmptyStr
    points: float = 0

    @field_validator("points")
    @classmethod
    def _ungraded(cls, points: float) -> float:
        if points != 0:
            raise ValueError("flashcards are never graded: leave `points` out or set it to 0")
        return points


def score(question: FlashcardQuestion, answer: Any, _outcomes: Any = None) -> Verdict:
    """Flashcards are for recall practice: the answer ('got it', 'again') is recorded, never scored."""
    return Verdict(0.0, "ungraded", answer=answer, note=f"Back of the card: {question.back.strip()}")


def conceal(question: FlashcardQuestion, verdict: Verdict, outcomes: Mapping[str, Any] | None = None) -> Verdict:
    """The back of the card is its answer: left out of feedback while the bank hides its keys."""
    return replace(conceal_key(question, verdict, outcomes), note="")


def hash_key(_data: dict[str, Any], _question: FlashcardQuestion, _salt: str) -> None:
    """Nothing to hide: the back of the card is what the student flips to."""


def lms_item(question: FlashcardQuestion) -> LmsItem:
    """A text-only item; the back becomes its general feedback (shown after the quiz, not on a flip)."""
    feedback = "\n\n".join(x for x in (question.back.strip(), general_feedback(question)) if x)
    return LmsItem(question.id, "description", question.prompt.strip(), 0.0, general_feedback=feedback,
                   tags=tuple(question.tags), losses=("flipping the card (the back is shown as general feedback)",))


KIND = Kind(model=FlashcardQuestion, how="flashcard: recall, then check the back in the widget", score=score,
            key_text=lambda _q: None,
            answer_input=lambda q: InputSpec("card", note="Flashcards are flipped, not checked.", back=q.back),
            static_lines=lambda _q: ["*(The back of the card shows in the interactive version.)*", ""],
            lms_item=lms_item, hash_key=hash_key, conceal=conceal)
