"""A quiz bank: bank-level settings plus its questions."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    StringConstraints,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from .kinds import KINDS, Question, Registry
from .models.base import NonEmptyStr, StrictModel, located, repeated

BankId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", min_length=1, max_length=80)]


class Badge(StrictModel):
    """Earned when every question it covers is fully right (seed 004: "Get all challenges correct")."""

    name: NonEmptyStr
    description: str | None = None
    icon: str | None = None
    questions: list[str] | None = None
    """Ids of the questions the badge requires; default: every graded question of the bank."""


ShowKey = Literal["after_each_attempt", "after_last_attempt", "never"]
"""When grading feedback may show the key and everything that states it (explanations, option feedback,
model answers, expected values of code checks): see grader/scoring/disclosure.py."""

TIMESTAMP_EXAMPLE = "2026-12-01T23:59:00+00:00"


class LatePenalty(StrictModel):
    """Points lost by a late submission: ``percent`` of the attempt's own score per started ``per`` period."""

    percent: float = Field(gt=0, le=100)
    """Percent of the attempt's score lost for each started period after ``due`` (the score never drops below 0)."""
    per: Literal["day", "hour"] = "day"
    """The period: a submission 1 day and 1 minute late has started its second day."""


def _timestamp(value: Any) -> Any:
    """A bank's date-time as a plain ``datetime``, before pydantic sees it.

    ruamel.yaml reads an unquoted ``2026-12-01 23:59:00+01:00`` as its ``TimeStamp`` subclass (aware);
    quoted, it stays text and pydantic parses it. A bare date or a number is refused here, so the
    author is told the form we want rather than getting midnight or a Unix epoch silently."""
    if isinstance(value, datetime):
        return datetime.combine(value.date(), value.timetz())  # drops ruamel's subclass, keeps the zone
    # ValueError, not TypeError: pydantic turns only the former into a located bank error
    if isinstance(value, date):
        raise ValueError(f"a date needs a time and a time zone, e.g. {value.isoformat()}T23:59:00+00:00")  # noqa: TRY004
    if isinstance(value, (bool, int, float)):
        raise ValueError(f"expected a date and time with a time zone, e.g. {TIMESTAMP_EXAMPLE}, got a number")  # noqa: TRY004
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text[:40]!r} is not a date and time; write it as {TIMESTAMP_EXAMPLE}") from None
        if "T" not in text.upper() and " " not in text:  # a bare date
            return _timestamp(parsed.date())
        return parsed
    return value


def _aware(value: datetime | None) -> datetime | None:
    """Refuse a date-time without a time zone: whose 23:59 would it be? (the grader's, a student's?)"""
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"the date and time has no time zone; add one, e.g. {value.isoformat()}+00:00 "
                         f"(UTC) or {value.isoformat()}+01:00")
    return value


class Bank(StrictModel):
    """One quiz: what it is, how it is passed, and its questions in order."""

    id: BankId
    """Unique across quizzes/; answer files and gradebooks refer to it."""
    title: NonEmptyStr
    source: NonEmptyStr
    """Provenance: the seed document's file name, or 'original'."""
    description: str | None = None
    pass_percent: float = Field(80, ge=0, le=100)
    attempts: int | None = Field(None, ge=1)
    """Attempts allowed at the whole bank (None: unlimited)."""
    retry_penalty_percent: float = Field(0, ge=0, le=100)
    """Percent of an attempt's score taken off per earlier attempt."""
    keep: Literal["highest", "latest"] = "highest"
    """Which attempt counts."""
    show_key: ShowKey = "after_last_attempt"
    """When grading feedback shows the key and the explanations: ``after_each_attempt`` (practice and
    self-check banks), ``after_last_attempt`` (once no attempt is left, or after ``cutoff`` / ``due``),
    or ``never``. Only ``after_each_attempt`` banks get a student copy from ``release``."""
    due: datetime | None = None
    """Due date and time, with a time zone (``2026-12-01T23:59:00+01:00``); later submissions are late."""
    late_penalty: LatePenalty | None = None
    """What a late submission loses (needs ``due``); without it, late submissions are only marked late."""
    cutoff: datetime | None = None
    """Hard cut-off (needs ``due``, not before it): submissions after it score 0."""
    time_limit_s: int | None = Field(None, ge=1)
    shuffle_questions: bool = False
    shuffle_options: bool = False
    badge: Badge | None = None
    errata: str | None = None
    key_salt: str | None = Field(None, min_length=8)
    """Student copies only: the salt of the questions' key hashes (see grader/keys.py)."""
    questions: list[Question] = Field(min_length=1)

    @field_validator("due", "cutoff", mode="before")
    @classmethod
    def _plain_timestamp(cls, value: Any) -> Any:
        return _timestamp(value)

    @field_validator("due")
    @classmethod
    def _due_has_zone(cls, due: datetime | None) -> datetime | None:
        return _aware(due)

    @field_validator("late_penalty")
    @classmethod
    def _penalty_needs_due(cls, penalty: LatePenalty | None, info: ValidationInfo) -> LatePenalty | None:
        if penalty is not None and "due" in info.data and info.data["due"] is None:
            raise ValueError("a late penalty needs a `due` date to count lateness from")
        return penalty

    @field_validator("cutoff")
    @classmethod
    def _cutoff_after_due(cls, cutoff: datetime | None, info: ValidationInfo) -> datetime | None:
        cutoff = _aware(cutoff)
        if cutoff is None or "due" not in info.data:  # a `due` that failed has its own error
            return cutoff
        due = info.data["due"]
        if due is None:
            raise ValueError("a cut-off needs a `due` date (submissions between the two are late)")
        if cutoff < due:
            raise ValueError(f"the cut-off ({cutoff.isoformat()}) is before the due date ({due.isoformat()})")
        return cutoff

    @field_validator("questions")
    @classmethod
    def _unique_ids(cls, questions: list[Question]) -> list[Question]:
        if duplicates := duplicate_question_ids([q.id for q in questions]):
            index, message = duplicates[0]
            raise located((index, "id"), message)
        return questions

    @model_validator(mode="after")
    def _badge_questions_exist(self) -> "Bank":
        if self.badge and self.badge.questions:
            unknown = [i for i in self.badge.questions if i not in {q.id for q in self.questions}]
            if unknown:
                raise located(("badge", "questions"), f"unknown question ids: {', '.join(unknown)}")
        return self

    def badge_question_ids(self) -> list[str]:
        """The questions a badge requires: its own list, or every graded question."""
        if self.badge and self.badge.questions:
            return list(self.badge.questions)
        return [q.id for q in self.questions if q.points > 0]

    @field_validator("questions")
    @classmethod
    def _share_key_salt(cls, questions: list[Question], info: ValidationInfo) -> list[Question]:
        """Hand the salt to each question, so a hashed key can be checked from the question alone."""
        salt = info.data.get("key_salt")
        for index, question in enumerate(questions):
            if question.hashed_keys and salt is None:
                raise located((index,), "this question's key is hashed (a student copy) but the bank has no `key_salt`")
            question._key_salt = salt
        return questions

    # -- convenience for callers (widgets, lessons, reports) ---------------------------------
    def question(self, question_id: str) -> Question:
        """The question with ``question_id``; KeyError naming the known ids otherwise."""
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(f"bank '{self.id}' has no question '{question_id}' (ids: {', '.join(q.id for q in self.questions)})")

    @property
    def question_ids(self) -> list[str]:
        return [q.id for q in self.questions]

    @property
    def max_score(self) -> float:
        return sum(q.points for q in self.questions)

    def subset(self, ids: list[str] | None = None, tags: list[str] | None = None) -> "Bank":
        """A copy holding only the questions with these ids (in the given order) and/or tags.

        Lessons use it to quiz on one topic; unknown ids raise KeyError rather than vanish.
        """
        chosen = [self.question(i) for i in ids] if ids is not None else list(self.questions)
        if tags is not None:
            wanted = set(tags)
            chosen = [q for q in chosen if wanted.intersection(q.tags)]
        if not chosen:
            raise KeyError(f"no question of bank '{self.id}' matches ids={ids} tags={tags}")
        return self.model_copy(update={"questions": chosen})

    def of_types(self, types: Sequence[str] | None) -> "Bank":
        """A copy holding only the questions of these kinds (e.g. a flashcard deck); all when ``types`` is empty."""
        if not types:
            return self
        kept = [q for q in self.questions if q.type in set(types)]
        if not kept:
            raise KeyError(f"bank '{self.id}' has no question of type {', '.join(types)}")
        return self.model_copy(update={"questions": kept})


def duplicate_question_ids(ids: Sequence[object]) -> list[tuple[int, str]]:
    """``(index, message)`` for every question whose id an earlier question already uses (ids that are
    not strings are skipped). ``Bank`` reports the first; the loader all of them, from the raw data,
    because pydantic skips the list's check when any question fails."""
    keys = [i if isinstance(i, str) else None for i in ids]
    return [(index, f"duplicate question id '{keys[index]}' (first used by questions[{first}])")
            for index, first in repeated(keys)]


def bank_model(registry: Registry) -> type[Bank]:
    """A bank model whose questions are the kinds of ``registry`` (``Bank`` itself uses :data:`KINDS`).

    How a course (or a test) adds a kind without touching this module: register it, then validate
    banks with the model made here."""
    if registry.names == KINDS.names:
        return Bank
    return create_model("Bank", __base__=Bank, questions=(list[registry.union], Field(min_length=1)))
