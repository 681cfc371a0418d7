"""multiple_choice: tick every right option (check boxes), scored with partial credit."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator

from ..models.options import Option, check_unique_option_ids
from ..models.question import ChoiceFields, hashed_options
from ..scoring.choice import key_text, score_multiple
from ..scoring.verdict import Verdict
from .common import answer_cell, common_losses, general_feedback, hash_options, option_answers, option_lines, prompt_with_code
from .records import InputSpec, LmsItem, NbCell
from .registry import Kind, NbgraderContext

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


def static_lines(question: MultipleChoiceQuestion) -> list[str]:
    return option_lines(question) + ["*Select every correct option.*", ""]


def nbgrader_cells(question: MultipleChoiceQuestion, _context: NbgraderContext) -> list[NbCell]:
    """The test counts ticked right and wrong ids and calls ``multi_select_fraction``, the scorer's own
    function, which the export's helper cell carries verbatim: one formula, not a re-typed copy."""
    right = sorted(o.casefold() for o in question.correct_ids)
    wrong = sorted(o.id.casefold() for o in question.options if not question.is_correct(o))
    test = (f"_picked = {{str(x).strip().casefold() for x in answer}}\n"
            f"_right, _wrong = set({right!r}), set({wrong!r})\n"
            f"_fraction = multi_select_fraction({question.scoring!r}, len(_right), len(_wrong), "
            "len(_picked & _right), len(_picked & _wrong))\n"
            f"round({question.points!r} * _fraction, 4)")
    return [answer_cell(question, question.correct_ids),
            NbCell(test, f"{question.id}-test", points=question.points, hidden=True)]


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
            hash_key=hash_options, nbgrader_cells=nbgrader_cells)
