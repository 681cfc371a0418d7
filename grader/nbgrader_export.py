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
from pathlib import Path
from typing import Any

from . import nbwriter
from .bank import Bank
from .kinds import KINDS, CodeQuestion, NbCell, NbgraderContext, question_markdown
from .sandbox import compare as compare_module
from .sandbox import encoding as encoding_module
from .sandbox.evaluate import ReferenceValues
from .scoring import choice as choice_module
from .scoring.result import points_label

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


def _module_body(module) -> str:
    lines = inspect.getsource(module).splitlines()
    return "\n".join(line for line in lines if not line.startswith("from __future__"))


def helper_source() -> str:
    """The test helper: our encoder and comparer, so both graders judge values alike, and the scorer's
    own partial-credit function, so a multi-select earns the same share in both."""
    return ("# Grading helpers (do not edit): encode a value as plain data and compare it with the expected data.\n"
            "import json as _json, warnings as _warnings\n_warnings.simplefilter('ignore')\n"
            "import torch, transformers, peft  # imported here so their start-up messages are not graded\n"
            + _module_body(encoding_module) + "\n\n" + _module_body(compare_module) + "\n\n"
            + inspect.getsource(choice_module.multi_select_fraction) + "\n\n"
            "def _check(value, expected_json, tolerance, mode='value'):\n"
            "    ok, why = compare_values(_json.loads(expected_json), encode(value), tolerance, mode)\n"
            "    assert ok, why\n")


def _nb_cell(question_id: str, cell: NbCell) -> dict[str, Any]:
    """An nbformat cell from a kind's :class:`NbCell`, with nbgrader's markers and metadata."""
    source = cell.source.rstrip()
    if cell.solution:
        prelude = f"{cell.prelude}\n" if cell.prelude else ""
        source = f"# answer: {question_id}\n{prelude}### BEGIN SOLUTION\n{source}\n### END SOLUTION"
    elif cell.hidden:
        source = f"### BEGIN HIDDEN TESTS\n{source}\n### END HIDDEN TESTS"
    if cell.title:
        source = f"# {cell.title}\n{source}"
    meta = _meta(cell.grade_id, solution=cell.solution, grade=cell.points is not None, locked=cell.locked,
                 points=cell.points)
    make = nbwriter.code_cell if cell.cell_type == "code" else nbwriter.markdown_cell
    return make(source + "\n", **meta)


def source_notebook(bank: Bank, references: ReferenceValues) -> dict[str, Any]:
    """The nbgrader source notebook of ``bank`` (plain nbformat-4 data): each graded question whose kind
    has an nbgrader form gets its prompt, then the kind's answer and test cells."""
    context = NbgraderContext(references.values)
    cells = [nbwriter.markdown_cell(f"# {bank.title}\n\n{(bank.description or '').strip()}", **_meta("intro")),
             nbwriter.code_cell(helper_source(), **_meta("helpers"))]
    for question in bank.questions:
        kind_cells = KINDS.of(question).nbgrader_cells(question, context) if question.graded else []
        if not kind_cells:
            continue  # text, code_output, free responses: no nbgrader-autogradable form here
        in_cell = KINDS.of(question).answer_input(question).style == "elsewhere"
        prompt = "\n".join([f"### `{question.id}` ({points_label(question.points)})", "",
                            *question_markdown(question, show_code=not in_cell)]).rstrip()
        cells.append(nbwriter.markdown_cell(prompt, **_meta(f"{question.id}-prompt")))
        cells += [_nb_cell(question.id, cell) for cell in kind_cells]
    return nbwriter.notebook(cells)


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
    path = nbwriter.write(source_notebook(bank, references), course / "source" / bank.id / f"{bank.id}.ipynb")
    config = course / "nbgrader_config.py"
    if not config.exists():
        config.write_text(CONFIG.format(course=bank.id), encoding="utf-8")
    return path
