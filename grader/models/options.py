"""A choice option: what the student may pick, whether it is right, and what picking it teaches."""
from __future__ import annotations

from .base import KeyHash, NonEmptyStr, Slug, StrictModel, located, repeated


class Option(StrictModel):
    """One option of a choice question. Its ``id`` is what answers refer to and must never change."""

    id: Slug
    """Stable id; defaults to A, B, C… by position."""
    text: NonEmptyStr
    """Markdown; code fences and $math$ allowed."""
    correct: bool = False
    """Whether choosing this option is right."""
    feedback: str | None = None
    """Shown when the student picks this option."""
    key_hash: KeyHash | None = None
    """Student copies only: a salted hash standing in for ``correct`` (written by ``grader.keys.student_copy``)."""


def option_letter(index: int) -> str:
    """A, B, … Z, AA, AB … for option ``index`` (0-based)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def default_option_ids(value: object) -> object:
    """Give options without an ``id`` the letter of their position, before validation."""
    if not isinstance(value, list):
        return value
    out = []
    for index, item in enumerate(value):
        if isinstance(item, dict) and "id" not in item:
            item = {"id": option_letter(index), **item}
        out.append(item)
    return out


def check_unique_option_ids(options: list[Option]) -> list[Option]:
    if duplicates := repeated(o.id.casefold() for o in options):
        index, first = duplicates[0]
        raise located((index, "id"), f"duplicate option id '{options[index].id}' (also options[{first}]); "
                      "option ids are matched case-insensitively and must be unique")
    return options

