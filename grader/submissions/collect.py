"""Whose is each file? The collector decides from where a file came from, never from what it says.

A name inside a file (an answer file's ``student``, a notebook's metadata) is written by whoever
wrote the file, so it cannot say whose the file is. The collector reads identity from the file's
place instead, by one of these layouts (chosen per SUBMISSION argument, ``layout="auto"``):

``files``
    ``subs/ana.ipynb`` → ``ana``: the file's name without its suffix.
``folders``
    ``subs/ana/lora_assignment.ipynb``, ``subs/ana/any/depth.ipynb`` → ``ana``: the first folder under
    the argument.
``nbgrader``
    ``submitted/<student>/<assignment>/<notebook>.ipynb`` (the argument is ``submitted/`` or the course
    folder holding it; nbgrader's default ``CourseDirectory.directory_structure`` is
    ``{nbgrader_step}/{student_id}/{assignment_id}``). The time handed in is read from
    ``<assignment>/timestamp.txt``, which nbgrader 0.9's exchange writes with
    ``Exchange.timestamp_format`` = ``"%Y-%m-%d %H:%M:%S.%f %Z"`` in ``Exchange.timezone`` (default
    UTC), e.g. ``2026-12-01 10:15:02.123456 UTC``; its ``utils.parse_utc`` reads a time without zone
    as UTC, and so does :func:`parse_nbgrader_timestamp`. The student's own nbgrader wrote the file, so it
    says when nbgrader *says* the work was handed in, not more.
``canvas``
    Canvas "Download Submissions". canvas-lms ``lib/content_zipper.rb`` names each file
    ``"#{filename}_#{file.id}_#{display_name}"`` where ``get_filename`` joins the user's
    ``sortable_name`` (lower-cased; ``_<digits>_`` runs and every non-word character removed, so
    "Doe, Ana" is ``doeana``), ``LATE`` when Canvas counts the submission late, and the user id (or
    ``anon_<id>`` under anonymous grading) with ``_``: ``doeana_12345_678901_lora_assignment.ipynb``,
    ``doeana_LATE_12345_678901_lora_assignment-1.ipynb``. The third part is the attachment id; older
    Canvas wrote ``late`` in lower case. Key: the name part (else the anonymous id); the user id
    is kept as ``lms_id`` (a roster id may equal it).
``moodle``
    Moodle "Download all submissions". moodle ``mod/assign/classes/downloader.php``
    (``get_student_prefix``) uses ``fullname`` with ``_`` turned into spaces, then ``_`` and the
    participant id (``get_uniqueid_for_user``); ``load_submissionplugin_filelist`` appends
    ``_assignsubmission_file`` and, with "Download submissions in folders" (the default since 3.1),
    the file's path: ``Ana Doe_123456_assignsubmission_file/lora_assignment.ipynb`` (Moodle 3.x's
    ``locallib.php`` wrote the folder with a trailing ``_``); without folders
    ``Ana Doe_123456_assignsubmission_file_lora_assignment.ipynb``. Key: the full name; the
    participant id is kept as ``lms_id``.
``pattern``
    A regular expression with a named group ``student`` (or nbgrader ZipCollect's ``student_id``),
    matched from the start of the path relative to the argument (``/`` between folders), as
    ZipCollect's ``named_regexp`` is matched with ``re.match``.

``auto`` decides per argument: nbgrader when the argument is named ``submitted``, holds a
``submitted/`` folder, or has some ``<x>/<y>/timestamp.txt``; Moodle or Canvas when every file name
fits theirs; otherwise each file by its own position: a file directly in the argument by the
``files`` rule, a file in a subfolder by the ``folders`` rule (file arguments: the ``files`` rule).

With a roster (:mod:`.roster`) every key must name exactly one student: a file that matches no one,
or two or more, is reported in ``unmatched`` / ``ambiguous`` and never graded into anyone. Files with
identical bytes handed in by different students are grouped in ``duplicates``. Links, pipes and
devices are listed like files (the reader refuses them with a reason); links are never followed to
decide identity.
"""
from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import regex

from ..bounded_read import NotRegularFile, TooLarge, read_regular
from ..errors import UserError
from ..safetext import path_text, printable
from . import expand_submissions
from .limits import LIMITS, file_sha256
from .roster import Roster, RosterEntry, load_roster

__all__ = ["LAYOUTS", "Collected", "Collection", "DuplicateGroup", "Problem", "Roster", "RosterEntry", "collect",
           "load_roster", "parse_nbgrader_timestamp"]

LAYOUTS = ("auto", "files", "folders", "nbgrader", "canvas", "moodle")
"""What ``layout`` may be; a custom ``pattern`` is the layout ``"pattern"``."""

TIME_NBGRADER = "nbgrader timestamp.txt"
TIME_MTIME = "file modified time"
TIME_NONE = "unavailable"
PATTERN_TIMEOUT_S = 0.25
"""Longest the custom pattern may run on one path (a backtracking pattern must not stall the run)."""
MAX_LISTED = 200
"""Entries of one section of :meth:`Collection.report_markdown` before "… and N more"."""
_TIMESTAMP_BYTES = 1_000

_CANVAS = re.compile(r"(?:(?P<name>.+?)_)??(?:(?P<late>LATE|late)_)?(?P<uid>\d+|anon_[A-Za-z0-9]+)"
                     r"_(?P<file_id>\d+)_(?P<original>.+)", re.DOTALL)
_MOODLE_FOLDER = re.compile(r"(?P<name>[^_]+?)(?:_(?P<pid>\d+))?_assignsubmission_(?P<plugin>[a-z]+)_?", re.DOTALL)
_MOODLE_FILE = re.compile(r"(?P<name>[^_]+?)(?:_(?P<pid>\d+))?_assignsubmission_(?P<plugin>[a-z]+)_(?P<original>.+)",
                          re.DOTALL)


# --- results -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Collected:
    """A file and the student it is graded for."""

    path: Path
    student: str
    """Who the row is for: the roster id with a roster, else :attr:`key` (see :func:`collect`)."""
    key: str
    """What the layout read from the path (a folder name, a Canvas sortable name, …), printable."""
    layout: str
    """The rule that read it: files, folders, nbgrader, canvas, moodle or pattern."""
    submitted_at: datetime | None
    """When it was handed in (UTC), as :attr:`time_source` says; None when nothing could tell."""
    time_source: str
    lms_late: bool
    """The LMS itself marked the submission late (Canvas ``LATE_``)."""
    sha256: str
    """Of the file's bytes; '' when it is not a regular file (the reader then says why)."""
    lms_id: str | None = None
    """Canvas user id / Moodle participant id, when the layout has one."""
    assignment: str | None = None
    """nbgrader's assignment folder."""
    roster_entry: RosterEntry | None = None
    notes: tuple[str, ...] = ()
    """Why something fell back (an unreadable timestamp.txt, say)."""

    def to_dict(self) -> dict[str, Any]:
        return {"path": path_text(self.path), "student": self.student, "key": self.key, "layout": self.layout,
                "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
                "time_source": self.time_source, "lms_late": self.lms_late, "sha256": self.sha256,
                "lms_id": self.lms_id, "assignment": self.assignment, "notes": list(self.notes)}


@dataclass(frozen=True)
class Problem:
    """A file that is not graded because its path names no one (or several people)."""

    path: Path
    reason: str
    layout: str
    key: str | None = None
    candidates: tuple[RosterEntry, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"path": path_text(self.path), "reason": self.reason, "layout": self.layout, "key": self.key,
                "candidates": [c.id for c in self.candidates]}


@dataclass(frozen=True)
class DuplicateGroup:
    """Byte-identical files handed in by two or more different students."""

    sha256: str
    items: tuple[Collected, ...]

    @property
    def students(self) -> tuple[str, ...]:
        return tuple(sorted({item.student for item in self.items}))

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "students": list(self.students),
                "paths": [path_text(item.path) for item in self.items]}


@dataclass
class Collection:
    """What :func:`collect` found: the files to grade and everything the instructor should look at."""

    items: list[Collected] = field(default_factory=list)
    unmatched: list[Problem] = field(default_factory=list)
    ambiguous: list[Problem] = field(default_factory=list)
    duplicates: list[DuplicateGroup] = field(default_factory=list)
    missing: list[RosterEntry] = field(default_factory=list)
    """Roster entries without any file."""
    roster: Roster | None = None
    warnings: list[str] = field(default_factory=list)
    """Things that look wrong about the layout as a whole (a class read as one student, say)."""

    def several_files(self) -> dict[str, list[Collected]]:
        """Students with more than one file (graded as several attempts), by student."""
        by_student: dict[str, list[Collected]] = defaultdict(list)
        for item in self.items:
            by_student[item.student].append(item)
        return {s: files for s, files in sorted(by_student.items()) if len(files) > 1}

    def to_dict(self) -> dict[str, Any]:
        return {"items": [i.to_dict() for i in self.items], "unmatched": [p.to_dict() for p in self.unmatched],
                "ambiguous": [p.to_dict() for p in self.ambiguous],
                "duplicates": [d.to_dict() for d in self.duplicates],
                "missing": [{"id": e.id, "name": e.name, "email": e.email} for e in self.missing],
                "warnings": list(self.warnings)}

    def summary_lines(self, limit: int = 20) -> list[str]:
        """What a terminal should show: each file not graded and why, identical files, who is missing.

        Plain printable lines (no escape sequence from a file name reaches the terminal); at most
        ``limit`` files per kind, the rest counted (``collection.md`` lists all).
        """
        lines = [printable(f"warning: {w}", one_line=True) for w in self.warnings]

        def some(rows: list[str], what: str) -> None:
            lines.extend(printable(row, one_line=True) for row in rows[:limit])
            if len(rows) > limit:
                lines.append(f"… and {len(rows) - limit} more {what} (see the collection report)")

        some([f"not graded: {path_text(p.path)}: {p.reason}" for p in self.unmatched], "files matched to no one")
        some([f"not graded: {path_text(p.path)}: {p.reason} ({', '.join(c.id for c in p.candidates)})"
              for p in self.ambiguous], "files matched to several students")
        some([f"identical files from {', '.join(g.students)}: " + ", ".join(path_text(i.path) for i in g.items)
              for g in self.duplicates], "groups of identical files")
        if self.missing:
            shown = ", ".join(e.id for e in self.missing[:limit]) + (", …" if len(self.missing) > limit else "")
            lines.append(printable(f"{len(self.missing)} roster student(s) without a file: {shown}", one_line=True))
        return lines

    def report_markdown(self) -> str:
        """A report for the instructor: counts, then each problem. All untrusted text is escaped."""
        # imported here: feedback pulls in the bank model, which only the report needs
        from ..feedback import inert_markdown, markdown_text

        students = {item.student for item in self.items}
        layouts = Counter(item.layout for item in self.items)
        lines = ["# Submission collection", "",
                 f"- {len(self.items)} file(s) to grade, for {len(students)} student(s)"
                 + (f" (layouts: {', '.join(f'{k} {v}' for k, v in sorted(layouts.items()))})" if layouts else ""),
                 (f"- {len(self.unmatched)} file(s) matched to no one, {len(self.ambiguous)} to several students "
                  "(not graded)"),
                 f"- {len(self.duplicates)} group(s) of identical files from different students"]
        if self.roster is not None:
            lines.append(f"- {len(self.missing)} of {len(self.roster)} roster student(s) without a file")
        several = self.several_files()
        if several:
            lines.append(f"- {len(several)} student(s) with more than one file")
        lines.extend([*(f"- **Warning:** {markdown_text(w)}" for w in self.warnings), ""])

        def section(title: str, rows: list[str]) -> None:
            if not rows:
                return
            lines.extend([f"## {title}", ""])
            lines.extend(rows[:MAX_LISTED])
            if len(rows) > MAX_LISTED:
                lines.append(f"- … and {len(rows) - MAX_LISTED} more")
            lines.append("")

        def file(path: Path) -> str:
            return markdown_text(path_text(path))

        section("Matched to no one (not graded)",
                [f"- {file(p.path)}: {markdown_text(p.reason)}" for p in self.unmatched])
        section("Matched to several students (not graded)",
                [f"- {file(p.path)}: {markdown_text(p.reason)}; candidates: "
                 + ", ".join(_entry_text(c) for c in p.candidates) for p in self.ambiguous])
        section("Identical files from different students",
                [f"- sha256 {group.sha256[:12]}…: " + "; ".join(
                    f"{markdown_text(i.student)} ({file(i.path)})" for i in group.items) for group in self.duplicates])
        section("Students with more than one file",
                [f"- {markdown_text(s)}: " + ", ".join(file(i.path) for i in files) for s, files in several.items()])
        section("Roster students without a file", [f"- {_entry_text(e)}" for e in self.missing])
        return inert_markdown("\n".join(lines))


def _entry_text(entry: RosterEntry) -> str:
    from ..feedback import markdown_text

    extra = ", ".join(x for x in (entry.name, entry.email) if x)
    return markdown_text(entry.id) + (f" ({markdown_text(extra)})" if extra else "")


# --- where a file sits, and the rules that read a key from it ----------------------------------------
@dataclass(frozen=True)
class _Place:
    """A listed file: its argument folder (None for a file argument) and its path's parts below it."""

    path: Path
    root: Path | None
    parts: tuple[str, ...]

    @property
    def relative(self) -> str:
        return "/".join(self.parts)


@dataclass(frozen=True)
class _Found:
    """What a rule read from a place."""

    key: str
    rule: str
    lms_id: str | None = None
    lms_late: bool = False
    assignment: str | None = None
    timestamp_dir: Path | None = None


Rule = Callable[[_Place], "_Found | str"]
"""A layout: the key it reads from a place, or the reason the place does not fit it."""


def _files_rule(place: _Place) -> _Found | str:
    return _Found(path_text(Path(place.parts[-1]).stem), "files")


def _folders_rule(place: _Place) -> _Found | str:
    if len(place.parts) < 2:
        return "not inside a student's folder (the folders layout reads the first folder under the argument)"
    return _Found(path_text(place.parts[0]), "folders")


def _nbgrader_rule(place: _Place) -> _Found | str:
    if len(place.parts) < 3 or place.root is None:
        return "not at submitted/<student>/<assignment>/<file> (the nbgrader layout)"
    return _Found(path_text(place.parts[0]), "nbgrader", assignment=path_text(place.parts[1]),
                  timestamp_dir=place.root / place.parts[0] / place.parts[1])


def _canvas_rule(place: _Place) -> _Found | str:
    found = _CANVAS.fullmatch(path_text(place.parts[-1]))
    if found is None:
        return "the file name is not a Canvas download's <name>_[LATE_]<user id>_<file id>_<file name>"
    uid = found["uid"]
    return _Found(found["name"] or uid, "canvas", lms_id=uid, lms_late=found["late"] is not None)


def _moodle_rule(place: _Place) -> _Found | str:
    """The first folder named as Moodle names a student's (the zip may have been unpacked into a folder
    of its own), else the file's name."""
    folders = (_MOODLE_FOLDER.fullmatch(path_text(part)) for part in place.parts[:-1])
    found = next((f for f in folders if f is not None), None) or _MOODLE_FILE.fullmatch(path_text(place.parts[-1]))
    if found is None:
        return "the path is not a Moodle download's <full name>_<participant id>_assignsubmission_file…"
    return _Found(found["name"].strip(), "moodle", lms_id=found["pid"])


def _position_rule(place: _Place) -> _Found | str:
    """``auto`` for a plain tree: a file at the top by its name, a file in a subfolder by that folder."""
    return _folders_rule(place) if len(place.parts) > 1 else _files_rule(place)


_RULES: dict[str, Rule] = {"files": _files_rule, "folders": _folders_rule, "nbgrader": _nbgrader_rule,
                           "canvas": _canvas_rule, "moodle": _moodle_rule}


def _rule_name(rule: Rule) -> str:
    """The layout a rule stands for, as :attr:`Problem.layout` shows it."""
    if rule is _position_rule:
        return "auto"
    return next((name for name, known in _RULES.items() if known is rule), "pattern")


def _pattern_rule(pattern: str) -> Rule:
    """The rule for a custom ``pattern`` (checked here: UserError when it cannot be used)."""
    try:
        compiled = regex.compile(pattern)
    except regex.error as exc:
        raise UserError(f"--pattern {pattern!r} is not a valid regular expression: {exc}") from None
    group = next((g for g in ("student", "student_id") if g in compiled.groupindex), None)
    if group is None:
        raise UserError(f"--pattern {pattern!r} needs a named group (?P<student>...) that captures the student")

    def rule(place: _Place) -> _Found | str:
        try:
            found = compiled.match(place.relative, timeout=PATTERN_TIMEOUT_S)
        except TimeoutError:
            return f"the pattern ran longer than {PATTERN_TIMEOUT_S} s on this path"
        if found is None or found[group] is None:
            return "the pattern does not match this path"
        return _Found(found[group], "pattern")

    return rule


def _fits_everywhere(rule: Rule, places: list[_Place]) -> bool:
    return bool(places) and all(isinstance(rule(p), _Found) for p in places)


def _places(paths: Iterable[Path], root: Path | None) -> list[_Place]:
    if root is None:
        return [_Place(p, None, (p.name or path_text(p),)) for p in paths]
    return [_Place(p, root, p.relative_to(root).parts) for p in paths]


def _argument(arg: Path, layout: str, pattern_rule: Rule | None) -> list[tuple[_Place, Rule]]:
    """The files of one folder argument, each with the rule that reads its key."""
    submitted = arg / "submitted"
    course_folder = submitted.is_dir() and not submitted.is_symlink()
    if course_folder and (layout == "nbgrader" or (layout == "auto" and pattern_rule is None)):
        root = submitted  # a course folder: only submitted/ holds hand-ins (source/, release/ are the instructor's)
    else:
        root = arg
    places = _places(expand_submissions([root]), root)
    if pattern_rule is not None:
        return [(p, pattern_rule) for p in places]
    if layout != "auto":
        return [(p, _RULES[layout]) for p in places]
    if root.name == "submitted" or _has_timestamp(places):
        return [(p, _nbgrader_rule if len(p.parts) >= 3 else _position_rule) for p in places]
    for rule in (_moodle_rule, _canvas_rule):
        if _fits_everywhere(rule, places):
            return [(p, rule) for p in places]
    return [(p, _position_rule) for p in places]


def _one_folder_warning(arg: Path, places: list[_Place]) -> str | None:
    """A warning when the folders rule would make a whole class one student: every file sits in one
    folder (``subs/class/ana/…``, ``subs/class/bob/…``) that itself holds several folders."""
    tops = {p.parts[0] for p in places if len(p.parts) > 1}
    if len(tops) != 1 or any(len(p.parts) == 1 for p in places):
        return None
    if len({p.parts[1] for p in places if len(p.parts) > 2}) < 2:
        return None
    top = path_text(tops.pop())
    return (f"every file in {path_text(arg)} is inside the one folder '{top}', so all were read as the work of "
            f"'{top}'; if it holds a folder per student, pass {path_text(arg / top)} instead (or use a --pattern)")


def _has_timestamp(places: list[_Place]) -> bool:
    """Whether some ``<x>/<y>/timestamp.txt`` sits beside the files (one look per folder)."""
    seen: set[tuple[str, str]] = set()
    for place in places:
        if len(place.parts) >= 3 and place.root is not None and place.parts[:2] not in seen:
            seen.add(place.parts[:2])
            if os.path.lexists(place.root / place.parts[0] / place.parts[1] / "timestamp.txt"):
                return True
    return False


def _file_arguments(paths: list[Path], layout: str, pattern_rule: Rule | None) -> list[tuple[_Place, Rule]]:
    """File arguments, judged together (a shell glob over a Canvas download gives many)."""
    places = _places(paths, None)
    if pattern_rule is not None:
        return [(p, pattern_rule) for p in places]
    if layout != "auto":
        return [(p, _RULES[layout]) for p in places]
    for rule in (_moodle_rule, _canvas_rule):
        if _fits_everywhere(rule, places):
            return [(p, rule) for p in places]
    return [(p, _files_rule) for p in places]


# --- times -------------------------------------------------------------------------------------------
def parse_nbgrader_timestamp(text: str) -> datetime:
    """A ``timestamp.txt`` as an aware UTC datetime; ValueError when it is not a time.

    nbgrader writes ``%Y-%m-%d %H:%M:%S.%f %Z`` (``2026-12-01 10:15:02.123456 UTC``); an ISO time with
    an offset, a numeric zone (``+0100``) and an IANA zone name (``Europe/Berlin``) are read too. A
    time without a zone is UTC, as in nbgrader's ``parse_utc``.
    """
    text = text.strip()
    try:
        stamp, zone = datetime.fromisoformat(text), None
    except ValueError:
        head, _, zone = text.rpartition(" ")
        if not head:
            raise ValueError(f"not a time: {text[:60]!r}") from None
        stamp = datetime.fromisoformat(head)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=_zone(zone) if zone else timezone.utc)
    return stamp.astimezone(timezone.utc)


_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)?")


def _zone(name: str) -> timezone | ZoneInfo:
    if name.upper() in ("UTC", "GMT", "Z"):
        return timezone.utc
    offset = _OFFSET.fullmatch(name)
    if offset is not None:
        sign = -1 if offset[1] == "-" else 1
        return timezone(sign * timedelta(hours=int(offset[2]), minutes=int(offset[3] or 0)))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name[:60]!r}") from None


def _nbgrader_time(folder: Path) -> tuple[datetime | None, str]:
    """The time in ``folder/timestamp.txt``, or None and why it could not be used."""
    try:
        raw = read_regular(folder / "timestamp.txt", _TIMESTAMP_BYTES, follow_links=False)
    except FileNotFoundError:
        return None, "no nbgrader timestamp.txt"
    except (OSError, NotRegularFile, TooLarge):  # a link, a pipe, too large, unreadable: it cannot say when
        return None, "nbgrader timestamp.txt is not a small regular file"
    try:
        return parse_nbgrader_timestamp(raw.decode("utf-8")), ""
    except (UnicodeDecodeError, ValueError, OverflowError):
        shown = printable(raw[:60].decode("utf-8", "replace"), one_line=True)
        return None, f"nbgrader timestamp.txt does not hold a time ({shown!r})"


def _modified_time(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(os.lstat(path).st_mtime, timezone.utc)
    except (OSError, OverflowError, ValueError):
        return None


# --- the collector -----------------------------------------------------------------------------------
def _key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a student's name (None when it can)."""
    if not key.strip("\ufffd "):
        return "the path gives no student name"
    if "/" in key or key in (".", ".."):
        return "the student name read from the path is a path, not a name"
    if len(key) > LIMITS.student_chars:
        return f"the student name read from the path is {len(key):,} characters long (at most {LIMITS.student_chars})"
    return None


def _is_archive_litter(place: _Place) -> bool:
    """macOS zip metadata (``__MACOSX/``, ``._name``): copies of resource forks, never a hand-in."""
    return "__MACOSX" in place.parts or place.parts[-1].startswith("._")


def collect(paths: Iterable[str | os.PathLike], *, roster: Roster | None = None, layout: str = "auto",
            pattern: str | None = None) -> Collection:
    """Decide whose each submission file under ``paths`` is (see the module docstring for layouts).

    Without a roster a file's student is its key, except that one key seen with two different LMS
    ids (two "Ana Doe" in one Moodle class) becomes ``<key>_<id>`` for each, so two people are never
    merged. With a roster the student is the id of the one entry the key (or the LMS id) matches.
    UserError for an unknown ``layout`` or an unusable ``pattern`` (which replaces ``layout``).
    """
    if layout not in LAYOUTS:
        raise UserError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if pattern is not None and layout != "auto":
        raise UserError("give either a layout or a pattern, not both (the pattern is a layout of its own)")
    pattern_rule = _pattern_rule(pattern) if pattern is not None else None

    collection = Collection(roster=roster)
    listed: list[tuple[_Place, Rule]] = []
    file_args: list[Path] = []
    for arg in map(Path, paths):
        if arg.is_dir() and not arg.is_symlink():
            found_here = _argument(arg, layout, pattern_rule)
            listed.extend(found_here)
            warning = _one_folder_warning(arg, [place for place, rule in found_here if rule is _position_rule])
            if warning is not None:
                collection.warnings.append(warning)
        else:
            file_args.append(arg)
    listed.extend(_file_arguments(file_args, layout, pattern_rule))

    found: list[tuple[_Place, _Found]] = []
    seen: set[str] = set()
    for place, rule in listed:
        where = os.path.abspath(place.path)
        if where in seen:  # named twice (a folder and a file in it): one file, graded once
            continue
        seen.add(where)
        rule_name = _rule_name(rule)
        if _is_archive_litter(place):
            collection.unmatched.append(Problem(place.path, "macOS archive metadata, not a submission", rule_name))
            continue
        result = rule(place)
        if isinstance(result, str):
            collection.unmatched.append(Problem(place.path, result, rule_name))
            continue
        key = printable(result.key, one_line=True)
        problem = _key_problem(key)
        if problem is not None:
            collection.unmatched.append(Problem(place.path, problem, result.rule, key[:LIMITS.student_chars]))
            continue
        found.append((place, replace(result, key=key)))

    times: dict[Path, tuple[datetime | None, str]] = {}  # one timestamp.txt per nbgrader assignment folder
    for (place, what), student in zip(found, _students(found, roster, collection)):
        if student is None:
            continue
        entry = student if isinstance(student, RosterEntry) else None
        submitted_at, source, notes = _when(place, what, times)
        collection.items.append(Collected(
            path=place.path, student=entry.id if entry is not None else str(student), key=what.key,
            layout=what.rule, submitted_at=submitted_at, time_source=source, lms_late=what.lms_late,
            sha256=file_sha256(place.path), lms_id=what.lms_id, assignment=what.assignment, roster_entry=entry,
            notes=notes))

    collection.items.sort(key=lambda i: (i.student, path_text(i.path)))
    collection.unmatched.sort(key=lambda p: path_text(p.path))
    collection.ambiguous.sort(key=lambda p: path_text(p.path))
    collection.duplicates = _duplicates(collection.items)
    if roster is not None:
        handed_in = {item.student for item in collection.items}
        collection.missing = [e for e in roster.entries if e.id not in handed_in]
    return collection


def _when(place: _Place, what: _Found,
          times: dict[Path, tuple[datetime | None, str]]) -> tuple[datetime | None, str, tuple[str, ...]]:
    """When the file was handed in, what says so, and why nbgrader's timestamp was not used (if so)."""
    notes: tuple[str, ...] = ()
    if what.timestamp_dir is not None:
        if what.timestamp_dir not in times:
            times[what.timestamp_dir] = _nbgrader_time(what.timestamp_dir)
        stamp, why = times[what.timestamp_dir]
        if stamp is not None:
            return stamp, TIME_NBGRADER, ()
        notes = (why,)
    modified = _modified_time(place.path)
    return modified, TIME_MTIME if modified is not None else TIME_NONE, notes


def _students(found: list[tuple[_Place, _Found]], roster: Roster | None,
              collection: Collection) -> list[RosterEntry | str | None]:
    """The student of each found file (None: reported in ``collection`` as unmatched or ambiguous)."""
    if roster is None:
        ids_of_key: dict[str, set[str]] = defaultdict(set)
        for _, what in found:
            if what.lms_id:
                ids_of_key[what.key].add(what.lms_id)
        return [f"{what.key}_{what.lms_id}" if what.lms_id and len(ids_of_key[what.key]) > 1 else what.key
                for _, what in found]
    out: list[RosterEntry | str | None] = []
    for place, what in found:
        candidates = set(roster.match(what.key))
        by_lms_id = roster.by_id(what.lms_id) if what.lms_id else None
        if by_lms_id is not None:
            candidates.add(by_lms_id)
        if len(candidates) == 1:
            out.append(candidates.pop())
            continue
        out.append(None)
        if candidates:
            collection.ambiguous.append(Problem(place.path, f"'{what.key}' matches {len(candidates)} roster students",
                                                what.rule, what.key, tuple(sorted(candidates))))
        else:
            lms = f" (LMS id {what.lms_id})" if what.lms_id else ""
            collection.unmatched.append(Problem(place.path, f"'{what.key}'{lms} matches no one on the roster",
                                                what.rule, what.key))
    return out


def _duplicates(items: list[Collected]) -> list[DuplicateGroup]:
    """Groups of byte-identical files from two or more different students (one student's copies are not)."""
    by_hash: dict[str, list[Collected]] = defaultdict(list)
    for item in items:
        if item.sha256:
            by_hash[item.sha256].append(item)
    groups = [DuplicateGroup(sha, tuple(group)) for sha, group in by_hash.items()
              if len({item.student for item in group}) > 1]
    return sorted(groups, key=lambda g: (g.students, g.sha256))
