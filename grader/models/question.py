"""What every question kind shares: the common fields, and the option helpers of the choice kinds.

The kinds themselves (one module each, model and behaviour together) live in :mod:`grader.kinds`;
this module is the layer below them, so it knows no kind by name.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

import regex
from pydantic import (
    Field,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from .base import NonEmptyStr, Slug, StrictModel, located
from .keyhash import key_digest, option_value
from .options import Option, check_unique_option_ids, default_option_ids
from .regexsize import size_problem

#: Seed documents use several difficulty vocabularies; they all land on one three-step scale.
DIFFICULTY_WORDS: dict[str, str] = {
    "easy": "easy", "medium": "medium", "hard": "hard",
    "beginner": "easy", "intermediate": "medium", "advanced": "hard", "expert": "hard",
}

Difficulty = Literal["easy", "medium", "hard"]
#: In the JSON Schema (what editors check as authors type) the seed words are accepted too, because
#: the loader maps them before validation.
DIFFICULTY_SCHEMA = WithJsonSchema({"anyOf": [{"enum": list(DIFFICULTY_WORDS)}, {"type": "null"}],
                                    "description": "easy, medium or hard, or beginner/intermediate/advanced/expert"})


MAX_POINTS = 10_000
"""Points of one question or probe (sums of huge values overflow to inf and a percent of NaN)."""
MAX_MEMORY_MB = 16_384
MAX_EXPR_CHARS = 10_000
"""A probe expression is compiled when the bank loads; helpers belong in the question's ``setup``."""


def check_regex(pattern: str, where: tuple[str | int, ...]) -> None:
    """Patterns run on the ``regex`` package (with a time limit, grader/scoring/patterns.py): compile them with it,
    unless they are too big to compile safely (:mod:`.regexsize`)."""
    problem = size_problem(pattern)
    if problem is not None:
        raise located(where, problem)
    try:
        regex.compile(pattern)
    except regex.error as exc:
        raise located(where, f"invalid regular expression {pattern!r}: {exc}") from None
    except (RecursionError, MemoryError) as exc:
        raise located(where, f"the regular expression is nested too deeply to compile ({type(exc).__name__})") from None


class QuestionBase(StrictModel):
    """Fields every question type has. ``type`` selects the subclass."""

    id: Slug
    """Unique in the bank and stable forever: answers, gradebooks and lessons refer to it."""
    prompt: NonEmptyStr
    """Markdown; code fences and $math$ allowed. For a flashcard, the front of the card."""
    explanation: str | None = None
    """Shown after the student answers."""
    hint: str | None = None
    """Shown when the student asks for a hint."""
    difficulty: Annotated[Difficulty | None, DIFFICULTY_SCHEMA] = None
    """easy, medium or hard; the seeds' beginner/intermediate/advanced/expert are mapped onto it."""
    level: str | None = None
    """The source's own difficulty word (kept when ``difficulty`` was given as a seed word)."""
    category: str | None = None
    """The source's category, e.g. Conceptual, Debug, Metrics, Model Choice."""
    points: float = Field(1, ge=0, le=MAX_POINTS)
    """Maximum points for this question."""
    tags: list[Slug] = Field(default_factory=list)
    """Topic tags; questions that two seeds both ask share a tag."""
    time_limit_s: int | None = Field(None, ge=1)
    """Per-question timer in seconds."""
    attempts: int | None = Field(None, ge=1)
    """Tries at this question inside one quiz attempt (None: unlimited)."""
    common_mistakes: list[NonEmptyStr] = Field(default_factory=list)
    solution: list[NonEmptyStr] = Field(default_factory=list)
    """Step-by-step solution, one step per item."""
    final_answer: str | None = None
    quick_check: str | None = None
    errata: str | None = None
    """Why the kept key is debatable, or what was repaired from the source."""
    seed_ref: str | None = None
    """Where the question stands in its source document (e.g. 'Q3', 'practice 3')."""

    _key_salt: str | None = PrivateAttr(default=None)
    # The bank's ``key_salt``, handed down by Bank so a student copy's hashed keys can be checked
    # by this question alone (scoring functions see a question, never its bank).

    @property
    def hashed_keys(self) -> bool:
        """Whether this question's key is stored as salted hashes (a student copy)."""
        return False

    def _hash(self, value: str) -> str | None:
        return key_digest(self._key_salt, self.id, value) if self._key_salt is not None else None

    @model_validator(mode="before")
    @classmethod
    def _map_difficulty_words(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("difficulty"), str):
            word = data["difficulty"].strip()
            mapped = DIFFICULTY_WORDS.get(word.lower())
            if mapped is not None and mapped != word:
                data = {**data, "difficulty": mapped}
                data.setdefault("level", word)
        return data

    @property
    def graded(self) -> bool:
        """Whether this question counts towards the score."""
        return self.points > 0

    @property
    def choices(self) -> list[Option]:
        """The options a student picks from, in the bank's order ([] for kinds answered otherwise).

        Every layer that lists options (widgets, notebooks, exports) asks this instead of probing
        for an ``options`` attribute, so a kind decides for itself what its options are."""
        return []

    @property
    def shown_code(self) -> str | None:
        """Code shown with the prompt (a ``snippet``), or None."""
        return None

    @property
    def correct_ids(self) -> list[str]:
        """Ids of the right options ([] for kinds without options, or a student copy's hidden key)."""
        return [o.id for o in self.choices if self.is_correct(o)]

    def is_correct(self, option: Option) -> bool:
        """Whether ``option`` is right: its ``correct`` flag, or in a student copy its key hash."""
        return option_is_correct(self, option)

    def option(self, option_id: str) -> Option | None:
        """The option whose id matches ``option_id`` case-insensitively (None when there is none)."""
        key = str(option_id).strip().casefold()
        return next((o for o in self.choices if o.id.casefold() == key), None)


class ChoiceFields(QuestionBase):
    """The fields and helpers of the kinds a student answers by picking options."""

    options: list[Option] = Field(min_length=2)
    """The options, in the order the source gives them."""
    snippet: str | None = None
    """Code shown with the prompt (display only, never run)."""

    @field_validator("options", mode="before")
    @classmethod
    def _default_ids(cls, value: Any) -> Any:
        return default_option_ids(value)

    @property
    def choices(self) -> list[Option]:
        return list(self.options)

    @property
    def shown_code(self) -> str | None:
        return self.snippet

    @property
    def hashed_keys(self) -> bool:
        return any(o.key_hash for o in self.options)


def option_is_correct(question: QuestionBase, option: Option) -> bool:
    """An option's ``correct`` flag, or in a student copy whether its hash says 'right'."""
    if option.key_hash is None:
        return option.correct
    return option.key_hash == question._hash(option_value(option.id, True))


def hashed_options(options: list[Option]) -> bool:
    """True for a student copy's options (every one hashed, none marked); error for a mix."""
    hashed = [o.key_hash is not None for o in options]
    if not any(hashed):
        return False
    if not all(hashed) or any(o.correct for o in options):
        raise ValueError("options carry `key_hash` (a student copy) but some also use `correct` or lack a hash; "
                         "write a student copy with grader.keys.student_copy")
    return True


def exactly_one_correct(options: list[Option], qtype: str) -> list[Option]:
    """The check of single-answer choice kinds (unique ids, one right option unless hashed)."""
    check_unique_option_ids(options)
    if hashed_options(options):
        return options  # the key was checked on the instructor's bank before it was hashed
    correct = [o.id for o in options if o.correct]
    if len(correct) != 1:
        found = f"found {len(correct)}" + (f" ({', '.join(correct)})" if correct else "")
        raise ValueError(f"a {qtype} question needs exactly one correct option, {found}")
    return options


