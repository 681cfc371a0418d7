"""What a quiz widget shows where no kernel draws it: plain text, Markdown and HTML of its questions.

A notebook saved without widget state (every committed lesson: ``course.executed.tidy`` drops the
widget view and keeps the other MIME types of the same output) used to show
``VBox(children=(HTMLMath(value='<style>…`` on GitHub, nbviewer and in exported HTML. The widgets
now answer IPython's ``_repr_mimebundle_`` with the live view **and** these three fallbacks; a
front end with a widget manager renders the view (it ranks first in JupyterLab, Notebook 7, Colab
and VS Code), everything else picks the richest fallback it knows.

The fallbacks hold the title, the description and each question with its options (ids as letters),
rendered by each kind's own static part (:func:`grader.kinds.question_markdown`): never a key, an
explanation, per-option feedback, a flashcard's back or a hint. Bank text is escaped for every
format: raw HTML in a bank reads as text, in the Markdown as in the HTML.
"""
from __future__ import annotations

import html
import re
from collections.abc import Collection
from typing import Any

from ..bank import Bank
from ..kinds import KINDS, question_markdown
from ..markup import markdown_html

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
"""The MIME type of a live ipywidgets view (the same string ``course.executed`` strips)."""

INTRO = ("*Interactive quiz: it needs a running kernel (Colab, JupyterLab). Here are its questions "
         "without the answers; run the notebook to check yourself.*")

_VERBATIM = re.compile(r"(```.*?```|`[^`\n]*`|\$\$.+?\$\$|\$[^$\n]+?\$)", re.DOTALL)
"""Code fences, code spans and math: renderers protect these themselves, so an entity inside them
would show as a literal ``&lt;``."""


def escape_markdown_html(text: str) -> str:
    """Raw HTML in bank text made harmless for any Markdown renderer, sanitizing or not (JupyterLab
    does not sanitize an output it has just received): ``&``, ``<``, ``>`` escaped in prose; code left
    verbatim (renderers print it as text); ``<`` and ``>`` in math spelled ``\\lt`` / ``\\gt``, which
    MathJax and KaTeX read as the same symbols."""
    out = []
    for index, part in enumerate(_VERBATIM.split(text)):
        if not index % 2:
            out.append(html.escape(part, quote=False))
        elif part.startswith("`"):
            out.append(part)
        else:
            out.append(part.replace("<", "\\lt ").replace(">", "\\gt "))
    return "".join(out)


def _source(bank: Bank, *, heading_level: int, intro: str) -> str:
    """The static version as Markdown, bank text unescaped: title, description, the intro, then each
    question numbered with its answer form and its kind's static part (prompt, code, options)."""
    hashes = "#" * max(1, min(heading_level, 6))
    lines = [f"{hashes} {' '.join(bank.title.split())}", ""]
    if bank.description and bank.description.strip():
        lines += [bank.description.strip(), ""]
    if intro:
        lines += [intro, ""]
    for number, question in enumerate(bank.questions, 1):
        lines += [f"**{number}. ({KINDS.of(question).how})**", ""] + question_markdown(question)
    return "\n".join(lines).rstrip() + "\n"


def quiz_markdown(bank: Bank, *, heading_level: int = 3, intro: str = INTRO) -> str:
    """The quiz as Markdown (``text/markdown``): bank text escaped, keys left out."""
    return escape_markdown_html(_source(bank, heading_level=heading_level, intro=intro))


def quiz_text(bank: Bank, *, intro: str = INTRO) -> str:
    """The quiz as plain text (IPython's terminal, ``jupyter console``, a text-only viewer)."""
    parts = _VERBATIM.split(_source(bank, heading_level=3, intro=intro))
    return "".join(part if index % 2 else part.replace("**", "") for index, part in enumerate(parts))


def quiz_html(bank: Bank, *, intro: str = INTRO) -> str:
    """The quiz as an HTML fragment, by the project's Markdown renderer (raw HTML escaped, math kept
    for MathJax, code highlighted)."""
    return f'<div class="gq-static">{markdown_html(_source(bank, heading_level=3, intro=intro))}</div>'


def static_bundle(bank: Bank) -> dict[str, str]:
    """``text/plain``, ``text/markdown`` and ``text/html`` of the quiz's static version."""
    return {"text/plain": quiz_text(bank), "text/markdown": quiz_markdown(bank), "text/html": quiz_html(bank)}


def widget_view(widget: Any) -> dict[str, Any] | None:
    """The live view's MIME data of ``widget``, as the installed ipywidgets writes it; None when the
    widget has no view (closed, or a model-only widget).

    ipywidgets 8 builds it in ``Widget._repr_mimebundle_``; 7.7.1 (Colab) builds the same dict inside
    ``_ipython_display_`` and displays it at once, so for 7 it is built here with 7's version numbers.
    """
    if getattr(widget, "comm", None) is None:  # closed: a front end could not find its model
        return None
    own = getattr(type(widget), "_repr_mimebundle_", None)
    if own is not None:
        return own(widget).get(WIDGET_VIEW)
    if getattr(widget, "_view_name", None) is None:
        return None
    return {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}


def mimebundle(widget: Any, bank: Bank, include: Collection[str] | None = None,
               exclude: Collection[str] | None = None) -> dict[str, Any]:
    """The widget's live view plus the static fallbacks, filtered as IPython asks (``include``/``exclude``).

    On ipywidgets 7 the widget's own ``_handle_displayed`` hook still runs (8 dropped it), so
    ``on_displayed`` callbacks behave as when the widget itself is displayed."""
    data: dict[str, Any] = static_bundle(bank)
    view = widget_view(widget)
    if view is not None:
        data[WIDGET_VIEW] = view
        displayed = getattr(widget, "_handle_displayed", None)
        if callable(displayed):
            displayed()
    return {mime: value for mime, value in data.items()
            if (include is None or mime in include) and (exclude is None or mime not in exclude)}


__all__ = ["INTRO", "WIDGET_VIEW", "escape_markdown_html", "mimebundle", "quiz_html", "quiz_markdown", "quiz_text",
           "static_bundle", "widget_view"]
