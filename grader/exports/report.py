"""The loss report: everything an export leaves behind, per question and for the bank.

Printed by ``grader export`` and written beside the exported file (``OUT.losses.md``), so an
instructor sees before the import what they must set by hand in the LMS (a timer, attempts) and
which questions need another home (code questions, concept rubrics).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bank import Bank
from .base import ExportFormat, Loss


def _pct(value: Any) -> str:
    return f"{value:g} %"


BANK_SETTINGS: dict[str, tuple[Any, str]] = {
    "description": (None, "the bank's description"),
    "pass_percent": (80, "pass mark {}"),
    "attempts": (None, "{} attempts at the whole quiz"),
    "retry_penalty_percent": (0, "retry penalty of {} % per earlier attempt"),
    "keep": ("highest", "keep the {} attempt"),
    "time_limit_s": (None, "time limit of {} s for the whole quiz"),
    "shuffle_questions": (False, "shuffled question order"),
    "shuffle_options": (False, "shuffled options"),
    "badge": (None, "badge '{}'"),
    "errata": (None, "errata note"),
}
"""Bank field → (its default, how a loss of it reads). Only settings that differ from the default
are reported: an unset timer is nothing lost."""


def bank_losses(bank: Bank, carried: frozenset[str]) -> list[Loss]:
    """The bank's quiz settings that are set and that the format does not keep."""
    losses = []
    for name, (default, words) in BANK_SETTINGS.items():
        value = getattr(bank, name)
        if name in carried or value == default or (name == "keep" and bank.attempts == 1):
            continue
        shown = value.name if name == "badge" else _pct(value) if name == "pass_percent" else value
        losses.append(Loss(None, words.format(shown) if "{}" in words else words, "bank"))
    return losses


@dataclass(frozen=True)
class ExportReport:
    """What one export wrote and lost."""

    bank_id: str
    format: ExportFormat
    path: Path
    questions: int
    losses: tuple[Loss, ...]

    def by_question(self) -> dict[str | None, list[Loss]]:
        grouped: dict[str | None, list[Loss]] = {}
        for loss in self.losses:
            grouped.setdefault(loss.question, []).append(loss)
        return grouped

    def markdown(self) -> str:
        """The report as Markdown: a summary line, the bank's settings, then one row per loss."""
        lines = [f"# What the {self.format.label} export of `{self.bank_id}` does not carry", "",
                 f"{self.questions} questions written to `{self.path.name}`; "
                 f"{_losses(len(self.losses))} ({_count(self.losses, 'kind')} of the question kind, "
                 f"{_count(self.losses, 'format')} of the format, {_count(self.losses, 'bank')} quiz settings).", ""]
        if not self.losses:
            return "\n".join(lines + ["Nothing is lost.", ""])
        bank_level = [loss for loss in self.losses if loss.question is None]
        if bank_level:
            lines += ["## Quiz settings to set by hand in the LMS", ""]
            lines += [f"- {loss.what}" for loss in bank_level] + [""]
        per_question = [loss for loss in self.losses if loss.question is not None]
        if per_question:
            lines += ["## Per question", "", "| question | lost | why |", "|---|---|---|"]
            lines += [f"| `{loss.question}` | {_cell(loss.what)} | {_WHY[loss.source]} |" for loss in per_question]
            lines.append("")
        return "\n".join(lines)


_WHY = {"kind": "no LMS question type holds it", "format": "this format cannot hold it", "bank": "quiz setting"}


def _losses(count: int) -> str:
    return f"{count} loss" if count == 1 else f"{count} losses"


def _count(losses: Sequence[Loss], source: str) -> int:
    return sum(loss.source == source for loss in losses)


def _cell(text: str) -> str:
    """Text that stays inside one Markdown table cell."""
    return " ".join(text.replace("|", "\\|").split())
