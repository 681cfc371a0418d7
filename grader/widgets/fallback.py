"""The static version of a quiz: Markdown with the questions and options, without any key.

Shown in a quiz notebook's last cell, so the quiz still reads where widgets cannot run (GitHub's
notebook preview, nbviewer, a PDF export). Nothing in it tells which option is right: no
``correct`` marks, no explanations or feedback (they give keys away), no final answers.
"""
from __future__ import annotations

from ..models import Bank
from ..models.questions import (CodeOutputQuestion, CodeQuestion, FlashcardQuestion, FreeResponseQuestion,
                                NumericQuestion, TextQuestion)

_HOW = {
    "single_choice": "choose one", "multiple_choice": "choose all that apply", "numeric": "a number",
    "text": "a short answer", "code_output": "what does it print?", "free_response": "explain in your own words",
    "flashcard": "flashcard: recall, then check the back in the widget", "code": "write code",
}


def _indent_block(text: str) -> list[str]:
    return [f"> {line}".rstrip() for line in text.strip().splitlines()]


def markdown_fallback(bank: Bank, *, heading_level: int = 3) -> str:
    """The questions of ``bank`` as Markdown, options listed, keys left out."""
    hashes = "#" * heading_level
    lines = [f"{hashes} {bank.title} (static version)", "",
             "*The interactive quiz above needs a running kernel. Here are its questions without the "
             "answers: run the notebook (Colab or JupyterLab) to check yourself.*", ""]
    for number, q in enumerate(bank.questions, 1):
        meta = _HOW.get(q.type, q.type)
        if isinstance(q, NumericQuestion) and q.unit:
            meta += f", in {q.unit}"
        lines += [f"**{number}. ({meta})**", ""]
        lines += q.prompt.strip().splitlines() + [""]
        snippet = getattr(q, "snippet", None)
        if snippet:
            lines += ["```python", *snippet.rstrip().splitlines(), "```", ""]
        if isinstance(q, CodeQuestion) and q.starter:
            lines += ["```python", *q.starter.rstrip().splitlines(), "```", ""]
        options = getattr(q, "options", None) or []
        for option in options:
            text = option.text.strip()
            if "\n" in text:
                lines += [f"- **{option.id}.**", "", *[f"  {line}" for line in text.splitlines()], ""]
            else:
                lines.append(f"- **{option.id}.** {text}")
        if options:
            lines.append("")
        if isinstance(q, (NumericQuestion, TextQuestion)) or (isinstance(q, CodeOutputQuestion) and not options):
            lines += ["Your answer: ________", ""]
        if isinstance(q, FreeResponseQuestion):
            lines += [f"*Checklist: {len(q.concepts)} ideas a good answer mentions.*", ""]
        if isinstance(q, FlashcardQuestion):
            lines += ["*(The back of the card shows in the interactive version.)*", ""]
    return "\n".join(lines).rstrip() + "\n"
