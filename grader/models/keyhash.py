"""Salted hashes of answer keys, for student copies of a bank (see ``grader/keys.py``).

A student copy must let the quiz widget say "right" or "wrong" without printing the key in the
file. Each key is stored as ``sha256(salt, question id, value)``: the salt and the question id make
equal answers of different banks or questions hash differently, so a table of hashes of "A", "B"…
cannot be reused. It is obfuscation, not secrecy: anyone can hash the four options of a question
and compare, which is why graded work is always scored by ``grader grade`` against the instructor's
bank, never against a student copy.
"""
from __future__ import annotations

import hashlib
import math

HASH_PREFIX = "sha256:"
DIGEST_CHARS = 24
"""96 bits of the digest: far beyond accidental collisions, short enough to read in YAML."""
NUMERIC_STEPS = 10
"""A hashed numeric key is checked on a grid of ``tolerance / NUMERIC_STEPS`` (see numeric_hash_matches)."""


def key_digest(salt: str, question_id: str, value: str) -> str:
    """The stored form of one key: ``sha256:<hex>`` over salt, question id and value."""
    raw = "\x1f".join((salt, question_id, value)).encode("utf-8")
    return HASH_PREFIX + hashlib.sha256(raw).hexdigest()[:DIGEST_CHARS]


def option_value(option_id: str, correct: bool) -> str:
    """What an option's hash covers: its (case-folded) id and whether it is right.

    Every option of a student copy carries a hash, right or wrong, so the file does not show the
    key by which options have one.
    """
    return f"option\x1f{option_id.casefold()}\x1f{int(bool(correct))}"


def numeric_grid_step(tolerance: float) -> float | None:
    """The grid a hashed numeric key lives on, or None for an exact key."""
    return tolerance / NUMERIC_STEPS if tolerance > 0 else None


def numeric_value(number: float, step: float | None) -> str:
    """Canonical text of a number, snapped to the grid when the key has a tolerance."""
    if step is None:
        return f"number\x1f{float(number):.12g}"
    return f"grid\x1f{math.floor(number / step + 0.5)}"


def numeric_hash_matches(salt: str, question_id: str, stored: str, given: float, tolerance: float) -> bool:
    """Whether ``given`` is within about ``tolerance`` of the hashed key.

    The key was hashed as its grid cell (step = tolerance/10); ``given`` matches when one of the 21
    cells around its own is the key's, i.e. exactly within tolerance ± one step. The widget only
    self-checks with it; ``grader grade`` compares the real number.
    """
    step = numeric_grid_step(tolerance)
    if step is None:
        return key_digest(salt, question_id, numeric_value(given, None)) == stored
    centre = math.floor(given / step + 0.5)
    return any(key_digest(salt, question_id, f"grid\x1f{centre + k}") == stored
               for k in range(-NUMERIC_STEPS, NUMERIC_STEPS + 1))
