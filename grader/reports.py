"""Writing grades: ``grades.csv`` rows and per-student feedback in Markdown and HTML.

Rows are appended and flushed as each submission finishes, so an interrupted run keeps what it did
and ``--resume`` can skip it.

Much of the text written here comes from students (names, file names, answers, exception messages,
invented question ids), so every writer treats text as hostile: it is made valid, printable Unicode
(:mod:`grader.safetext`: a lone surrogate can no longer make a write fail), a grades.csv cell that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) is quoted with a leading apostrophe,
HTML is escaped, and Markdown feedback carries no raw HTML, images or script links.
"""
from __future__ import annotations

import csv
import hashlib
import html
import json
import platform
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .bank import Bank
from .errors import UserError
from .safetext import path_text, printable
from .scoring import QuizResult
from .scoring.attempts import AttemptSummary
from .scoring.result import STATUS_MARK
from .submissions import Submission

BASE_COLUMNS = ["student", "score", "max_score", "percent", "passed", "counted_percent", "attempt",
                "file", "sha256", "reason"]


def grade_columns(bank: Bank) -> list[str]:
    """The contract columns, the attempt policy's result, file, hash and reason, then one column per question."""
    return BASE_COLUMNS + [f"q:{q.id}" for q in bank.questions]


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula (OWASP's CSV injection list)."""


MAX_REASON = 2_000
"""Characters of a grades.csv reason (a summary: the feedback lists every problem)."""


def reason_text(parts: list[str], limit: int = MAX_REASON) -> str:
    """``parts`` joined with '; ', cut after ``limit`` characters with a count of what was left out."""
    shown, size = [], 0
    for part in parts:
        part = part if len(part) <= limit // 2 else part[:limit // 2] + "…"
        if shown and size + len(part) > limit:
            break
        shown.append(part)
        size += len(part) + 2
    left = len(parts) - len(shown)
    return "; ".join(shown) + (f"; … and {left} more (see the feedback)" if left else "")


def csv_text(value: str) -> str:
    """A grades.csv cell: printable on one line, and never a formula (a leading apostrophe quotes it)."""
    text = printable(value, one_line=True)
    return "'" + text if text.startswith(FORMULA_START) else text


def file_cell(path: Path | str) -> str:
    """How a submission's path is written in grades.csv (and matched by ``--resume``)."""
    return csv_text(path_text(path))


def safe_name(student: str) -> str:
    """A file name for a student's feedback: letters, digits, '-', '_' and '.' only."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._") or "student"
    return name[:100]


def done_rows(path: Path, columns: list[str]) -> set[tuple[str, str]]:
    """(file, sha256) of the rows already in ``grades.csv``, for ``--resume``."""
    if not path.exists() or path.stat().st_size == 0:
        return set()
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 26))  # rows written before reasons were bounded
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames != columns:
                raise UserError(f"{path} was written for other questions or by another version; "
                                "grade into a new folder or run without --resume")
            return {(row["file"], row["sha256"]) for row in reader}
    except (csv.Error, UnicodeDecodeError, KeyError) as exc:
        raise UserError(f"{path} cannot be read back for --resume ({type(exc).__name__}: {str(exc)[:200]}); "
                        "grade into a new folder or run without --resume") from None


class GradesWriter:
    """Appends one row per submission to ``grades.csv`` and flushes after each row."""

    def __init__(self, out_dir: Path, bank: Bank, *, append: bool = False):
        self.path = out_dir / "grades.csv"
        self.columns = grade_columns(bank)
        fresh = not append or not self.path.exists() or self.path.stat().st_size == 0
        self._file = self.path.open("w" if fresh else "a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._file, fieldnames=self.columns)
        if fresh:
            self._writer.writeheader()
        self._file.flush()

    def write(self, submission: Submission, result: QuizResult | None, reason: str, *, sha256: str = "",
              summary: AttemptSummary | None = None, attempt: int = 0) -> None:
        row = {"student": csv_text(submission.student), "file": file_cell(submission.path), "reason": csv_text(reason),
               "sha256": sha256, "attempt": str(attempt or "")}
        if summary is not None:
            row["counted_percent"] = f"{summary.counted_percent:.2f}"
        if result is not None:
            row.update({"score": f"{result.score:g}", "max_score": f"{result.max_score:g}",
                        "percent": f"{result.percent:.2f}", "passed": str(result.passed).lower()})
            row.update({f"q:{q.id}": f"{q.points:g}" for q in result.questions})
        else:
            row.update({"score": "0", "max_score": "", "percent": "0.00", "passed": "false"})
        self._writer.writerow(row)
        self._file.flush()

    def close(self) -> None:
        self._file.close()


META_NAME = "grades.meta.json"
"""Beside grades.csv: one record per grading run (what was graded, by which version, and the sandbox it had)."""


def append_run_metadata(out_dir: Path, *, bank: Bank, bank_path: str | Path | None, submissions: int,
                        sandbox: dict[str, Any] | None, append: bool) -> Path:
    """Add this run's record to ``DIR/grades.meta.json`` (a fresh file unless ``append``, as for grades.csv).

    ``sandbox`` is None when no code ran; otherwise which isolation layers held, which essential
    ones were missing and whether ``--unsafe-sandbox`` allowed that.
    """
    from . import __version__

    path = out_dir / META_NAME
    runs: list = []
    if append and path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
            runs = previous.get("runs", []) if isinstance(previous, dict) else []
        except (OSError, ValueError):
            runs = []
    digest = ""
    if bank_path is not None:
        try:
            digest = hashlib.sha256(Path(bank_path).read_bytes()).hexdigest()
        except OSError:
            pass
    runs.append({"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "grader_version": __version__,
                 "python": platform.python_version(), "platform": platform.platform(),
                 "bank_id": bank.id, "bank_file": str(bank_path) if bank_path is not None else None,
                 "bank_sha256": digest, "submissions": submissions, "sandbox": sandbox})
    path.write_text(json.dumps({"runs": runs}, indent=1) + "\n", encoding="utf-8")
    return path


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|])")
"""What makes inline Markdown of plain text (code, emphasis, links, table cells); ``<`` is left to
:func:`inert_markdown`, which writes it as ``&lt;`` before a tag name."""
_RAW_HTML = re.compile(r"<(?=[A-Za-z/!?])")
_SCRIPT_LINK = re.compile(r"\]\(\s*<?\s*(javascript|vbscript|data)\s*:", re.I)


def markdown_text(text: str) -> str:
    """Untrusted text as literal Markdown on one line: every character that means something is escaped."""
    return _MD_SPECIAL.sub(r"\\\1", printable(text, one_line=True))


def inert_markdown(text: str) -> str:
    """A whole Markdown document that a renderer cannot turn into markup the bank did not write.

    Question feedback mixes the bank's Markdown with text from the sandbox (exception messages, type
    names), so the document as a whole gets: printable text, no raw HTML (``<`` before a tag name is
    written ``&lt;``), no images (``![`` loads a remote address when shown) and no script links.
    """
    text = _RAW_HTML.sub("&lt;", printable(text))
    text = text.replace("![", "!\\[")
    return _SCRIPT_LINK.sub(lambda m: "]\\(" + m.group(0)[2:], text)


MAX_PROBLEMS = 50


def _some(problems: list[str]) -> list[str]:
    """At most :data:`MAX_PROBLEMS` problems, each at most 1000 characters, then how many were left out."""
    shown = [p if len(p) <= 1000 else p[:1000] + "…" for p in problems[:MAX_PROBLEMS]]
    return shown + ([f"… and {len(problems) - MAX_PROBLEMS} more problems"] if len(problems) > MAX_PROBLEMS else [])


def feedback_markdown(bank: Bank, submission: Submission, result: QuizResult | None, reason: str,
                      summary: AttemptSummary | None = None) -> str:
    """What a student reads: score, verdict, attempts, problems with the submission, then each question."""
    lines = [f"# {bank.title}", "", f"Student: **{markdown_text(submission.student)}**  ",
             f"Submission: {markdown_text(path_text(submission.path.name))}", ""]
    if summary is not None:
        lines += [summary.message, ""]
    if result is None:
        lines += [f"**Not graded:** {markdown_text(reason)}", ""]
        return inert_markdown("\n".join(lines))
    if submission.problems:
        lines += ["## Problems with the submission", ""] + [f"- {markdown_text(p)}" for p in _some(submission.problems)] + [""]
    lines.append(result.to_markdown())
    return inert_markdown("\n".join(lines))


_STYLE = """body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
.correct{color:#176117}.partial{color:#8a5a00}.incorrect,.invalid,.unanswered{color:#a11}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.6rem;border-radius:4px}"""


def feedback_html(bank: Bank, submission: Submission, result: QuizResult | None, reason: str,
                  summary: AttemptSummary | None = None) -> str:
    """The same feedback as a self-contained HTML page (opens from a file, no scripts, all text escaped)."""
    def e(text: str) -> str:
        return html.escape(printable(text))
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(bank.title)} — {e(submission.student)}</title>",
             f"<style>{_STYLE}</style></head><body>", f"<h1>{e(bank.title)}</h1>",
             f"<p>Student: <b>{e(submission.student)}</b><br>Submission: <code>{e(path_text(submission.path.name))}</code></p>"]
    if summary is not None:
        parts.append(f"<p>{e(summary.message)}</p>")
    if result is None:
        parts.append(f"<p><b>Not graded:</b> {e(reason)}</p></body></html>")
        return "\n".join(parts)
    if submission.problems:
        parts.append("<h2>Problems with the submission</h2><ul>"
                     + "".join(f"<li>{e(p)}</li>" for p in _some(submission.problems)) + "</ul>")
    parts.append(f"<p><b>{e(result.summary_line())}</b></p>")
    parts.append("<table><tr><th>question</th><th>result</th><th>points</th></tr>")
    for q in result.questions:
        parts.append(f"<tr><td><a href='#{e(q.id)}'>{e(q.id)}</a></td><td class='{q.status}'>{STATUS_MARK[q.status]} {q.status}</td>"
                     f"<td>{q.points:g}/{q.max_points:g}</td></tr>")
    parts.append("</table>")
    for q in result.questions:
        parts.append(f"<h3 id='{e(q.id)}'>{e(q.id)} — {q.points:g}/{q.max_points:g}</h3><pre>{e(q.feedback)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)
