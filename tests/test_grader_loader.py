"""Loading banks: every error names file, line and field; all errors come in one pass."""
from __future__ import annotations

import os

import pytest

from grader import BankError, load_bank, parse_bank

MINIMAL = """
id: tiny
title: Tiny
source: original
questions:
{questions}
"""


def bank_text(questions: str) -> str:
    return MINIMAL.format(questions=questions)


def test_golden_file_lists_every_error_with_its_line(root):
    os.chdir(root / "tests")
    with pytest.raises(BankError) as info:
        load_bank("fixtures/banks/many_errors.yaml")
    expected = (root / "tests/fixtures/banks/many_errors.expected").read_text().splitlines()
    assert str(info.value).splitlines() == expected
    assert info.value.path == "fixtures/banks/many_errors.yaml"
    assert info.value.line == 4 and "less than or equal to 100" in info.value.message


@pytest.mark.parametrize("questions, line, field, message", [
    ("  - {id: q1, type: single_choice, prompt: x, options: [{text: a}, {text: b}]}",
     5, "questions[0].options", "exactly one correct option, found 0"),
    ("  - id: q1\n    type: multiple_choice\n    prompt: x\n    options: [{text: a}, {text: b}]",
     8, "questions[0].options", "at least one correct option"),
    ("  - id: q1\n    type: single_choice\n    prompt: x\n    options: [{text: a, correct: true}]",
     8, "questions[0].options", "at least 2 options"),
    ("  - id: q1\n    type: numeric\n    prompt: x\n    answer: 3\n    tolerance: -1",
     9, "questions[0].tolerance", "greater than or equal to 0"),
    ("  - id: q1\n    type: text\n    prompt: x", 5, "questions[0].patterns", "accepted answer"),
    ("  - id: q1\n    type: text\n    prompt: x\n    patterns: ['(unclosed']", 8, "questions[0].patterns[0]",
     "invalid regular expression"),
    ("  - id: q1\n    type: free_response\n    prompt: x\n    concepts:\n      - {id: c1, label: L, threshold: 1.5}",
     9, "questions[0].concepts[0].threshold", "less than or equal to 1"),
    ("  - id: q1\n    prompt: x", 5, "questions[0]", "missing `type`"),
    ("  - id: q1\n    type: single_choice\n    prompt: x\n    difficulty: impossible\n    options: [{text: a, correct: true}, {text: b}]",
     8, "questions[0].difficulty", "'easy', 'medium' or 'hard'"),
    ("  - id: bad id\n    type: flashcard\n    prompt: x\n    back: y", 5, "questions[0].id", "should match pattern"),
    ("  - id: q1\n    type: code\n    prompt: x\n    reference: 'x = 1'\n    checks:\n      - {id: p, name: P, expr: 'x ==='}",
     10, "questions[0].checks[0].expr", "not a Python expression"),
    ("  - {id: q1, type: numeric, prompt: x, answer: 1}\n  - {id: q1, type: numeric, prompt: y, answer: 2}",
     6, "questions[1].id", "duplicate question id 'q1' (first used by questions[0])"),
    ("  - id: q1\n    type: free_response\n    prompt: x\n    concepts:\n      - {id: c, label: L, keywords: [a]}\n"
     "      - {id: c, label: M, keywords: [b]}", 10, "questions[0].concepts[1].id", "duplicate concept id 'c' (also concepts[0])"),
    ("  - id: q1\n    type: code\n    prompt: x\n    reference: 'x = 1'\n    checks:\n      - {id: p, name: P, expr: 'x'}\n"
     "      - {id: p, name: Q, expr: 'x'}", 11, "questions[0].checks[1].id", "duplicate probe id 'p' (also checks[0])"),
])
def test_single_error_is_located(write_bank, questions, line, field, message):
    path = write_bank(bank_text(questions))
    with pytest.raises(BankError) as info:
        load_bank(path)
    issue = info.value.issues[0]
    assert (issue.line, issue.field) == (line, field), str(info.value)
    assert message in issue.message
    assert str(info.value).startswith(f"{path}:{line}: {field}: ")


def test_every_repeated_question_id_is_reported(write_bank):
    """The bank model stops at the first duplicate; the loader's check of the raw data lists the rest."""
    path = write_bank(bank_text("".join(f"  - {{id: q1, type: numeric, prompt: x, answer: {n}}}\n" for n in range(3))))
    with pytest.raises(BankError) as info:
        load_bank(path)
    assert [(i.line, i.field, i.message) for i in info.value.issues] == [
        (6, "questions[1].id", "duplicate question id 'q1' (first used by questions[0])"),
        (7, "questions[2].id", "duplicate question id 'q1' (first used by questions[0])")]


def test_errors_below_a_validated_field_point_at_the_nested_line(write_bank):
    """A list validator's error (duplicate id, bad probe) names the item's own key and line, not the list's."""
    questions = """\
  - {id: q1, type: numeric, prompt: x, answer: 1}
  - id: q2
    type: multiple_choice
    prompt: y
    options:
      - {id: a, text: one, correct: true}
      - {id: b, text: two}
      - text: three
        id: A
  - id: q3
    type: code
    prompt: z
    reference: 'x = 1'
    checks:
      - {id: p, name: P, expr: 'x == 1'}
      - id: r
        name: R
        expr: 'x ==='"""
    path = write_bank(bank_text(questions))
    with pytest.raises(BankError) as info:
        load_bank(path)
    assert [(i.line, i.field) for i in info.value.issues] == [
        (13, "questions[1].options[2].id"), (22, "questions[2].checks[1].expr")], str(info.value)
    assert info.value.issues[0].message.startswith("duplicate option id 'A' (also options[0])")
    assert info.value.issues[1].message.startswith("not a Python expression")


@pytest.mark.parametrize("text, message, line", [
    ("", "the file is empty", 1),
    ("- a\n- b\n", "top level must be a mapping", 1),
    ("id: x\ntitle: [unclosed\n", "YAML syntax error", 3),
    ("id: x\nid: y\ntitle: t\n", "YAML syntax error", 2),
    ("id: tiny\ntitle: T\nsource: s\nquestions: []\n", "at least one question", 4),
])
def test_file_level_errors(write_bank, text, message, line):
    path = write_bank(text)
    with pytest.raises(BankError) as info:
        load_bank(path)
    assert message in info.value.message and info.value.line == line


def test_bad_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: x\ntitle: caf\xe9\n".encode("latin-1"))
    with pytest.raises(BankError) as info:
        load_bank(path)
    assert info.value.line == 2 and "not valid UTF-8" in info.value.message


def test_missing_file_is_a_bank_error(tmp_path):
    with pytest.raises(BankError, match="no such file"):
        load_bank(tmp_path / "nope.yaml")


def test_defaults_and_difficulty_mapping():
    bank = parse_bank(bank_text(
        "  - id: q1\n    type: single_choice\n    prompt: x\n    difficulty: Expert\n"
        "    options: [{text: a}, {text: b, correct: true}, {text: c}]\n"
        "  - {id: f1, type: flashcard, prompt: front, back: back, difficulty: beginner}\n"
        "  - id: fr\n    type: free_response\n    prompt: explain\n    concepts: [{id: c, label: L, keywords: [k]}]"))
    q1, f1, fr = bank.questions
    assert [o.id for o in q1.options] == ["A", "B", "C"] and q1.correct_ids == ["B"]
    assert (q1.difficulty, q1.level) == ("hard", "Expert")
    assert (f1.difficulty, f1.level, f1.points) == ("easy", "beginner", 0)
    assert fr.points == 0 and q1.points == 1
    assert bank.pass_percent == 80 and bank.keep == "highest" and bank.max_score == 1


def test_subset_keeps_order_and_rejects_unknown_ids():
    bank = parse_bank(bank_text(
        "  - {id: a, type: numeric, prompt: x, answer: 1, tags: [t1]}\n"
        "  - {id: b, type: numeric, prompt: y, answer: 2, tags: [t2]}\n"
        "  - {id: c, type: numeric, prompt: z, answer: 3, tags: [t1]}"))
    assert bank.subset(ids=["c", "a"]).question_ids == ["c", "a"]
    assert bank.subset(tags=["t1"]).question_ids == ["a", "c"]
    with pytest.raises(KeyError, match="no question 'zz'"):
        bank.subset(ids=["zz"])
