"""Export a bank as an nbgrader *source* notebook, so a course already on nbgrader can use the same bank.

    python -m grader nbgrader-export quizzes/lora-assignment.yaml -o course/

Writes ``COURSE_DIR/source/<bank-id>/<bank-id>.ipynb`` and, when missing, ``COURSE_DIR/nbgrader_config.py``.
Each answer cell becomes a solution cell (the key or reference between ``### BEGIN/END SOLUTION``,
after the ``# answer: <id>`` line our grader reads, so one notebook works with both graders). Each
probe becomes an autograder test cell worth the probe's points, hidden probes inside
``### BEGIN/END HIDDEN TESTS``. Expected values are computed from the references in the sandbox and
written into the test cells; the comparison helper is the grader's own encoder and comparer, so
nbgrader and ``python -m grader grade`` give the same points (nbgrader runs them in the student's
kernel, without our sandbox: its weaker trust model is nbgrader's, not ours).
"""
from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

from .models import Bank
from .models.questions import CodeQuestion, MultipleChoiceQuestion, NumericQuestion, SingleChoiceQuestion
from .release import write_notebook
from .sandbox import compare as compare_module
from .sandbox import encoding as encoding_module
from .sandbox.evaluate import ReferenceValues

CONFIG = '''c = get_config()  # noqa: F821 - provided by nbgrader
c.CourseDirectory.course_id = "{course}"
c.ExecutePreprocessor.timeout = 300
'''


def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = True,
          points: float | None = None) -> dict[str, Any]:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _cell(kind: str, source: str, metadata: dict[str, Any]) -> dict[str, Any]:
    cell = {"cell_type": kind, "metadata": metadata, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _module_body(module) -> str:
    lines = inspect.getsource(module).splitlines()
    return "\n".join(line for line in lines if not line.startswith("from __future__"))


def helper_source() -> str:
    """The test helper: our encoder and comparer, so both graders judge values alike."""
    return ("# Grading helpers (do not edit): encode a value as plain data and compare it with the expected data.\n"
            "import json as _json, warnings as _warnings\n_warnings.simplefilter('ignore')\n"
            "import torch, transformers, peft  # imported here so their start-up messages are not graded\n"
            + _module_body(encoding_module) + "\n\n" + _module_body(compare_module) + "\n\n"
            "def _check(value, expected_json, tolerance, mode='value'):\n"
            "    ok, why = compare_values(_json.loads(expected_json), encode(value), tolerance, mode)\n"
            "    assert ok, why\n")


def _choice_test(question) -> str:
    if isinstance(question, SingleChoiceQuestion):
        return f"assert str(answer).strip().casefold() == {question.correct_ids[0].casefold()!r}"
    if isinstance(question, NumericQuestion):
        margin = max(question.tolerance, question.rel_tolerance * abs(question.answer))
        return f"assert abs(float(str(answer).replace(',', '')) - {question.answer!r}) <= {margin!r}"
    assert isinstance(question, MultipleChoiceQuestion)
    right = sorted(o.casefold() for o in question.correct_ids)
    wrong = sorted(o.id.casefold() for o in question.options if not o.correct)
    return (f"_picked = {{str(x).strip().casefold() for x in answer}}\n_right, _wrong = set({right!r}), set({wrong!r})\n"
            "_cs, _ws = len(_picked & _right), len(_picked & _wrong)\n"
            f"_mode = {question.scoring!r}\n"
            "if _mode == 'all_or_nothing':\n    _fraction = float(_picked == _right)\n"
            "elif _mode == 'coverage':\n    _fraction = (_cs / len(_right)) * (_cs / (_cs + _ws)) if _cs else 0.0\n"
            "else:\n    _fraction = max(0.0, _cs / len(_right) - (_ws / len(_wrong) if _wrong else 0.0))\n"
            f"round({question.points!r} * _fraction, 4)")


def source_notebook(bank: Bank, references: ReferenceValues) -> dict[str, Any]:
    """The nbgrader source notebook of ``bank`` (plain nbformat-4 data)."""
    cells = [_cell("markdown", f"# {bank.title}\n\n{(bank.description or '').strip()}", _meta("intro")),
             _cell("code", helper_source(), _meta("helpers"))]
    for question in bank.questions:
        if question.points == 0:
            continue
        cells.append(_cell("markdown", f"### `{question.id}` ({question.points:g} points)\n\n{question.prompt.strip()}"
                           + "".join(f"\n- **{o.id}**: {o.text.strip()}" for o in getattr(question, "options", None) or []),
                           _meta(f"{question.id}-prompt")))
        if isinstance(question, CodeQuestion):
            answer = question.reference.rstrip()
        elif isinstance(question, MultipleChoiceQuestion):
            answer = f"answer = {question.correct_ids!r}"
        elif isinstance(question, SingleChoiceQuestion):
            answer = f"answer = {question.correct_ids[0]!r}"
        elif isinstance(question, NumericQuestion):
            answer = f"answer = {question.answer!r}"
        else:
            continue  # text and code_output answers have no nbgrader-autogradable form here
        cells.append(_cell("code", f"# answer: {question.id}\n### BEGIN SOLUTION\n{answer}\n### END SOLUTION\n",
                           _meta(f"{question.id}-answer", solution=True, locked=False)))
        if not isinstance(question, CodeQuestion):
            cells.append(_cell("code", "### BEGIN HIDDEN TESTS\n" + _choice_test(question) + "\n### END HIDDEN TESTS\n",
                               _meta(f"{question.id}-test", grade=True, points=question.points)))
            continue
        if question.setup.strip():
            cells.append(_cell("code", question.setup.rstrip() + "\n", _meta(f"{question.id}-setup")))
        total = sum(p.points for p in question.checks) or 1.0
        for probe in question.checks:
            points = round(question.points * probe.points / total, 4)
            expected = json.dumps(references.values[question.id][probe.id])
            body = f"# {probe.name}\n_check({probe.expr}, {expected!r}, {probe.tolerance!r}, {probe.compare!r})"
            if probe.hidden:
                body = f"# {probe.name} (hidden test)\n### BEGIN HIDDEN TESTS\n{body}\n### END HIDDEN TESTS"
            cells.append(_cell("code", body + "\n", _meta(f"{question.id}-{probe.id}", grade=True, points=points)))
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                                         "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def export(*, bank: Bank, course_dir: str | Path) -> Path:
    """Compute reference values in the sandbox, then write the source notebook (and a config when missing)."""
    from .sandbox import SandboxPool
    from .sandbox.evaluate import compute_references

    code_questions = [q for q in bank.questions if isinstance(q, CodeQuestion)]
    references = ReferenceValues({})
    if code_questions:
        with SandboxPool() as pool:
            references = compute_references(code_questions, pool)
    course = Path(course_dir)
    folder = course / "source" / bank.id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{bank.id}.ipynb"
    write_notebook(source_notebook(bank, references), path)
    config = course / "nbgrader_config.py"
    if not config.exists():
        config.write_text(CONFIG.format(course=bank.id, assignment=bank.id), encoding="utf-8")
    return path
