"""Late submissions as a pure function of a bank's dates and one submission time.

A bank may set ``due`` (when work is on time), ``late_penalty`` (percent of the attempt's own score
lost per *started* day or hour after ``due``) and ``cutoff`` (after it, a submission scores 0). Where
the submission time comes from (a file's time, an LMS's timestamp) is the collector's business; this
module only turns that time into a penalty and a sentence for the student. An unknown time costs
nothing: a student is never penalised for what the grader could not find out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the bank sits a layer above scoring; only its settings are read here
    from ..bank import Bank

__all__ = ["Lateness", "apply_late", "format_duration", "format_when", "lateness"]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PERIOD = {"day": timedelta(days=1), "hour": timedelta(hours=1)}


@dataclass(frozen=True)
class Lateness:
    """How late one submission was and what it costs."""

    late_by: timedelta | None
    """How long after ``due`` it came; None when on time, when the bank has no due date, or when the
    submission time is unknown."""
    penalty_percent: float
    """Percent of the attempt's score taken off (0–100; 100 when refused)."""
    refused: bool
    """Submitted after the bank's ``cutoff``: the attempt scores 0."""
    message: str
    """One sentence for feedback and grades.csv ('' when the bank has no due date)."""

    @property
    def late(self) -> bool:
        return self.late_by is not None


def format_when(moment: datetime) -> str:
    """'Mon 1 Dec 2026 23:59 UTC' in the moment's own time zone ('UTC+01:00' when it is not UTC).

    Day and month names are spelled here, not by ``strftime``, whose names follow the machine's locale."""
    offset = moment.utcoffset()
    if offset is None:
        zone = ""
    elif not offset:
        zone = " UTC"
    else:
        minutes = int(abs(offset).total_seconds()) // 60
        zone = f" UTC{'+' if offset > timedelta(0) else '−'}{minutes // 60:02d}:{minutes % 60:02d}"
    return (f"{_DAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]} {moment.year} "
            f"{moment.hour:02d}:{moment.minute:02d}{zone}")


def format_duration(span: timedelta) -> str:
    """'1 day 2 h', '5 h 3 min', '12 min', '40 s': the two largest units, rounded down."""
    seconds = max(0, int(span.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{days} day" + ("" if days == 1 else "s")] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes else []
    return " ".join(parts[:2]) if parts else f"{seconds} s"


def _require_zone(submitted_at: datetime) -> None:
    if submitted_at.utcoffset() is None:
        raise ValueError("submitted_at has no time zone; give an aware datetime "
                         "(e.g. datetime.fromtimestamp(mtime, tz=timezone.utc))")


def lateness(bank: Bank, submitted_at: datetime | None) -> Lateness:
    """How late ``submitted_at`` is for ``bank``, and the penalty it earns.

    On time means at or before ``due``. Each started period (day or hour) after it costs
    ``late_penalty.percent`` of the attempt's score, at most 100 %. After ``cutoff`` the attempt is
    refused (scores 0). ``submitted_at=None`` (time unknown) costs nothing and says so.
    Raises ValueError for a naive ``submitted_at``: comparing it with the bank's aware dates would
    silently assume a time zone.
    """
    due = bank.due
    if due is None:
        return Lateness(None, 0.0, False, "")
    when = format_when(due)
    if submitted_at is None:
        return Lateness(None, 0.0, False,
                        f"The submission time is unknown, so it was not checked against the due date ({when}).")
    _require_zone(submitted_at)
    if submitted_at <= due:
        return Lateness(None, 0.0, False, f"Submitted on time (due {when}).")
    late_by = submitted_at - due
    if bank.cutoff is not None and submitted_at > bank.cutoff:
        return Lateness(late_by, 100.0, True,
                        f"Submitted {format_duration(late_by)} after the due date ({when}) and after the cut-off "
                        f"({format_when(bank.cutoff)}): this attempt scores 0.")
    penalty = bank.late_penalty
    if penalty is None:
        return Lateness(late_by, 0.0, False,
                        f"Submitted {format_duration(late_by)} after the due date ({when}); no late penalty applies.")
    periods = math.ceil(late_by / _PERIOD[penalty.per])
    percent = min(100.0, round(penalty.percent * periods, 6))
    return Lateness(late_by, percent, False,
                    f"Submitted {format_duration(late_by)} after the due date ({when}): "
                    f"−{percent:g} % of this attempt's score.")


def apply_late(percent: float, late: Lateness) -> float:
    """The attempt's percent after the late penalty: 0 when refused, never below 0."""
    if late.refused:
        return 0.0
    return round(max(0.0, percent * (1.0 - late.penalty_percent / 100.0)), 2)
