"""Validate bank files: the workflow behind ``python -m grader validate``."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import BankError, BankIssue
from .loader import bank_files, parse_bank_located
from .snippets import check_code_outputs
from .yaml_source import read_text


@dataclass
class ValidationReport:
    files: list[Path] = field(default_factory=list)
    issues: list[BankIssue] = field(default_factory=list)
    question_counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.issues and bool(self.files)


def validate_paths(*, paths: list[str | Path], run_snippets: bool = True) -> ValidationReport:
    """Check every bank under ``paths``: schema, keys, unique bank ids, and code_output keys."""
    report = ValidationReport(files=bank_files(paths))
    owner: dict[str, Path] = {}
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
        if run_snippets:
            report.issues.extend(check_code_outputs(bank, source, str(path)))
    return report
