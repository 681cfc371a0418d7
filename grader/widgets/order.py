"""Per-student, reproducible order of questions and options.

Every student sees their own option order (so "the answer is the third one" cannot be passed on),
and the same student sees the same order on every rerun (so a restarted kernel does not reshuffle
an answer they were reading). The seed is a hash of the quiz, the student and an optional seed
number; ``random.Random`` seeded with it is stable across Python versions.

Options are *shown* with letters by position (A, B, C… top to bottom, whatever the order), while
answers keep the bank's option ids, so exported answers grade the same with ``grader grade``.
:class:`OptionLabels` is that mapping; the widget applies it wherever it draws option text.
"""
from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from ..models.options import option_letter

T = TypeVar("T")


def student_rng(quiz_id: str, student: str, seed: int | str | None = None, *, purpose: str = "") -> random.Random:
    """A random generator fixed by quiz, student, seed and purpose (questions vs one question's options)."""
    text = "\x1f".join((quiz_id, student, "" if seed is None else str(seed), purpose))
    return random.Random(int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big"))


def shuffled(items: Sequence[T], rng: random.Random) -> list[T]:
    """A shuffled copy of ``items``; never the identity for two or more items, so shuffling shows."""
    out = list(items)
    if len(out) < 2:
        return out
    original = list(out)
    for _ in range(8):
        rng.shuffle(out)
        if out != original:
            break
    return out


def position_letter(index: int) -> str:
    """A, B, … Z, AA, AB, … for the 0-based ``index`` (as spreadsheet columns)."""
    if index < 0:
        raise ValueError(f"a position is 0 or more, got {index}")
    return option_letter(index)  # the same letters a bank's default option ids use


@dataclass(frozen=True)
class OptionLabels:
    """Option id -> the letter shown beside it (its position in this student's order)."""

    letters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_order(cls, option_ids: Sequence[str]) -> OptionLabels:
        return cls({oid: position_letter(i) for i, oid in enumerate(option_ids)})

    def letter(self, option_id: str) -> str:
        """The shown letter of ``option_id``; an id not among the options is shown as it is."""
        return self.letters.get(str(option_id), str(option_id))

    def in_order(self, option_ids: Iterable[str]) -> list[str]:
        """``option_ids`` sorted as they are shown (ids not among the options last)."""
        order = {oid: i for i, oid in enumerate(self.letters)}
        return sorted((str(i) for i in option_ids), key=lambda i: order.get(i, len(order)))

    def text(self, option_ids: Iterable[str]) -> str:
        """'A, C': the shown letters of ``option_ids`` in display order (how a student reads them)."""
        return ", ".join(self.letter(i) for i in self.in_order(option_ids))
