"""Export a bank as an nbgrader *source* notebook, so a course already on nbgrader can use the same bank.

    python -m grader nbgrader-export quizzes/lora-assignment.yaml -o course/

Writes ``COURSE_DIR/source/<bank-id>/<bank-id>.ipynb`` and, when missing, ``COURSE_DIR/nbgrader_config.py``.
Each answer cell becomes a solution cell (the key or reference between ``### BEGIN/END SOLUTION``,
after the ``# answer: <id>`` line our grader reads, so one notebook works with both graders), and
each graded question gets one autograder test cell worth its points (:mod:`grader.kinds` build them).

The two graders agree because nbgrader's tests do what ``grader`` does, with grader's own code:
a choice, number or text test finds the *text* of the last executed ``# answer: <id>`` cell and
reads it with the grader's rule (:mod:`grader.submissions.answer_value`: a literal or arithmetic on
numbers, never the kernel's ``answer``), then scores it with the kind's scorer
(:mod:`grader.nbgrader_autograde`); a code test runs each probe (hidden ones inside
``### BEGIN/END HIDDEN TESTS``) and compares its value with the reference's, computed in our sandbox,
through our encoder and comparer, then scores the outcomes with the code kind's scorer. Each test's
output is the question's points, which nbgrader records as partial credit. What still differs
(nbgrader runs every cell in one kernel, without our sandbox; its trust model is nbgrader's) is in
docs/autograding.md, "## nbgrader".
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from . import nbwriter
from .bank import Bank
from .kinds import KINDS, CodeQuestion, NbCell, NbgraderContext, question_markdown
from .release import HOW_TO_ANSWER
from .sandbox import compare as compare_module
from .sandbox import encoding as encoding_module
from .sandbox.evaluate import ReferenceValues
from .scoring.result import points_label

NBGRADER_NOTE = ("In this nbgrader notebook, write your answer in place of the `# YOUR CODE HERE` and "
                 "`raise NotImplementedError()` lines, and keep each answer cell above the read-only cell that "
                 "checks it: a check reads the answer cells run before it.")
"""What the nbgrader version adds to :data:`grader.release.HOW_TO_ANSWER`."""

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


PROBE = """
_OUTCOMES = {}


def _probe(question_id, probe_id, name, value, expected_json, tolerance, mode, hidden=False):
    \"\"\"Run one check of a code question: compare value() with the reference's value, record the outcome.\"\"\"
    try:
        ok, why = compare_values(_json.loads(expected_json), encode(value()), tolerance, mode)
    except Exception as exc:  # the student's code raised: this check fails, the next ones still run
        ok, why = False, f"raised {type(exc).__name__}: {exc}"
    _OUTCOMES.setdefault(question_id, {})[probe_id] = (ok, why)
    print(("\u2713 " if ok else "\u2717 ") + name + ("" if ok or hidden else f" \u2014 {why}"))


def _points(question_json, outcomes=None):
    \"\"\"The points grader gives the question (called by hidden tests, where nbgrader autogrades).\"\"\"
    from grader.nbgrader_autograde import points
    return points(question_json, get_ipython().history_manager.input_hist_raw, outcomes)  # noqa: F821
"""


def helper_source() -> str:
    """The helper cell: our encoder and comparer, so a code check judges values as our sandbox's parent
    does; ``_probe``, which records each check; and ``_points``, which the hidden tests end with.

    ``_points`` imports :mod:`grader.nbgrader_autograde` only when a hidden test runs, i.e. where
    nbgrader autogrades (``grader`` installed there); a student's kernel never needs ``grader``."""
    return ("# Grading helpers (do not edit): check code answers, and score answers as `python -m grader grade` does.\n"
            "import json as _json, warnings as _warnings\n_warnings.simplefilter('ignore')\n"
            "import torch, transformers, peft  # imported here so their start-up messages are not graded\n"
            + _module_body(encoding_module) + "\n\n" + _module_body(compare_module) + "\n" + PROBE)


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
    intro = "\n\n".join(x for x in (f"# {bank.title}", (bank.description or "").strip(), HOW_TO_ANSWER, NBGRADER_NOTE) if x)
    cells = [nbwriter.markdown_cell(intro, **_meta("intro")),
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
