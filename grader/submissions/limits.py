"""Limits on what a submitted file may hold, and the checks that enforce them.

Answer files and notebooks are written by students, so nothing in them is trusted: a file is read
only when it is a regular file (never through a symbolic link, never a FIFO or a device) of bounded
size, parsed with bounded depth, bounded integer digits and no YAML aliases, and every answer is
checked to be plain data (``None``, bools, numbers, text, lists and dicts of them) of bounded size
before it is scored, stored in the gradebook or shown in feedback. Text is made valid, printable
Unicode on the way in (:mod:`grader.safetext`): JSON, YAML and Python literals all accept lone
surrogates, which no report can write. A limit that is hit costs that answer (or that file) with a
reason, never the run.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bounded_read import NotRegularFile, TooLarge, read_regular
from ..safetext import path_text, printable


@dataclass(frozen=True)
class ParseLimits:
    answer_file_bytes: int = 1_000_000
    notebook_bytes: int = 50_000_000
    containers: int = 1_000_000
    """'[' and '{' bytes a JSON file may hold (bounds the memory json.loads can be made to use)."""
    depth: int = 20
    """Nesting of one answer value."""
    items: int = 10_000
    """Elements of one answer value, all levels together."""
    text_chars: int = 100_000
    """Characters of one string in an answer."""
    int_digits: int = 100
    literal_cell_chars: int = 100_000
    """An ``answer = <literal>`` cell (the literal is parsed, never run)."""
    literal_chars: int = 2_000_000
    """All the ``answer = <literal>`` cells of one notebook together: ``ast.parse`` takes about a second per
    megabyte, so 2000 cells just under the per-cell limit kept a worker busy past its deadline."""
    code_cell_chars: int = 1_000_000
    """A code question's cell (sent to the sandbox as text)."""
    answers: int = 2_000
    """Answers (or answer cells) in one file."""
    student_chars: int = 200


LIMITS = ParseLimits()


class Refused(ValueError):
    """The file (or one answer) breaks a limit; the message says which, in words a student can use."""


def student_name(text: str, limits: "ParseLimits | None" = None) -> str | None:
    """A name a file gives its student, as one printable line; None when nothing printable is left or it is too long."""
    limits = limits or LIMITS
    name = printable(text, one_line=True)
    return name if name and len(name) <= limits.student_chars and name.strip("\ufffd ") else None


def stem_name(path: os.PathLike | str) -> str:
    """The student a file stands for when it names none: its file name without the suffix, printable."""
    return path_text(Path(path).stem) or "student"


def read_regular_file(path: os.PathLike | str, max_bytes: int) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes``; Refused otherwise.

    Opened with O_NOFOLLOW and O_NONBLOCK, so a symbolic link (to another student's notebook, to
    /dev/zero) is refused and a FIFO cannot make the grader wait.
    """
    try:
        return read_regular(path, max_bytes, follow_links=False)
    except (IsADirectoryError, NotRegularFile):
        raise Refused("not a regular file (a folder, pipe or device); nothing was read") from None
    except TooLarge as exc:
        if exc.size is not None:
            raise Refused(f"the file is {exc.size:,} bytes, more than the {max_bytes:,} it may have") from None
        raise Refused(f"the file is more than the {max_bytes:,} bytes it may have") from None
    except OSError as exc:
        if os.path.islink(path):
            raise Refused("the submission is a symbolic link; links are not followed") from None
        raise Refused(f"cannot read the file: {exc.strerror or exc}") from None


def file_sha256(path: os.PathLike | str, max_bytes: int = LIMITS.notebook_bytes) -> str:
    """SHA-256 of a regular file (read as :func:`read_regular_file` does), or '' when it is not one."""
    try:
        return hashlib.sha256(read_regular_file(path, max_bytes)).hexdigest()
    except Refused:
        return ""


def bounded_json_int(limits: ParseLimits = LIMITS):
    """A ``parse_int`` hook for json.loads that refuses integers longer than the limit."""
    def parse(text: str) -> int:
        if len(text.lstrip("-")) > limits.int_digits:
            raise Refused(f"a number in the file has more than {limits.int_digits} digits")
        return int(text)
    return parse


def check_json_shape(raw: bytes, limits: ParseLimits = LIMITS) -> None:
    """Refuse, before parsing, JSON with more containers than json.loads should be asked to build."""
    count = raw.count(b"[") + raw.count(b"{")
    if count > limits.containers:
        raise Refused(f"the file holds {count:,} lists or objects, more than the {limits.containers:,} a submission may have")


def plain_answer(value: Any, limits: ParseLimits = LIMITS) -> Any:
    """``value`` as plain data (tuples and sets of text become lists), or Refused with the reason.

    Iterative, so depth is checked without recursion; sizes are checked before anything is copied.
    """
    count = 0

    def leaf(item: Any) -> Any:
        kind = type(item)
        if kind is str and len(item) <= limits.text_chars:
            return printable(item)
        if item is None or kind is bool:
            return item
        if kind is str:
            raise Refused(f"a text of {len(item):,} characters (at most {limits.text_chars:,})")
        if kind is int:
            if item.bit_length() > limits.int_digits * 3.33:
                raise Refused(f"a number with more than {limits.int_digits} digits")
            return item
        if kind is float:
            return item
        raise Refused(f"a {kind.__name__} is not a plain value (use text, numbers or lists)")

    def container(item: Any, depth: int) -> list | dict | None:
        nonlocal count
        kind = type(item)
        if kind not in (list, tuple, set, frozenset, dict):
            return None
        if depth >= limits.depth:
            raise Refused(f"the answer is nested more than {limits.depth} levels deep")
        count += len(item)
        if count > limits.items:
            raise Refused(f"the answer holds more than {limits.items:,} items")
        if kind is dict:
            if not all(type(k) in (str, int) for k in item):
                raise Refused("a mapping in the answer has keys that are not text or numbers")
            return {}
        if kind in (set, frozenset):
            if not all(type(x) is str for x in item):
                raise Refused("a set in the answer holds more than text")
            return sorted(printable(x) for x in item)
        return list(item)

    root = container(value, 0)
    if root is None:
        return leaf(value)
    stack: list[tuple[Any, Any, int]] = [(value, root, 1)]
    while stack:
        source, target, depth = stack.pop()
        items = source.items() if isinstance(target, dict) else enumerate(target)
        for key, item in list(items):
            if isinstance(target, dict) and type(key) is str:
                key = printable(key, one_line=True)
            made = container(item, depth)
            if made is None:
                target[key] = leaf(item)
            else:
                target[key] = made
                stack.append((item, made, depth + 1))
    return root
