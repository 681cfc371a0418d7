"""The static version of a quiz: Markdown with the questions and options, without any key.

Shown in a quiz notebook's last cell, so the quiz still reads where widgets cannot run (GitHub's
notebook preview, nbviewer, a PDF export). Nothing in it tells which option is right: no
``correct`` marks, no explanations or feedback (they give keys away), no final answers.
"""
from __future__ import annotations

from ..bank import Bank
from ..kinds import KINDS, question_markdown


def markdown_fallback(bank: Bank, *, heading_level: int = 3) -> str:
    """The questions of ``bank`` as Markdown, options listed, keys left out (each kind renders its own part)."""
    hashes = "#" * heading_level
    lines = [f"{hashes} {bank.title} (static version)", "",
             "*The interactive quiz above needs a running kernel. Here are its questions without the "
             "answers: run the notebook (Colab or JupyterLab) to check yourself.*", ""]
    for number, q in enumerate(bank.questions, 1):
        lines += [f"**{number}. ({KINDS.of(q).how})**", ""] + question_markdown(q)
    return "\n".join(lines).rstrip() + "\n"
