"""Student copies of a bank: the assignment notebook, and a bank without keys for self-checking.

    python -m grader release quizzes/lora-assignment.yaml -o release/

The student bank is :func:`grader.keys.student_copy_yaml`: choice, number and text keys as salted
hashes for the quiz widget's self-check; code questions are left out (their prompts, starters and
check names are in the notebook; references and hidden checks never leave the instructor). A bank
of code questions only has nothing to self-check, so no student bank is written for it. Either way
nothing a student receives can be turned into another student's score: grading always uses the
instructor's bank.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import keys, nbwriter
from .bank import Bank
from .kinds import KINDS, question_markdown
from .scoring.result import points_label

PLACEHOLDER = "answer = None  # replace None with your answer, e.g. \"B\", [\"A\", \"C\"] or 42"


def _question_markdown(number: int, question) -> str:
    """The prompt cell; code a student writes in the answer cell (a starter) is not repeated here."""
    in_cell = KINDS.of(question).answer_input(question).style == "elsewhere"
    heading = f"### {number}. `{question.id}` ({points_label(question.points)})"
    return "\n".join([heading, "", *question_markdown(question, show_code=not in_cell)]).rstrip()


def _answer_body(question) -> str:
    """What the answer cell starts with: the starter of a code question, else the placeholder line."""
    if KINDS.of(question).answer_input(question).style == "elsewhere" and question.shown_code:
        return question.shown_code.rstrip()
    return PLACEHOLDER


def student_notebook(bank: Bank) -> dict[str, Any]:
    """The assignment notebook: one prompt cell and one ``# answer: <id>`` cell per graded question."""
    intro = [f"# {bank.title}", ""]
    if bank.description:
        intro += [bank.description.strip(), ""]
    intro += ["**How to answer.** Each question has a code cell whose first line is `# answer: <id>`. "
              "Keep that first line. For choice and number questions write `answer = ...` with a plain value "
              "(that cell is read, never run, by the grader). For code questions write your code in the cell; "
              "you may run it as often as you like. Cells may be moved; extra cells are ignored."]
    cells = [nbwriter.markdown_cell("\n".join(intro))]
    number = 0
    for question in bank.questions:
        if not question.graded:
            continue
        number += 1
        cells.append(nbwriter.markdown_cell(_question_markdown(number, question)))
        cells.append(nbwriter.code_cell(f"# answer: {question.id}\n{_answer_body(question)}\n",
                                        grader={"question": question.id}))
    return nbwriter.notebook(cells, grader={"bank": bank.id})


def release(*, bank: Bank, out_dir: str | Path, notebook_name: str | None = None) -> list[Path]:
    """Write ``<out>/<name>.ipynb`` and, when the bank has something to self-check,
    ``<out>/<bank-id>.student.yaml``; return the paths written."""
    out = Path(out_dir)
    written = [nbwriter.write(student_notebook(bank), out / (notebook_name or f"{bank.id.replace('-', '_')}.ipynb"))]
    if any(KINDS.of(q).hash_key is not None for q in bank.questions):
        written.append(keys.write_student_copy(bank, out / f"{bank.id}.student.yaml"))
    return written
