"""Answer files: ``{"student": "ana", "answers": {"q1": "B", "q2": ["A", "C"]}}`` as JSON or YAML."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from . import Submission

MAX_BYTES = 5_000_000


def read_answer_file(path: Path) -> Submission:
    sub = Submission(path=path, student=path.stem)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return _broken(sub, f"cannot read the file: {exc.strerror or exc}")
    if len(raw) > MAX_BYTES:
        return _broken(sub, f"the file is {len(raw):,} bytes, more than the {MAX_BYTES:,} an answer file may have")
    if not raw.strip():
        return _broken(sub, "the file is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _broken(sub, "the file is not UTF-8 text")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        return _broken(sub, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); was the file cut short?")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        return _broken(sub, f"not valid YAML{where}")
    if not isinstance(data, dict):
        return _broken(sub, f"expected a mapping with 'answers', found {type(data).__name__}")
    student = data.get("student")
    if isinstance(student, (str, int)) and str(student).strip():
        sub.student = str(student).strip()
    answers = data.get("answers")
    if answers is None:
        return _broken(sub, "no 'answers' mapping in the file")
    if not isinstance(answers, dict):
        return _broken(sub, f"'answers' must be a mapping of question id to answer, found {type(answers).__name__}")
    sub.answers = {str(k): v for k, v in answers.items()}
    extra = sorted(set(data) - {"student", "answers", "bank"})
    if extra:
        sub.problems.append(f"ignored unknown top-level keys: {', '.join(extra)}")
    return sub


def _broken(sub: Submission, reason: str) -> Submission:
    sub.problems.append(reason)
    sub.unreadable = True
    return sub
