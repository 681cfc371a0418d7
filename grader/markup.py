"""Markdown, code and math in bank text, turned into HTML: for the quiz widgets' ``HTMLMath`` and for
the LMS exports (``grader.exports``), so both render a bank's text the same way.

Bank text is Markdown with code fences and ``$math$``. Math is cut out before the Markdown pass
(or ``a_{ij}`` would turn into emphasis) and put back escaped: as ``$…$`` for the widgets, whose
frontend MathJax reads dollars, or as ``\\(…\\)`` / ``\\[…\\]`` for an LMS (Moodle's MathJax filter
and Canvas read those delimiters, and a dollar there is only money). Raw HTML in a bank is escaped,
never passed through. Code is highlighted with Pygments' inline styles on its own light background,
so it reads the same in light and dark themes (and in Colab, which has no Jupyter CSS variables).
"""
from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Any, Literal

MathStyle = Literal["dollars", "tex"]

_MATH = re.compile(r"(\\\$|\$\$.+?(?<!\\)\$\$|\$[^$\n]+?(?<!\\)\$)", re.S)
"""Escaped dollars (kept as ``\\$`` for MathJax), display math, inline math: all cut out verbatim."""
_FENCE = re.compile(r"```")
_PLACEHOLDER = "\ue000MATH{}\ue001"  # private-use characters: markdown leaves them alone
_PLACEHOLDER_RE = re.compile("\ue000MATH(\\d+)\ue001")

CODE_STYLE = ("background:#f6f8fa;color:#1f2328;border:1px solid rgba(127,127,127,.35);border-radius:6px;"
              "padding:.6em .8em;overflow-x:auto;font-size:90%;line-height:1.45;margin:.4em 0")


def code_html(code: str, language: str = "python") -> str:
    """A highlighted code block (inline styles, own background)."""
    try:
        from pygments import highlight
    except ImportError:  # Pygments missing: plain but still readable
        return f'<pre class="gq-code" style="{CODE_STYLE}"><code>{html.escape(code)}</code></pre>'
    body = highlight(code.rstrip("\n"), _lexer(language or "text"), _formatter())
    return f'<pre class="gq-code" style="{CODE_STYLE}"><code>{body}</code></pre>'


@lru_cache(maxsize=32)
def _lexer(language: str) -> Any:
    """One lexer per language, reused: looking it up again for every block cost as much as the highlighting."""
    from pygments.lexers import TextLexer, get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(language)
    except ClassNotFound:
        return TextLexer()


@lru_cache(maxsize=1)
def _formatter() -> Any:
    """The inline-style formatter, built once: building it renders the whole style sheet (most of a
    feedback page's highlighting time, one per code question of every student)."""
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(noclasses=True, nowrap=True, style="default")


@lru_cache(maxsize=1)
def _markdown_parser():
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        return None
    parser = MarkdownIt("commonmark", {"html": False, "highlight": lambda code, lang, _attrs: code_html(code, lang)})
    return parser.enable("table")


def _fallback_markdown(text: str) -> str:
    """Without markdown-it-py: paragraphs, fences, `code` and **bold**, everything else escaped."""
    out: list[str] = []
    for index, chunk in enumerate(re.split(r"```[^\n]*\n?", text)):
        if index % 2:
            out.append(code_html(chunk))
            continue
        for para in re.split(r"\n\s*\n", chunk.strip()):
            if para:
                escaped = html.escape(para)
                escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
                escaped = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)
                out.append(f"<p>{escaped}</p>")
    return "\n".join(out)


def _tex_delimiters(math: str) -> str:
    """``$x$`` → ``\\(x\\)``, ``$$x$$`` → ``\\[x\\]``, an escaped ``\\$`` → a plain dollar."""
    if math == "\\$":
        return "$"
    if math.startswith("$$"):
        return "\\[" + math[2:-2] + "\\]"
    return "\\(" + math[1:-1] + "\\)"


@lru_cache(maxsize=2048)
def markdown_html(text: str | None, math: MathStyle = "dollars") -> str:
    """Bank Markdown → HTML, with math kept for MathJax (in ``math`` delimiters) and code fences highlighted.

    Cached: the same prompt or explanation is rendered every time a student revisits it.
    """
    if not text:
        return ""
    maths: list[str] = []

    def _cut(match: re.Match[str]) -> str:
        maths.append(match.group(0))
        return _PLACEHOLDER.format(len(maths) - 1)

    # math inside code fences or `code` stays code: only cut math from the prose parts
    parts = re.split(r"(```.*?```|`[^`\n]*`)", text, flags=re.S)
    protected = "".join(part if i % 2 else _MATH.sub(_cut, part) for i, part in enumerate(parts))
    parser = _markdown_parser()
    rendered = parser.render(protected) if parser is not None else _fallback_markdown(protected)
    if math == "tex":
        maths = [_tex_delimiters(m) for m in maths]
    return _PLACEHOLDER_RE.sub(lambda m: html.escape(maths[int(m.group(1))]), rendered).strip()


def inline_html(text: str, math: MathStyle = "dollars") -> str:
    """Markdown for one line (an option's text): no surrounding ``<p>``."""
    rendered = markdown_html(text, math)
    if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
        return rendered[3:-4]
    return rendered


def is_rich(text: str) -> bool:
    """Whether option text needs HTML (code, math, several lines) rather than a plain radio label."""
    return "\n" in text.strip() or "`" in text or "$" in text or "**" in text


def plain_text(text: str) -> str:
    """A one-line plain rendering for places that take text only (radio labels, the fallback)."""
    return " ".join(text.replace("**", "").split())


def strip_tags(fragment: str) -> str:
    """The text a reader sees in an HTML fragment (for tests and the plain-text view)."""
    text = re.sub(r"<(br|/p|/li|/tr|/h\d|/div|/pre)\b[^>]*>", "\n", fragment)
    text = re.sub(r"</t[dh]>", " | ", text)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(re.sub(r"[ \t]+", " ", text)).strip()
