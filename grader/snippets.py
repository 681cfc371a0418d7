"""Run a bank's author code for real, in the sandbox: ``code_output`` snippets and ``code`` references.

A bank must never state a wrong printed output or ship a reference that fails. ``grader validate``
runs every snippet and compares what it printed with the key, and runs every code question's
reference (after the references it requires) with its probes. Author code gets exactly the
sandbox student code gets (:mod:`grader.sandbox`): the same walls and limits, printed output cut at
a limit, nothing left running or on disk afterwards. A broken reference is reported at its own
line of the bank file, not as "your answer".
"""
from __future__ import annotations

from dataclasses import dataclass

from .bank import Bank
from .errors import BankIssue
from .kinds import CodeOutputQuestion, CodeQuestion
from .loader import format_loc
from .sandbox import Limits, SandboxPool
from .sandbox.evaluate import check_references
from .scoring.normalize import normalize_output, normalize_text
from .yaml_source import SourceMap

SNIPPET = ("<snippet>", "the snippet")


@dataclass(frozen=True)
class SnippetRun:
    stdout: str
    stderr: str
    """The error the snippet raised (``Type: message (line N of the snippet)``), or ''."""
    returncode: int | None
    timed_out: bool
    truncated: bool = False
    """True when the snippet printed more than the sandbox keeps."""


def run_snippet(code: str, timeout_s: float = 10, *, pool: SandboxPool | None = None) -> SnippetRun:
    """Execute ``code`` in a sandbox and capture what it printed (a light pool of its own when none is given)."""
    if pool is None:
        with SandboxPool(preload=()) as own:
            return run_snippet(code, timeout_s, pool=own)
    run = pool.run(chunks=[(*SNIPPET, code)], limits=Limits(timeout_s=timeout_s, cpu_s=int(timeout_s) + 5),
                   capture_stdout=True)
    failed = run.code_error or (run.crashed if not (run.timed_out or run.stdout_truncated) else None)
    return SnippetRun(run.stdout or "", failed or "", None if run.timed_out else (1 if failed else 0), run.timed_out,
                      run.stdout_truncated)


def check_code_outputs(bank: Bank, source: SourceMap, path: str, pool: SandboxPool) -> list[BankIssue]:
    """One issue per ``code_output`` question whose key differs from the snippet's real output."""
    issues: list[BankIssue] = []
    for index, question in enumerate(bank.questions):
        if not isinstance(question, CodeOutputQuestion):
            continue
        loc = ("questions", index, "snippet")
        line, column, _ = source.locate(loc)
        run = run_snippet(question.snippet, question.timeout_s, pool=pool)
        if run.truncated:
            message = (f"the snippet printed more than {Limits().output_kb} KB and was stopped; "
                       "a code_output snippet should print a little")
        elif run.timed_out:
            message = f"the snippet did not finish within {question.timeout_s:g} s"
        elif run.returncode != 0:
            message = f"the snippet fails when run: {run.stderr}"
        else:
            printed = normalize_output(run.stdout)
            if question.hashed_keys:  # a student copy: only a salted hash of the key is known
                if _hashed_key_matches(question, printed):
                    continue
                issues.append(BankIssue(path, line, column, format_loc(loc),
                                        f"the snippet prints {_short(printed)}, which does not match the hashed key"))
                continue
            expected = normalize_output(question.expected_output)
            if printed == expected:
                continue
            where = "the correct option says" if question.options is not None else "`answer` says"
            message = f"the snippet prints {_short(printed)} but {where} {expected!r}"
        issues.append(BankIssue(path, line, column, format_loc(loc), message))
    return issues


def check_code_references(bank: Bank, source: SourceMap, path: str, pool: SandboxPool) -> list[BankIssue]:
    """One issue per problem found running the code questions' references and probes."""
    code = [q for q in bank.questions if isinstance(q, CodeQuestion)]
    if not code:
        return []
    index = {q.id: i for i, q in enumerate(bank.questions)}
    _, problems = check_references(code, pool)
    issues = []
    for problem in problems:
        own = index[problem.question_id]
        question = bank.questions[own]
        if problem.probe_id is not None:
            probe = next(i for i, p in enumerate(question.checks) if p.id == problem.probe_id)
            loc: tuple = ("questions", own, "checks", probe, "expr")
            line, column, _ = source.locate(loc)
        else:
            loc = ("questions", own, "reference")
            line, column, _ = source.locate(loc)
            if problem.at is not None and problem.at[0] in index:  # the line of the reference that raised
                line = source.text_line(("questions", index[problem.at[0]], "reference"), problem.at[1]) or line
        issues.append(BankIssue(path, line, column, format_loc(loc), problem.message))
    return issues


def _short(printed: str, limit: int = 200) -> str:
    return repr(printed) if len(printed) <= limit else repr(printed[:limit]) + f" … ({len(printed):,} characters)"


def _hashed_key_matches(question: CodeOutputQuestion, printed: str) -> bool:
    """Check a student copy's key the way scoring does: the output's hash, or the hashed right option."""
    if question.answer_hash is not None:
        return question.output_hash_matches(normalize_text(printed))
    right = [o for o in question.options or [] if question.is_correct(o)]
    return any(normalize_output(o.text) == printed for o in right)
