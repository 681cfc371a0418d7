"""What a question kind is: one record of small pure functions next to its model, and the registry
that every list of kinds is derived from.

Each kind module (``single_choice.py`` … ``code.py``) defines its pydantic model and a :class:`Kind`
binding the functions the rest of ``grader`` needs: scoring, the key in words, student-copy hashing,
the widget input, the static render, nbgrader cells and the LMS item. The bank's question union,
the list of type names, the loader's models and the scorer table all come from a :class:`Registry`
of those records, so adding a kind is one module (and its tests), and a layer that needs something
of a kind asks the registry instead of keeping an ``isinstance`` chain (PEFT's one ``dispatch_*``
per backend, rendercv's entry types derived from the union).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, Generic, TypeVar, Union

from pydantic import Field

from ..models.question import QuestionBase
from ..scoring.verdict import Verdict
from .records import InputSpec, LmsItem, NbCell

Q = TypeVar("Q", bound=QuestionBase)

PatternSite = tuple[tuple[Any, ...], str, bool, bool]
"""(sub-path below the question, pattern, ignore case, whole answer) of one regular expression."""


@dataclass(frozen=True)
class NbgraderContext:
    """What a kind's nbgrader cells may need beyond the question: reference values of code probes."""

    reference_values: Mapping[str, Mapping[str, Any]]
    """question id → probe id → the reference's encoded value."""


def _no_patterns(_question: Any) -> list[PatternSite]:
    return []


def _no_nbgrader(_question: Any, _context: NbgraderContext) -> list[NbCell]:
    return []


def conceal_key(_question: Any, verdict: Verdict, _outcomes: Mapping[str, Any] | None = None) -> Verdict:
    """The verdict without the key: no key text and no per-option feedback (an option's feedback
    often says which option is right). What the student answered and whether it is right stay."""
    return replace(verdict, correct_answer=None, option_feedback=[])


@dataclass(frozen=True)
class Kind(Generic[Q]):
    """One question kind: its model and the pure functions every layer above needs."""

    model: type[Q]
    how: str
    """The answer form in a few words ('choose one'), as static versions of a quiz say it."""
    score: Callable[[Q, Any, Mapping[str, Any] | None], Verdict]
    """(question, answer, trusted probe outcomes of a code question) → verdict; never raises for bad answers."""
    key_text: Callable[[Q], str | None]
    """The key in words for feedback ('B) text', '294912 (± 1)'); None when there is none to show."""
    answer_input: Callable[[Q], InputSpec]
    static_lines: Callable[[Q], list[str]]
    """Markdown shown after the prompt and its code wherever the quiz cannot be interactive (options,
    a blank to fill, the names of checks); :func:`grader.kinds.question_markdown` puts them together."""
    lms_item: Callable[[Q], LmsItem]
    hash_key: Callable[[dict[str, Any], Q, str], None] | None = None
    """Replace the readable key in a student copy's data by salted hashes, in place; None: the kind
    is left out of student copies (its key cannot be hidden, e.g. a code question's reference)."""
    nbgrader_cells: Callable[[Q, NbgraderContext], list[NbCell]] = _no_nbgrader
    """The answer and test cells of an nbgrader source notebook ([]: no autogradable form there)."""
    patterns: Callable[[Q], list[PatternSite]] = _no_patterns
    """The bank's regular expressions this kind runs on students' answers (checked by ``validate``)."""
    conceal: Callable[[Q, Verdict, Mapping[str, Any] | None], Verdict] = conceal_key
    """(question, verdict, trusted probe outcomes) → the verdict with everything that states or hints at
    the key removed, for feedback while the bank's ``show_key`` keeps it hidden (``reveal_key=False``)."""

    @property
    def name(self) -> str:
        """The ``type`` value of the kind's questions, read from its model's ``type`` literal."""
        return self.model.model_fields["type"].annotation.__args__[0]


class Registry:
    """An ordered, immutable set of kinds, and everything derived from it."""

    def __init__(self, kinds: Sequence[Kind[Any]]) -> None:
        names = [kind.name for kind in kinds]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"question kinds registered twice: {', '.join(repeated)}")
        self.kinds: tuple[Kind[Any], ...] = tuple(kinds)
        self._by_name = {kind.name: kind for kind in kinds}

    @property
    def names(self) -> tuple[str, ...]:
        """The ``type`` values, in registration order."""
        return tuple(self._by_name)

    @property
    def models(self) -> tuple[type[QuestionBase], ...]:
        return tuple(kind.model for kind in self.kinds)

    @property
    def union(self) -> Any:
        """The discriminated union of the models: what a bank's ``questions`` list holds."""
        return Annotated[Union[self.models], Field(discriminator="type")]  # noqa: UP007 - a runtime tuple

    def get(self, name: str) -> Kind[Any] | None:
        return self._by_name.get(name)

    def of(self, question: QuestionBase) -> Kind[Any]:
        """The kind of ``question``; KeyError for a question whose kind is not registered here."""
        kind = self._by_name.get(question.type)
        if kind is None or not isinstance(question, kind.model):
            raise KeyError(f"question '{question.id}' is of kind '{question.type}', which this registry lacks "
                           f"(kinds: {', '.join(self.names)})")
        return kind

    def extended(self, *kinds: Kind[Any]) -> "Registry":
        """A new registry with ``kinds`` added after these (e.g. a course's own kind, or a test's toy)."""
        return Registry([*self.kinds, *kinds])
