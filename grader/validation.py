"""Validate bank files: the workflow behind ``python -m grader validate``.

Every bank is parsed (with limits on size, depth and alias expansion) and checked against the
schema; then, unless ``run_code`` is off, its author code runs in the sandbox: each ``code_output``
snippet (is the key what it prints?) and each ``code`` question's reference with its probes (does
the reference work?). One light or warm sandbox pool serves every bank of the run.

Every problem is reported in one pass: a bank with schema errors still gets its regular expressions
checked and its author code run, for every question that is valid on its own, so a wrong
``code_output`` key shows up beside a typo elsewhere instead of after it is fixed.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from .bank import Bank
from .errors import BankError, BankIssue
from .kinds import KINDS, CodeOutputQuestion, CodeQuestion, Question
from .loader import bank_files, format_loc, parse_bank_parts
from .sandbox import SandboxPool
from .sandbox.layers import missing_essential
from .scoring.patterns import backtracking_example
from .snippets import check_code_outputs, check_code_references
from .yaml_source import SourceMap, read_text


@dataclass
class ValidationReport:
    files: list[Path] = field(default_factory=list)
    issues: list[BankIssue] = field(default_factory=list)
    """Every problem, file by file in the order of ``files``, each file's by line."""
    question_counts: dict[str, int] = field(default_factory=dict)
    sandbox_missing: list[str] = field(default_factory=list)
    """Essential isolation layers the sandbox lacked while it ran author code (empty when all held)."""

    @property
    def ok(self) -> bool:
        return not self.issues and bool(self.files)


@dataclass(frozen=True)
class _Unparsed:
    """Stands in for a question that failed validation, so the questions after it keep their index
    (and so their line in the file) in the author-code checks."""

    id: str | None


@dataclass(frozen=True)
class _Checked:
    """One bank file as the later checks see it: its questions by index (valid ones, or stand-ins)."""

    path: Path
    source: SourceMap
    questions: list[Question | _Unparsed]
    issues: list[BankIssue]
    """This file's problems so far; the later checks add theirs."""


def validate_paths(*, paths: list[str | Path], run_snippets: bool = True) -> ValidationReport:
    """Check every bank under ``paths``: schema, keys, unique bank ids; then run its snippets and references."""
    report = ValidationReport(files=bank_files(paths))
    owner: dict[str, Path] = {}
    checked: list[_Checked] = []
    file_issues: dict[Path, list[BankIssue]] = {}
    for path in report.files:
        try:
            parts = parse_bank_parts(read_text(path), path)
        except BankError as exc:  # unreadable, too big, not text
            file_issues[path] = list(exc.issues)
            continue
        file_issues[path] = list(parts.issues)
        if parts.source is None:
            continue
        bank = parts.bank
        if bank is not None:
            if bank.id in owner:
                line, column, _ = parts.source.locate(("id",))
                file_issues[path].append(BankIssue(str(path), line, column, "id",
                                                   f"bank id '{bank.id}' is already used by {owner[bank.id]}"))
            owner.setdefault(bank.id, path)
            report.question_counts[str(path)] = len(bank.questions)
        questions = list(bank.questions) if bank is not None else _runnable(parts.questions)
        file_issues[path].extend(check_patterns(questions, parts.source, str(path)))
        checked.append(_Checked(path, parts.source, questions, file_issues[path]))
    if run_snippets:
        _run_author_code(checked, report)
    for path in report.files:
        report.issues.extend(sorted(file_issues.get(path, []), key=lambda i: (i.line or 0, i.column or 0)))
    return report


def _runnable(parsed: Sequence[Question | None]) -> list[Question | _Unparsed]:
    """The questions of an invalid bank whose checks can still run: those valid on their own, except ``code``
    questions that require one that is not (their reference would run without what it builds on);
    stand-ins for the rest. (A valid bank's unknown requirement is an error of its own, raised by the run.)"""
    out: list[Question | _Unparsed] = [q if q is not None else _Unparsed(None) for q in parsed]
    changed = True
    while changed:  # dropping one code question may strand another that requires it
        code_ids = {q.id for q in out if isinstance(q, CodeQuestion)}
        changed = False
        for index, question in enumerate(out):
            if isinstance(question, CodeQuestion) and not set(question.requires) <= code_ids:
                out[index] = _Unparsed(question.id)
                changed = True
    return out


def check_patterns(questions: Sequence[Question | Any], source: SourceMap, path: str) -> list[BankIssue]:
    """One issue per regular expression that backtracks catastrophically on some input, as students' answers
    run it (``questions`` by index; entries that are not questions of a registered kind are skipped)."""
    issues = []
    for index, question in enumerate(questions):
        kind = KINDS.get(getattr(question, "type", None) or "")
        if kind is None or not isinstance(question, kind.model):
            continue
        places = [(("questions", index, *sub), pattern, ignore_case, whole)
                  for sub, pattern, ignore_case, whole in kind.patterns(question)]
        for loc, pattern, ignore_case, whole in places:
            example = backtracking_example(pattern, ignore_case=ignore_case, whole=whole)
            if example is not None:
                line, column, _ = source.locate(loc)
                issues.append(BankIssue(path, line, column, format_loc(loc),
                                        f"the pattern {pattern!r} backtracks catastrophically (on {example} it ran past "
                                        "the time limit); avoid nested repeats such as (a+)+ or (\\w+)*"))
    return issues


def _run_author_code(checked: list[_Checked], report: ValidationReport) -> None:
    kinds = {type(q) for item in checked for q in item.questions}
    if not kinds & {CodeOutputQuestion, CodeQuestion}:
        return
    heavy = CodeQuestion in kinds  # torch only when references need it; then a warm server (`serve`) saves the import
    with SandboxPool(preload=None if heavy else (), use_server=heavy) as pool:
        report.sandbox_missing = missing_essential(pool.isolation().layers)
        for item in checked:
            # the checks read only ``.questions`` by index; stand-ins are neither code_output nor code questions
            view = cast(Bank, _QuestionsView(item.questions))
            item.issues.extend(check_code_outputs(view, item.source, str(item.path), pool))
            item.issues.extend(check_code_references(view, item.source, str(item.path), pool))


@dataclass(frozen=True)
class _QuestionsView:
    """The part of a bank the author-code checks of :mod:`grader.snippets` read."""

    questions: list[Question | _Unparsed]
