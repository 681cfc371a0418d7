"""A student's progress on one quiz, kept in a small JSON file next to the notebook.

The quiz widget writes it after every check, so closing the notebook or restarting the kernel
loses nothing that matters: finished attempts (and so the best score and the attempts left) and the
latest answers survive reruns. The file is plain JSON a student can read; it is *not* a
submission and proves nothing, since a student can edit it. Graded work goes through
``grader grade``.

A missing file starts fresh; an unreadable one, or one written for another bank or student, is
moved aside to ``<name>.bad`` (never silently overwritten) and a fresh record starts.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FORMAT = 1


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Attempt:
    """One finished attempt at the quiz."""

    percent: float
    score: float
    max_score: float
    finished: str = field(default_factory=_now)


@dataclass
class Progress:
    """Everything the widget remembers about one student and one quiz."""

    quiz_id: str
    """The bank id, plus a suffix when the quiz is a subset of the bank."""
    student: str
    attempts: list[Attempt] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)
    """The latest checked answer per question, in the answer-file format."""
    questions: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per question: tries used and the latest status/points of the current attempt."""
    flashcards: dict[str, str] = field(default_factory=dict)
    """Per card: 'got_it' or 'again'."""
    updated: str = field(default_factory=_now)
    notice: str | None = None
    """Why an earlier file was moved aside (shown once by the widget; not saved)."""

    @property
    def best_percent(self) -> float | None:
        return max((a.percent for a in self.attempts), default=None)

    @property
    def percents(self) -> list[float]:
        return [a.percent for a in self.attempts]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("notice")
        data["format"] = FORMAT
        data["best_percent"] = self.best_percent
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Progress":
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown progress format {data.get('format')!r}")
        return cls(quiz_id=str(data["quiz_id"]), student=str(data["student"]),
                   attempts=[Attempt(**a) for a in data.get("attempts", [])],
                   answers=dict(data.get("answers", {})), questions=dict(data.get("questions", {})),
                   flashcards=dict(data.get("flashcards", {})), updated=str(data.get("updated", _now())))


def progress_path(quiz_id: str, folder: str | Path | None = None) -> Path:
    """``<folder>/<quiz_id>.progress.json``; ``folder`` defaults to the working directory, which
    is the notebook's folder in JupyterLab and ``/content`` in Colab."""
    return Path(folder if folder is not None else Path.cwd()) / f"{quiz_id}.progress.json"


def load_progress(path: str | Path, *, quiz_id: str, student: str) -> Progress:
    """The progress stored at ``path``, or a fresh record (see the module docstring)."""
    path = Path(path)
    fresh = Progress(quiz_id=quiz_id, student=student)
    if not path.exists():
        return fresh
    try:
        progress = Progress.from_dict(json.loads(path.read_text(encoding="utf-8")))
        if progress.quiz_id != quiz_id or progress.student != student:
            raise ValueError("written for another quiz or student")
    except (OSError, ValueError, KeyError, TypeError) as exc:  # includes JSONDecodeError
        try:
            path.replace(path.with_name(path.name + ".bad"))
        except OSError:
            pass
        fresh.notice = f"an earlier progress file could not be used ({exc}); it was moved to {path.name}.bad"
        return fresh
    return progress


def save_progress(progress: Progress, path: str | Path) -> Path:
    """Write ``progress`` atomically (a crash mid-write never leaves half a file)."""
    path = Path(path)
    progress.updated = _now()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(progress.to_dict(), out, indent=1, ensure_ascii=False, default=str)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
