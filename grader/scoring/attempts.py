"""Attempt policy as a pure function of an attempt history.

Seed 003 shows the policy students know: "Your latest: 100% • Your highest: 100% • To pass you need
at least 80%. We keep your highest score." Limits and retry penalties are optional per bank.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the bank sits a layer above scoring; only its settings are read here
    from ..bank import Bank


@dataclass(frozen=True)
class AttemptSummary:
    attempts_used: int
    """Attempts that count (those within the bank's limit)."""
    attempts_allowed: int | None
    attempts_left: int | None
    adjusted_percents: list[float]
    """Each counted attempt's percent after the retry penalty."""
    ignored_attempts: int
    """Attempts made after the limit was reached: recorded, never counted."""
    latest_percent: float | None
    best_percent: float | None
    counted_percent: float
    """The percent that stands, by the bank's ``keep`` rule."""
    passed: bool
    can_retry: bool
    message: str


def summarize_attempts(bank: "Bank", percents: Sequence[float]) -> AttemptSummary:
    """Apply ``bank``'s attempts limit, retry penalty and keep rule to ``percents`` (oldest first).

    Attempt k (0-based) loses ``retry_penalty_percent``·k percent of its own score, never below 0.
    """
    limit = bank.attempts
    counted = list(percents if limit is None else percents[:limit])
    ignored = len(percents) - len(counted)
    penalty = bank.retry_penalty_percent / 100.0
    adjusted = [round(max(0.0, p * (1.0 - penalty * k)), 2) for k, p in enumerate(counted)]
    latest = adjusted[-1] if adjusted else None
    best = max(adjusted) if adjusted else None
    stands = (best if bank.keep == "highest" else latest) or 0.0
    passed = bool(adjusted) and stands + 1e-9 >= bank.pass_percent
    left = None if limit is None else max(0, limit - len(counted))
    can_retry = left is None or left > 0
    parts = []
    if adjusted:
        parts.append(f"Your latest: {latest:.0f}% • Your highest: {best:.0f}%.")
    parts.append(f"To pass you need at least {bank.pass_percent:g}%.")
    parts.append("We keep your highest score." if bank.keep == "highest" else "Your latest attempt counts.")
    if left is not None:
        parts.append(f"Attempts left: {left}.")
    return AttemptSummary(len(counted), limit, left, adjusted, ignored, latest, best, stands, passed,
                          can_retry, " ".join(parts))
