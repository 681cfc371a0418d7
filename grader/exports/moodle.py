"""What Moodle's question importer demands of any file, shared by the Moodle XML and GIFT writers.

Both formats end in the same importer (``qformat_default::importprocess``), which checks every
answer's grade against Moodle's fixed list (``question_bank::fraction_options_full``): a grade more
than 0.001 % from a listed one makes the import stop with "invalid grade" (the importer's default
``matchgrades=error``). So each writer snaps a weight to the nearest listed grade and reports the
change. Then ``qtype_multichoice`` flags a one-answer question whose best option is not 100 % and a
multiple-answer question whose positive weights do not add up to 100 %. Short answers are matched
with ``*`` as a wildcard, so a literal star is written ``\\*``.
"""
from __future__ import annotations

from ..kinds.records import LmsAnswer, LmsItem
from ..markup import plain_text
from .base import Loss

GRADES_PERCENT: tuple[float, ...] = (100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20,
                                     16.66667, 14.28571, 12.5, 11.11111, 10, 5, 0)
"""The answer grades Moodle accepts, in percent (each also negated)."""
ALLOWED_PERCENT: tuple[float, ...] = tuple(sorted({*GRADES_PERCENT, *(-g for g in GRADES_PERCENT)}))
SNAP_REPORTED = 1e-4
"""A snap that moves a weight by more than this many percentage points is reported."""


def category_path(title: str) -> str:
    """The import category for a bank: ``$course$/top/<title>``, a ``/`` in the title doubled (Moodle's
    escape in ``split_category_path``; a single one would start a subcategory)."""
    return "$course$/top/" + " ".join(title.split()).replace("/", "//")


def snap_percent(fraction: float) -> float:
    """``fraction`` (−1 … 1) as the nearest percent Moodle accepts."""
    return min(ALLOWED_PERCENT, key=lambda allowed: abs(allowed - fraction * 100))


def percent_text(percent: float) -> str:
    """A listed grade as Moodle writes it: ``100``, ``-33.33333``, ``12.5``."""
    return format(percent, ".7g")


def number_text(value: float) -> str:
    """A number exactly (the shortest text that reads back as the same float), integers without ``.0``."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def short_answer_text(text: str) -> str:
    """A short answer as Moodle's matcher reads it: ``*`` is a wildcard, ``\\*`` a literal star."""
    return text.replace("*", "\\*")


def _label(answer: LmsAnswer) -> str:
    shown = plain_text(answer.text)
    return shown if len(shown) <= 40 else shown[:39] + "…"


def grade_losses(item: LmsItem) -> list[Loss]:
    """The weights Moodle cannot hold as they are (snapped, or refused by the multichoice checks)."""
    losses = []
    snapped = []
    for answer in item.answers:
        percent = snap_percent(answer.fraction)
        snapped.append(percent)
        if abs(percent - answer.fraction * 100) > SNAP_REPORTED:
            losses.append(Loss(item.id, f"option '{_label(answer)}' weight {answer.fraction * 100:.6g} % "
                                        f"(Moodle accepts only its list of grades: written as {percent_text(percent)} %)",
                               "format"))
    if item.form == "single" and snapped and max(snapped) != 100:
        losses.append(Loss(item.id, f"no option worth 100 % (best {percent_text(max(snapped))} %): Moodle flags a "
                                    "one-answer question without a full-marks option", "format"))
    if item.form == "multiple" and round(sum(p for p in snapped if p > 0) / 100, 2) != 1:
        total = sum(p for p in snapped if p > 0)
        losses.append(Loss(item.id, f"right options add up to {total:.6g} % after snapping: Moodle flags a "
                                    "multiple-answer question whose positive weights do not add up to 100 %", "format"))
    return losses
