"""Text rules shared by what grading writes — CSV cells, reasons, feedback folder names — and the record
of each grading run (``grades.meta.json``). The grade tables themselves are :mod:`grader.class_grades`,
the feedback :mod:`grader.feedback`.

Much of the text written here comes from students (names, file names, answers, exception messages,
invented question ids), so every writer treats text as hostile: it is made valid, printable Unicode
(:mod:`grader.safetext`: a lone surrogate can no longer make a write fail), a grades.csv cell that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) is quoted with a leading apostrophe.
"""
from __future__ import annotations

import hashlib
import json
import platform
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .bank import Bank
from .safetext import printable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula (OWASP's CSV injection list)."""


MAX_REASON = 2_000
"""Characters of a grades.csv reason (a summary: the feedback lists every problem)."""


def reason_text(parts: list[str], limit: int = MAX_REASON) -> str:
    """``parts`` joined with '; ', cut after ``limit`` characters with a count of what was left out."""
    shown, size = [], 0
    for part in parts:
        part = part if len(part) <= limit // 2 else part[:limit // 2] + "…"
        if shown and size + len(part) > limit:
            break
        shown.append(part)
        size += len(part) + 2
    left = len(parts) - len(shown)
    return "; ".join(shown) + (f"; … and {left} more (see the feedback)" if left else "")


def csv_text(value: str) -> str:
    """A grades.csv cell: printable on one line, and never a formula (a leading apostrophe quotes it)."""
    # Most cells (numbers, ids, hashes) are printable ASCII, which printable() would only trim: checking
    # that first is four times cheaper, and grading rewrites every cell of the views every few seconds.
    text = value.strip() if value.isascii() and value.isprintable() else printable(value, one_line=True)
    return "'" + text if text.startswith(FORMULA_START) else text


def safe_name(student: str) -> str:
    """A file name for a student's feedback: letters, digits, '-', '_' and '.' only."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._") or "student"
    return name[:100]


META_NAME = "grades.meta.json"
"""Beside grades.csv: one record per grading run (what was graded, by which version, and the sandbox it had)."""


def append_run_metadata(out_dir: Path, *, bank: Bank, bank_path: str | Path | None, submissions: int,
                        sandbox: dict[str, Any] | None, append: bool) -> Path:
    """Add this run's record to ``DIR/grades.meta.json`` (a fresh file unless ``append``, as for grades.csv).

    ``sandbox`` is None when no code ran; otherwise which isolation layers held, which essential
    ones were missing and whether ``--unsafe-sandbox`` allowed that.
    """
    from . import __version__

    path = out_dir / META_NAME
    runs: list = []
    if append and path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
            runs = previous.get("runs", []) if isinstance(previous, dict) else []
        except (OSError, ValueError):
            runs = []
    digest = ""
    if bank_path is not None:
        try:
            digest = hashlib.sha256(Path(bank_path).read_bytes()).hexdigest()
        except OSError:
            pass
    runs.append({"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "grader_version": __version__,
                 "python": platform.python_version(), "platform": platform.platform(),
                 "bank_id": bank.id, "bank_file": str(bank_path) if bank_path is not None else None,
                 "bank_sha256": digest, "submissions": submissions, "sandbox": sandbox})
    path.write_text(json.dumps({"runs": runs}, indent=1) + "\n", encoding="utf-8")
    return path
