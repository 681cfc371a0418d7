"""code_output: what does this snippet print? Options to pick from, or the printed text typed."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from ..models.base import KeyHash, NonEmptyStr
from ..models.keyhash import key_digest
from ..models.options import Option, default_option_ids
from ..models.question import QuestionBase, exactly_one_correct
from ..scoring.choice import key_text as choice_key_text
from ..scoring.choice import score_single
from ..scoring.normalize import normalize_output, normalize_text
from ..scoring.verdict import Verdict, unanswered
from .common import (
    answer_cell,
    common_losses,
    general_feedback,
    hash_options,
    is_blank,
    option_answers,
    option_lines,
    points_cell,
    prompt_with_code,
)
from .records import InputSpec, LmsAnswer, LmsItem, NbCell
from .registry import Kind, NbgraderContext


class CodeOutputQuestion(QuestionBase):
    """What does this snippet print? The key is checked against the snippet's real output."""

    type: Literal["code_output"]
    snippet: NonEmptyStr
    """Python code; `grader validate` runs it and compares its output with the key."""
    options: list[Option] | None = None
    """Choice form: the correct option's text must equal the printed output."""
    answer_hash: KeyHash | None = None
    """Student copies only: the salted hash of the normalised expected output (``answer`` left out)."""
    answer: str | None = Field(None, validate_default=True)
    """Free-text form: the expected printed output."""
    timeout_s: float = Field(10, gt=0, le=120)

    @field_validator("options", mode="before")
    @classmethod
    def _default_ids(cls, value: Any) -> Any:
        return default_option_ids(value)

    @field_validator("options")
    @classmethod
    def _one_correct(cls, options: list[Option] | None) -> list[Option] | None:
        if options is None:
            return None
        if len(options) < 2:
            raise ValueError("a code_output question with options needs at least 2 options")
        return exactly_one_correct(options, "code_output")

    @field_validator("answer")
    @classmethod
    def _options_or_answer(cls, answer: str | None, info: ValidationInfo) -> str | None:
        has_options = info.data.get("options") is not None
        hashed = info.data.get("answer_hash") is not None
        if has_options and (answer is not None or hashed):
            raise ValueError("give either `options` (choice form) or `answer` (typed output), not both")
        if answer is not None and hashed:
            raise ValueError("give either `answer` or `answer_hash` (student copies), not both")
        if not has_options and answer is None and not hashed and "options" in info.data:
            raise ValueError("a code_output question needs `options` with one correct option, or `answer`")
        return answer

    @property
    def choices(self) -> list[Option]:
        return list(self.options or [])

    @property
    def shown_code(self) -> str | None:
        return self.snippet

    @property
    def expected_output(self) -> str:
        """The key as printed text, whichever form the question uses ('' when a student copy hides it)."""
        if self.options is not None:
            return next((o.text for o in self.options if self.is_correct(o)), "")
        return self.answer or ""

    @property
    def hashed_keys(self) -> bool:
        return self.answer_hash is not None or any(o.key_hash for o in self.choices)

    def output_hash_matches(self, normalised: str) -> bool:
        """Whether printed output, normalised as text, matches a student copy's hashed ``answer``."""
        return self.answer_hash is not None and self._hash(f"output\x1f{normalised}") == self.answer_hash


def key_text(question: CodeOutputQuestion) -> str | None:
    if question.options is not None:
        return choice_key_text(question)
    return question.expected_output or None


def score(question: CodeOutputQuestion, answer: Any, _outcomes: Any = None) -> Verdict:
    if question.options is not None:
        return score_single(question, answer, match_output=True)
    if is_blank(answer):
        return unanswered()
    given = normalize_output(str(answer))
    if question.answer_hash is not None:  # a student copy: only the hash of the output is known
        right = question.output_hash_matches(normalize_text(given))
        expected = None
    else:
        expected = normalize_output(question.expected_output)
        right = given == expected or normalize_text(given) == normalize_text(expected)
    return Verdict(1.0 if right else 0.0, "correct" if right else "incorrect", answer=given,
                   reason="" if right else "that is not what the snippet prints", correct_answer=expected)


def hash_key(data: dict[str, Any], question: CodeOutputQuestion, salt: str) -> None:
    if question.options is not None:
        hash_options(data, question, salt)
        return
    expected = normalize_text(normalize_output(data.pop("answer")))
    data["answer_hash"] = key_digest(salt, question.id, "output\x1f" + expected)


def answer_input(question: CodeOutputQuestion) -> InputSpec:
    return InputSpec("radio") if question.options is not None else InputSpec("area", "what the code prints")


def static_lines(question: CodeOutputQuestion) -> list[str]:
    blank = [] if question.options is not None else ["Your answer: ________", ""]
    return option_lines(question) + blank


def lms_item(question: CodeOutputQuestion) -> LmsItem:
    """Choice form: a single-choice item. Typed form: a short answer holding the printed line; output
    of several lines has no short-answer form (one line only), so it becomes a hand-graded essay."""
    losses = common_losses(question)
    prompt = prompt_with_code(question)
    feedback = general_feedback(question)
    if question.options is not None:
        return LmsItem(question.id, "single", prompt, question.points, answers=option_answers(question, 1.0, 0.0),
                       general_feedback=feedback, hint=question.hint, tags=tuple(question.tags), losses=tuple(losses))
    expected = normalize_output(question.expected_output)
    if "\n" in expected:
        losses.append("automatic marking of multi-line printed output (exported as a hand-graded essay)")
        return LmsItem(question.id, "essay", prompt, question.points, general_feedback=feedback, hint=question.hint,
                       grader_info=f"The snippet prints:\n\n```\n{expected}\n```", tags=tuple(question.tags),
                       losses=tuple(losses))
    losses.append("the grader's output normalisation (trailing spaces, case-folded second chance)")
    return LmsItem(question.id, "short", prompt, question.points, answers=(LmsAnswer(expected, 1.0),),
                   case_sensitive=True, general_feedback=feedback, hint=question.hint, tags=tuple(question.tags),
                   losses=tuple(losses))


def nbgrader_cells(question: CodeOutputQuestion, _context: NbgraderContext) -> list[NbCell]:
    """The printed output (or the right option's id) as the solution, and a hidden test that scores the
    cell's text with :func:`score`, normalisation included."""
    key = (next(o.id for o in question.options if o.correct) if question.options is not None
           else question.expected_output)
    return [answer_cell(question, key), points_cell(question)]


KIND = Kind(model=CodeOutputQuestion, how="what does it print?", score=score, key_text=key_text,
            answer_input=answer_input, static_lines=static_lines, lms_item=lms_item, hash_key=hash_key,
            nbgrader_cells=nbgrader_cells)
