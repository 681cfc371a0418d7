"""When grading feedback may show the key, as a pure function of the bank, the attempts and the time.

"The key" is everything that states or points at the right answer: the "Answer:" line, question
explanations, per-option feedback, model answers and the expected values of code checks (see
``score_answers(..., reveal_key=False)``). A bank's ``show_key`` decides:

* ``after_each_attempt``: always (practice and self-check banks);
* ``after_last_attempt`` (the default): once the student has no attempt left, or once the bank is
  closed — after ``cutoff`` when it has one, else after ``due`` (later submissions are only accepted
  up to the cut-off, so showing the key before it would hand it to late submitters);
* ``never``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .late import format_when

if TYPE_CHECKING:  # the bank sits a layer above scoring; only its settings are read here
    from ..bank import Bank
    from .attempts import AttemptSummary

__all__ = ["KeyVisibility", "closes_at", "key_visibility"]

HIDDEN = "The answers and explanations"


@dataclass(frozen=True)
class KeyVisibility:
    """Whether feedback shows the key now, and a sentence telling the student when it will."""

    show: bool
    note: str
    """'' for practice banks (the key is always shown); otherwise why it is shown or hidden."""


def closes_at(bank: Bank) -> tuple[datetime, str] | None:
    """The moment after which no submission can still count, and its name: the cut-off, else the due
    date; None when the bank has neither."""
    if bank.cutoff is not None:
        return bank.cutoff, "the cut-off"
    if bank.due is not None:
        return bank.due, "the due date"
    return None


def key_visibility(bank: Bank, summary: AttemptSummary, now: datetime) -> KeyVisibility:
    """Whether the attempt summarised by ``summary`` (it must count the attempt being graded) may see
    the key at ``now`` (an aware datetime: the grading time).

    Raises ValueError for a naive ``now``.
    """
    if now.utcoffset() is None:
        raise ValueError("now has no time zone; give an aware datetime (e.g. datetime.now(timezone.utc))")
    if bank.show_key == "after_each_attempt":
        return KeyVisibility(True, "")
    if bank.show_key == "never":
        return KeyVisibility(False, f"{HIDDEN} of this quiz are not shown.")
    closing = closes_at(bank)
    if summary.attempts_left is not None and summary.attempts_left <= 0:
        return KeyVisibility(True, f"You have no attempts left, so {HIDDEN.lower()} are shown.")
    if closing is not None and now > closing[0]:
        return KeyVisibility(True, f"{closing[1][0].upper()}{closing[1][1:]} ({format_when(closing[0])}) has passed, "
                                   f"so {HIDDEN.lower()} are shown.")
    if summary.attempts_left is None and closing is None:
        return KeyVisibility(False, f"{HIDDEN} are not shown: this quiz allows unlimited attempts and has no due date.")
    when = []
    if summary.attempts_left is not None:
        when.append(f"after your last attempt ({summary.attempts_left} left)")
    if closing is not None:
        when.append(f"after {closing[1]}, {format_when(closing[0])}")
    return KeyVisibility(False, f"{HIDDEN} will be shown {' or '.join(when)}.")
