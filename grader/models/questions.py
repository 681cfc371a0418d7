"""One model per question type, sharing the fields every question has.

The type-specific fields are documented in ``quizzes/README.md``; cross-field checks are field
validators (not whole-model validators) so that their errors point at one key of the YAML file.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import regex
from pydantic import Field, PrivateAttr, ValidationInfo, WithJsonSchema, field_validator, model_validator

from .base import KeyHash, NonEmptyStr, Slug, StrictModel, located
from .keyhash import key_digest, numeric_hash_matches, option_value
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


def _check_regex(pattern: str, where: str) -> None:
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


class _ChoiceFields(QuestionBase):
    options: list[Option] = Field(min_length=2)
    """The options, in the order the source gives them."""
    snippet: str | None = None
    """Code shown with the prompt (display only, never run)."""

    @field_validator("options", mode="before")
    @classmethod
    def _default_ids(cls, value: Any) -> Any:
        return default_option_ids(value)

    @property
    def correct_ids(self) -> list[str]:
        return [o.id for o in self.options if self.is_correct(o)]

    @property
    def hashed_keys(self) -> bool:
        return any(o.key_hash for o in self.options)

    def is_correct(self, option: Option) -> bool:
        """Whether ``option`` is right: its ``correct`` flag, or in a student copy its key hash."""
        return _option_is_correct(self, option)

    def option(self, option_id: str) -> Option | None:
        """The option whose id matches ``option_id`` case-insensitively."""
        key = str(option_id).strip().casefold()
        return next((o for o in self.options if o.id.casefold() == key), None)


def _option_is_correct(question: QuestionBase, option: Option) -> bool:
    if option.key_hash is None:
        return option.correct
    return option.key_hash == question._hash(option_value(option.id, True))


def _hashed_options(options: list[Option]) -> bool:
    """True for a student copy's options (every one hashed, none marked); error for a mix."""
    hashed = [o.key_hash is not None for o in options]
    if not any(hashed):
        return False
    if not all(hashed) or any(o.correct for o in options):
        raise ValueError("options carry `key_hash` (a student copy) but some also use `correct` or lack a hash; "
                         "write a student copy with grader.keys.student_copy")
    return True


def _exactly_one_correct(options: list[Option], qtype: str) -> list[Option]:
    check_unique_option_ids(options)
    if _hashed_options(options):
        return options  # the key was checked on the instructor's bank before it was hashed
    correct = [o.id for o in options if o.correct]
    if len(correct) != 1:
        found = f"found {len(correct)}" + (f" ({', '.join(correct)})" if correct else "")
        raise ValueError(f"a {qtype} question needs exactly one correct option, {found}")
    return options


class SingleChoiceQuestion(_ChoiceFields):
    """Pick one option (radio buttons)."""

    type: Literal["single_choice"]

    @field_validator("options")
    @classmethod
    def _one_correct(cls, options: list[Option]) -> list[Option]:
        return _exactly_one_correct(options, "single_choice")


class MultipleChoiceQuestion(_ChoiceFields):
    """Tick every right option (check boxes), scored with partial credit."""

    type: Literal["multiple_choice"]
    scoring: Literal["net_correct", "coverage", "all_or_nothing"] = "net_correct"
    """Partial-credit rule; see quizzes/README.md. net_correct never credits ticking every box."""

    @field_validator("options")
    @classmethod
    def _some_correct(cls, options: list[Option]) -> list[Option]:
        check_unique_option_ids(options)
        if not _hashed_options(options) and not any(o.correct for o in options):
            raise ValueError("a multiple_choice question needs at least one correct option, found 0")
        return options


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
            _check_regex(pattern, f"[{index}]")
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
        return _exactly_one_correct(options, "code_output")

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
    def expected_output(self) -> str:
        """The key as printed text, whichever form the question uses ('' when a student copy hides it)."""
        if self.options is not None:
            return next((o.text for o in self.options if self.is_correct(o)), "")
        return self.answer or ""

    @property
    def correct_ids(self) -> list[str]:
        return [o.id for o in self.options or [] if self.is_correct(o)]

    @property
    def hashed_keys(self) -> bool:
        return self.answer_hash is not None or any(o.key_hash for o in self.options or [])

    def is_correct(self, option: Option) -> bool:
        return _option_is_correct(self, option)

    def output_hash_matches(self, normalised: str) -> bool:
        """Whether printed output, normalised as text, matches a student copy's hashed ``answer``."""
        return self.answer_hash is not None and self._hash(f"output\x1f{normalised}") == self.answer_hash

    def option(self, option_id: str) -> Option | None:
        key = str(option_id).strip().casefold()
        return next((o for o in self.options or [] if o.id.casefold() == key), None)


class Concept(StrictModel):
    """One idea a free response should mention, recognised by keywords or regular expressions."""

    id: Slug
    label: NonEmptyStr
    """Shown in the checklist: 'updates only small low-rank matrices'."""
    keywords: list[NonEmptyStr] = Field(default_factory=list)
    """Words or phrases, matched as whole words, case-insensitively."""
    patterns: list[NonEmptyStr] = Field(default_factory=list, validate_default=True)
    """Regular expressions (case-insensitive) searched in the answer."""

    @field_validator("patterns")
    @classmethod
    def _some_matcher(cls, patterns: list[str], info: ValidationInfo) -> list[str]:
        for index, pattern in enumerate(patterns):
            _check_regex(pattern, f"[{index}]")
        if not patterns and not info.data.get("keywords"):
            raise ValueError("a concept needs at least one keyword or pattern")
        return patterns


class FreeResponseQuestion(QuestionBase):
    """Explain in your own words; checked against a concept checklist ('You got 3/4 concepts').

    A self-check aid by default (points 0): keyword matching cannot judge understanding.
    """

    type: Literal["free_response"]
    points: float = Field(0, ge=0, le=MAX_POINTS)
    concepts: list[Concept] = Field(min_length=1)
    model_answer: str | None = None

    @field_validator("concepts")
    @classmethod
    def _unique_concepts(cls, concepts: list[Concept]) -> list[Concept]:
        seen: dict[str, int] = {}
        for index, concept in enumerate(concepts):
            if concept.id in seen:
                raise located(f"[{index}].id", f"duplicate concept id '{concept.id}' (also concepts[{seen[concept.id]}])")
            seen[concept.id] = index
        return concepts


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


class Probe(StrictModel):
    """One check of a code answer: an expression evaluated for the student and for the reference."""

    id: Slug
    name: NonEmptyStr
    """Shown in feedback, hidden probes included."""
    expr: NonEmptyStr
    """Python expression over the names the student's code defines."""
    points: float = Field(1, ge=0, le=MAX_POINTS)
    hidden: bool = False
    """Hidden probes are named in feedback; their expression and expected value never are."""
    message: str | None = None
    """What the student should look at when this probe fails."""
    tolerance: float = Field(1e-6, ge=0)
    """Absolute tolerance for numbers and tensors."""
    compare: Literal["value", "type"] = "value"
    """``value``: the values must match (numbers within ``tolerance``); ``type``: only the value's exact
    type counts (``int``, ``float``, ``str``, ``list``, ``tensor``…; a subclass is never its base).
    Use ``type`` for "returns an int" rather than ``type(x).__name__`` in ``expr``, which runs in the
    student's process and can be faked there."""


class CodeQuestion(QuestionBase):
    """Write code; graded by probes run in a sandboxed child process (``grader grade``)."""

    type: Literal["code"]
    starter: str = ""
    reference: NonEmptyStr
    """The trusted solution; never shipped to students."""
    setup: str = ""
    """Code run before the probes, in both namespaces (e.g. imports, seeds)."""
    checks: list[Probe] = Field(min_length=1)
    requires: list[Slug] = Field(default_factory=list)
    """Ids of earlier code questions whose answers run first (e.g. a class this answer builds on).

    Each code question runs in a sandbox of its own; the required answers (the student's for the
    student, the references for the reference) are executed before this one."""
    timeout_s: float = Field(20, gt=0, le=600)
    """Wall-clock seconds for the student's code and all probes together."""
    memory_mb: int = Field(2048, ge=64, le=MAX_MEMORY_MB)
    """Memory the sandbox as a whole may add on top of the preloaded libraries (at most 16 GiB: a bank
    cannot lift the limit that keeps a student's code from taking the grader's machine down)."""

    @field_validator("checks")
    @classmethod
    def _unique_probes(cls, checks: list[Probe]) -> list[Probe]:
        seen: dict[str, int] = {}
        for index, probe in enumerate(checks):
            if probe.id in seen:
                raise located(f"[{index}].id", f"duplicate probe id '{probe.id}' (also checks[{seen[probe.id]}])")
            seen[probe.id] = index
            if len(probe.expr) > MAX_EXPR_CHARS:
                raise located(f"[{index}].expr", f"the expression has {len(probe.expr):,} characters, more than the "
                                                 f"{MAX_EXPR_CHARS:,} a probe may have (put helpers in `setup`)")
            try:
                compile(probe.expr, f"<probe {probe.id}>", "eval")
            except SyntaxError as exc:
                raise located(f"[{index}].expr", f"not a Python expression: {exc.msg}") from None
            except (RecursionError, MemoryError, ValueError) as exc:  # nesting the compiler cannot follow; NUL bytes
                raise located(f"[{index}].expr", f"not a Python expression the compiler accepts ({type(exc).__name__}: "
                                                 "nested too deeply or not text)") from None
        return checks


Question = Annotated[
    Union[SingleChoiceQuestion, MultipleChoiceQuestion, NumericQuestion, TextQuestion,
          CodeOutputQuestion, FreeResponseQuestion, FlashcardQuestion, CodeQuestion],
    Field(discriminator="type"),
]

QUESTION_TYPES: tuple[str, ...] = ("single_choice", "multiple_choice", "numeric", "text", "code_output",
                                   "code", "free_response", "flashcard")
CHOICE_TYPES = (SingleChoiceQuestion, MultipleChoiceQuestion)
