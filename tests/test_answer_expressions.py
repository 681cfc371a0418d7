"""The one rule for `answer = ...` cells (grader/submissions/answer_value.py): literals and arithmetic on
numbers are read, everything else is refused with a reason, nothing is ever run, and huge arithmetic is
refused at once. The same function serves `grader grade` and the nbgrader export's hidden tests."""
from __future__ import annotations

import json
import time

import pytest

from grader import load_bank
from grader.nbgrader_autograde import answer_body, points
from grader.submissions.answer_value import AnswerRefused, answer_value, split_answer_cell
from grader.submissions.notebook import parse_notebook

from paths import ROOT


@pytest.mark.parametrize(("body", "value"), [
    ("answer = 8*(768+768)*24", 294912),
    ("answer = 'B'", "B"),
    ("answer = ['A', 'C']", ["A", "C"]),
    ("answer = -5", -5),
    ("answer = 2**-2", 0.25),
    ("answer = (1 + 2) / 4", 0.75),
    ("answer = 7 // 2 + 7 % 2", 4),
    ("answer = [1 + 1, 'x']", [2, "x"]),
    ("answer = 10**100", 10**100),
    ("answer = " + "+".join(["1"] * 60), 60),
    ("import os\nanswer = 3\nos.system('true')", 3),  # only the assignment is read
    ("answer = 1\nanswer = 2", 2),  # the last one counts
])
def test_literals_and_arithmetic_on_numbers_are_read(body, value):
    assert answer_value(body) == value


@pytest.mark.parametrize(("body", "reason"), [
    ("answer = sorted(['A'])", r"a call `sorted\(\['A'\]\)`"),
    ("answer = sum(range(3))", "a call"),
    ("answer = x", "a name `x`"),
    ("answer = 'a' + 'b'", "arithmetic is for numbers only"),
    ("answer = 'ab' * 3", "arithmetic is for numbers only"),
    ("answer = True + 1", "arithmetic is for numbers only"),
    ("answer = [x for x in 'AB']", "a comprehension"),
    ("answer = f'{1}'", "an f-string"),
    ("answer = 1 << 3", r"not one of \+ - \* / // % \*\*"),
    ("answer = 1 / 0", "division by zero"),
    ("answer = (-8) ** (1 / 3)", "not a real number"),
    ("answer = 1e308 * 10", "too large"),
    ("answer = 2 ** 400", "too many digits"),
    ("answer = {[1]: 2}", "a dict key, a set item"),
    ("answer = " + "+".join(["1"] * 102), "more than 100 arithmetic operators"),
    ("answer = B", "plain value"),
    ("x = 3", r"no `answer = \.\.\.` line"),
    ("answer = (", "not valid Python"),
])
def test_everything_else_is_refused_with_what_is_allowed(body, reason):
    with pytest.raises(AnswerRefused, match=reason) as caught:
        answer_value(body)
    if str(caught.value).startswith("`answer` cannot be read"):  # what the evaluator refused: it says what it reads
        assert "or arithmetic on numbers such as 8 * (768 + 768) * 24" in str(caught.value)


@pytest.mark.parametrize("body", ["answer = 9**9**9", "answer = 10**100000", "answer = 2**10**10", "answer = 1.5**10**7",
                                  "answer = (10**99)**(10**99)", "answer = " + "-" * 50_000 + "1",
                                  "answer = " + "(" * 5000 + "1" + ")" * 5000])
def test_huge_or_deep_arithmetic_is_refused_at_once(body):
    start = time.perf_counter()
    with pytest.raises(AnswerRefused):
        answer_value(body)
    assert time.perf_counter() - start < 1.0


def test_nothing_in_an_answer_cell_is_run(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(AnswerRefused, match="a call"):
        answer_value(f"answer = open({str(marker)!r}, 'w').write('x') + 1")
    assert not marker.exists()


def _notebook(*sources: str) -> bytes:
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": s} for s in sources]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}).encode()


def test_the_notebook_reader_applies_the_rule(tmp_path):
    raw = _notebook("# answer: q1\nanswer = 8*(768+768)*24", "# answer: q2\nanswer = sorted(['A'])")
    sub = parse_notebook(raw, tmp_path / "ana.ipynb")
    assert sub.answers == {"q1": 294912}
    assert any(p.startswith("q2: `answer` cannot be read (found a call") for p in sub.problems)


def test_split_answer_cell():
    assert split_answer_cell("\n  # Answer: q-1 \nanswer = 1") == ("q-1", "answer = 1")
    assert split_answer_cell("answer = 1\n# answer: q1") is None


# --- the nbgrader side: the hidden tests read the executed cells' text, not the kernel's `answer` ---------
@pytest.fixture(scope="module")
def numeric_question_json():
    bank = load_bank(ROOT / "quizzes" / "lora-assignment.yaml")
    question = bank.question("total-params")
    return question.model_dump_json(), question


@pytest.mark.parametrize(("history", "earned"), [
    (["# answer: total-params\nanswer = 8*(768+768)*24"], 1.0),
    (["# answer: total-params\nanswer = 294912", "answer = 3"], 1.0),  # reassigned later: not an answer cell
    (["# answer: total-params\nanswer = 3", "# answer: total-params\nanswer = 294912"], 1.0),  # the last one
    (["# answer: total-params\nanswer = sum([294912])"], 0.0),  # computed: refused as in grader
    (["x = 294912", "answer = x"], 0.0),  # no answer cell at all
    (["# answer: total-params\nanswer = 'B'"], 0.0),  # the wrong type
])
def test_hidden_tests_score_the_answer_cell_text(numeric_question_json, history, earned, capsys):
    text, question = numeric_question_json
    assert points(text, history) == earned * question.points
    assert capsys.readouterr().err == ""  # nbgrader gives 0 points to a test cell that writes to stderr


def test_answer_body_takes_the_last_executed_answer_cell():
    assert answer_body(["# answer: a\nanswer = 1", "# answer: b\nanswer = 2", "# answer: a\nanswer = 3"], "a") == "answer = 3"
    assert answer_body(["answer = 1"], "a") is None
