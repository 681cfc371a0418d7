"""Student copies of a bank: the assignment notebook, and a bank without keys for self-checking.

    python -m grader release quizzes/lora-assignment.yaml -o release/

A graded bank (``show_key`` other than ``after_each_attempt``) gets the notebook only: any student
bank would let students check graded answers before the key may be shown (a hashed key is found by
trying each option). A practice bank also gets ``<bank-id>.student.yaml``
(:func:`grader.keys.student_copy_yaml`): choice, number and text keys as salted hashes for the quiz
widget's self-check, explanations kept (the widget shows them after every check); code questions are
left out (their prompts, starters and check names are in the notebook; references and hidden checks
never leave the instructor). A bank of code questions only has nothing to self-check, so no student
bank is written for it either. Nothing a student receives can be turned into another student's
score: grading always uses the instructor's bank.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import keys, nbwriter
from .bank import Bank
from .kinds import KINDS, question_markdown
from .scoring.result import points_label
from .submissions.answer_value import PLACEHOLDER

HOW_TO_ANSWER = (
    "**How to answer.** Each question has a code cell whose first line is `# answer: <id>`. Keep that first "
    "line. For choice, number and short-text questions write `answer = ...` with a plain value — `\"B\"`, "
    "`[\"A\", \"C\"]`, `252`, `\"a word\"` — or arithmetic on numbers such as `8 * (768 + 768) * 24` "
    "(`+ - * / // % **` and parentheses). That cell is read, never run, by the grader: names, function calls "
    "(`sorted(...)`, `sum(...)`) and values computed in other cells are not used, and setting `answer` again "
    "in another cell changes nothing, so write the value itself in the answer cell. For code questions write "
    "your code in the cell; you may run it as often as you like. Cells may be moved; extra cells are ignored.")
"""The how-to-answer paragraph every student notebook starts with (``release`` and the nbgrader export):
the rule of :func:`grader.submissions.answer_value.answer_value` in a student's words."""


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
    intro += [HOW_TO_ANSWER]
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


def withheld_student_bank(bank: Bank) -> str | None:
    """Why ``release`` writes no student bank for ``bank`` (one sentence for the command's output), or
    None when it writes one: a graded bank, or one with nothing to self-check."""
    if not keys.is_practice(bank):
        return (f"no student bank: '{bank.id}' is graded (show_key: {bank.show_key}), so students get the "
                "notebook only; set show_key: after_each_attempt for a practice bank they may self-check")
    if not any(KINDS.of(q).hash_key is not None for q in bank.questions):
        return f"no student bank: '{bank.id}' has only code questions, which the widget cannot check"
    return None


def release(*, bank: Bank, out_dir: str | Path, notebook_name: str | None = None) -> list[Path]:
    """Write ``<out>/<name>.ipynb`` and, for a practice bank with something to self-check,
    ``<out>/<bank-id>.student.yaml`` (:func:`withheld_student_bank` says why not otherwise); return the
    paths written. A student bank that an earlier release of a now graded bank left in ``out_dir`` is
    deleted (only a file that starts with :func:`grader.keys.student_copy_yaml`'s header): re-releasing
    must not leave the keys it used to hand out beside the new notebook."""
    out = Path(out_dir)
    written = [nbwriter.write(student_notebook(bank), out / (notebook_name or f"{bank.id.replace('-', '_')}.ipynb"))]
    student_bank = out / f"{bank.id}.student.yaml"
    if withheld_student_bank(bank) is None:
        written.append(keys.write_student_copy(bank, student_bank))
    elif keys.is_student_copy_file(student_bank, bank.id):
        student_bank.unlink()
    return written
