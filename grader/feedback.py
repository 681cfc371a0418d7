"""What a student reads about one graded submission: a Markdown document, and the same document
rendered as a self-contained HTML page.

Both come from one list of :class:`Section` s (:func:`feedback_sections`): the Markdown file is the
sections joined, the HTML page is each section rendered by markdown-it-py (raw HTML off), so the two
never drift apart. The page gets what Markdown cannot say: an id on each question's heading for the
table's links, status colours, and a Content-Security-Policy that allows no scripts, images or
requests at all (it opens from a file and loads nothing).

Much of the text here comes from students (names, file names, answers, their code, exception
messages, invented question ids), so it is hostile: student text is made printable and escaped as
literal Markdown (:func:`markdown_text`); prose that mixes the bank's Markdown with sandbox text is
made inert (:func:`inert_markdown`: no raw HTML, images or script links); the student's code sits
in a fence longer than any backtick run inside it, so it can never close the fence early, and is
cut at :data:`MAX_CODE_LINES` lines / :data:`MAX_CODE_CHARS` characters with a note.
"""
from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .bank import Bank
from .markup import code_html
from .safetext import path_text, printable
from .scorer import question_problems
from .scoring import QuestionResult, QuizResult
from .scoring.attempts import AttemptSummary
from .scoring.result import STATUS_MARK, answer_text, id_list, number_text, score_label
from .submissions import Submission

__all__ = ["MAX_CODE_CHARS", "MAX_CODE_LINES", "MAX_PROBLEMS", "Section", "code_fence", "feedback_html",
           "feedback_markdown", "feedback_pages", "feedback_sections", "inert_markdown", "markdown_text"]

MAX_PROBLEMS = 50
"""Problems listed one by one; the rest are counted."""
MAX_PROBLEM_CHARS = 1_000
MAX_ANSWER_CHARS = 1_000
"""Characters of an answer shown at its question (a free-text answer may be long)."""
MAX_CODE_LINES = 200
MAX_CODE_CHARS = 20_000
"""What of a student's code is shown at its question: enough for any honest answer, bounded for a
cell of megabytes (the notebook reader allows long code cells)."""

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|])")
"""What makes inline Markdown of plain text (code, emphasis, links, table cells); ``<`` is left to
:func:`inert_markdown`, which writes it as ``&lt;`` before a tag name."""
_RAW_HTML = re.compile(r"<(?=[A-Za-z/!?])")
_SCRIPT_LINK = re.compile(r"\]\(\s*<?\s*(javascript|vbscript|data)\s*:", re.IGNORECASE)
_BACKTICKS = re.compile(r"`+")


def markdown_text(text: str) -> str:
    """Untrusted text as literal Markdown on one line: every character that means something is escaped."""
    return _MD_SPECIAL.sub(r"\\\1", printable(text, one_line=True))


def inert_markdown(text: str) -> str:
    """Markdown that a renderer cannot turn into markup the bank did not write.

    Question feedback mixes the bank's Markdown with text from the sandbox (exception messages, type
    names), so it gets: printable text, no raw HTML (``<`` before a tag name is written ``&lt;``),
    no images (``![`` loads a remote address when shown) and no script links.
    """
    text = _RAW_HTML.sub("&lt;", printable(text))
    text = text.replace("![", "!\\[")
    return _SCRIPT_LINK.sub(lambda m: "]\\(" + m.group(0)[2:], text)


def _some(problems: Sequence[str]) -> list[str]:
    """At most :data:`MAX_PROBLEMS` problems, each at most :data:`MAX_PROBLEM_CHARS` characters, then how
    many were left out."""
    shown = [p if len(p) <= MAX_PROBLEM_CHARS else p[:MAX_PROBLEM_CHARS] + "…" for p in problems[:MAX_PROBLEMS]]
    left = len(problems) - MAX_PROBLEMS
    return shown + ([f"… and {left} more problems"] if left > 0 else [])


def code_fence(code: str, language: str = "python") -> str:
    """``code`` as a fenced block that nothing inside can close, cut at :data:`MAX_CODE_LINES` lines and
    :data:`MAX_CODE_CHARS` characters (a line after the fence says how much was left out)."""
    text = printable(code).strip("\n")
    body = "\n".join(text.split("\n")[:MAX_CODE_LINES])
    if len(body) > MAX_CODE_CHARS:
        body = body[:MAX_CODE_CHARS]
        body = body[:body.rfind("\n")] if "\n" in body else body
    longest = max((len(run) for run in _BACKTICKS.findall(body)), default=0)
    fence = "`" * max(3, longest + 1)
    block = f"{fence}{language}\n{body}\n{fence}"
    if len(body) < len(text):
        total = text.count("\n") + 1
        block += (f"\n\n*(cut short: {body.count(chr(10)) + 1} of {total} lines and {len(body):,} of "
                  f"{len(text):,} characters are shown)*")
    return block


@dataclass(frozen=True)
class Section:
    """One part of the feedback: Markdown, and what the HTML page adds to it.

    The Markdown is kept as ``parts``, each a run of whole blocks that renders alone exactly as it
    renders inside the section: every part but the last ends in a paragraph or a closed fence (nothing
    open that the next part could continue), and only the last may hold an unescaped ``[`` (so no link
    definition reaches across parts); tests/test_feedback_pages.py checks this on hostile text. The HTML
    page renders and remembers each part on its own (:func:`_part_html`): a question's heading, its
    "Your code:" line and the bank's feedback recur for many students, while their code need not.
    """

    parts: tuple[str, ...]
    anchor: str | None = None
    """The id the first heading of the first part gets in HTML (the questions table links to it)."""
    status: str | None = None
    """A question's status: the CSS class of its section."""
    cell_classes: tuple[str, ...] = field(default_factory=tuple)
    """For the questions table (the first part): the CSS class of each row's result cell, in order."""

    @property
    def markdown(self) -> str:
        return "\n\n".join(self.parts)


def _anchors(ids: Sequence[str]) -> dict[str, str]:
    """Question id → the fragment its heading gets: the id as Markdown viewers (GitHub, Jupyter) make one
    from the heading's text, lower case without dots, unique in the document."""
    used: set[str] = {"questions", "problems-with-the-submission"}
    out: dict[str, str] = {}
    for qid in ids:
        base = re.sub(r"[^a-z0-9_-]", "", qid.lower()) or "question"
        anchor, n = base, 0
        while anchor in used:
            n += 1
            anchor = f"{base}-{n}"
        used.add(anchor)
        out[qid] = anchor
    return out


def _header(bank: Bank, submission: Submission, notes: Sequence[str]) -> Section:
    lines = [f"# {markdown_text(bank.title)}", "", f"Student: **{markdown_text(submission.student)}**  ",
             f"Submission: {markdown_text(path_text(submission.path.name))}"]
    if notes:
        lines += [""] + [f"- {printable(n, one_line=True)}" for n in notes]
    return Section((inert_markdown("\n".join(lines)),))


def _score(bank: Bank, result: QuizResult, summary: AttemptSummary | None) -> Section:
    lines = [f"**{result.summary_line()}**"]
    if result.badge:
        lines += ["", f"🎖️ Badge earned: **{markdown_text(result.badge)}**"]
    if summary is not None:
        lines += [""] + [f"- {line}" for line in attempt_lines(bank, summary)]
    return Section((inert_markdown("\n".join(lines)),))


def attempt_lines(bank: Bank, summary: AttemptSummary) -> list[str]:
    """The attempt policy's verdict, one statement a line (the summary's fields, not its one-line message)."""
    lines = []
    if summary.latest_percent is not None and summary.best_percent is not None:
        lines.append(f"Your latest: {number_text(summary.latest_percent)}% • "
                     f"your highest: {number_text(summary.best_percent)}%")
    lines.append(f"To pass you need at least {number_text(bank.pass_percent)}%.")
    lines.append("We keep your highest score." if bank.keep == "highest" else "Your latest attempt counts.")
    if summary.attempts_left is not None:
        lines.append(f"Attempts left: {summary.attempts_left}.")
    return lines


def _problems(problems: Sequence[str]) -> Section | None:
    if not problems:
        return None
    return Section((inert_markdown("\n".join(["## Problems with the submission", ""]
                                             + [f"- {markdown_text(p)}" for p in _some(problems)])),))


def _table(result: QuizResult, anchors: Mapping[str, str]) -> Section:
    lines = ["## Questions", "", "| Question | Result | Points |", "|---|---|---|"]
    for q in result.questions:
        lines.append(f"| [{markdown_text(q.id)}](#{anchors[q.id]}) | {STATUS_MARK[q.status]} {q.status} | "
                     f"{score_label(q.points, q.max_points)} |")
    if result.unknown_ids:
        ignored = markdown_text(id_list(result.unknown_ids))
        lines += ["", f"Answers for questions this quiz does not have were ignored: {ignored}"]
    return Section((inert_markdown("\n".join(lines)),), cell_classes=tuple(q.status for q in result.questions))


def _answer_line(question: QuestionResult) -> str | None:
    if question.answer is None or question.answer == "" or question.answer == []:
        return None
    text = answer_text(question.answer)
    if len(text) > MAX_ANSWER_CHARS:
        text = text[:MAX_ANSWER_CHARS] + "…"
    return f"Your answer: {markdown_text(text)}"


def _question(question: QuestionResult, anchor: str, code: str | None) -> Section:
    parts = [inert_markdown(f"## {markdown_text(question.id)}\n\n**{score_label(question.points, question.max_points)}**")]
    if code is not None and code.strip():
        parts += ["Your code:", code_fence(code)]  # inert as it is: nothing in a fence is markup
    elif (line := _answer_line(question)) is not None:
        parts.append(inert_markdown(line))
    if question.feedback.strip():
        parts.append(inert_markdown(question.feedback.strip()))
    return Section(tuple(parts), anchor=anchor, status=question.status)


def feedback_sections(bank: Bank, submission: Submission, result: QuizResult | None, reason: str,
                      summary: AttemptSummary | None = None, *, notes: Sequence[str] = (),
                      code: Mapping[str, str] | None = None) -> list[Section]:
    """The feedback document, section by section: who and what, the trusted ``notes``, the score and the
    attempt policy, the problems that concern no one question, a table of the questions, then each
    question with the student's answer (or code), the verdict and why.

    ``reason`` is shown only when ``result`` is None (why the submission could not be graded); a
    graded submission's problems are shown one by one instead, each at its question when it concerns
    one. ``notes`` are trusted lines (lateness, when the key will be shown) shown near the top.
    ``code`` maps a code question's id to the student's code; None takes it from
    ``submission.answers`` (where the readers keep a code question's cell text).
    """
    sections = [_header(bank, submission, notes)]
    if result is None:
        sections.append(Section((inert_markdown(f"**Not graded:** {markdown_text(reason)}"),)))
        return sections
    if code is None:
        code = {q.id: submission.answers[q.id] for q in result.questions
                if q.type == "code" and isinstance(submission.answers.get(q.id), str)}
    general, _ = question_problems(submission.problems, {q.id for q in result.questions})
    sections.append(_score(bank, result, summary))
    if (problems := _problems(general)) is not None:
        sections.append(problems)
    anchors = _anchors([q.id for q in result.questions])
    sections.append(_table(result, anchors))
    sections += [_question(q, anchors[q.id], code.get(q.id)) for q in result.questions]
    return sections


def feedback_markdown(bank: Bank, submission: Submission, result: QuizResult | None, reason: str,
                      summary: AttemptSummary | None = None, *, notes: Sequence[str] = (),
                      code: Mapping[str, str] | None = None) -> str:
    """The feedback as one Markdown document (:func:`feedback_sections`, joined)."""
    return _markdown_page(feedback_sections(bank, submission, result, reason, summary, notes=notes, code=code))


def _markdown_page(sections: Sequence[Section]) -> str:
    return "\n\n".join(s.markdown for s in sections) + "\n"


_STYLE = """
:root{color-scheme:light}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;
line-height:1.55;color:#1f2328;background:#fff}
h1{font-size:1.6rem;margin-bottom:.4rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .7rem;text-align:left}
th{background:#f6f8fa}a{color:#0550ae}code{font-size:90%;background:#f6f8fa;padding:.1em .3em;border-radius:4px}
pre code{background:none;padding:0}
section.question{border-left:4px solid #d0d7de;padding-left:1rem;margin:1.5rem 0}
section.question h2{border:none;margin-top:0}
.correct{color:#116329}.partial{color:#7d4e00}.incorrect,.invalid,.unanswered{color:#a40e26}
.pending,.ungraded{color:#59636e}
section.correct{border-left-color:#1a7f37}section.partial{border-left-color:#bf8700}
section.incorrect,section.invalid,section.unanswered{border-left-color:#cf222e}
section.question>*:not(h2){color:#1f2328}
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'"
"""The page may only style itself: no scripts, images, fonts, frames or requests of any kind."""


@lru_cache(maxsize=1)
def _parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "highlight": lambda code, lang, _attrs: code_html(code, lang)}
                      ).enable("table")


def _section_html(section: Section) -> str:
    """The section's parts rendered one by one (see :class:`Section`), inside a ``<section>`` for a question."""
    first, *rest = section.parts
    body = _part_html(first, section.anchor, section.cell_classes) + "".join(_part_html(p) for p in rest)
    if section.status is not None:
        return f'<section class="question {html.escape(section.status)}">\n{body}</section>'
    return body


MAX_CACHED_PART_CHARS = 4_000
"""Longer parts (a long cell of code) are rendered every time rather than kept."""


def _part_html(markdown: str, anchor: str | None = None, cell_classes: tuple[str, ...] = ()) -> str:
    """One part of a section as HTML, remembered by its text: most of a class's feedback repeats (the
    same heading, verdict and explanation for everyone who gave one answer, identical starter code),
    and markdown-it with Pygments costs about a millisecond a part."""
    if len(markdown) > MAX_CACHED_PART_CHARS:
        return _render_part(markdown, anchor, cell_classes)
    return _remembered_part(markdown, anchor, cell_classes)


def _render_part(markdown: str, anchor: str | None, cell_classes: tuple[str, ...]) -> str:
    """``markdown`` rendered; ``anchor`` becomes the id of its first heading, ``cell_classes`` the classes
    of its table's result cells (the second column of each body row)."""
    parser = _parser()
    tokens = parser.parse(markdown)
    if anchor is not None:
        heading = next((t for t in tokens if t.type == "heading_open"), None)
        if heading is not None:
            heading.attrSet("id", anchor)
    if cell_classes:
        classes = iter(cell_classes)
        in_body, column = False, 0
        for token in tokens:
            if token.type == "tbody_open":
                in_body = True
            elif token.type == "tr_open":
                column = 0
            elif token.type == "td_open" and in_body:
                column += 1
                if column == 2:
                    token.attrSet("class", next(classes, ""))
    return parser.renderer.render(tokens, parser.options, {})


_remembered_part = lru_cache(maxsize=512)(_render_part)
"""Bounded: 512 parts of at most :data:`MAX_CACHED_PART_CHARS` characters, under 25 MB even if all were
highlighted code (5 to 10 times its length as HTML), a few MB for a class's usual parts. A pure function
of its arguments, so sharing it across runs and threads cannot change a page."""


def feedback_html(bank: Bank, submission: Submission, result: QuizResult | None, reason: str,
                  summary: AttemptSummary | None = None, *, notes: Sequence[str] = (),
                  code: Mapping[str, str] | None = None) -> str:
    """The same feedback as a self-contained HTML page: the Markdown sections rendered, no scripts, every
    piece of text escaped, status colours, the questions table linking to each question."""
    return _html_page(bank, submission, feedback_sections(bank, submission, result, reason, summary, notes=notes,
                                                          code=code))


def feedback_pages(bank: Bank, submission: Submission, result: QuizResult | None, reason: str,
                   summary: AttemptSummary | None = None, *, notes: Sequence[str] = (),
                   code: Mapping[str, str] | None = None) -> tuple[str, str]:
    """:func:`feedback_markdown` and :func:`feedback_html` at once, from one list of sections (grading
    writes both files for every student, and building the sections costs about a millisecond each time)."""
    sections = feedback_sections(bank, submission, result, reason, summary, notes=notes, code=code)
    return _markdown_page(sections), _html_page(bank, submission, sections)


def _html_page(bank: Bank, submission: Submission, sections: Sequence[Section]) -> str:
    title = html.escape(printable(f"{bank.title} — {submission.student}", one_line=True))
    head = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n<style>{_STYLE}</style></head>\n<body>\n")
    return head + "\n".join(_section_html(s) for s in sections) + "\n</body></html>\n"
