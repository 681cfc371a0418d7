"""numeric: a number, right within an absolute or relative tolerance."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from ..models.base import KeyHash
from ..models.keyhash import (
    key_digest,
    numeric_grid_step,
    numeric_hash_matches,
    numeric_value,
)
from ..models.question import QuestionBase
from ..scoring.normalize import parse_number
from ..scoring.result import number_text
from ..scoring.verdict import Verdict, invalid, unanswered
from .common import answer_cell, common_losses, general_feedback, is_blank, points_cell
from .records import InputSpec, LmsItem, NbCell
from .registry import Kind, NbgraderContext


class NumericQuestion(QuestionBase):
    """A number, right within an absolute or relative tolerance."""

    type: Literal["numeric"]
    answer_hash: KeyHash | None = None
    """Student copies only: the salted hash of the key (``answer`` is then left out)."""
    answer: float | None = Field(None, validate_default=True)
    """The key (required, except in a student copy)."""
    tolerance: float = Field(0.0, ge=0)
    """Absolute tolerance."""
    rel_tolerance: float = Field(0.0, ge=0)
    """Relative tolerance, as a fraction of |answer|."""
    unit: str | None = None

    @field_validator("answer")
    @classmethod
    def _answer_or_hash(cls, answer: float | None, info: ValidationInfo) -> float | None:
        if answer is None and info.data.get("answer_hash") is None and "answer_hash" in info.data:
            raise ValueError("required field 'answer' is missing")
        if answer is not None and info.data.get("answer_hash") is not None:
            raise ValueError("give either `answer` or `answer_hash` (student copies), not both")
        return answer

    @property
    def hashed_keys(self) -> bool:
        return self.answer_hash is not None

    def allowed_error(self) -> float:
        """The largest distance from the key that still counts as right."""
        return max(self.tolerance, self.rel_tolerance * abs(self.answer or 0.0))

    def is_right(self, number: float) -> bool:
        """Whether ``number`` matches the key, hashed (student copy) or not."""
        if self.answer is not None:
            return abs(number - self.answer) <= self.allowed_error() + 1e-12
        if self.answer_hash is None or self._key_salt is None:
            return False
        return numeric_hash_matches(self._key_salt, self.id, self.answer_hash, number, self.tolerance)


def key_text(question: NumericQuestion) -> str | None:
    """'294912 MB (± 1)'; None for a student copy, whose number is hashed."""
    if question.answer is None:
        return None
    allowed = question.allowed_error()
    return (number_text(question.answer) + (f" {question.unit}" if question.unit else "")
            + (f" (± {number_text(allowed)})" if allowed else ""))


def score(question: NumericQuestion, answer: Any, _outcomes: Any = None) -> Verdict:
    if is_blank(answer):
        return unanswered()
    raw = answer
    if isinstance(answer, str) and question.unit and answer.strip().endswith(question.unit):
        raw = answer.strip()[: -len(question.unit)]
    number = parse_number(raw)
    if number is None:
        return invalid(answer, f"expected a number, got {answer!r}")
    right = question.is_right(number)
    return Verdict(1.0 if right else 0.0, "correct" if right else "incorrect", answer=number,
                   reason="" if right else f"{number_text(number)} is not within tolerance", correct_answer=key_text(question))


def hash_key(data: dict[str, Any], question: NumericQuestion, salt: str) -> None:
    """The number becomes a hash on a grid as fine as the tolerance, which is folded into an absolute one
    (a relative tolerance would reveal |answer|)."""
    allowed = question.allowed_error()
    data.pop("answer", None)
    data.pop("rel_tolerance", None)
    if allowed:
        data["tolerance"] = allowed
    else:
        data.pop("tolerance", None)
    data["answer_hash"] = key_digest(salt, question.id, numeric_value(question.answer, numeric_grid_step(allowed)))


def static_lines(question: NumericQuestion) -> list[str]:
    return ["Your answer: ________" + (f" {question.unit}" if question.unit else ""), ""]


def nbgrader_cells(question: NumericQuestion, _context: NbgraderContext) -> list[NbCell]:
    """The key as a number, and a hidden test that reads the cell as ``grader`` does (arithmetic on
    numbers allowed, units and tolerance as in ``score``)."""
    return [answer_cell(question, question.answer), points_cell(question)]


def lms_item(question: NumericQuestion) -> LmsItem:
    losses = common_losses(question)
    if question.unit:
        losses.append(f"the unit '{question.unit}' is named in the prompt, not checked")
    prompt = question.prompt.strip() + (f"\n\n*(in {question.unit})*" if question.unit else "")
    return LmsItem(question.id, "numeric", prompt, question.points, number=question.answer,
                   tolerance=question.allowed_error(), unit=question.unit, general_feedback=general_feedback(question),
                   hint=question.hint, tags=tuple(question.tags), losses=tuple(losses))


KIND = Kind(model=NumericQuestion, how="a number", score=score, key_text=key_text,
            answer_input=lambda q: InputSpec("line", f"a number (in {q.unit})" if q.unit else "a number"),
            static_lines=static_lines, lms_item=lms_item, hash_key=hash_key, nbgrader_cells=nbgrader_cells)
