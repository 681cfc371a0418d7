"""What the hidden tests of an nbgrader export (:mod:`grader.nbgrader_export`) call when nbgrader autogrades.

Each graded question has one test cell worth its points that ends with ``_points(<question>)``; the
export's helper cell turns that into :func:`points` with the kernel's raw input history. The test
does not look at the kernel's ``answer`` variable: it finds the *text* of the last executed
``# answer: <id>`` cell and reads it with :func:`grader.submissions.answer_value.answer_value`, the
rule ``python -m grader grade`` applies, then scores it with the kind's own scorer
(:func:`grader.scorer.score_question`). So an expression, a name, a value another cell computed, or
``answer`` reassigned later count in nbgrader exactly as in ``grader``, and the points are the
grader's (rounded to 4 places as there), which nbgrader records as the cell's partial credit.

This module runs in the instructor's autograde kernel, where ``grader`` is installed; a student's
kernel never imports it (only hidden tests call it). It prints to stdout only: nbgrader gives a
test cell 0 points for any output on stderr.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .kinds import KINDS
from .models.question import QuestionBase
from .scorer import score_question
from .scoring import ProbeOutcome
from .scoring.result import score_label
from .submissions.answer_value import AnswerRefused, answer_value, split_answer_cell
from .submissions.limits import LIMITS

CODE_TYPE = "code"


def answer_body(history: Sequence[str], question_id: str) -> str | None:
    """The body of the last cell in ``history`` (executed cell sources, oldest first) whose first
    non-blank line is ``# answer: <question_id>``; None when no executed cell answers it."""
    for source in reversed(history):
        split = split_answer_cell(source) if isinstance(source, str) else None
        if split is not None and split[0] == question_id:
            return split[1]
    return None


def question_from_json(text: str) -> QuestionBase:
    """The question the export wrote into a test cell (``model_dump(mode="json")``), as its kind's model."""
    data = json.loads(text)
    kind = KINDS.get(data.get("type", ""))
    if kind is None:
        raise ValueError(f"unknown question type {data.get('type')!r} in an nbgrader test cell")
    return kind.model.model_validate(data)


def points(question_json: str, history: Sequence[str],
           outcomes: Mapping[str, Sequence[Any]] | None = None) -> float:
    """The points ``grader`` gives this question for the answer cell found in ``history``.

    For a code question, ``outcomes`` maps probe ids to ``(passed, detail)`` as the export's probe
    cells recorded them; a probe that did not record counts as failed, and a missing or empty
    answer cell fails every probe (as ``grader grade`` does, which then runs nothing).
    """
    question = question_from_json(question_json)
    body = answer_body(history, question.id)
    if question.type == CODE_TYPE:
        answered = body is not None and bool(body.strip()) and len(body) <= LIMITS.code_cell_chars
        recorded = {pid: ProbeOutcome(bool(v[0]), str(v[1])) for pid, v in (outcomes or {}).items()}
        probe_ids = [p.id for p in question.checks]  # type: ignore[attr-defined]
        verdicts = {pid: recorded.get(pid, ProbeOutcome(False, "not run")) if answered else ProbeOutcome(False, "no answer")
                    for pid in probe_ids}
        result = score_question(question, "(code)" if answered else None, reveal_key=False, code_outcomes=verdicts)
        reason = "" if answered else f"no `# answer: {question.id}` cell (or it is empty)"
    else:
        value, reason = None, ""
        if body is None:
            reason = f"no `# answer: {question.id}` cell"
        else:
            try:
                value = answer_value(body)
            except AnswerRefused as exc:
                reason = str(exc)
        result = score_question(question, value, reveal_key=False)
        reason = reason or result.reason
    print(f"{question.id}: {score_label(result.points, question.points)} ({result.status})"
          + (f": {reason}" if reason and result.status != "correct" else ""))
    return result.points
