"""Due dates, late penalties and cut-offs: the bank fields (located errors) and grader.scoring.late."""
from __future__ import annotations

import ast
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader import BankError, parse_bank
from grader.scoring.late import Lateness, apply_late, format_duration, format_when, lateness

from paths import ROOT

UTC = timezone.utc
DUE = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
BANK = """\
id: dated
title: Dated
source: original
{settings}
questions:
  - {{id: q, type: numeric, prompt: How many?, answer: 1}}
"""


def bank(settings: str = ""):
    return parse_bank(BANK.format(settings=settings), "dated.yaml")


def dated(penalty: str | None = "{percent: 10, per: day}", cutoff: str | None = None):
    lines = ["due: 2026-12-01T23:59:00Z"]
    if penalty:
        lines.append(f"late_penalty: {penalty}")
    if cutoff:
        lines.append(f"cutoff: {cutoff}")
    return bank("\n".join(lines))


# -- the bank fields -------------------------------------------------------------------------------

@pytest.mark.parametrize("written", [
    "due: 2026-12-01 23:59:00+01:00",          # unquoted: ruamel.yaml reads a timestamp
    "due: '2026-12-01 23:59:00+01:00'",        # quoted: text, parsed by the model
    "due: 2026-12-01T23:59:00+01:00",
    'due: "2026-12-01T22:59:00Z"',
])
def test_due_is_read_quoted_or_not_and_keeps_its_zone(written):
    due = bank(written).due
    assert due == datetime(2026, 12, 1, 22, 59, tzinfo=UTC)
    assert type(due) is datetime, "ruamel's TimeStamp subclass must not leak into the model"


def test_defaults_are_no_dates_and_no_penalty():
    plain = bank()
    assert (plain.due, plain.late_penalty, plain.cutoff, plain.show_key) == (None, None, None, "after_last_attempt")
    assert dated("{percent: 5}").late_penalty.per == "day"


@pytest.mark.parametrize("settings, line, message", [
    ("due: 2026-12-01 23:59:00", 4, r"due: the date and time has no time zone; add one, e\.g\. 2026-12-01T23:59:00\+00:00"),
    ("due: '2026-12-01 23:59'", 4, r"due: the date and time has no time zone; add one, e\.g\. 2026-12-01T23:59:00\+00:00"),
    ("due: 2026-12-01", 4, r"due: a date needs a time and a time zone, e\.g\. 2026-12-01T23:59:00\+00:00"),
    ("due: '2026-12-01'", 4, r"due: a date needs a time and a time zone"),
    ("due: tomorrow", 4, r"due: 'tomorrow' is not a date and time; write it as 2026-12-01T23:59:00\+00:00"),
    ("due: 1764633540", 4, r"due: expected a date and time with a time zone, .* got a number"),
    ("late_penalty: {percent: 10}", 4, r"late_penalty: a late penalty needs a `due` date"),
    ("cutoff: 2026-12-08T00:00:00Z", 4, r"cutoff: a cut-off needs a `due` date"),
    ("due: 2026-12-01T23:59:00Z\ncutoff: 2026-11-30T00:00:00Z", 5,
     r"cutoff: the cut-off \(2026-11-30T00:00:00\+00:00\) is before the due date \(2026-12-01T23:59:00\+00:00\)"),
    ("due: 2026-12-01T23:59:00Z\ncutoff: 2026-12-08 00:00", 5, r"cutoff: the date and time has no time zone"),
    ("due: 2026-12-01T23:59:00Z\nlate_penalty: {percent: 0}", 5, r"late_penalty\.percent: Input should be greater than 0"),
    ("due: 2026-12-01T23:59:00Z\nlate_penalty: {percent: 10, per: week}", 5, r"late_penalty\.per: Input should be 'day' or 'hour'"),
    ("due: 2026-12-01T23:59:00Z\nlate_penalty: {percent: 10, pre: day}", 5, r"late_penalty\.pre: unknown field 'pre'"),
    ("show_key: later", 4, r"show_key: Input should be 'after_each_attempt', 'after_last_attempt' or 'never'"),
])
def test_bad_dates_and_policies_are_located_errors(settings, line, message):
    with pytest.raises(BankError) as caught:
        bank(settings)
    assert caught.value.line == line, str(caught.value)
    assert len(caught.value.issues) == 1, str(caught.value)
    assert re.search(rf"^dated\.yaml:{line}: {message}", str(caught.value)), str(caught.value)


def test_a_naive_due_does_not_also_blame_the_cutoff():
    with pytest.raises(BankError) as caught:
        bank("due: 2026-12-01 23:59\ncutoff: 2026-11-01T00:00:00Z\nlate_penalty: {percent: 10}")
    assert [issue.field for issue in caught.value.issues] == ["due"]


# -- lateness --------------------------------------------------------------------------------------

@pytest.mark.parametrize("late_by, penalty, percent", [
    (timedelta(0), "{percent: 10, per: day}", 0),                         # at the due time: on time
    (timedelta(microseconds=1), "{percent: 10, per: day}", 10),           # a started day
    (timedelta(days=1), "{percent: 10, per: day}", 10),
    (timedelta(days=1, minutes=1), "{percent: 10, per: day}", 20),
    (timedelta(hours=2, minutes=30), "{percent: 5, per: hour}", 15),
    (timedelta(days=30), "{percent: 15, per: day}", 100),                 # never more than the whole score
    (timedelta(days=2), "{percent: 12.5, per: day}", 25),
])
def test_each_started_period_costs_the_penalty(late_by, penalty, percent):
    late = lateness(dated(penalty), DUE + late_by)
    assert late.penalty_percent == pytest.approx(percent)
    assert late.refused is False
    assert late.late_by == (late_by if late_by else None)


def test_the_message_says_how_late_and_what_it_costs():
    late = lateness(dated("{percent: 10, per: day}"), DUE + timedelta(days=1, hours=2))
    assert late.message == ("Submitted 1 day 2 h after the due date (Tue 1 Dec 2026 23:59 UTC): "
                            "−20 % of this attempt's score.")
    assert lateness(dated(), DUE - timedelta(hours=1)).message == "Submitted on time (due Tue 1 Dec 2026 23:59 UTC)."
    unpenalised = lateness(dated(penalty=None), DUE + timedelta(minutes=5))
    assert (unpenalised.penalty_percent, unpenalised.late) == (0, True)
    assert unpenalised.message == "Submitted 5 min after the due date (Tue 1 Dec 2026 23:59 UTC); no late penalty applies."


def test_after_the_cutoff_the_attempt_is_refused():
    closing = dated(cutoff="2026-12-08T23:59:00Z")
    at_cutoff = lateness(closing, datetime(2026, 12, 8, 23, 59, tzinfo=UTC))
    assert not at_cutoff.refused and at_cutoff.penalty_percent == 70
    after = lateness(closing, datetime(2026, 12, 9, 0, 0, tzinfo=UTC))
    assert after.refused and after.penalty_percent == 100
    assert "after the cut-off (Tue 8 Dec 2026 23:59 UTC): this attempt scores 0" in after.message
    assert apply_late(100.0, after) == 0.0


def test_unknown_time_or_no_due_date_costs_nothing():
    unknown = lateness(dated(), None)
    assert (unknown.penalty_percent, unknown.refused, unknown.late_by) == (0, False, None)
    assert "submission time is unknown" in unknown.message
    assert lateness(bank(), datetime(2030, 1, 1, tzinfo=UTC)) == Lateness(None, 0.0, False, "")
    assert lateness(bank(), None).message == ""


def test_the_time_zone_of_the_submission_is_respected():
    # 00:30 in Paris on 2 Dec is 23:30 UTC on 1 Dec: on time
    paris = timezone(timedelta(hours=1))
    assert not lateness(dated(), datetime(2026, 12, 2, 0, 30, tzinfo=paris)).late
    with pytest.raises(ValueError, match="no time zone"):
        lateness(dated(), datetime(2026, 12, 2, 0, 30))


@pytest.mark.parametrize("percent, penalty, refused, expected", [
    (80.0, 20.0, False, 64.0), (80.0, 0.0, False, 80.0), (80.0, 100.0, False, 0.0), (55.5, 10.0, False, 49.95),
    (100.0, 0.0, True, 0.0),
])
def test_apply_late(percent, penalty, refused, expected):
    assert apply_late(percent, Lateness(timedelta(days=1), penalty, refused, "")) == pytest.approx(expected)


def test_dates_and_durations_read_the_same_on_every_machine():
    assert format_when(datetime(2026, 12, 1, 23, 59, tzinfo=timezone(timedelta(hours=1)))) == "Tue 1 Dec 2026 23:59 UTC+01:00"
    assert format_when(datetime(2026, 3, 8, 9, 5, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))) == \
        "Sun 8 Mar 2026 09:05 UTC−05:30"
    assert [format_duration(timedelta(seconds=s)) for s in (40, 720, 5 * 3600 + 180, 86_400, 2 * 86_400 + 7200 + 60)] == \
        ["40 s", "12 min", "5 h 3 min", "1 day", "2 days 2 h"]


@pytest.mark.parametrize("module", ["late.py", "disclosure.py"])
def test_the_policy_modules_stay_pure(module: str):
    """Only the standard library, this package, and the bank for type hints (as scoring/attempts.py)."""
    tree = ast.parse(Path(ROOT / "grader" / "scoring" / module).read_text(encoding="utf-8"))
    allowed_std = {"__future__", "math", "dataclasses", "datetime", "typing"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert {a.name.split(".")[0] for a in node.names} <= allowed_std, ast.dump(node)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            assert node.module.split(".")[0] in allowed_std, node.module
        elif isinstance(node, ast.ImportFrom) and node.level == 2:
            assert node.module == "bank", "only the bank, and only for type hints"


def test_the_readme_example_is_a_valid_bank():
    readme = (ROOT / "quizzes" / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Key disclosure, due dates and late penalties", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    dated_bank = bank(example.strip())
    assert dated_bank.due == datetime(2026, 12, 1, 22, 59, tzinfo=UTC)
    assert dated_bank.late_penalty.percent == 10 and dated_bank.cutoff > dated_bank.due
    late = lateness(dated_bank, datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    assert late.penalty_percent == 20 and "UTC+01:00" in late.message
