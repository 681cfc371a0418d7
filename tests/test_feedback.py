"""Feedback a student can read, with a reason for every zero (issue 11, "Readable feedback").

Each test reproduces one thing a reviewer found: the HTML was the Markdown pasted into ``<pre>``; code
answers were never shown; a non-literal answer was listed as a problem *and* as unanswered; a deleted
cell got no reason; an answer file was told about notebook cells; a timeout was blamed on the question
that builds on the one that hung; and the wording ("81% To pass", "800.0", "(1 points)").
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from grader import parse_bank, score_answers
from grader.feedback import (
    MAX_CODE_CHARS,
    MAX_CODE_LINES,
    code_fence,
    feedback_html,
    feedback_markdown,
)
from grader.grading import grade_submissions
from grader.sandbox.client import SandboxRun
from grader.sandbox.evaluate import ReferenceValues, student_outcomes
from grader.scorer import question_problems
from grader.scoring.attempts import summarize_attempts
from grader.scoring.code import ProbeOutcome
from grader.scoring.result import number_text
from grader.submissions import Submission

CHOICE_BANK = """
id: fb
title: Feedback quiz
source: original
pass_percent: 80
attempts: 3
questions:
  - id: q1
    type: single_choice
    prompt: Pick B.
    options:
      - {text: a}
      - {text: b, correct: true}
  - id: q2
    type: numeric
    prompt: How many?
    answer: 800
  - id: q3
    type: single_choice
    prompt: Pick A.
    options:
      - {text: a, correct: true}
      - {text: b}
"""

CODE_BANK = """
id: fbc
title: Code quiz
source: original
questions:
  - id: base
    type: code
    points: 2
    prompt: Define x.
    reference: "x = 1"
    timeout_s: 3
    checks:
      - {id: x, name: x is 1, expr: x, message: set x to 1}
  - id: uses
    type: code
    points: 4
    prompt: Define y from x.
    requires: [base]
    reference: "y = x + 1"
    timeout_s: 3
    checks:
      - {id: y, name: y is x + 1, expr: y, message: add one to x}
      - {id: many, name: y on other inputs, expr: "[y]", points: 3, hidden: true, message: check it for x = 0 too}
"""
LIVE_TAG = re.compile(r"<\s*(script|img|svg|iframe|object|embed)", re.IGNORECASE)


@pytest.fixture(scope="module")
def bank():
    return parse_bank(CHOICE_BANK)


@pytest.fixture(scope="module")
def code_bank():
    return parse_bank(CODE_BANK)


def notebook(cells: dict[str, str]) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": f"# answer: {qid}\n{body}"} for qid, body in cells.items()]})


def section(markdown: str, heading: str) -> str:
    """The text of the ``## heading`` section of a feedback document."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    assert match, (heading, markdown)
    return match.group(1)


def grade(bank, tmp_path: Path, files: dict[str, str]) -> dict[str, object]:
    """Grade ``files`` (name → text) with the Python API; student name → its Graded entry."""
    subs = tmp_path / "subs"
    subs.mkdir()
    for name, text in files.items():
        (subs / name).write_text(text, encoding="utf-8")
    run = grade_submissions(bank=bank, submissions=[subs], out_dir=tmp_path / "out", progress=False, jobs=1)
    return {g.student: g for g in run.graded}


def test_problems_about_one_question_belong_to_it():
    general, by_question = question_problems(
        ["q1: answered in more than one cell", "warning: the file names someone else", "q9: unknown", "q1:",
         "uses: not run"], {"q1", "uses"})
    assert general == ["warning: the file names someone else", "q9: unknown", "q1:"]
    assert by_question == {"q1": ["answered in more than one cell"], "uses": ["not run"]}


def test_a_non_literal_answer_is_one_invalid_verdict_at_its_question(bank, tmp_path):
    graded = grade(bank, tmp_path, {"ana.ipynb": notebook({"q1": 'answer = sorted(["A"])', "q2": "answer = 800",
                                                           "q3": 'answer = "A"'})})["ana"]
    q1 = graded.result.question("q1")
    assert q1.status == "invalid" and q1.points == 0 and "plain value" in q1.reason
    markdown = feedback_markdown(bank, graded.submission, graded.result, graded.reason)
    assert "plain value" in section(markdown, "q1")
    assert "## Problems with the submission" not in markdown and "unanswered" not in markdown


def test_a_deleted_choice_cell_says_so_at_its_question(bank, tmp_path):
    graded = grade(bank, tmp_path, {"ben.ipynb": notebook({"q1": 'answer = "B"', "q2": "answer = 800"})})["ben"]
    q3 = graded.result.question("q3")
    assert q3.status == "unanswered" and q3.reason == "no `# answer: q3` cell in the notebook"
    markdown = feedback_markdown(bank, graded.submission, graded.result, graded.reason)
    assert "No `# answer: q3` cell in the notebook." in section(markdown, "q3")


@pytest.mark.parametrize("name", ["cat.json", "cat.yaml"])
def test_an_answer_file_is_told_about_its_own_form(bank, tmp_path, name):
    answers = {"answers": {"q1": "B", "q2": 800}}
    graded = grade(bank, tmp_path, {name: json.dumps(answers)})["cat"]  # JSON is YAML too
    markdown = feedback_markdown(bank, graded.submission, graded.result, graded.reason)
    assert "No answer for `q3` in the file." in section(markdown, "q3")
    assert "# answer" not in markdown


@pytest.mark.parametrize(("value", "text"), [(800.0, "800"), (294912, "294912"), (2949120.0, "2949120"),
                                             (0.1 + 0.2, "0.3"), (0.5, "0.5"), (-0.0, "0"), (3.4286, "3.4286"),
                                             (0.000025, "0.000025"), (1e20, "1e+20"), (float("inf"), "∞")])
def test_numbers_read_as_the_bank_wrote_them(value, text):
    assert number_text(value) == text


def test_feedback_wording(bank):
    """No '800.0' for a key of 800, no '(1 points)', and the attempt policy as separate statements."""
    result = score_answers(bank, {"q1": "A", "q2": 799.0, "q3": "A"})
    summary = summarize_attempts(bank, [result.percent, 81.0])
    markdown = feedback_markdown(bank, Submission(Path("dee.json"), "dee"), result, "", summary)
    assert "Answer: 800" in section(markdown, "q2") and "800.0" not in markdown and "799.0" not in markdown
    assert "Your answer: 799" in section(markdown, "q2")
    assert "1 points" not in markdown
    assert "**0/1 point**" in section(markdown, "q1")
    assert "- Your latest: 81% • your highest: 81%\n- To pass you need at least 80%." in markdown
    assert not re.search(r"%\s+To pass", markdown)
    assert "Attempts left: 1." in markdown


def test_trusted_notes_are_shown_near_the_top(bank):
    result = score_answers(bank, {"q1": "B"})
    notes = ["Submitted 2 h 5 min after the due date: −10 %.", "The answers will be shown after your last attempt."]
    markdown = feedback_markdown(bank, Submission(Path("eve.json"), "eve"), result, "", notes=notes)
    assert markdown.index(notes[0]) < markdown.index("Score ") and notes[1] in markdown
    assert notes[0] in feedback_html(bank, Submission(Path("eve.json"), "eve"), result, "", notes=notes)


def test_problems_of_one_question_are_shown_there_not_in_the_general_list(bank):
    problems = ["q1: answered in more than one cell (2: cells 1 and 4); the last one was used",
                "ignored unknown top-level keys: extra"]
    submission = Submission(Path("fay.json"), "fay", answers={"q1": "B"}, problems=problems)
    result = score_answers(bank, submission.answers, problems=problems)
    markdown = feedback_markdown(bank, submission, result, "")
    general = section(markdown, "Problems with the submission")
    assert "ignored unknown top-level keys" in general and "more than one cell" not in general
    assert "Answered in more than one cell" in section(markdown, "q1")


def code_result(code_bank, outcomes: dict[str, ProbeOutcome]):
    return score_answers(code_bank, {"uses": "(code)"}, code_outcomes={"base": {}, "uses": outcomes})


def test_code_questions_show_the_code_then_each_check(code_bank):
    code = "y = x + 2  # ``` a fence in a comment ````\n"
    result = code_result(code_bank, {"y": ProbeOutcome(False, "values differ: got 3, expected 2"),
                                     "many": ProbeOutcome(False, "values differ: got [3], expected [2]")})
    submission = Submission(Path("gus.ipynb"), "gus", answers={"uses": code})
    markdown = feedback_markdown(bank=code_bank, submission=submission, result=result, reason="")
    uses = section(markdown, "uses")
    assert "`````python\n" + code.rstrip() + "\n`````" in uses  # the fence is longer than any run inside
    assert uses.index("`````python") < uses.index("✗ y is x + 1")
    assert "- ✗ y is x + 1: 0/1 point — add one to x — values differ: got 3, expected 2" in uses
    assert "- ✗ y on other inputs (hidden check): 0/3 points — check it for x = 0 too" in uses
    assert "expected [2]" not in markdown  # a hidden check's values are never shown
    assert "No `# answer: base`" not in markdown and "No answer for `base`" in section(markdown, "base")
    passed = code_result(code_bank, {"y": ProbeOutcome(True), "many": ProbeOutcome(True)})
    assert "- ✓ y on other inputs: 3/3 points" in feedback_markdown(code_bank, submission, passed, "")
    page = feedback_html(code_bank, submission, result, "")
    assert "# ``` a fence in a comment ````" in page  # inside the highlighted block, as written


def test_the_code_shown_can_be_given_explicitly(code_bank):
    result = code_result(code_bank, {"y": ProbeOutcome(True), "many": ProbeOutcome(True)})
    submission = Submission(Path("hal.ipynb"), "hal", answers={"uses": "from the notebook"})
    markdown = feedback_markdown(code_bank, submission, result, "", code={"uses": "given by the caller"})
    assert "given by the caller" in markdown and "from the notebook" not in markdown


def test_long_code_is_cut_with_a_note():
    lines = code_fence("\n".join(f"x{i} = {i}" for i in range(MAX_CODE_LINES + 50)))
    assert f"x{MAX_CODE_LINES - 1} = " in lines and f"x{MAX_CODE_LINES} = " not in lines
    assert f"{MAX_CODE_LINES} of {MAX_CODE_LINES + 50} lines" in lines
    wide = code_fence("x = '" + "a" * (MAX_CODE_CHARS * 2) + "'")
    assert len(wide) < MAX_CODE_CHARS + 200 and f"{MAX_CODE_CHARS:,} of {MAX_CODE_CHARS * 2 + 6:,} characters" in wide


def test_html_is_the_markdown_rendered_with_links_and_status_colours(bank):
    result = score_answers(bank, {"q1": "B", "q2": 1}, missing="no `# answer: {id}` cell in the notebook")
    submission = Submission(Path("ivy.ipynb"), "ivy")
    page = feedback_html(bank, submission, result, "")
    assert "<pre>" not in page and "<table>" in page
    for qid, status in (("q1", "correct"), ("q2", "incorrect"), ("q3", "unanswered")):
        assert f'<a href="#{qid}">{qid}</a>' in page and f'<h2 id="{qid}">{qid}</h2>' in page
        assert f'<td class="{status}">' in page and f'<section class="question {status}">' in page
    assert "<code># answer: q3</code>" in page  # Markdown rendered, not shown as source
    assert "Content-Security-Policy" in page and "default-src 'none'" in page and "<script" not in page
    markdown = feedback_markdown(bank, submission, result, "")
    assert "[q3](#q3)" in markdown and "\n## q3\n" in markdown


def test_hostile_text_stays_inert(code_bank):
    evil = "</code></pre><script>alert(1)</script><img src=x onerror=alert(2)>"
    result = code_result(code_bank, {"y": ProbeOutcome(False, f"raised ValueError: {evil}\n# heading\n```"),
                                     "many": ProbeOutcome(True)})
    submission = Submission(Path("jo.ipynb"), "<script>jo</script>\ud800",
                            answers={"uses": f"s = '{evil}'\n![x](http://evil.example/x.png)\n"},
                            problems=["[click](javascript:alert(3)) \ud800", "uses: your cell raised " + evil])
    page = feedback_html(code_bank, submission, result, "")
    page.encode("utf-8")
    assert not LIVE_TAG.search(page) and "javascript:" not in page.replace("[click](javascript:", "")
    assert 'href="javascript' not in page and "&lt;script&gt;jo" in page
    markdown = feedback_markdown(code_bank, submission, result, "")
    markdown.encode("utf-8")
    outside_code = re.sub(r"^(`{3,})python\n.*?^\1$", "", markdown, flags=re.MULTILINE | re.DOTALL)
    assert not LIVE_TAG.search(outside_code) and "](javascript:" not in outside_code
    assert "\n# heading" not in markdown  # a line break in a message cannot start a heading or a fence
    assert evil in markdown  # the student's code itself is shown as written, inside its fence


class FakePool:
    """A sandbox that replays canned runs, recording which questions it was asked to run."""

    def __init__(self, runs: dict[str, SandboxRun]):
        self.runs, self.asked = runs, []

    def run(self, *, chunks, setup, probes, limits, require):
        own = chunks[-1][2]
        self.asked.append(own)
        return self.runs[own]


def test_a_timeout_is_blamed_on_the_question_that_hung(code_bank):
    base, uses = code_bank.questions
    pool = FakePool({"while True: pass": SandboxRun(timed_out=True), "y = x + 1": SandboxRun(values={"y": 2, "many": [2]})})
    references = ReferenceValues({"base": {"x": 1}, "uses": {"y": 2, "many": [2]}})
    answers = {"base": "while True: pass", "uses": "y = x + 1"}
    outcomes, problems = student_outcomes([base, uses], answers, references, pool)
    assert pool.asked == ["while True: pass"]  # the dependent question is not run at all
    result = score_answers(code_bank, {q: "(code)" for q in answers}, code_outcomes=outcomes, problems=problems)
    assert result.question("base").reason.startswith("not run: your code timed out (the 3 s time limit)")
    assert result.question("uses").reason == "not run: `base`, which this question builds on, timed out"
    markdown = feedback_markdown(code_bank, Submission(Path("kim.json"), "kim", answers=answers), result, "")
    assert "Not run: `base`, which this question builds on, timed out." in section(markdown, "uses")
    assert "timed out" in section(markdown, "base") and "your code timed out" not in section(markdown, "uses")


def test_an_error_in_required_code_names_that_question(code_bank):
    base, uses = code_bank.questions
    failed = SandboxRun(code_error="NameError: name 'z' is not defined (line 1 of your answer to base)",
                        code_error_at=("<your answer to base>", 1), errors={"y": "NameError: name 'y' is not defined"})
    pool = FakePool({"x = z": failed, "y = x + 1": failed})
    references = ReferenceValues({"base": {"x": 1}, "uses": {"y": 2, "many": [2]}})
    _, problems = student_outcomes([base, uses], {"base": "x = z", "uses": "y = x + 1"}, references, pool)
    assert "uses: your answer to `base`, which this question builds on, raised NameError" in problems[1]
    _, problems = student_outcomes([uses], {"uses": "y = x + 1"}, references, FakePool({"y = x + 1": failed}))
    assert "`base`, which this question builds on, has no answer" in problems[0]


@pytest.mark.usefixtures("sandbox_layers")
def test_a_real_timeout_is_blamed_on_the_question_that_hung(code_bank, tmp_path):
    """The same through ``grade_submissions`` and the sandbox: one question hangs, the other builds on it."""
    answers = {"answers": {"base": "while True:\n    pass\n", "uses": "y = x + 1\n"}}
    graded = grade(code_bank, tmp_path, {"lee.json": json.dumps(answers)})["lee"]
    base, uses = graded.result.question("base"), graded.result.question("uses")
    assert "timed out" in base.reason and base.points == 0
    assert uses.reason == "not run: `base`, which this question builds on, timed out"
    assert "time limit" in graded.reason
