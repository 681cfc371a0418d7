"""Reading what a student handed in: answer files (JSON/YAML) and notebooks.

Readers never raise on bad input: a broken file becomes a :class:`Submission` with no answers and
a ``problems`` list saying why, so every submission still gets its row in the grades.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUBMISSION_SUFFIXES = (".json", ".yaml", ".yml", ".ipynb")


@dataclass
class Submission:
    """One student's answers, read from ``path``."""

    path: Path
    student: str
    """Who the row is for: the file's name without its suffix, unless the file names its student."""
    answers: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    """Why some or all answers could not be read (shown in feedback, never fatal)."""
    unreadable: bool = False
    """True when nothing could be read from the file at all."""
    claimed: str | None = None
    """The name the file itself gives its student (answer file ``student``, notebook metadata), if any:
    a claim the grader checks against the other submissions' file names before using it."""


def read_submission(path: str | Path, *, code_question_ids: frozenset[str] = frozenset()) -> Submission:
    """Read ``path`` by its suffix. ``code_question_ids`` tells the notebook reader which cells are code.

    Parses in this process, with the limits of :mod:`.limits`; ``grade`` reads through
    :class:`.worker.ParserPool` instead, which adds a memory cap and a deadline.
    """
    from .answer_file import read_answer_file
    from .notebook import read_notebook

    path = Path(path)
    if path.suffix == ".ipynb":
        return read_notebook(path, code_question_ids=code_question_ids)
    return read_answer_file(path)


def expand_submissions(paths: list[str | Path]) -> list[Path]:
    """Files and folders → the submission files they hold (sorted; folders searched recursively).

    Jupyter's checkpoint folders are skipped: they are stale copies, not submissions. Links, pipes
    and devices with a submission's name are listed (each gets a row saying it was not read), and
    links to folders are never followed.
    """
    out: list[Path] = []
    for item in map(Path, paths):
        if item.is_dir() and not item.is_symlink():
            out.extend(sorted(_files_under(item)))
        else:
            out.append(item)
    return out


def _files_under(folder: Path) -> list[Path]:
    """Submission files anywhere below ``folder``, with an explicit stack: an unpacked archive can nest
    folders deeper than Python's recursion limit (``Path.rglob`` recurses, and raised)."""
    found: list[Path] = []
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:  # unreadable, or a path too long to open: nothing of it can be graded
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                if entry.name != ".ipynb_checkpoints":
                    stack.append(path)
            elif path.suffix in SUBMISSION_SUFFIXES:
                found.append(path)
    return found
