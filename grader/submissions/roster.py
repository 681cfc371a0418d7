"""The class list (``--roster``): who may hand in, and how a collected name finds its student.

A roster is a CSV file with a header row: ``id`` (required), ``name`` and ``email`` (optional);
other columns are ignored, so an LMS export can be used as it is. Excel saves CSV with a byte-order
mark, which is accepted. Every error names the file and the line, and nothing of the file is
trusted: values are kept as printable one-line text (:func:`grader.safetext.printable`) and the
file is bounded in size and rows.

Matching (:meth:`Roster.match`) goes from the most to the least certain evidence and stops at the
first kind that finds anyone: the id as written, the id ignoring case, the e-mail address ignoring
case, then the name compared without case, accents, spaces or punctuation — in the given order,
with the last word first (Canvas names files by the "sortable name", ``doeana`` for "Ana Doe"),
and, for a name written "Doe, Ana", in the order after the comma first. All candidates of that
kind are returned: the collector, not the roster, decides what one or several mean.
"""
from __future__ import annotations

import csv
import io
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from ..bounded_read import NotRegularFile, TooLarge, read_regular
from ..errors import UserError
from ..safetext import path_text, printable

MAX_ROWS = 100_000
MAX_BYTES = 64 * 1024 * 1024
MAX_VALUE_CHARS = 200
"""An id, a name or an e-mail address longer than this is refused (a student name is at most as long)."""


@dataclass(frozen=True, order=True)
class RosterEntry:
    """One student of the class: ``id`` is what grades are recorded under."""

    id: str
    name: str = ""
    email: str = ""
    line: int = 0
    """Line of the roster file the entry was read from (0 when built in code)."""


def name_key(text: str) -> str:
    """``text`` compared as a name: case folded, accents dropped, only letters and digits kept.

    "José Pérez", "jose perez" and "JOSE-PEREZ" all give ``joseperez``.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum() and not unicodedata.combining(ch))


def _name_variants(name: str) -> set[str]:
    """The keys a roster name is found under: as written, last word first, and "Last, First" swapped."""
    variants = {name_key(name)}
    words = name.replace(",", " ").split()
    if len(words) > 1:
        variants.add(name_key(words[-1] + " " + " ".join(words[:-1])))
    if "," in name:
        before, _, after = name.partition(",")
        variants.add(name_key(after + " " + before))
    variants.discard("")
    return variants


class Roster:
    """The class list with indexes for :meth:`match` (each lookup is a dictionary access)."""

    def __init__(self, entries: Iterable[RosterEntry], *, source: str = "") -> None:
        self.entries: tuple[RosterEntry, ...] = tuple(sorted(entries, key=lambda e: e.id))
        self.source = source
        self._by_id: dict[str, RosterEntry] = {}
        self._by_folded_id: dict[str, list[RosterEntry]] = {}
        self._by_email: dict[str, list[RosterEntry]] = {}
        self._by_name: dict[str, list[RosterEntry]] = {}
        for entry in self.entries:
            if entry.id in self._by_id:
                raise ValueError(f"roster id {entry.id!r} appears twice")
            self._by_id[entry.id] = entry
            self._by_folded_id.setdefault(entry.id.casefold(), []).append(entry)
            if entry.email:
                self._by_email.setdefault(entry.email.casefold(), []).append(entry)
            for variant in _name_variants(entry.name):
                self._by_name.setdefault(variant, []).append(entry)

    def __len__(self) -> int:
        return len(self.entries)

    def by_id(self, student_id: str) -> RosterEntry | None:
        """The entry whose id is exactly ``student_id`` (an LMS user id, say), or None."""
        return self._by_id.get(student_id)

    def match(self, key: str) -> list[RosterEntry]:
        """The entries ``key`` may stand for, from the most certain kind of evidence that finds any.

        Exact id, then id ignoring case, then e-mail ignoring case, then the name (see the module's
        docstring). Sorted by id; empty when no one matches.
        """
        key = key.strip()
        if not key:
            return []
        exact = self._by_id.get(key)
        if exact is not None:
            return [exact]
        for index, probe in ((self._by_folded_id, key.casefold()), (self._by_email, key.casefold()),
                             (self._by_name, name_key(key))):
            found = index.get(probe) if probe else None
            if found:
                return sorted(set(found))
        return []


def load_roster(path: str | os.PathLike) -> Roster:
    """Read a roster CSV (see the module docstring); UserError naming the file and line when it is wrong."""
    where = path_text(path)
    try:
        raw = read_regular(path, MAX_BYTES)
    except FileNotFoundError:
        raise UserError(f"{where}: no such roster file") from None
    except IsADirectoryError:
        raise UserError(f"{where}: the roster is a folder, not a CSV file") from None
    except NotRegularFile:
        raise UserError(f"{where}: the roster is not a regular file (a pipe or device)") from None
    except TooLarge:
        raise UserError(f"{where}: the roster is larger than {MAX_BYTES:,} bytes") from None
    except OSError as exc:
        raise UserError(f"{where}: cannot read the roster: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise UserError(f"{where}:{line}: the roster is not UTF-8 text (save it as 'CSV UTF-8')") from None
    return Roster(_entries(where, text), source=where)


def _entries(where: str, text: str) -> list[RosterEntry]:
    """The rows of a decoded roster, checked: an id on every row, no id or e-mail address twice."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise UserError(f"{where}:1: the roster is empty; it needs a header row with an 'id' column")
        columns = [printable(h, one_line=True).casefold() for h in header]
        for wanted in ("id", "name", "email"):
            if columns.count(wanted) > 1:
                raise UserError(f"{where}:1: the column '{wanted}' appears twice in the header")
        if "id" not in columns:
            shown = ", ".join(repr(c[:40]) for c in columns[:10])
            raise UserError(f"{where}:1: the roster needs an 'id' column (its header has {shown or 'nothing'})")
        at = {name: columns.index(name) for name in ("id", "name", "email") if name in columns}
        entries: list[RosterEntry] = []
        first_line_of_id: dict[str, int] = {}
        first_line_of_email: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(entries) >= MAX_ROWS:
                raise UserError(f"{where}:{line}: the roster has more than {MAX_ROWS:,} students")
            values = {name: _value(where, line, name, row[i] if i < len(row) else "") for name, i in at.items()}
            student_id = values["id"]
            if not student_id:
                raise UserError(f"{where}:{line}: the 'id' is empty")
            if student_id in first_line_of_id:
                raise UserError(f"{where}:{line}: the id '{student_id}' is already on line {first_line_of_id[student_id]}")
            first_line_of_id[student_id] = line
            email = values.get("email", "")
            if email:
                folded = email.casefold()
                if folded in first_line_of_email:
                    raise UserError(f"{where}:{line}: the email '{email}' is already on line {first_line_of_email[folded]}")
                first_line_of_email[folded] = line
            entries.append(RosterEntry(student_id, values.get("name", ""), email, line))
    except csv.Error as exc:
        raise UserError(f"{where}:{reader.line_num}: not valid CSV: {exc}") from None
    return entries


def _value(where: str, line: int, column: str, cell: str) -> str:
    """A cell as printable one-line text; UserError when it is longer than a name may be."""
    value = printable(cell, one_line=True)
    if len(value) > MAX_VALUE_CHARS:
        raise UserError(f"{where}:{line}: the '{column}' is {len(value):,} characters long (at most {MAX_VALUE_CHARS})")
    return value


__all__ = ["MAX_ROWS", "Roster", "RosterEntry", "load_roster", "name_key"]

