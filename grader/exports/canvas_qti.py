"""Canvas QTI: a QTI 1.2 zip that Canvas imports as a classic quiz, written by ``text2qti``.

text2qti (Geoffrey Poore's, used by many Canvas instructors) does the writing: the manifest, the
assessment XML, Canvas's own metadata (``question_type``, ``points_possible``) and the zip. We hand
it its plain-text quiz format, built here from the LMS items, with every text already rendered to
HTML by :mod:`grader.markup` (the same HTML as the Moodle export). Raw HTML passes through
text2qti's Markdown untouched, except that it turns ``$…$`` anywhere into Canvas equation images, so
dollars are written as ``&#36;`` and math as ``\\(…\\)``, which Canvas typesets itself.

Three limits of text2qti's text syntax are worked around on the parsed quiz, before it is written:
points must be whole or half numbers above 0 (a 0.25-point question, a 0-point essay), numbers are
rounded to four decimals, and no accepted number may be 0. The exact values are set on text2qti's
question objects, which its XML writer then prints. Two questions with the same text (three "What
does this print?") are refused by text2qti as duplicates, so each text's outer ``<div>`` carries the
question's id.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import UserError
from ..kinds.records import LmsItem
from ..markup import markdown_html
from .base import BankInfo, ExportFormat, Loss, field_losses


class CanvasExportError(UserError):
    """text2qti refused the quiz (its message says which line of the generated text and why)."""


def html(markdown: str | None, question_id: str | None = None) -> str:
    """Bank Markdown as one raw-HTML block text2qti passes through (dollars as entities)."""
    body = markdown_html(markdown or "", "tex").replace("$", "&#36;")
    attribute = f' data-question="{question_id}"' if question_id else ""
    return f"<div{attribute}>{body}</div>"


def _entry(marker: str, text: str) -> list[str]:
    """One text2qti entry: ``marker`` then the text, its further lines indented under the text's start
    (how text2qti knows they belong to the entry); blank lines stay blank."""
    if marker.endswith(":"):
        prefix, indent = marker + " ", " " * 4
    else:
        prefix = marker.ljust(max(4, len(marker) + 1))
        indent = " " * len(prefix)
    first, *rest = text.split("\n")
    return [prefix + first, *[indent + line if line.strip() else "" for line in rest]]


def _choice_marker(index: int, right: bool, multiple: bool) -> str:
    if multiple:
        return "[*]" if right else "[ ]"
    return ("*" if right else "") + "abcdefghijklmnopqrstuvwxyz"[index] + ")"


def _question_lines(number: int, item: LmsItem) -> list[str]:
    if item.form == "description":
        return [f"Text title: {item.id}", *_entry("Text:", html(_with_feedback(item), item.id)), ""]
    lines = [f"Title: {item.id}", *_entry(f"{number}.", html(item.prompt, item.id))]
    if item.general_feedback:
        lines += _entry("...", html(item.general_feedback))
    if item.form in ("single", "multiple"):
        for index, answer in enumerate(item.answers):
            lines += _entry(_choice_marker(index, answer.fraction > 0, item.form == "multiple"), html(answer.text))
            if answer.feedback:
                lines += _entry("...", html(answer.feedback))
    elif item.form == "short":
        lines += [f"*   {answer.text}" for answer in item.answers]
    elif item.form == "numeric":
        lines.append("=   1")  # a placeholder: the exact number is set on the parsed question (see module doc)
    elif item.form == "essay":
        lines.append("____")
    return lines + [""]


def _with_feedback(item: LmsItem) -> str:
    """A text-only item has no feedback field: a card's back follows its front."""
    return item.prompt + (f"\n\n---\n\n{item.general_feedback}" if item.general_feedback else "")


_CANVAS_LACKS = {"hint": "Canvas quizzes have none", "tags": "Canvas quizzes have none",
                 "grader_info": "reference solution, checks or concepts: Canvas essays have no grader notes",
                 "case_sensitive": "Canvas short answers ignore case"}


def _losses(item: LmsItem) -> list[Loss]:
    lost = field_losses(item, _CANVAS_LACKS)
    if item.form == "multiple":
        lost.append(Loss(item.id, "option weights (Canvas scores multiple-answer questions with its own partial-credit "
                                  "rule)", "format"))
    return lost


def quiz_text(items: Sequence[LmsItem], info: BankInfo) -> str:
    """The text2qti source of the quiz (useful to read, and what :func:`write` parses)."""
    lines = [f"Quiz title: {' '.join(info.title.split())}"]
    if info.description:
        lines += _entry("Quiz description:", html(info.description))
    lines += [f"Shuffle answers: {'true' if info.shuffle_options else 'false'}", ""]
    for number, item in enumerate(items, 1):
        lines += _question_lines(number, item)
    return "\n".join(lines)


def _exact(value: float) -> str:
    return format(value, ".15g")


def _set_exact_values(quiz: object, items: Sequence[LmsItem]) -> None:
    """Points and numbers as the bank has them, on text2qti's parsed questions (see module doc)."""
    from text2qti.quiz import Question

    questions = [q for q in quiz.questions_and_delims if isinstance(q, Question)]
    graded = [item for item in items if item.form != "description"]
    for question, item in zip(questions, graded, strict=True):
        question.points_possible = int(item.points) if float(item.points).is_integer() else item.points
        if item.form == "numeric" and item.number is not None:
            low, high = item.number - item.tolerance, item.number + item.tolerance
            question.numerical_min, question.numerical_exact, question.numerical_max = low, item.number, high
            question.numerical_min_html_xml = _exact(low)
            question.numerical_exact_html_xml = _exact(item.number)
            question.numerical_max_html_xml = _exact(high)
    quiz.points_possible = sum(question.points_possible for question in questions)


def write(items: Sequence[LmsItem], info: BankInfo, path: Path) -> list[Loss]:
    try:
        from text2qti.config import Config
        from text2qti.err import Text2qtiError
        from text2qti.qti import QTI
        from text2qti.quiz import Quiz
    except ImportError as exc:
        raise CanvasExportError("the Canvas export needs text2qti: pip install 'peft-course[exports]'") from exc
    text = quiz_text(items, info)
    try:
        # Config() without .load(): the defaults, never the user's ~/.text2qti.bespon
        quiz = Quiz(text, config=Config(), source_name=f"{info.id} (generated)")
    except Text2qtiError as exc:
        raise CanvasExportError(f"text2qti refused bank '{info.id}': {exc}") from exc
    _set_exact_values(quiz, items)
    QTI(quiz).save(path)
    return [loss for item in items for loss in _losses(item)]


FORMAT = ExportFormat(name="canvas-qti", label="Canvas QTI", suffix=".zip", write=write,
                      carries=frozenset({"description", "shuffle_options"}))
