"""text: a short answer compared after normalisation, or matched by a regular expression."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from ..models.base import KeyHash, NonEmptyStr
from ..models.keyhash import key_digest
from ..models.question import QuestionBase, check_regex
from ..scoring.normalize import normalize_text
from ..scoring.patterns import PatternTimeout, matches
from ..scoring.verdict import Verdict, invalid, unanswered
from .common import answer_cell, common_losses, general_feedback, is_blank, points_cell
from .records import InputSpec, LmsAnswer, LmsItem, NbCell
from .registry import Kind, NbgraderContext, PatternSite


class TextQuestion(QuestionBase):
    """A short text answer compared after normalisation (see quizzes/README.md)."""

    type: Literal["text"]
    answers: list[NonEmptyStr] = Field(default_factory=list)
    answer_hashes: list[KeyHash] = Field(default_factory=list)
    """Student copies only: salted hashes of the normalised accepted answers."""
    patterns: list[NonEmptyStr] = Field(default_factory=list, validate_default=True)
    """Regular expressions matched against the whole normalised answer."""
    case_sensitive: bool = False

    @field_validator("patterns")
    @classmethod
    def _some_key(cls, patterns: list[str], info: ValidationInfo) -> list[str]:
        for index, pattern in enumerate(patterns):
            check_regex(pattern, (index,))
        if not patterns and not info.data.get("answers") and not info.data.get("answer_hashes"):
            raise ValueError("a text question needs at least one accepted answer in `answers` or a regex in `patterns`")
        return patterns

    @property
    def hashed_keys(self) -> bool:
        return bool(self.answer_hashes)

    def hash_matches(self, normalised: str) -> bool:
        """Whether a normalised answer is one of a student copy's hashed accepted answers."""
        digest = self._hash(f"text\x1f{normalised}")
        return digest is not None and digest in self.answer_hashes


def key_text(question: TextQuestion) -> str | None:
    return question.answers[0] if question.answers else None


def score(question: TextQuestion, answer: Any, _outcomes: Any = None) -> Verdict:
    if is_blank(answer):
        return unanswered()
    if not isinstance(answer, (str, int, float)) or isinstance(answer, bool):
        return invalid(answer, f"expected text, got {type(answer).__name__}")
    given = normalize_text(str(answer), case_sensitive=question.case_sensitive)
    accepted = {normalize_text(a, case_sensitive=question.case_sensitive) for a in question.answers}
    right, slow = given in accepted or question.hash_matches(given), False
    for pattern in question.patterns if not right else ():
        try:
            if matches(pattern, given, ignore_case=not question.case_sensitive, whole=True):
                right = True
                break
        except PatternTimeout:
            slow = True
    reason = "" if right else "not one of the accepted answers"
    if slow and not right:
        reason += " (an accepted-answer pattern took too long on this answer and was stopped)"
    return Verdict(1.0 if right else 0.0, "correct" if right else "incorrect", answer=str(answer)[:2000],
                   reason=reason, correct_answer=key_text(question))


def hash_key(data: dict[str, Any], question: TextQuestion, salt: str) -> None:
    answers = data.pop("answers", [])
    hashes = [key_digest(salt, question.id, "text\x1f" + normalize_text(a, case_sensitive=question.case_sensitive))
              for a in answers]
    if hashes:
        data["answer_hashes"] = hashes


def patterns(question: TextQuestion) -> list[PatternSite]:
    return [(("patterns", i), p, not question.case_sensitive, True) for i, p in enumerate(question.patterns)]


def lms_item(question: TextQuestion) -> LmsItem:
    losses = common_losses(question)
    if question.patterns:
        losses.append(f"{len(question.patterns)} accepted-answer regular expression(s) (only the listed answers "
                      "are exported)")
    losses.append("the grader's answer normalisation (white space, surrounding quotes, a final period, Unicode NFKC)")
    return LmsItem(question.id, "short", question.prompt.strip(), question.points,
                   answers=tuple(LmsAnswer(a, 1.0) for a in question.answers), case_sensitive=question.case_sensitive,
                   general_feedback=general_feedback(question), hint=question.hint, tags=tuple(question.tags),
                   losses=tuple(losses))


def nbgrader_cells(question: TextQuestion, _context: NbgraderContext) -> list[NbCell]:
    """The first accepted answer as the solution, and a hidden test that scores the cell's text with
    :func:`score` (normalisation and patterns included)."""
    return [answer_cell(question, question.answers[0] if question.answers else None), points_cell(question)]


KIND = Kind(model=TextQuestion, how="a short answer", score=score, key_text=key_text,
            answer_input=lambda _q: InputSpec("line", "your answer"),
            static_lines=lambda _q: ["Your answer: ________", ""], lms_item=lms_item, hash_key=hash_key,
            patterns=patterns, nbgrader_cells=nbgrader_cells)
