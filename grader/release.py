"""Student copies of a bank: the assignment notebook and a bank without keys, references or hidden probes.

    python -m grader release quizzes/lora-assignment.yaml -o release/

The student bank keeps prompts, options and hints. When :mod:`grader.keys` is available its
``student_copy`` makes it (choice keys as salted hashes for self-checking, code questions left out:
their prompts, starters and check names are in the notebook); otherwise, or when that refuses the
bank, the plain copy here removes keys outright and lists code questions with public probes only. Either way nothing a student receives can be turned into
another student's score: grading always uses the instructor's bank.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from .models import Bank
from .models.questions import CodeQuestion, FlashcardQuestion, FreeResponseQuestion

SAFE_QUESTION_FIELDS = ("id", "type", "prompt", "points", "difficulty", "tags", "hint", "snippet", "unit",
                        "time_limit_s", "starter", "requires")
"""Fields copied to the student bank as they are; everything else (keys, explanations, references) is dropped."""

PLACEHOLDER = "answer = None  # replace None with your answer, e.g. \"B\", [\"A\", \"C\"] or 42"


def _student_question(question) -> dict[str, Any]:
    data = question.model_dump(mode="json", include=set(SAFE_QUESTION_FIELDS), exclude_defaults=True)
    data["id"], data["type"], data["prompt"] = question.id, question.type, question.prompt
    options = getattr(question, "options", None)
    if options:
        data["options"] = [{"id": o.id, "text": o.text} for o in options]
    if isinstance(question, CodeQuestion):
        data["checks"] = [{"id": p.id, "name": p.name, "points": p.points, "hidden": True} if p.hidden else
                          {"id": p.id, "name": p.name, "expr": p.expr, "points": p.points,
                           **({"message": p.message} if p.message else {})} for p in question.checks]
    if isinstance(question, FreeResponseQuestion):
        data["concepts"] = [{"id": c.id, "label": c.label} for c in question.concepts]
    return data


def student_bank(bank: Bank) -> dict[str, Any]:
    """The bank as a student may see it (plain data, ready for YAML)."""
    from . import keys

    try:  # a loadable bank for the self-check widget; its code questions live in the notebook only
        return keys.student_copy(bank)
    except ValueError:  # a bank of code questions only has nothing to self-check: plain copy below
        pass
    head = bank.model_dump(mode="json", include={"id", "title", "source", "description", "pass_percent", "attempts",
                                                 "keep", "time_limit_s"}, exclude_none=True)
    return {**head, "student_copy": True, "questions": [_student_question(q) for q in bank.questions]}


def _md_cell(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code_cell(text: str, **metadata: Any) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": None, "metadata": metadata, "outputs": [], "source": text}


def _question_markdown(number: int, question) -> str:
    lines = [f"### {number}. `{question.id}` ({question.points:g} point{'s' if question.points != 1 else ''})", "",
             question.prompt.strip()]
    snippet = getattr(question, "snippet", None)
    if snippet:
        lines += ["", "```python", snippet.rstrip(), "```"]
    for option in getattr(question, "options", None) or []:
        lines.append(f"- **{option.id}**: {option.text.strip()}")
    if question.type == "multiple_choice":
        lines += ["", "*Select every correct option (a list of ids).*"]
    if isinstance(question, CodeQuestion):
        public = [p for p in question.checks if not p.hidden]
        hidden = [p for p in question.checks if p.hidden]
        lines += ["", "Checked by:"] + [f"- {p.name} ({p.points:g})" for p in public]
        if hidden:
            lines += [f"- {p.name} ({p.points:g}, hidden check)" for p in hidden]
    return "\n".join(lines)


def student_notebook(bank: Bank) -> dict[str, Any]:
    """The assignment notebook: one prompt cell and one ``# answer: <id>`` cell per graded question."""
    intro = [f"# {bank.title}", ""]
    if bank.description:
        intro += [bank.description.strip(), ""]
    intro += ["**How to answer.** Each question has a code cell whose first line is `# answer: <id>`. "
              "Keep that first line. For choice and number questions write `answer = ...` with a plain value "
              "(that cell is read, never run, by the grader). For code questions write your code in the cell; "
              "you may run it as often as you like. Cells may be moved; extra cells are ignored."]
    cells = [_md_cell("\n".join(intro))]
    number = 0
    for question in bank.questions:
        if isinstance(question, FlashcardQuestion) or question.points == 0:
            continue
        number += 1
        cells.append(_md_cell(_question_markdown(number, question)))
        body = question.starter.rstrip() if isinstance(question, CodeQuestion) and question.starter else PLACEHOLDER
        cells.append(_code_cell(f"# answer: {question.id}\n{body}\n", grader={"question": question.id}))
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                                         "language_info": {"name": "python"}, "grader": {"bank": bank.id}},
            "nbformat": 4, "nbformat_minor": 5}


def write_notebook(notebook: dict[str, Any], path: Path) -> None:
    """Write with stable formatting (one-space indent like Jupyter) and cell ids nbformat 4.5 expects."""
    for index, cell in enumerate(notebook["cells"]):
        cell.setdefault("id", f"cell-{index}")
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def release(*, bank: Bank, out_dir: str | Path, notebook_name: str | None = None) -> list[Path]:
    """Write ``<out>/<name>.ipynb`` and ``<out>/<bank-id>.student.yaml``; return the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    notebook_path = out / (notebook_name or f"{bank.id.replace('-', '_')}.ipynb")
    write_notebook(student_notebook(bank), notebook_path)
    bank_path = out / f"{bank.id}.student.yaml"
    bank_path.write_text("# Student copy: no keys, references or hidden checks. Grading uses the instructor's bank.\n"
                         + yaml.safe_dump(student_bank(bank), sort_keys=False, allow_unicode=True, width=100),
                         encoding="utf-8")
    return [notebook_path, bank_path]
