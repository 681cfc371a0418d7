"""Bank regular expressions, matched against student text with a time limit.

A pattern such as ``(a|aa)+`` backtracks catastrophically: on 40 characters of student text it
runs for minutes. The standard ``re`` module cannot be interrupted, so patterns run on the ``regex``
package (re-compatible syntax) with a timeout: a match that takes too long counts as no match and
the verdict says so. ``validate`` also tries each pattern on inputs built to make it backtrack
(:func:`backtracking_example`), so an author hears about it before any student does.
"""
from __future__ import annotations

from functools import lru_cache

import regex

TIMEOUT_S = 0.25
"""Longest one match may run against one answer."""
MAX_TEXT = 5_000
"""Characters of an answer a pattern is matched against (longer answers are cut)."""


class PatternTimeout(Exception):
    """A pattern ran past :data:`TIMEOUT_S` on an answer."""


@lru_cache(maxsize=512)
def _compiled(pattern: str, ignore_case: bool) -> regex.Pattern:
    return regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)


def compile_error(pattern: str) -> str | None:
    """Why ``pattern`` does not compile (None when it does)."""
    try:
        _compiled(pattern, False)
    except regex.error as exc:
        return str(exc)
    return None


def matches(pattern: str, text: str, *, ignore_case: bool, whole: bool, timeout_s: float = TIMEOUT_S) -> bool:
    """Whether ``pattern`` matches all of ``text`` (``whole``) or somewhere in it; PatternTimeout if it runs too long."""
    compiled = _compiled(pattern, ignore_case)
    text = text[:MAX_TEXT]
    try:
        found = compiled.fullmatch(text, timeout=timeout_s) if whole else compiled.search(text, timeout=timeout_s)
    except TimeoutError:
        raise PatternTimeout(pattern) from None
    return found is not None


def _probe_texts(pattern: str) -> list[str]:
    """Inputs that make a backtracking pattern blow up: runs of each character it names, then a mismatch."""
    chars = {c for c in pattern if c.isalnum() or c in " _-.,"} | {"a", "0", " "}
    return [c * (MAX_TEXT - 1) + tail for c in sorted(chars) for tail in ("!", "\n", "")]


def backtracking_example(pattern: str, *, ignore_case: bool, whole: bool, timeout_s: float = TIMEOUT_S) -> str | None:
    """A short description of an input on which ``pattern`` runs past ``timeout_s`` (as it would against a
    student's answer), or None."""
    for text in _probe_texts(pattern):
        try:
            matches(pattern, text, ignore_case=ignore_case, whole=whole, timeout_s=timeout_s)
        except PatternTimeout:
            return f"{text[:12]!r}… ({len(text):,} characters)"
    return None
