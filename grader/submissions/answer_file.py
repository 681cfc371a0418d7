"""Answer files: ``{"student": "ana", "answers": {"q1": "B", "q2": ["A", "C"]}}`` as JSON or YAML.

Parsed with the limits of :mod:`.limits`: at most 1 MB, JSON integers of at most 100 digits, YAML
without aliases (an alias bomb of a few hundred bytes expands to gigabytes) and nested at most a few
levels, and each answer checked to be bounded plain data. A bad answer is dropped with a reason; a
bad file becomes an unreadable submission with a reason; nothing here raises.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from . import Submission
from ..safetext import printable
from .limits import (LIMITS, ParseLimits, Refused, bounded_json_int, check_json_shape, plain_answer, read_regular_file,
                     stem_name, student_name)

YAML_DEPTH = 40


class _AnswerLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing aliases (``*name``) and deep nesting while it composes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise Refused(f"YAML aliases (*{event.anchor}) are not allowed in answer files "
                          f"(line {event.start_mark.line + 1})")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > YAML_DEPTH:
                raise Refused(f"the file is nested more than {YAML_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def parse_answer_text(raw: bytes, suffix: str, limits: ParseLimits = LIMITS) -> Any:
    """The document in ``raw`` (JSON for ``.json``, else YAML), or Refused with a reason a student can act on."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refused("the file is not UTF-8 text") from None
    if suffix == ".json":
        check_json_shape(raw, limits)
        try:
            return json.loads(text, parse_int=bounded_json_int(limits))
        except json.JSONDecodeError as exc:
            raise Refused(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); was the file cut short?") from None
        except RecursionError:
            raise Refused("the file is nested too deeply") from None
    try:
        return yaml.load(text, Loader=_AnswerLoader)  # noqa: S506 - a SafeLoader subclass
    except Refused:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise Refused("not valid YAML" + (f" (line {mark.line + 1})" if mark is not None else "")) from None
    except RecursionError:
        raise Refused("the file is nested too deeply") from None
    except ValueError as exc:  # int() of a number with thousands of digits, a bad date…
        reason = "a number in the file has too many digits" if "digits" in str(exc) else "a value in the file is not valid"
        raise Refused(reason) from None


def read_answer_file(path: Path, limits: ParseLimits = LIMITS) -> Submission:
    sub = Submission(path=path, student=stem_name(path))
    try:
        raw = read_regular_file(path, limits.answer_file_bytes)
        if not raw.strip():
            raise Refused("the file is empty")
        data = parse_answer_text(raw, path.suffix, limits)
    except Refused as exc:
        return _broken(sub, str(exc))
    if not isinstance(data, dict):
        return _broken(sub, f"expected a mapping with 'answers', found {type(data).__name__}")
    student = data.get("student")
    claimed = student_name(student, limits) if type(student) is str else None
    if claimed is not None:
        sub.student = sub.claimed = claimed
    elif type(student) is int and abs(student) < 10 ** 12:
        sub.student = sub.claimed = str(student)
    elif student is not None:
        sub.problems.append("ignored 'student': it must be a short text; the file name is used instead")
    answers = data.get("answers")
    if answers is None:
        return _broken(sub, "no 'answers' mapping in the file")
    if not isinstance(answers, dict):
        return _broken(sub, f"'answers' must be a mapping of question id to answer, found {type(answers).__name__}")
    if len(answers) > limits.answers:
        return _broken(sub, f"{len(answers):,} answers, more than the {limits.answers:,} a file may have")
    for key, value in answers.items():
        qid = printable(str(key)[:100], one_line=True) if type(key) in (str, int) else None
        if qid is None:
            sub.problems.append("ignored an answer whose question id is not text")
            continue
        try:
            sub.answers[qid] = plain_answer(value, limits)
        except Refused as exc:
            sub.problems.append(f"{qid}: {exc}")
    extra = sorted(str(k)[:40] for k in set(data) - {"student", "answers", "bank"})
    if extra:
        sub.problems.append(f"ignored unknown top-level keys: {', '.join(extra[:10])}")
    return sub


def _broken(sub: Submission, reason: str) -> Submission:
    sub.problems.append(reason)
    sub.unreadable = True
    return sub
