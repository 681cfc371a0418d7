"""What an LMS format is to ``grader export``, and the record of what an export could not carry.

An export runs in two steps. Each question kind maps itself once onto a neutral
:class:`~grader.kinds.records.LmsItem` (its ``lms_item`` function), noting what the item cannot hold
(a code question's probes, a partial-credit mode, a concept rubric). A format then writes the items
and adds its own losses (GIFT has no hints, Canvas QTI no per-option weights). Nothing is dropped
silently: every loss becomes a row of the report written beside the export.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..kinds.records import LmsItem

LossSource = Literal["kind", "format", "bank"]


@dataclass(frozen=True)
class Loss:
    """One thing the export does not carry, and where it was lost."""

    question: str | None
    """The question's id; None for a bank-level setting (attempts, a timer, a badge)."""
    what: str
    """In words, for an instructor: 'hint', 'partial credit mode `fraction` (exported as …)'."""
    source: LossSource
    """``kind``: no LMS item holds it; ``format``: this format cannot; ``bank``: a quiz setting."""


@dataclass(frozen=True)
class BankInfo:
    """The bank-level text a format may place in its file (a quiz title, a category, a description)."""

    id: str
    title: str
    description: str | None = None
    shuffle_options: bool = False


_FIELD_WORDS = {"hint": "hint", "grader_info": "the marker's notes", "case_sensitive": "case-sensitive matching"}


def field_losses(item: LmsItem, why: dict[str, str]) -> list[Loss]:
    """The optional parts of ``item`` a format has no place for, each with the format's reason.

    ``why`` maps a part (``hint``, ``tags``, ``grader_info``, ``case_sensitive``) to why the format
    drops it; only parts the item really has become losses (a short answer that ignores case loses
    nothing by a format that ignores case too)."""
    present = {"hint": bool(item.hint), "tags": bool(item.tags), "grader_info": bool(item.grader_info),
               "case_sensitive": item.form == "short" and item.case_sensitive}
    words = {**_FIELD_WORDS, "tags": f"tags {', '.join(item.tags)}"}
    return [Loss(item.id, f"{words[part]} ({reason})", "format") for part, reason in why.items() if present[part]]


Writer = Callable[[Sequence[LmsItem], BankInfo, Path], list[Loss]]
"""(items, bank info, output path) → the format's own losses; writes the file at the path."""


@dataclass(frozen=True)
class ExportFormat:
    """One LMS format: its command-line name, file suffix, writer and the bank settings it keeps."""

    name: str
    """The value of ``grader export --format``."""
    label: str
    suffix: str
    write: Writer
    carries: frozenset[str] = frozenset()
    """Bank settings (``Bank`` field names) the file keeps; every other setting that differs from its
    default is reported as a bank-level loss."""
