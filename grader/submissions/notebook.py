"""Answers inside a notebook (the format students see in quizzes/README.md, "Answer files").

A code cell whose first line is ``# answer: <question-id>`` answers that question. For choice,
numeric and text questions the cell is ``answer = <value>``: a Python literal or arithmetic on numbers,
read by :func:`.answer_value.answer_value` and never executed. For code questions the cell is the
student's code, kept as text here.
Cell position, metadata and tags are ignored (Colab drops them); the last of duplicated cells wins.

The notebook is untrusted: it is read with the limits of :mod:`.limits` (size, JSON containers,
integer digits, nesting), its structure is checked rather than assumed (nbformat 4 ``cells`` or
nbformat 3 ``worksheets``; a ``"grader": null``, a list where a dict belongs, a non-string source),
and each cell is bounded before it is parsed: a literal cell of megabytes is refused, not handed to
``ast.parse``, which needs hundreds of bytes of memory per byte of a list literal.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import Submission
from ..safetext import printable
from .answer_value import AnswerRefused, answer_value, split_answer_cell
from .limits import LIMITS, ParseLimits, Refused, bounded_json_int, check_json_shape, read_regular_file, stem_name, student_name

MAX_BYTES = LIMITS.notebook_bytes


def _cell_source(cell: dict[str, Any]) -> str:
    source = cell.get("source", cell.get("input", ""))  # nbformat 3 code cells keep their text in "input"
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _cells(nb: Any) -> list[dict[str, Any]]:
    """The notebook's cells: nbformat 4 ``cells``, or nbformat 3 ``worksheets[*].cells``; Refused if neither."""
    if not isinstance(nb, dict):
        raise Refused("not a notebook: no list of cells")
    cells = nb.get("cells")
    if cells is None and isinstance(nb.get("worksheets"), list):
        cells = [c for ws in nb["worksheets"] if isinstance(ws, dict) and isinstance(ws.get("cells"), list)
                 for c in ws["cells"]]
    if not isinstance(cells, list):
        raise Refused("not a notebook: no list of cells")
    return [c for c in cells if isinstance(c, dict)]


def _student(nb: dict[str, Any], limits: ParseLimits) -> str | None:
    metadata = nb.get("metadata")
    grader = metadata.get("grader") if isinstance(metadata, dict) else None
    student = grader.get("student") if isinstance(grader, dict) else None
    return student_name(student, limits) if isinstance(student, str) else None


def parse_literal_answer(body: str, limits: ParseLimits = LIMITS) -> tuple[Any, str | None]:
    """The value of ``answer = ...`` in ``body``, or ``(None, reason)``: :func:`.answer_value.answer_value`'s
    rule (a literal, or arithmetic on numbers), which the nbgrader export's tests apply too. Nothing is executed."""
    try:
        return answer_value(body, limits), None
    except AnswerRefused as exc:
        return None, str(exc)


def parse_notebook(raw: bytes, path: Path, *, code_question_ids: frozenset[str] = frozenset(),
                   limits: ParseLimits = LIMITS) -> Submission:
    """The answers in notebook bytes ``raw`` (``path`` names the student). Never raises."""
    sub = Submission(path=path, student=stem_name(path))
    if not raw.strip():
        return _broken(sub, "the notebook file is empty")
    try:
        check_json_shape(raw, limits)
        nb = json.loads(raw.decode("utf-8-sig"), parse_int=bounded_json_int(limits))
    except Refused as exc:
        return _broken(sub, f"the notebook cannot be read: {exc}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _broken(sub, f"not a valid notebook (invalid JSON: {printable(str(exc)[:160])}); was it saved completely?")
    except RecursionError:
        return _broken(sub, "the notebook cannot be read: it is nested too deeply")
    try:
        cells = _cells(nb)
    except Refused as exc:
        return _broken(sub, str(exc))
    claimed = _student(nb, limits)
    if claimed is not None:
        sub.student = sub.claimed = claimed
    seen: dict[str, int] = {}
    cells_of: dict[str, list[int]] = {}
    literal_chars, skipped_literals = 0, 0
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        split = split_answer_cell(_cell_source(cell))
        if split is None:
            continue
        qid, body = split
        if len(seen) >= limits.answers and qid not in seen:
            return _broken(sub, f"more than {limits.answers:,} answer cells; the notebook was not graded")
        cells_of.setdefault(qid, []).append(index + 1)
        seen[qid] = index
        if qid in code_question_ids:
            if len(body) > limits.code_cell_chars:
                sub.answers.pop(qid, None)
                sub.problems.append(f"{qid}: the cell has {len(body):,} characters, more than the {limits.code_cell_chars:,} "
                                    "a code answer may have; it was not run")
            else:
                sub.answers[qid] = body
            continue
        literal_chars += len(body) if len(body) <= limits.literal_cell_chars else 0  # longer: refused unparsed
        if literal_chars > limits.literal_chars:
            sub.answers.pop(qid, None)
            skipped_literals += 1
            continue
        value, reason = parse_literal_answer(body, limits)
        if reason:
            sub.answers.pop(qid, None)
            sub.problems.append(f"{qid}: {reason}")
        else:
            sub.answers[qid] = value
    if skipped_literals:
        sub.problems.append(f"{skipped_literals:,} answer cells were not read: the notebook's `answer = ...` cells hold more "
                            f"than {limits.literal_chars:,} characters together")
    for qid, numbers in cells_of.items():  # one line per question, however many copies of its cell there are
        if len(numbers) > 1:
            shown = ", ".join(map(str, numbers[:-1][:5])) + (", …" if len(numbers) > 6 else "")
            sub.problems.append(f"{qid}: answered in more than one cell ({len(numbers)}: cells {shown} and {numbers[-1]}); "
                                "the last one was used")
    if not seen:
        sub.problems.append("no `# answer: <question-id>` cells found")
    return sub


def read_notebook(path: Path, *, code_question_ids: frozenset[str] = frozenset(), limits: ParseLimits = LIMITS) -> Submission:
    try:
        raw = read_regular_file(path, limits.notebook_bytes)
    except Refused as exc:
        return _broken(Submission(path=path, student=stem_name(path)), f"cannot read the notebook: {exc}")
    return parse_notebook(raw, path, code_question_ids=code_question_ids, limits=limits)


def _broken(sub: Submission, reason: str) -> Submission:
    sub.problems.append(reason)
    sub.unreadable = True
    return sub
