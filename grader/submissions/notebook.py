"""Answers inside a notebook (contract in DESIGN.md).

A code cell whose first line is ``# answer: <question-id>`` answers that question. For choice,
numeric and text questions the cell is ``answer = <Python literal>``, read with ``ast.literal_eval``
and never executed. For code questions the cell is the student's code, kept as text here.
Cell position, metadata and tags are ignored (Colab drops them); the last of duplicated cells wins.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

from . import Submission

ANSWER_MARK = re.compile(r"^\s*#\s*answer\s*:\s*(?P<id>[A-Za-z0-9][A-Za-z0-9_.-]*)\s*$", re.I)
MAX_BYTES = 200_000_000


def _cell_source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def parse_literal_answer(body: str) -> tuple[Any, str | None]:
    """The value of ``answer = <literal>`` in ``body``, or ``(None, reason)``. Nothing is executed."""
    try:
        tree = ast.parse(body)
    except SyntaxError as exc:
        return None, f"the answer cell is not valid Python (line {exc.lineno}: {exc.msg})"
    assigned = [node for node in tree.body if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "answer" for t in node.targets)]
    if not assigned:
        return None, "no `answer = ...` line in the answer cell"
    try:
        return ast.literal_eval(assigned[-1].value), None
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None, "`answer` must be a plain value such as \"B\", [\"A\", \"C\"] or 252 (choice cells are never run)"


def read_notebook(path: Path, *, code_question_ids: frozenset[str] = frozenset()) -> Submission:
    sub = Submission(path=path, student=path.stem)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ValueError(f"the notebook is {size:,} bytes, more than {MAX_BYTES:,}")
        raw = path.read_bytes()
    except (OSError, ValueError) as exc:
        return _broken(sub, f"cannot read the notebook: {exc}")
    if not raw.strip():
        return _broken(sub, "the notebook file is empty")
    try:
        nb = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _broken(sub, f"not a valid notebook (invalid JSON: {exc}); was it saved completely?")
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if cells is None and isinstance(nb, dict) and isinstance(nb.get("worksheets"), list):  # nbformat 3
        cells = [c for ws in nb["worksheets"] if isinstance(ws, dict) for c in ws.get("cells", [])]
        for cell in cells:
            if isinstance(cell, dict) and "input" in cell and "source" not in cell:
                cell["source"] = cell["input"]
    if not isinstance(cells, list):
        return _broken(sub, "not a notebook: no list of cells")
    meta_student = (nb.get("metadata") or {}).get("grader", {}).get("student") if isinstance(nb.get("metadata"), dict) else None
    if isinstance(meta_student, str) and meta_student.strip():
        sub.student = meta_student.strip()
    seen: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = _cell_source(cell)
        lines = source.splitlines()
        first = next((i for i, line in enumerate(lines) if line.strip()), None)
        if first is None:
            continue
        mark = ANSWER_MARK.match(lines[first])
        if not mark:
            continue
        qid = mark.group("id")
        body = "\n".join(lines[first + 1:])
        if qid in seen:
            sub.problems.append(f"{qid}: answered in more than one cell (cells {seen[qid] + 1} and {index + 1}); the last one was used")
        seen[qid] = index
        if qid in code_question_ids:
            sub.answers[qid] = body
            continue
        value, reason = parse_literal_answer(body)
        if reason:
            sub.answers.pop(qid, None)
            sub.problems.append(f"{qid}: {reason}")
        else:
            sub.answers[qid] = value
    if not seen:
        sub.problems.append("no `# answer: <question-id>` cells found")
    return sub


def _broken(sub: Submission, reason: str) -> Submission:
    sub.problems.append(reason)
    sub.unreadable = True
    return sub
