"""The question kinds: one module each, and the registry every list of kinds comes from.

``KINDS`` below is the only hand-kept list. The bank's question union (:data:`Question`), the type
names (:data:`QUESTION_TYPES`), the loader's models and the scorer table are all read from it; add a
kind by writing its module and adding its ``KIND`` here (see ``tests/test_grader_kinds.py`` for a
toy kind registered in a registry of its own).
"""
from __future__ import annotations

from ..models import QuestionBase
from . import (
    code,
    code_output,
    flashcard,
    free_response,
    multiple_choice,
    numeric,
    single_choice,
    text,
)
from .code import CodeQuestion, Probe
from .code_output import CodeOutputQuestion
from .common import code_block
from .flashcard import FlashcardQuestion
from .free_response import Concept, FreeResponseQuestion
from .multiple_choice import MultipleChoiceQuestion
from .numeric import NumericQuestion
from .records import InputSpec, LmsAnswer, LmsItem, NbCell
from .registry import Kind, NbgraderContext, Registry
from .single_choice import SingleChoiceQuestion
from .text import TextQuestion

KINDS = Registry([single_choice.KIND, multiple_choice.KIND, numeric.KIND, text.KIND, code_output.KIND,
                  code.KIND, free_response.KIND, flashcard.KIND])
"""The course's kinds, in the order the docs list them."""

Question = KINDS.union
QUESTION_TYPES: tuple[str, ...] = KINDS.names


def question_markdown(question: QuestionBase, *, show_code: bool = True, registry: Registry = KINDS) -> list[str]:
    """A question as Markdown lines, without its key: prompt, the code it shows, then its kind's part.

    The one static render: the quiz notebooks' static version, the released assignment and the
    nbgrader notebook all use it. ``show_code=False`` where the code already sits in an answer cell."""
    lines = question.prompt.strip().splitlines() + [""]
    if show_code:
        lines += code_block(question.shown_code)
    return lines + registry.of(question).static_lines(question)

__all__ = ["KINDS", "Question", "QUESTION_TYPES", "question_markdown", "Kind", "Registry", "NbgraderContext", "InputSpec", "LmsAnswer",
           "LmsItem", "NbCell", "SingleChoiceQuestion", "MultipleChoiceQuestion", "NumericQuestion", "TextQuestion",
           "CodeOutputQuestion", "CodeQuestion", "Probe", "FreeResponseQuestion", "Concept", "FlashcardQuestion"]
