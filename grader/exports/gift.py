"""GIFT: Moodle's plain-text question format, written by hand for Moodle's importer (``qformat_gift``).

A file is blocks separated by blank lines: ``$CATEGORY: $course$/top/<bank title>`` first, then one
block per question, ``::id::[html]text{answers####general feedback}``. Texts are the bank's Markdown
as HTML (:func:`grader.markup.markdown_html`, the same HTML as the Moodle XML and Canvas exports), in
which the importer's control characters are escaped: a backslash first, then ``~ = # { } :``, and a
line break as ``\\n`` (a raw blank line would end the question). Moodle's importer undoes exactly
these escapes (``escapedchar_pre``/``escapedchar_post``) and nothing else.

How the importer tells the forms apart, and so how each is written: ``{=right ~wrong#feedback}`` is a
one-answer multichoice, ``{~%50%a ~%-100%b}`` (no ``=``) a multiple-answer one, ``{#N:T}`` numerical,
``{=%100%a =%100%b}`` a short answer, ``{}`` an essay and no braces a description. Weights must be on
Moodle's list of grades (snapped and reported, see :mod:`.moodle`). GIFT has no field for points
(every question imports worth 1, a description 0), hints, tags, the marker's notes, case-sensitive
short answers or a description's feedback: each is reported when an item has it.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..kinds.records import LmsAnswer, LmsItem
from ..markup import inline_html, markdown_html
from .base import BankInfo, ExportFormat, Loss, field_losses
from .moodle import category_path, grade_losses, number_text, percent_text, short_answer_text, snap_percent

SPECIAL = "~=#{}:"
FORMAT_NAMES = ("[html]", "[moodle]", "[plain]", "[markdown]")


def escape(text: str) -> str:
    """Text as GIFT writes it: ``\\`` first, then ``~ = # { } :`` escaped, line breaks as ``\\n``."""
    text = text.replace("\\", "\\\\")
    for char in SPECIAL:
        text = text.replace(char, "\\" + char)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


def _html_text(html: str) -> str:
    """An answer or feedback text: it inherits the question's HTML format, unless it starts with what
    the importer would take for a format name (``[html]``…), which is then written explicitly."""
    guarded = "[html]" + html if html.lower().startswith(FORMAT_NAMES) else html
    return escape(guarded)


def _choice(answer: LmsAnswer, single: bool) -> str:
    percent = snap_percent(answer.fraction)
    text = _html_text(inline_html(answer.text, "tex"))
    if single and percent == 100:
        marker = "="
    elif percent == 0 and not text.startswith("%"):
        marker = "~"
    else:  # a weight; also for a 0 whose text starts with % (the importer would read a weight there)
        marker = f"~%{percent_text(percent)}%"
    feedback = f"#{_html_text(markdown_html(answer.feedback, 'tex'))}" if answer.feedback else ""
    return marker + text + feedback


def _answers(item: LmsItem) -> list[str]:
    if item.form in ("single", "multiple"):
        return [_choice(answer, item.form == "single") for answer in item.answers]
    if item.form == "numeric":
        number = item.number if item.number is not None else 0.0
        return [f"#{number_text(number)}:{number_text(item.tolerance)}"]
    if item.form == "short":
        return [f"=%{percent_text(snap_percent(a.fraction))}%{escape(short_answer_text(a.text))}"
                for a in _short_answers(item)]
    return []


def _short_answers(item: LmsItem) -> list[LmsAnswer]:
    """The importer reads answers holding both ``=`` and ``->`` as a matching question: those are left out."""
    return [answer for answer in item.answers if "->" not in answer.text]


def _description_text(item: LmsItem) -> str:
    """A GIFT description has no feedback: a card's back follows its front, after a rule."""
    back = f"\n\n---\n\n{item.general_feedback}" if item.general_feedback else ""
    return markdown_html(item.prompt + back, "tex")


def question_block(item: LmsItem) -> str:
    """One question as GIFT lines (no blank line inside)."""
    head = f"::{escape(item.id)}::[html]"
    if item.form == "description":
        return head + escape(_description_text(item))
    lines = [head + escape(markdown_html(item.prompt, "tex")) + "{"]
    lines += [f"\t{answer}" for answer in _answers(item)]
    if item.general_feedback:
        lines.append("\t####" + _html_text(markdown_html(item.general_feedback, "tex")))
    return "\n".join(lines + ["}"])


_GIFT_LACKS = {"hint": "GIFT has no hints", "tags": "GIFT has no tags",
               "grader_info": "reference solution, checks or concepts: GIFT essays have no grader information",
               "case_sensitive": "GIFT short answers are imported ignoring case"}


def _losses(item: LmsItem) -> list[Loss]:
    lost = []
    if item.form != "description" and item.points != 1:
        lost.append(f"{item.points:g} points (GIFT has no points: Moodle imports the question worth 1; set it in the quiz)")
    if item.form == "description" and item.general_feedback:
        lost.append("general feedback (a GIFT description has none: written below the text instead)")
    if item.form == "short":
        lost += [f"accepted answer '{a.text}' (holds '->', which Moodle's GIFT import reads as a matching question)"
                 for a in item.answers if a not in _short_answers(item)]
    format_losses = [Loss(item.id, what, "format") for what in lost] + field_losses(item, _GIFT_LACKS)
    return format_losses + (grade_losses(item) if item.form in ("single", "multiple", "short") else [])


def gift_text(items: Sequence[LmsItem], info: BankInfo) -> str:
    """The whole file: the category block, then one block per question, separated by blank lines."""
    # the category line is read before any escape is undone, except that "\\" becomes "\"
    category = "$CATEGORY: " + category_path(info.title).replace("\\", "\\\\")
    return "\n\n".join([category, *(question_block(item) for item in items)]) + "\n"


def write(items: Sequence[LmsItem], info: BankInfo, path: Path) -> list[Loss]:
    path.write_text(gift_text(items, info), encoding="utf-8")
    return [loss for item in items for loss in _losses(item)]


FORMAT = ExportFormat(name="gift", label="GIFT", suffix=".gift", write=write, carries=frozenset())
