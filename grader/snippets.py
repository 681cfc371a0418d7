"""Run a ``code_output`` snippet for real, so a bank can never state a wrong printed output.

Authors write the snippet and the key; ``grader validate`` runs the snippet in a fresh, isolated
interpreter (``python -I``) in an empty temporary folder with a timeout and compares what it
printed with the key. Snippets are author-written (trusted) code, but a runaway loop or a crash must
still end as a clear message, never a hung validation.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass

from .errors import BankIssue
from .loader import format_loc
from .models import Bank
from .models.questions import CodeOutputQuestion
from .scoring.normalize import normalize_output, normalize_text
from .yaml_source import SourceMap


@dataclass(frozen=True)
class SnippetRun:
    stdout: str
    stderr: str
    returncode: int | None
    timed_out: bool


def run_snippet(code: str, timeout_s: float = 10) -> SnippetRun:
    """Execute ``code`` in a child interpreter and capture what it printed."""
    with tempfile.TemporaryDirectory(prefix="grader-snippet-") as workdir:
        try:
            proc = subprocess.run([sys.executable, "-I", "-c", code], cwd=workdir, capture_output=True,
                                  text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            return SnippetRun(out, "", None, True)
    return SnippetRun(proc.stdout, proc.stderr, proc.returncode, False)


def check_code_outputs(bank: Bank, source: SourceMap, path: str) -> list[BankIssue]:
    """One issue per ``code_output`` question whose key differs from the snippet's real output."""
    issues: list[BankIssue] = []
    for index, question in enumerate(bank.questions):
        if not isinstance(question, CodeOutputQuestion):
            continue
        loc = ("questions", index, "snippet")
        line, column, _ = source.locate(loc)
        run = run_snippet(question.snippet, question.timeout_s)
        if run.timed_out:
            message = f"the snippet did not finish within {question.timeout_s:g} s"
        elif run.returncode != 0:
            last = (run.stderr.strip().splitlines() or ["(no message)"])[-1]
            message = f"the snippet fails when run: {last}"
        else:
            printed = normalize_output(run.stdout)
            if question.hashed_keys:  # a student copy: only a salted hash of the key is known
                if _hashed_key_matches(question, printed):
                    continue
                issues.append(BankIssue(path, line, column, format_loc(loc),
                                        f"the snippet prints {printed!r}, which does not match the hashed key"))
                continue
            expected = normalize_output(question.expected_output)
            if printed == expected:
                continue
            where = "the correct option says" if question.options is not None else "`answer` says"
            message = f"the snippet prints {printed!r} but {where} {expected!r}"
        issues.append(BankIssue(path, line, column, format_loc(loc), message))
    return issues


def _hashed_key_matches(question: CodeOutputQuestion, printed: str) -> bool:
    """Check a student copy's key the way scoring does: the output's hash, or the hashed right option."""
    if question.answer_hash is not None:
        return question.output_hash_matches(normalize_text(printed))
    right = [o for o in question.options or [] if question.is_correct(o)]
    return any(normalize_output(o.text) == printed for o in right)
