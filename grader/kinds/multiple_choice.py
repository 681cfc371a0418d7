"""multiple_choice: tick every right option (check boxes), scored with partial credit."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

from pydantic import field_validator

from ..models.options import Option, check_unique_option_ids
from ..models.question import ChoiceFields, hashed_options
from ..scoring.choice import key_text, score_multiple
from ..scoring.verdict import Verdict
from .common import (answer_cell, common_losses, general_feedback, hash_options, option_answers, option_lines, points_cell,
                     prompt_with_code)
from .records import InputSpec, LmsItem, NbCell
from .registry import Kind, NbgraderContext, conceal_key

ScoringMode = Literal["net_correct", "coverage", "all_or_nothing"]


class MultipleChoiceQuestion(ChoiceFields):
    """Tick every right option (check boxes), scored with partial credit."""

    type: Literal["multiple_choice"]
    scoring: ScoringMode = "net_correct"
    """Partial-credit rule; see quizzes/README.md. net_correct never credits ticking every box."""

    @field_validator("options")
    @classmethod
    def _some_correct(cls, options: list[Option]) -> list[Option]:
        check_unique_option_ids(options)
        if not hashed_options(options) and not any(o.correct for o in options):
            raise ValueError("a multiple_choice question needs at least one correct option, found 0")
        return options


def score(question: MultipleChoiceQuestion, answer: Any, _outcomes: Any = None) -> Verdict:
    return score_multiple(question, answer, question.scoring)


def conceal(question: MultipleChoiceQuestion, verdict: Verdict, outcomes: Mapping[str, Any] | None = None) -> Verdict:
    """Which ticked ids are wrong would give the key away before the last attempt: say how many instead."""
    verdict = conceal_key(question, verdict, outcomes)
    if verdict.status not in ("partial", "incorrect") or not isinstance(verdict.answer, list):
        return verdict
    picked = {str(i).casefold() for i in verdict.answer}
    right = {i.casefold() for i in question.correct_ids}
    wrong, missed = len(picked - right), len(right - picked)
    reasons = []
    if wrong:
        reasons.append(f"{wrong} of the ticked options {'is' if wrong == 1 else 'are'} not right")
    if missed:
        reasons.append(f"{missed} right option{'s' if missed != 1 else ''} not ticked")
    return replace(verdict, reason="; ".join(reasons))


def static_lines(question: MultipleChoiceQuestion) -> list[str]:
    return option_lines(question) + ["*Select every correct option.*", ""]


def nbgrader_cells(question: MultipleChoiceQuestion, _context: NbgraderContext) -> list[NbCell]:
    """The ids as a list literal, and a hidden test that scores the cell's text with ``score``, so a
    partial answer earns the same share of the points in nbgrader as in ``grader``."""
    return [answer_cell(question, question.correct_ids), points_cell(question)]


def lms_item(question: MultipleChoiceQuestion) -> LmsItem:
    """Each right option earns 1/(right options), each wrong one costs 1/(wrong options), the total
    floored at 0: exactly ``net_correct``. The other two modes have no LMS equivalent."""
    n_right = len(question.correct_ids)
    n_wrong = len(question.options) - n_right
    losses = common_losses(question)
    if question.scoring != "net_correct":
        losses.append(f"partial-credit mode '{question.scoring}' (exported with net_correct's option weights)")
    return LmsItem(question.id, "multiple", prompt_with_code(question), question.points,
                   answers=option_answers(question, 1.0 / n_right, -1.0 / n_wrong if n_wrong else 0.0),
                   general_feedback=general_feedback(question), hint=question.hint, tags=tuple(question.tags),
                   losses=tuple(losses))


KIND = Kind(model=MultipleChoiceQuestion, how="choose all that apply", score=score, key_text=key_text,
            answer_input=lambda _q: InputSpec("checkbox"), static_lines=static_lines, lms_item=lms_item,
            hash_key=hash_options, nbgrader_cells=nbgrader_cells, conceal=conceal)
