"""single_choice: pick the one right option (radio buttons)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator

from ..models.options import Option
from ..models.question import ChoiceFields, exactly_one_correct
from ..scoring.choice import key_text, score_single
from ..scoring.verdict import Verdict
from .common import (answer_cell, common_losses, general_feedback, hash_options, option_answers, option_lines, points_cell,
                     prompt_with_code)
from .records import InputSpec, LmsItem, NbCell
from .registry import Kind, NbgraderContext


class SingleChoiceQuestion(ChoiceFields):
    """Pick one option (radio buttons)."""

    type: Literal["single_choice"]

    @field_validator("options")
    @classmethod
    def _one_correct(cls, options: list[Option]) -> list[Option]:
        return exactly_one_correct(options, "single_choice")


def score(question: SingleChoiceQuestion, answer: Any, _outcomes: Any = None) -> Verdict:
    return score_single(question, answer)


def static_lines(question: SingleChoiceQuestion) -> list[str]:
    return option_lines(question)


def nbgrader_cells(question: SingleChoiceQuestion, _context: NbgraderContext) -> list[NbCell]:
    """The id as a string literal, and a hidden test that scores the cell's text as ``grader`` does."""
    return [answer_cell(question, question.correct_ids[0]), points_cell(question)]


def lms_item(question: SingleChoiceQuestion) -> LmsItem:
    return LmsItem(question.id, "single", prompt_with_code(question), question.points,
                   answers=option_answers(question, 1.0, 0.0), general_feedback=general_feedback(question),
                   hint=question.hint, tags=tuple(question.tags), losses=tuple(common_losses(question)))


KIND = Kind(model=SingleChoiceQuestion, how="choose one", score=score, key_text=key_text,
            answer_input=lambda _q: InputSpec("radio"), static_lines=static_lines, lms_item=lms_item,
            hash_key=hash_options, nbgrader_cells=nbgrader_cells)
