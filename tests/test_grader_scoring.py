"""Pure scoring of every question type, through the public API."""
from __future__ import annotations

import pytest

from grader import parse_bank, score_answers, score_question
from grader.scoring import multi_select_fraction
from grader.scoring.code import ProbeOutcome

BANK = """
id: scoring
title: Scoring
source: original
pass_percent: 60
badge: {name: Star}
questions:
  - id: single
    type: single_choice
    prompt: Which?
    explanation: Because B.
    options:
      - {text: a, feedback: A is the frozen-weights idea.}
      - {text: b, correct: true, feedback: 'Yes, low rank.'}
      - {text: c}
  - id: multi
    type: multiple_choice
    prompt: Tick
    options: [{text: a, correct: true}, {text: b}, {text: c, correct: true}, {text: d}]
  - id: num
    type: numeric
    prompt: How many?
    answer: 252
    tolerance: 0.5
    unit: MB
  - id: rel
    type: numeric
    prompt: About?
    answer: 1000
    rel_tolerance: 0.01
  - id: txt
    type: text
    prompt: Name it
    answers: [LoraConfig]
    patterns: ['lora[ _-]?config\\(\\)']
  - id: out
    type: code_output
    prompt: What is printed?
    snippet: print(int(1010 * 0.25))
    options: [{text: '252', correct: true}, {text: '250'}]
  - id: out_text
    type: code_output
    prompt: What is printed?
    snippet: "print('a')\\nprint('b')"
    answer: "a\\nb"
  - id: fr
    type: free_response
    prompt: Explain LoRA
    concepts:
      - {id: frozen, label: base weights stay frozen, keywords: [frozen, freeze, unchanged]}
      - {id: lowrank, label: low-rank matrices, keywords: [low-rank, low rank], patterns: ['rank\\s*r']}
      - {id: fewer, label: fewer trainable parameters, keywords: [fewer parameters, small number of parameters]}
      - {id: memory, label: saves memory, keywords: [memory, cheaper]}
  - {id: card, type: flashcard, prompt: What is LoRA?, back: Low-Rank Adaptation}
"""

ALL_RIGHT = {"single": "B", "multi": ["A", "C"], "num": 252, "rel": 1005, "txt": "LoraConfig", "out": "A",
             "out_text": "a\nb\n"}


@pytest.fixture(scope="module")
def bank():
    return parse_bank(BANK)


def test_all_right_gives_full_score_pass_and_badge(bank):
    result = score_answers(bank, ALL_RIGHT)
    assert (result.score, result.max_score, result.percent, result.passed) == (7, 7, 100.0, True)
    assert result.badge == "Star"
    assert result.question("card").status == "ungraded" and result.question("fr").max_points == 0


def test_nothing_answered_scores_zero_and_fails(bank):
    result = score_answers(bank, {})
    assert result.score == 0 and not result.passed and result.badge is None
    assert {q.status for q in result.questions if q.max_points} == {"unanswered"}


def test_single_choice_feedback_and_explanation(bank):
    r = score_question(bank.question("single"), "a")
    assert r.status == "incorrect" and r.points == 0
    assert "A is the frozen-weights idea." in r.feedback and "Because B." in r.feedback
    assert r.correct_answer == "B) b"
    assert score_question(bank.question("single"), "b").points == 1  # ids are case-insensitive
    assert score_question(bank.question("single"), ["B"]).status == "correct"


@pytest.mark.parametrize("answer, reason", [("Z", "'Z' is not an option"), (["A", "B"], "exactly one"),
                                             (3.5, "expected an option id"), ({"a": 1}, "expected an option id")])
def test_single_choice_invalid_answers_are_explained(bank, answer, reason):
    r = score_question(bank.question("single"), answer)
    assert r.status == "invalid" and r.points == 0 and reason in r.reason


@pytest.mark.parametrize("answer, points, status", [
    (["A", "C"], 1, "correct"), (["A"], 0.5, "partial"), ("a, c", 1, "correct"), (["A", "B"], 0, "incorrect"),
    (["A", "C", "B"], 0.5, "partial"), (["A", "B", "C", "D"], 0, "incorrect"), (["B", "D"], 0, "incorrect"),
])
def test_multiple_choice_net_correct(bank, answer, points, status):
    r = score_question(bank.question("multi"), answer)
    assert (r.points, r.status) == (points, status)


@pytest.mark.parametrize("mode", ["net_correct", "coverage", "all_or_nothing"])
def test_ticking_every_box_never_gets_full_credit(mode):
    # 2 right of 4: ticking everything earns nothing under net_correct, at most half otherwise
    assert multi_select_fraction(mode, 2, 2, 2, 2) <= 0.5
    assert multi_select_fraction("net_correct", 3, 1, 3, 1) == 0


def test_coverage_mode_formula():
    assert multi_select_fraction("coverage", 2, 2, 1, 1) == pytest.approx(0.5 * 0.5)
    assert multi_select_fraction("all_or_nothing", 2, 2, 2, 0) == 1.0


@pytest.mark.parametrize("answer, ok", [(252, True), ("252.4", True), ("252 MB", True), (253, False),
                                        ("1,010", False)])
def test_numeric_absolute_tolerance(bank, answer, ok):
    assert score_question(bank.question("num"), answer).correct is ok


@pytest.mark.parametrize("answer, status", [(1010, "correct"), (989, "incorrect"), ("abc", "invalid"),
                                            (True, "invalid"), (float("nan"), "invalid"), ("", "unanswered")])
def test_numeric_relative_tolerance_and_bad_input(bank, answer, status):
    assert score_question(bank.question("rel"), answer).status == status


@pytest.mark.parametrize("answer, ok", [("loraconfig", True), ("  LoraConfig. ", True), ('"LoraConfig"', True),
                                        ("lora_config()", True), ("TrainingArguments", False)])
def test_text_normalisation_and_patterns(bank, answer, ok):
    assert score_question(bank.question("txt"), answer).correct is ok


def test_code_output_accepts_option_id_or_printed_text(bank):
    q = bank.question("out")
    assert score_question(q, "A").correct and score_question(q, "252").correct
    assert not score_question(q, "B").correct
    assert score_question(bank.question("out_text"), "a\nb").correct
    assert not score_question(bank.question("out_text"), "ab").correct


def test_free_response_counts_concepts(bank):
    q = bank.question("fr")
    good = ("LoRA keeps the pretrained weights frozen and learns two low-rank matrices, so only a small "
            "number of parameters is trained, which saves GPU memory.")
    r = score_question(q, good)
    assert (r.concepts_found, r.concepts_total) == (4, 4) and "You got 4/4 concepts" in r.feedback
    vague = score_question(q, "It makes training cheaper.")
    assert vague.concepts_found == 1 and "low-rank matrices" in vague.feedback
    assert vague.status == "ungraded" and vague.points == 0


def test_flashcards_are_never_graded(bank):
    r = score_question(bank.question("card"), "got it")
    assert r.status == "ungraded" and r.max_points == 0 and "Low-Rank Adaptation" in r.feedback


def test_unknown_ids_reported_not_fatal(bank):
    result = score_answers(bank, {**ALL_RIGHT, "q99": "A"})
    assert result.unknown_ids == ["q99"] and result.percent == 100


def test_hiding_the_key(bank):
    r = score_answers(bank, {"single": "A"}, reveal_key=False).question("single")
    assert r.correct_answer is None and "Answer:" not in r.feedback


def test_code_question_scored_from_probe_outcomes():
    bank = parse_bank("""
id: code
title: Code
source: original
questions:
  - id: c
    type: code
    prompt: write f
    points: 4
    reference: "def f(x): return 2 * x"
    checks:
      - {id: one, name: f(1), expr: f(1), points: 1}
      - {id: many, name: f on many inputs, expr: "[f(i) for i in range(5)]", points: 3, hidden: true, message: Check negative inputs.}
""")
    q = bank.question("c")
    pending = score_question(q, "def f(x): ...")
    assert pending.status == "pending" and pending.points == 0
    r = score_question(q, None, code_outcomes={"one": ProbeOutcome(True), "many": ProbeOutcome(False, "got [0, 1]")})
    assert r.points == 1 and r.status == "partial"
    assert "f on many inputs (hidden check)" in r.feedback and "got [0, 1]" not in r.feedback


def test_answers_must_be_a_mapping(bank):
    with pytest.raises(TypeError, match="mapping"):
        score_answers(bank, ["B"])


def test_badge_limited_to_its_questions():
    bank = parse_bank("""
id: b
title: B
source: original
badge: {name: Ace, questions: [c1]}
questions:
  - {id: c1, type: numeric, prompt: x, answer: 1}
  - {id: p1, type: numeric, prompt: y, answer: 2}
""")
    assert score_answers(bank, {"c1": 1, "p1": 0}).badge == "Ace"
    assert score_answers(bank, {"c1": 0, "p1": 2}).badge is None


def test_badge_with_unknown_question_is_located():
    from grader import BankError
    with pytest.raises(BankError) as info:
        parse_bank("id: b\ntitle: B\nsource: o\nbadge:\n  name: Ace\n  questions: [zz]\n"
                   "questions:\n  - {id: c1, type: numeric, prompt: x, answer: 1}\n")
    assert info.value.line == 6 and info.value.field == "badge.questions" and "zz" in info.value.message
