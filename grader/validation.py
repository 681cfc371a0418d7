"""Validate bank files: the workflow behind ``python -m grader validate``.

Every bank is parsed (with limits on size, depth and alias expansion) and checked against the
schema; then, unless ``run_code`` is off, its author code runs in the sandbox: each ``code_output``
snippet (is the key what it prints?) and each ``code`` question's reference with its probes (does
the reference work?). One light or warm sandbox pool serves every bank of the run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .bank import Bank
from .errors import BankError, BankIssue
from .kinds import KINDS, CodeOutputQuestion, CodeQuestion
from .loader import bank_files, format_loc, parse_bank_located
from .sandbox import SandboxPool
from .sandbox.layers import missing_essential
from .scoring.patterns import backtracking_example
from .snippets import check_code_outputs, check_code_references
from .yaml_source import SourceMap, read_text


@dataclass
class ValidationReport:
    files: list[Path] = field(default_factory=list)
    issues: list[BankIssue] = field(default_factory=list)
    question_counts: dict[str, int] = field(default_factory=dict)
    sandbox_missing: list[str] = field(default_factory=list)
    """Essential isolation layers the sandbox lacked while it ran author code (empty when all held)."""

    @property
    def ok(self) -> bool:
        return not self.issues and bool(self.files)


def validate_paths(*, paths: list[str | Path], run_snippets: bool = True) -> ValidationReport:
    """Check every bank under ``paths``: schema, keys, unique bank ids; then run its snippets and references."""
    report = ValidationReport(files=bank_files(paths))
    owner: dict[str, Path] = {}
    loaded: list[tuple[Path, Bank, SourceMap]] = []
    for path in report.files:
        try:
            bank, source = parse_bank_located(read_text(path), path)
        except BankError as exc:
            report.issues.extend(exc.issues)
            continue
        if bank.id in owner:
            line, column, _ = source.locate(("id",))
            report.issues.append(BankIssue(str(path), line, column, "id",
                                           f"bank id '{bank.id}' is already used by {owner[bank.id]}"))
        owner.setdefault(bank.id, path)
        report.question_counts[str(path)] = len(bank.questions)
        report.issues.extend(check_patterns(bank, source, str(path)))
        loaded.append((path, bank, source))
    if run_snippets:
        _run_author_code(loaded, report)
    return report


def check_patterns(bank: Bank, source: SourceMap, path: str) -> list[BankIssue]:
    """One issue per regular expression that backtracks catastrophically on some input, as students' answers run it."""
    issues = []
    for index, question in enumerate(bank.questions):
        places = [(("questions", index, *sub), pattern, ignore_case, whole)
                  for sub, pattern, ignore_case, whole in KINDS.of(question).patterns(question)]
        for loc, pattern, ignore_case, whole in places:
            example = backtracking_example(pattern, ignore_case=ignore_case, whole=whole)
            if example is not None:
                line, column, _ = source.locate(loc)
                issues.append(BankIssue(path, line, column, format_loc(loc),
                                        f"the pattern {pattern!r} backtracks catastrophically (on {example} it ran past "
                                        "the time limit); avoid nested repeats such as (a+)+ or (\\w+)*"))
    return issues


def _run_author_code(loaded: list[tuple[Path, Bank, SourceMap]], report: ValidationReport) -> None:
    kinds = {type(q) for _, bank, _ in loaded for q in bank.questions}
    if not kinds & {CodeOutputQuestion, CodeQuestion}:
        return
    with SandboxPool(preload=None if CodeQuestion in kinds else ()) as pool:  # torch only when references need it
        report.sandbox_missing = missing_essential(pool.isolation().layers)
        for path, bank, source in loaded:
            report.issues.extend(check_code_outputs(bank, source, str(path), pool))
            report.issues.extend(check_code_references(bank, source, str(path), pool))
