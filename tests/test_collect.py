"""The submission collector: whose each file is, read from where it came from (never from its content).

Trees are built in tmp_path: per-student folders, nbgrader's submitted/, Canvas and Moodle bulk
downloads, custom patterns, and hostile names (empty, huge, path-like, control characters, formulas,
deep trees, links). A roster (CSV) turns keys into student ids; a file that matches no one or several
people is reported and never graded.
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from grader.errors import UserError
from grader.sandbox.housekeeping import remove_folder
from grader.submissions.collect import (
    TIME_MTIME,
    TIME_NBGRADER,
    Collection,
    collect,
    parse_nbgrader_timestamp,
)
from grader.submissions.roster import (
    MAX_ROWS,
    Roster,
    RosterEntry,
    load_roster,
    name_key,
)

NB = '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def put(path: Path, text: str = NB) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def roster_file(tmp_path: Path, text: str, name: str = "roster.csv", *, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def students(collection: Collection) -> dict[str, str]:
    """Relative-ish path (name only, for brevity) → student."""
    return {item.path.name: item.student for item in collection.items}


# --- plain layouts -----------------------------------------------------------------------------------
def test_a_folder_per_student_gives_each_student_their_files_at_any_depth(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    put(subs / "ana" / "lora_assignment.ipynb", NB + " ")
    put(subs / "ana" / "extra" / "deeper" / "part2.ipynb", NB + "  ")
    put(subs / "bob" / "lora_assignment.ipynb", NB + "   ")
    put(subs / "cleo" / "work" / "answers.json", '{"student": "bob", "answers": {}}')

    found = collect([subs])

    assert [(i.path.relative_to(subs).as_posix(), i.student, i.layout) for i in found.items] == [
        ("ana/extra/deeper/part2.ipynb", "ana", "folders"),
        ("ana/lora_assignment.ipynb", "ana", "folders"),
        ("bob/lora_assignment.ipynb", "bob", "folders"),
        ("cleo/work/answers.json", "cleo", "folders"),  # the file's own "student": "bob" is not identity
    ]
    assert not found.unmatched and not found.ambiguous and not found.duplicates
    assert found.items[0].time_source == TIME_MTIME and found.items[0].submitted_at.tzinfo is not None


def test_files_named_after_students_keep_todays_behaviour(tmp_path: Path) -> None:
    put(tmp_path / "subs" / "ana.ipynb")
    put(tmp_path / "subs" / "bob.json", '{"answers": {}}')
    found = collect([tmp_path / "subs"])
    assert [(i.student, i.layout) for i in found.items] == [("ana", "files"), ("bob", "files")]
    assert found.duplicates == []


def test_file_arguments_are_named_by_their_stem(tmp_path: Path) -> None:
    a, b = put(tmp_path / "ana.ipynb"), put(tmp_path / "bob.ipynb", NB + " ")
    found = collect([a, b])
    assert students(found) == {"ana.ipynb": "ana", "bob.ipynb": "bob"}


def test_a_mixed_tree_judges_each_file_by_its_position(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    put(subs / "ana.ipynb")
    put(subs / "bob" / "lora_assignment.ipynb", NB + " ")
    found = collect([subs])
    assert [(i.student, i.layout) for i in found.items] == [("ana", "files"), ("bob", "folders")]


def test_an_explicit_layout_overrides_the_guess(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    put(subs / "ana" / "hw.ipynb")
    put(subs / "top.ipynb", NB + " ")
    files = collect([subs], layout="files")
    assert [i.student for i in files.items] == ["hw", "top"]
    folders = collect([subs], layout="folders")
    assert [i.student for i in folders.items] == ["ana"]
    assert [(p.path.name, p.layout) for p in folders.unmatched] == [("top.ipynb", "folders")]
    assert "student's folder" in folders.unmatched[0].reason


def test_a_file_listed_twice_is_collected_once(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    nb = put(subs / "ana.ipynb")
    found = collect([subs, nb])
    assert len(found.items) == 1


def test_jupyter_checkpoints_and_macos_archive_litter_are_not_submissions(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    put(subs / "ana" / "hw.ipynb")
    put(subs / "ana" / ".ipynb_checkpoints" / "hw-checkpoint.ipynb", NB + " ")
    put(subs / "__MACOSX" / "ana" / "._hw.ipynb", "\x00\x05")
    found = collect([subs])
    assert [i.student for i in found.items] == ["ana"]
    assert [p.reason for p in found.unmatched] == ["macOS archive metadata, not a submission"]


# --- nbgrader ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("2026-12-01 10:15:02.123456 UTC", datetime(2026, 12, 1, 10, 15, 2, 123456, tzinfo=timezone.utc)),
    ("2026-12-01 10:15:02.123456 UTC\n", datetime(2026, 12, 1, 10, 15, 2, 123456, tzinfo=timezone.utc)),
    ("2026-12-01 11:15:02.000000 +0100", datetime(2026, 12, 1, 10, 15, 2, tzinfo=timezone.utc)),
    ("2026-12-01 11:15:02 Europe/Berlin", datetime(2026, 12, 1, 10, 15, 2, tzinfo=timezone.utc)),
    ("2026-12-01T10:15:02+00:00", datetime(2026, 12, 1, 10, 15, 2, tzinfo=timezone.utc)),
    ("2026-12-01 10:15:02", datetime(2026, 12, 1, 10, 15, 2, tzinfo=timezone.utc)),  # no zone: UTC, as nbgrader
])
def test_nbgrader_timestamps_are_read_as_utc(text: str, expected: datetime) -> None:
    assert parse_nbgrader_timestamp(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-45 10:00:00 UTC", "2026-12-01 10:15:02 Mars/Olympus",
                                  "2026-12-01 10:15:02 ../../../etc/passwd", "x" * 900])
def test_garbage_timestamps_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_nbgrader_timestamp(text)


def nbgrader_course(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    put(course / "source" / "ps1" / "lora.ipynb")  # the instructor's: never a submission
    put(course / "submitted" / "ana" / "ps1" / "lora.ipynb", NB + " ")
    put(course / "submitted" / "ana" / "ps1" / "timestamp.txt", "2026-12-01 10:15:02.123456 UTC")
    put(course / "submitted" / "bob" / "ps1" / "lora.ipynb", NB + "  ")
    put(course / "submitted" / "bob" / "ps1" / "timestamp.txt", "not a time at all")
    put(course / "submitted" / "cleo" / "ps1" / "lora.ipynb", NB + "   ")  # no timestamp.txt
    return course


@pytest.mark.parametrize("arg", ["course", "course/submitted"])
def test_nbgrader_submitted_folders_give_student_assignment_and_time(tmp_path: Path, arg: str) -> None:
    nbgrader_course(tmp_path)
    found = collect([tmp_path / arg])
    by_student = {i.student: i for i in found.items}
    assert sorted(by_student) == ["ana", "bob", "cleo"]  # source/ is not collected
    ana, bob, cleo = by_student["ana"], by_student["bob"], by_student["cleo"]
    assert (ana.layout, ana.assignment, ana.time_source) == ("nbgrader", "ps1", TIME_NBGRADER)
    assert ana.submitted_at == datetime(2026, 12, 1, 10, 15, 2, 123456, tzinfo=timezone.utc)
    assert bob.time_source == TIME_MTIME and bob.submitted_at is not None
    assert "does not hold a time" in bob.notes[0]
    assert cleo.time_source == TIME_MTIME and cleo.notes == ("no nbgrader timestamp.txt",)


def test_nbgrader_is_recognised_by_its_timestamp_files_whatever_the_folder_is_called(tmp_path: Path) -> None:
    hand_ins = tmp_path / "hand-ins"
    put(hand_ins / "ana" / "ps1" / "lora.ipynb")
    put(hand_ins / "ana" / "ps1" / "timestamp.txt", "2026-12-01 10:15:02.123456 UTC")
    found = collect([hand_ins])
    assert [(i.student, i.layout, i.time_source) for i in found.items] == [("ana", "nbgrader", TIME_NBGRADER)]


def test_a_linked_timestamp_is_not_followed(tmp_path: Path) -> None:
    sub = tmp_path / "submitted"
    put(sub / "ana" / "ps1" / "lora.ipynb")
    put(tmp_path / "elsewhere.txt", "2020-01-01 00:00:00 UTC")
    (sub / "ana" / "ps1" / "timestamp.txt").symlink_to(tmp_path / "elsewhere.txt")
    (item,) = collect([sub]).items
    assert item.time_source == TIME_MTIME and item.submitted_at.year > 2020


def test_the_explicit_nbgrader_layout_reports_files_outside_its_shape(tmp_path: Path) -> None:
    sub = tmp_path / "submitted"
    put(sub / "ana" / "lora.ipynb")
    found = collect([sub], layout="nbgrader")
    assert found.items == [] and "submitted/<student>/<assignment>" in found.unmatched[0].reason


# --- Canvas and Moodle -------------------------------------------------------------------------------
def canvas_download(tmp_path: Path) -> Path:
    folder = tmp_path / "canvas"
    put(folder / "doeana_12345_678901_lora_assignment.ipynb")
    put(folder / "doeana_LATE_12345_678999_lora_assignment-1.ipynb", NB + " ")
    put(folder / "pérezjosé_23456_678902_lora_assignment.ipynb", NB + "  ")
    put(folder / "smithbob_34567_678903_my_lora_v2.ipynb", NB + "   ")
    return folder


def test_canvas_names_give_the_sortable_name_user_id_and_late_flag(tmp_path: Path) -> None:
    found = collect([canvas_download(tmp_path)])
    assert [(i.student, i.lms_id, i.lms_late, i.layout) for i in found.items] == [
        ("doeana", "12345", False, "canvas"), ("doeana", "12345", True, "canvas"),
        ("pérezjosé", "23456", False, "canvas"), ("smithbob", "34567", False, "canvas")]


def test_canvas_with_a_roster_matches_names_accents_and_user_ids(tmp_path: Path) -> None:
    roster = load_roster(roster_file(tmp_path, "id,name,email\ns-1,Ana Doe,ana@uni.edu\n"
                                               "s-2,Jose Perez,jose@uni.edu\n34567,Robert Smith,bob@uni.edu\n"
                                               "s-4,Dana Nobody,dana@uni.edu\n"))
    found = collect([canvas_download(tmp_path)], roster=roster)
    assert [(i.key, i.student) for i in found.items] == [
        ("smithbob", "34567"),  # by Canvas user id: the roster's name differs
        ("doeana", "s-1"), ("doeana", "s-1"),  # "Ana Doe" read last name first
        ("pérezjosé", "s-2")]  # accents ignored
    assert [e.id for e in found.missing] == ["s-4"]
    assert found.unmatched == [] and found.ambiguous == []


def test_canvas_auto_detection_works_on_file_arguments_too(tmp_path: Path) -> None:
    folder = canvas_download(tmp_path)
    found = collect(sorted(folder.iterdir()))
    assert {i.layout for i in found.items} == {"canvas"}


def test_anonymous_canvas_downloads_use_the_anonymous_id(tmp_path: Path) -> None:
    put(tmp_path / "dl" / "anon_Xy12z_678901_lora.ipynb")
    put(tmp_path / "dl" / "LATE_anon_Qq34r_678902_lora.ipynb", NB + " ")
    found = collect([tmp_path / "dl"], layout="canvas")
    assert [(i.student, i.lms_late) for i in found.items] == [("anon_Qq34r", True), ("anon_Xy12z", False)]


@pytest.mark.parametrize("folders", [True, False])
def test_moodle_downloads_give_the_full_name_and_participant_id(tmp_path: Path, folders: bool) -> None:
    dl = tmp_path / "moodle"
    for name, pid, extra in (("Ana Doe", "123456", ""), ("José Pérez", "123457", " ")):
        prefix = f"{name}_{pid}_assignsubmission_file"
        put(dl / prefix / "lora_assignment.ipynb" if folders else dl / f"{prefix}_lora_assignment.ipynb", NB + extra)
    found = collect([dl])
    assert [(i.student, i.lms_id, i.layout) for i in found.items] == [
        ("Ana Doe", "123456", "moodle"), ("José Pérez", "123457", "moodle")]
    roster = Roster([RosterEntry("u1", "Ana Doe"), RosterEntry("u2", "Jose Perez")])
    assert [i.student for i in collect([dl], roster=roster).items] == ["u1", "u2"]


def test_moodle_3_folders_with_a_trailing_underscore_are_read(tmp_path: Path) -> None:
    put(tmp_path / "m" / "Ana Doe_123456_assignsubmission_file_" / "sub" / "lora.ipynb")
    assert [i.student for i in collect([tmp_path / "m"]).items] == ["Ana Doe"]


def test_two_people_of_the_same_name_are_never_merged_without_a_roster(tmp_path: Path) -> None:
    dl = tmp_path / "moodle"
    put(dl / "Ana Doe_111_assignsubmission_file" / "hw.ipynb")
    put(dl / "Ana Doe_222_assignsubmission_file" / "hw.ipynb", NB + " ")
    assert [i.student for i in collect([dl]).items] == ["Ana Doe_111", "Ana Doe_222"]


def test_a_file_outside_the_lms_naming_breaks_auto_detection_but_an_explicit_layout_reports_it(tmp_path: Path) -> None:
    folder = canvas_download(tmp_path)
    put(folder / "README.json", "{}")
    assert {i.layout for i in collect([folder]).items} == {"files"}
    explicit = collect([folder], layout="canvas")
    assert [p.path.name for p in explicit.unmatched] == ["README.json"]
    assert "Canvas" in explicit.unmatched[0].reason


# --- custom pattern ----------------------------------------------------------------------------------
def test_a_custom_pattern_reads_the_student_from_the_relative_path(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    put(subs / "section1" / "hw1_ana.ipynb")
    put(subs / "section2" / "hw1_bob.ipynb", NB + " ")
    put(subs / "section2" / "notes.ipynb", NB + "  ")
    found = collect([subs], pattern=r"section\d/hw1_(?P<student>[a-z]+)\.ipynb")
    assert [(i.student, i.layout) for i in found.items] == [("ana", "pattern"), ("bob", "pattern")]
    assert [(p.path.name, p.reason) for p in found.unmatched] == [
        ("notes.ipynb", "the pattern does not match this path")]


def test_nbgrader_zipcollect_group_name_is_accepted(tmp_path: Path) -> None:
    put(tmp_path / "subs" / "ana_ps1.ipynb")
    assert [i.student for i in collect([tmp_path / "subs"], pattern=r"(?P<student_id>[^_]+)_").items] == ["ana"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"pattern": "(?P<student>"}, "not a valid regular expression"),
    ({"pattern": "(?P<who>.+)"}, r"\(\?P<student>"),
    ({"pattern": "(?P<student>.+)", "layout": "folders"}, "either a layout or a pattern"),
    ({"layout": "blackboard"}, "unknown layout 'blackboard'"),
])
def test_bad_layout_arguments_are_user_errors(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        collect([tmp_path], **kwargs)


def test_a_backtracking_pattern_costs_only_its_files(tmp_path: Path) -> None:
    put(tmp_path / "subs" / ("a" * 40 + "!.ipynb"))
    started = time.monotonic()
    found = collect([tmp_path / "subs"], pattern=r"(?P<student>(a|aa)+)$")
    assert time.monotonic() - started < 10
    assert found.items == [] and len(found.unmatched) == 1


# --- roster ------------------------------------------------------------------------------------------
def test_a_roster_tolerates_a_bom_extra_columns_and_header_case(tmp_path: Path) -> None:
    path = roster_file(tmp_path, "ID,Name,Email,Section\r\nana,Ana Doe,ANA@uni.edu,A\r\n\r\nbob,,,B\r\n", bom=True)
    roster = load_roster(path)
    assert roster.entries == (RosterEntry("ana", "Ana Doe", "ANA@uni.edu", 2), RosterEntry("bob", "", "", 4))


@pytest.mark.parametrize(("text", "message"), [
    ("name,email\nAna,a@x\n", r"roster\.csv:1: the roster needs an 'id' column"),
    ("id,name\nana,Ana\nbob,Bob\nana,Ana Again\n", r"roster\.csv:4: the id 'ana' is already on line 2"),
    ("id,name\nana,Ana\n ,Nobody\n", r"roster\.csv:3: the 'id' is empty"),
    ("id,email\nana,a@x.org\nbob,A@X.org\n", r"roster\.csv:3: the email 'A@X.org' is already on line 2"),
    ("id,id\nana,ana\n", r"roster\.csv:1: the column 'id' appears twice"),
    ("", r"roster\.csv:1: the roster is empty"),
    ("id\n" + "x" * 300 + "\n", r"roster\.csv:2: the 'id' is 300 characters long"),
])
def test_roster_errors_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        load_roster(roster_file(tmp_path, text))


def test_a_roster_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(b"id,name\nana,Ana\nbob,Jos\xe9\n")
    with pytest.raises(UserError, match=r"roster\.csv:3: the roster is not UTF-8"):
        load_roster(path)


def test_a_missing_roster_or_a_folder_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such roster file"):
        load_roster(tmp_path / "nope.csv")
    with pytest.raises(UserError, match="is a folder"):
        load_roster(tmp_path)


def test_a_roster_of_more_than_the_limit_is_refused(tmp_path: Path) -> None:
    text = "id\n" + "".join(f"s{i}\n" for i in range(MAX_ROWS + 1))
    with pytest.raises(UserError, match=rf"roster\.csv:{MAX_ROWS + 2}: the roster has more than"):
        load_roster(roster_file(tmp_path, text))


def test_hostile_roster_cells_are_kept_printable(tmp_path: Path) -> None:
    roster = load_roster(roster_file(tmp_path, 'id,name\n"a\x1b[31mb","Ana\u202eDoe\x00"\n'))
    (entry,) = roster.entries
    assert entry.id == "a\ufffd[31mb" and entry.name == "Ana\ufffdDoe\ufffd"


def test_roster_matching_goes_from_ids_to_emails_to_names() -> None:
    roster = Roster([RosterEntry("ana", "Ana Doe", "ana@uni.edu"), RosterEntry("ANA2", "Other Person", ""),
                     RosterEntry("s3", "Doe, John", "")])
    assert [e.id for e in roster.match("ana")] == ["ana"]
    assert [e.id for e in roster.match("ana2")] == ["ANA2"]
    assert [e.id for e in roster.match("ANA@UNI.EDU")] == ["ana"]
    assert [e.id for e in roster.match("doeana")] == ["ana"]  # Canvas sortable name
    assert [e.id for e in roster.match("John Doe")] == ["s3"]  # "Doe, John" read first name first
    assert roster.match("") == [] and roster.match("=cmd") == []
    assert name_key("José  Pérez-Núñez") == "joseperezñunez".replace("ñ", "n")


# --- ambiguous, unmatched, duplicates, missing -------------------------------------------------------
def test_a_file_matching_two_roster_students_is_not_graded(tmp_path: Path) -> None:
    put(tmp_path / "subs" / "Ana Doe" / "hw.ipynb")
    roster = Roster([RosterEntry("a1", "Ana Doe"), RosterEntry("a2", "Ana Doe")])
    found = collect([tmp_path / "subs"], roster=roster)
    assert found.items == []
    (problem,) = found.ambiguous
    assert [c.id for c in problem.candidates] == ["a1", "a2"] and problem.key == "Ana Doe"
    assert [e.id for e in found.missing] == ["a1", "a2"]


def test_an_lms_id_and_a_name_that_point_at_different_students_are_ambiguous(tmp_path: Path) -> None:
    put(tmp_path / "dl" / "doeana_222_678901_hw.ipynb")
    roster = Roster([RosterEntry("111", "Ana Doe"), RosterEntry("222", "Bob Smith")])
    found = collect([tmp_path / "dl"], roster=roster)
    assert found.items == [] and [c.id for c in found.ambiguous[0].candidates] == ["111", "222"]


def test_a_file_matching_no_one_is_reported_not_graded(tmp_path: Path) -> None:
    put(tmp_path / "subs" / "mallory" / "hw.ipynb")
    put(tmp_path / "subs" / "ana" / "hw.ipynb", NB + " ")
    found = collect([tmp_path / "subs"], roster=Roster([RosterEntry("ana")]))
    assert [i.student for i in found.items] == ["ana"]
    assert [(p.key, p.reason) for p in found.unmatched] == [("mallory", "'mallory' matches no one on the roster")]
    assert found.missing == []


def test_identical_files_from_different_students_are_flagged_but_one_students_copies_are_not(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    put(subs / "ana" / "hw.ipynb", "same bytes")
    put(subs / "bob" / "hw.ipynb", "same bytes")
    put(subs / "cleo" / "hw.ipynb", "cleo's own")
    put(subs / "cleo" / "copy-of-hw.ipynb", "cleo's own")
    found = collect([subs])
    (group,) = found.duplicates
    assert group.students == ("ana", "bob") and len(group.sha256) == 64
    assert [i.path.parent.name for i in group.items] == ["ana", "bob"]
    assert list(found.several_files()) == ["cleo"]


# --- hostile names and trees -------------------------------------------------------------------------
def test_hostile_folder_names_never_crash_and_keys_stay_printable(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    put(subs / "=cmd|' -C calc'!A0" / "hw.ipynb", "1")
    put(subs / "ana\x1b[31m" / "hw.ipynb", "2")
    put(subs / "\x01\x02" / "hw.ipynb", "3")
    put(subs / ("x" * 250) / "hw.ipynb", "4")
    put(subs / "..." / "hw.ipynb", "5")
    os.makedirs(os.fsencode(subs) + b"/bad\xff\xfe")
    put(Path(os.fsdecode(os.fsencode(subs) + b"/bad\xff\xfe/hw.ipynb")), "6")
    found = collect([subs])
    keys = sorted(i.student for i in found.items)
    assert keys == ["...", "=cmd|' -C calc'!A0", "ana\ufffd[31m", "bad\\xff\\xfe"]
    reasons = sorted(p.reason for p in found.unmatched)
    assert reasons == ["the path gives no student name",
                       "the student name read from the path is 250 characters long (at most 200)"]
    for item in found.items:
        item.student.encode("utf-8")  # always writable
    report = found.report_markdown()
    report.encode("utf-8")
    assert "\x1b" not in report and "\x01" not in report


@pytest.mark.parametrize(("pattern", "reason"), [
    (r"(?P<student>.*)", "the student name read from the path is a path, not a name"),  # 2822 characters
    (r"(?P<student>[^/]+/[^/]+)", "the student name read from the path is a path, not a name"),
    (r"(?P<student>x*)", "the path gives no student name"),
])
def test_hostile_keys_from_a_pattern_are_refused_with_a_reason(tmp_path: Path, pattern: str, reason: str) -> None:
    subs = tmp_path / "subs"
    put(subs.joinpath(*["d" * 200] * 14) / "hw.ipynb")  # 2822 characters relative to subs: long but reachable
    found = collect([subs], pattern=pattern)
    assert found.items == [] and [p.reason for p in found.unmatched] == [reason]
    assert len(found.unmatched[0].key or "") <= 200


def test_a_name_of_200_characters_is_kept_and_one_of_201_refused(tmp_path: Path) -> None:
    subs = tmp_path / "subs"  # a path component is at most 255 bytes on Linux: longer keys are paths, refused above
    put(subs / ("a" * 200) / "hw.ipynb")
    put(subs / ("b" * 201) / "hw.ipynb", NB + " ")
    found = collect([subs])
    assert [i.key for i in found.items] == ["a" * 200]
    assert [p.reason for p in found.unmatched] == [
        "the student name read from the path is 201 characters long (at most 200)"]


def test_a_file_10000_characters_deep_costs_nothing_but_itself(tmp_path: Path) -> None:
    nb = tmp_path.joinpath("subs", *["d" * 199] * 50, "hw.ipynb")  # past PATH_MAX: built with relative mkdirs
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for part in nb.relative_to(tmp_path).parts[:-1]:
            os.mkdir(part, dir_fd=fd)
            new = os.open(part, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = new
        os.close(os.open("hw.ipynb", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    finally:
        os.close(fd)
    put(tmp_path / "subs" / "ana.ipynb")
    for pattern in (None, r"(?P<student>.*)"):
        found = collect([tmp_path / "subs"], pattern=pattern)
        assert [i.student for i in found.items] == ["ana.ipynb" if pattern else "ana"]


def test_a_dot_dot_key_is_refused(tmp_path: Path) -> None:
    put(tmp_path / "subs" / "..hw.ipynb")
    found = collect([tmp_path / "subs"], pattern=r"(?P<student>\.\.)")
    assert found.items == [] and "not a name" in found.unmatched[0].reason


def test_a_tree_2000_folders_deep_is_collected_without_recursion(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    fd = os.open(subs, os.O_RDONLY)
    try:
        for depth in range(2000):
            os.mkdir("d", dir_fd=fd)
            new = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = new
            if depth == 999:
                os.close(os.open("hw.ipynb", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
        os.close(fd)
        found = collect([subs])
        assert [i.student for i in found.items] == ["d"]
        assert len(found.items[0].path.parts) > 1000
    finally:
        remove_folder(subs)  # pytest's own clean-up (shutil.rmtree) recurses once per level and would fail


def test_a_linked_folder_is_not_followed_and_a_linked_file_is_listed_for_the_reader_to_refuse(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    put(subs / "ana" / "hw.ipynb")
    put(tmp_path / "elsewhere" / "hw.ipynb", "someone else's")
    (subs / "bob").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (subs / "carl.ipynb").symlink_to(tmp_path / "elsewhere" / "hw.ipynb")
    found = collect([subs])
    assert [(i.student, i.sha256 == "") for i in found.items] == [("ana", False), ("carl", True)]
    assert found.duplicates == []


def test_a_linked_argument_folder_is_not_walked(tmp_path: Path) -> None:
    put(tmp_path / "real" / "ana" / "hw.ipynb")
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    found = collect([tmp_path / "link"])
    assert [(i.student, i.sha256) for i in found.items] == [("link", "")]


# --- the report --------------------------------------------------------------------------------------
def test_the_report_counts_and_escapes_everything_untrusted(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    put(subs / "ana" / "hw.ipynb", "same")
    put(subs / "[x](javascript:alert(1))" / "hw.ipynb", "same")
    put(subs / "<img src=x onerror=alert(1)>" / "hw.ipynb", "other")
    roster = Roster([RosterEntry("ana", "Ana *Doe*"), RosterEntry("zed", "Zed <b>")])
    report = collect([subs], roster=roster).report_markdown()
    assert report.startswith("# Submission collection")
    assert "- 1 file(s) to grade, for 1 student(s) (layouts: folders 1)" in report
    assert "2 file(s) matched to no one" in report and "1 of 2 roster student(s) without a file" in report
    assert "\\[x\\]" in report and "](javascript" not in report
    assert "<img" not in report and "&lt;img" in report
    assert "zed (Zed &lt;b>)" in report


def test_the_report_of_a_roster_free_collection_lists_duplicates(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    put(subs / "ana" / "hw.ipynb", "same")
    put(subs / "b_b" / "hw.ipynb", "same")
    report = collect([subs]).report_markdown()
    assert "## Identical files from different students" in report and "b\\_b" in report
    assert "roster student" not in report


# --- scale and determinism ---------------------------------------------------------------------------
def test_ten_thousand_files_are_collected_quickly_and_deterministically(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    for i in range(10_000):
        put(subs / f"s{i:05d}" / "hw.ipynb", f"{i}")
    roster = Roster([RosterEntry(f"s{i:05d}") for i in range(10_000)])
    started = time.monotonic()
    found = collect([subs], roster=roster)
    elapsed = time.monotonic() - started
    assert len(found.items) == 10_000 and not found.unmatched and not found.missing
    assert elapsed < 30, f"collecting 10 000 files took {elapsed:.1f} s"
    assert collect([subs], roster=roster).to_dict() == found.to_dict()


def test_the_terminal_summary_names_each_file_not_graded_in_plain_lines(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    for i in range(25):
        put(subs / f"stranger{i:02d}\x1b[2J" / "hw.ipynb", f"{i}")
    put(subs / "ana" / "hw.ipynb", "same")
    put(subs / "Ana Doe" / "hw.ipynb", "other")
    roster = Roster([RosterEntry("ana", "Ana Doe"), RosterEntry("a2", "Ana Doe"), RosterEntry("zed")])
    lines = collect([subs], roster=roster).summary_lines(limit=20)
    assert all("\x1b" not in line for line in lines)
    assert sum(line.startswith("not graded:") for line in lines) == 21  # 20 unmatched shown, 1 ambiguous
    assert "… and 5 more files matched to no one (see the collection report)" in lines
    assert any("matches 2 roster students (a2, ana)" in line for line in lines)
    assert lines[-1] == "2 roster student(s) without a file: a2, zed"


def test_a_moodle_download_unpacked_into_a_folder_of_its_own_is_still_read_per_student(tmp_path: Path) -> None:
    dl = tmp_path / "dl"
    put(dl / "LoRA assignment-42" / "Ana Doe_111_assignsubmission_file" / "hw.ipynb")
    put(dl / "LoRA assignment-42" / "Bo Li_222_assignsubmission_file" / "hw.ipynb", NB + " ")
    found = collect([dl])
    assert [(i.student, i.layout) for i in found.items] == [("Ana Doe", "moodle"), ("Bo Li", "moodle")]
    assert found.warnings == []


def test_a_class_read_as_one_student_is_warned_about(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    put(subs / "class" / "ana" / "hw.ipynb")
    put(subs / "class" / "bob" / "hw.ipynb", NB + " ")
    found = collect([subs])
    assert {i.student for i in found.items} == {"class"}
    (warning,) = found.warnings
    assert "inside the one folder 'class'" in warning and str(subs / "class") in warning
    assert found.summary_lines()[0].startswith("warning: every file in")
    assert "**Warning:**" in found.report_markdown()
    assert collect([subs / "class"]).warnings == []
