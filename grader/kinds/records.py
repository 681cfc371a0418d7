"""The plain records a kind hands to the layers above it.

A kind never builds a widget, a notebook or an XML element itself: it describes what it needs in
these small frozen records, and one generic writer per artefact turns them into the real thing
(``grader.widgets.inputs`` builds the input an :class:`InputSpec` names, ``grader.notebooks``
writes :class:`NbCell` lists, ``grader.exports`` writes :class:`LmsItem`). That keeps every kind
module pure and importable without ipywidgets, nbformat or an XML library, and keeps each
artefact's format in one place.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

InputStyle = Literal["radio", "checkbox", "line", "area", "card", "elsewhere"]
"""How a student answers in the quiz widget: pick one, tick several, type a line, type a paragraph,
flip a card (never checked), or somewhere else (code: a notebook cell that ``grader grade`` runs)."""


@dataclass(frozen=True)
class InputSpec:
    """The widget input a kind asks for."""

    style: InputStyle
    placeholder: str = ""
    note: str = ""
    """For ``card`` and ``elsewhere``: what the widget says instead of offering Check."""
    back: str = ""
    """For ``card``: the back of the card (Markdown), shown when the student flips it."""


@dataclass(frozen=True)
class NbCell:
    """One cell of an nbgrader source notebook, with the nbgrader roles it plays."""

    source: str
    grade_id: str
    cell_type: Literal["code", "markdown"] = "code"
    solution: bool = False
    """An answer cell: nbgrader replaces the ``### BEGIN/END SOLUTION`` region for students."""
    points: float | None = None
    """An autograded test cell worth this many points (None: not graded)."""
    hidden: bool = False
    """A test students must not see (it states the key): inside ``### BEGIN/END HIDDEN TESTS``."""
    title: str | None = None
    """A comment line shown above the cell's code, also when the test itself is hidden."""
    prelude: str = ""
    """Code above an answer cell's solution region, kept in the student's version: the placeholder
    line ``release`` gives students too (``answer = None  # replace None …``), so a cell left as
    released reads as unanswered in both graders (the tests judge the cell's text, not the kernel)."""

    @property
    def locked(self) -> bool:
        return not self.solution


LmsForm = Literal["single", "multiple", "numeric", "short", "essay", "description"]
"""The question forms every LMS format shares (Moodle multichoice single/multi, numerical,
shortanswer, essay, description; GIFT and Canvas QTI have the same six)."""


@dataclass(frozen=True)
class LmsAnswer:
    """One option or accepted answer, with the share of the points it earns (-1 … 1)."""

    text: str
    fraction: float
    feedback: str | None = None


@dataclass(frozen=True)
class LmsItem:
    """A question as the LMS formats can hold it, plus what the kind could not put into it.

    Kinds map themselves onto this neutral item once; each format writer (Moodle XML, GIFT, Canvas
    QTI) then adds the losses of its own format. Prompts stay Markdown (code fences included)."""

    id: str
    form: LmsForm
    prompt: str
    points: float
    answers: tuple[LmsAnswer, ...] = ()
    number: float | None = None
    tolerance: float = 0.0
    unit: str | None = None
    case_sensitive: bool = False
    general_feedback: str | None = None
    hint: str | None = None
    grader_info: str | None = None
    """For hand-graded essays: what the marker should look for (a rubric, a model answer)."""
    tags: tuple[str, ...] = ()
    losses: tuple[str, ...] = field(default_factory=tuple)
