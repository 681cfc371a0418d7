"""Per-student, reproducible order of questions and options.

Every student sees their own option order (so "the answer is the third one" cannot be passed on),
and the same student sees the same order on every rerun (so a restarted kernel does not reshuffle
an answer they were reading). The seed is a hash of the quiz, the student and an optional seed
number; ``random.Random`` seeded with it is stable across Python versions.
"""
from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import TypeVar

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
