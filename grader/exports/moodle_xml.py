"""Moodle XML: a ``<quiz>`` of questions that Moodle's question bank imports (``qformat_xml``).

Written with ElementTree, which escapes ``< & >`` in every text (valid XML, so no CDATA is needed).
The file opens with a category question (``$course$/top/<bank title>``, the bank's description as
its info), so the import lands in its own category. Each item becomes one ``<question>`` of the
matching type: ``multichoice`` (single or multiple), ``numerical``, ``shortanswer``, ``essay`` or
``description``; its id is both the name and the ``idnumber``. Texts are the bank's Markdown as HTML
(:func:`grader.markup.markdown_html` with ``\\(…\\)`` math, the same HTML as the GIFT and Canvas
exports). The penalty is Moodle's own default (a third per extra try, used only in its interactive
mode), so a question imports the same from XML and GIFT. What Moodle cannot take as it is is
reported: a weight off its list of grades (written as the nearest it takes, see :mod:`.moodle`), and
the hint of an essay or a description (Moodle's importer reads none for those types).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree as ET

from ..kinds.records import LmsItem
from ..markup import inline_html, markdown_html
from .base import BankInfo, ExportFormat, Loss
from .moodle import (
    category_path,
    grade_losses,
    number_text,
    percent_text,
    short_answer_text,
    snap_percent,
)

QTYPE = {"single": "multichoice", "multiple": "multichoice", "numeric": "numerical", "short": "shortanswer",
         "essay": "essay", "description": "description"}
DEFAULT_PENALTY = "0.3333333"
NO_HINTS = {"essay", "description"}
"""Question types whose importer reads no ``<hint>`` (``import_essay``, ``import_description``)."""


def _text(parent: ET.Element, tag: str, text: str, html: bool = True) -> ET.Element:
    """``<tag format="html"><text>…</text></tag>`` (``html=False``: a plain ``<tag><text>``)."""
    node = ET.SubElement(parent, tag, {"format": "html"} if html else {})
    ET.SubElement(node, "text").text = text
    return node


def _value(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, tag).text = value


def _category(quiz: ET.Element, info: BankInfo) -> None:
    question = ET.SubElement(quiz, "question", {"type": "category"})
    _text(question, "category", category_path(info.title), html=False)
    _text(question, "info", markdown_html(info.description, "tex"))


def _choices(question: ET.Element, item: LmsItem, info: BankInfo) -> None:
    _value(question, "single", "true" if item.form == "single" else "false")
    _value(question, "shuffleanswers", "true" if info.shuffle_options else "false")
    _value(question, "answernumbering", "abc")
    for tag in ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback"):
        _text(question, tag, "")
    for answer in item.answers:
        node = ET.SubElement(question, "answer", {"fraction": percent_text(snap_percent(answer.fraction)),
                                                  "format": "html"})
        _value(node, "text", inline_html(answer.text, "tex"))
        _text(node, "feedback", markdown_html(answer.feedback, "tex"))


def _numeric(question: ET.Element, item: LmsItem) -> None:
    answer = ET.SubElement(question, "answer", {"fraction": "100"})
    _value(answer, "text", number_text(item.number if item.number is not None else 0.0))
    _value(answer, "tolerance", number_text(item.tolerance))
    _text(answer, "feedback", "")


def _short(question: ET.Element, item: LmsItem) -> None:
    _value(question, "usecase", "1" if item.case_sensitive else "0")
    for answer in item.answers:
        node = ET.SubElement(question, "answer", {"fraction": percent_text(snap_percent(answer.fraction)),
                                                  "format": "moodle_auto_format"})
        _value(node, "text", short_answer_text(answer.text))
        _text(node, "feedback", markdown_html(answer.feedback, "tex"))


def _essay(question: ET.Element, item: LmsItem) -> None:
    for tag, value in (("responseformat", "editor"), ("responserequired", "1"), ("responsefieldlines", "15"),
                       ("attachments", "0"), ("attachmentsrequired", "0")):
        _value(question, tag, value)
    _text(question, "graderinfo", markdown_html(item.grader_info, "tex"))
    _text(question, "responsetemplate", "")


def _question(quiz: ET.Element, item: LmsItem, info: BankInfo) -> None:
    question = ET.SubElement(quiz, "question", {"type": QTYPE[item.form]})
    _text(question, "name", item.id, html=False)
    _text(question, "questiontext", markdown_html(item.prompt, "tex"))
    _text(question, "generalfeedback", markdown_html(item.general_feedback, "tex"))
    _value(question, "defaultgrade", number_text(0 if item.form == "description" else item.points))
    _value(question, "penalty", "0" if item.form == "description" else DEFAULT_PENALTY)
    _value(question, "hidden", "0")
    _value(question, "idnumber", item.id)
    if item.form in ("single", "multiple"):
        _choices(question, item, info)
    elif item.form == "numeric":
        _numeric(question, item)
    elif item.form == "short":
        _short(question, item)
    elif item.form == "essay":
        _essay(question, item)
    if item.hint and item.form not in NO_HINTS:
        _text(question, "hint", markdown_html(item.hint, "tex"))
    if item.tags:
        tags = ET.SubElement(question, "tags")
        for tag in item.tags:
            _text(tags, "tag", tag, html=False)


def _losses(item: LmsItem) -> list[Loss]:
    lost = grade_losses(item) if item.form in ("single", "multiple", "short") else []
    if item.form in NO_HINTS and item.hint:
        lost.append(Loss(item.id, f"hint (Moodle's {QTYPE[item.form]} questions have none)", "format"))
    if item.form == "description" and item.points:
        lost.append(Loss(item.id, f"{item.points:g} points (a Moodle description is worth none)", "format"))
    return lost


def write(items: Sequence[LmsItem], info: BankInfo, path: Path) -> list[Loss]:
    quiz = ET.Element("quiz")
    _category(quiz, info)
    for item in items:
        _question(quiz, item, info)
    ET.indent(quiz)
    with open(path, "wb") as out:
        ET.ElementTree(quiz).write(out, encoding="UTF-8", xml_declaration=True, short_empty_elements=False)
    return [loss for item in items for loss in _losses(item)]


FORMAT = ExportFormat(name="moodle-xml", label="Moodle XML", suffix=".xml", write=write,
                      carries=frozenset({"description", "shuffle_options"}))
