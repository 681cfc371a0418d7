"""Errors a bank author or an instructor can act on, separate from internal bugs.

Three kinds, as in rendercv/dagster: a *located* validation problem in a bank file
(:class:`BankIssue`, many per file, all reported in one pass), a *user* error such as a missing file
(:class:`UserError`), and everything else, which is a bug and may keep its traceback.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class UserError(Exception):
    """A problem the person running the command can fix (bad path, bad arguments)."""


@dataclass(frozen=True)
class BankIssue:
    """One problem in a bank file, located at ``path:line:column`` and a field path."""

    path: str
    line: int | None
    column: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class BankError(UserError):
    """A bank that cannot be loaded. ``issues`` holds every problem found, first one first.

    ``path``, ``line`` and ``message`` describe the first issue, as the README's "From Python" example
    promises; ``str(error)`` lists all of them, one per line.
    """

    def __init__(self, issues: list[BankIssue]):
        if not issues:
            raise ValueError("BankError needs at least one issue")
        self.issues = issues
        first = issues[0]
        self.path = first.path
        self.line = first.line
        self.column = first.column
        self.field = first.field
        self.message = first.message
        super().__init__("\n".join(str(i) for i in issues))

    @classmethod
    def single(cls, path: str | Path, message: str, *, line: int | None = None,
               column: int | None = None, field: str = "") -> "BankError":
        return cls([BankIssue(str(path), line, column, field, message)])
