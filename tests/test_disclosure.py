"""Key disclosure: when feedback may show keys (grader.scoring.disclosure), and that feedback scored with
``reveal_key=False`` states no key, explanation, option feedback, model answer or expected value."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from grader import load_bank, parse_bank, score_answers
from grader.errors import UserError
from grader.kinds import KINDS
from grader.scoring import ProbeOutcome
from grader.scoring.attempts import summarize_attempts
from grader.scoring.disclosure import KeyVisibility, key_visibility

from paths import ROOT

UTC = timezone.utc
BANKS = sorted((ROOT / "quizzes").glob("*.yaml"))

EVERY_KIND = r"""
id: every-kind
title: Every kind, every text that can state a key
source: original
attempts: 3
errata: The bank-level errata mention the key 294912 too.
questions:
  - id: single
    type: single_choice
    prompt: Which matrix is low rank?
    explanation: The product BA has rank at most r, which is why option B is right.
    final_answer: B, the product of the two adapters
    errata: An older key said A; the seed's explanation argues for B.
    options:
      - {text: the frozen weight W0, feedback: W0 is frozen and full rank; the low-rank one is BA.}
      - {text: the adapter product BA, correct: true, feedback: "Right, BA is the low-rank update."}
      - {text: the optimizer state, feedback: Not a weight matrix at all; look at BA instead.}
  - id: multi
    type: multiple_choice
    prompt: Tick the QLoRA ingredients
    explanation: QLoRA combines NF4 storage with double quantization of the scales.
    options:
      - {text: NF4 storage of the frozen weights, correct: true, feedback: "Yes, NF4 is one ingredient."}
      - {text: double quantization of the scales, correct: true}
      - {text: dropout of 0.9 on every layer}
      - {text: fp64 master weights for all layers, feedback: "No, QLoRA keeps NF4 and double quantization."}
  - id: num
    type: numeric
    prompt: How many parameters does LoRA add to BERT's 24 projections at rank 8?
    answer: 294912
    tolerance: 1
    unit: parameters
    explanation: Twenty-four weights times 12 288 parameters each makes 294 912 in all.
    solution: [8 * (768 + 768) = 12288 per weight, 24 * 12288 = 294912]
    common_mistakes: [Forgetting that both A and B are trained, giving 147456]
  - id: word
    type: text
    prompt: What does the Q in QLoRA stand for?
    answers: [quantized]
    explanation: QLoRA is Quantized LoRA, which trains adapters over a 4-bit base.
  - id: out
    type: code_output
    prompt: What does it print?
    snippet: "r = 4\nprint(r * 2 + 1000)"
    answer: "1008"
    explanation: Four times two plus one thousand prints 1008.
  - id: explain
    type: free_response
    points: 2
    prompt: Explain LoRA.
    model_answer: LoRA freezes the base weights and trains two small low-rank matrices per layer.
    concepts:
      - {id: frozen, label: the base weights stay frozen during training, keywords: [frozen, freeze]}
      - {id: lowrank, label: the update is the product of low-rank matrices, keywords: [low rank, low-rank]}
  - id: card
    type: flashcard
    prompt: What does LoRA stand for?
    back: Low-Rank Adaptation of large language models
  - id: code
    type: code
    prompt: Write count(d, k, r)
    reference: "def count(d, k, r): return r * (d + k)"
    explanation: LoRA adds r·(d + k) parameters, 12 288 for a 768×768 weight at rank 8.
    checks:
      - {id: small, name: a 4×3 weight at rank 2, expr: "count(4, 3, 2)", message: count both factors}
      - {id: bert, name: a BERT projection, expr: "count(768, 768, 8)"}
      - {id: other, name: other shapes, expr: "count(5, 7, 3)", hidden: true, message: d and k may differ}
"""


def summary(bank, used: int):
    return summarize_attempts(bank, [50.0] * used)


def policy_bank(settings: str):
    return parse_bank(f"id: p\ntitle: P\nsource: original\n{settings}\nquestions:\n"
                      "  - {id: q, type: numeric, prompt: How many?, answer: 1}\n", "p.yaml")


# -- when the key may be shown ---------------------------------------------------------------------

BEFORE = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BETWEEN = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
AFTER = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)
DUE = "due: 2026-12-01T23:59:00Z"
CUTOFF = "cutoff: 2026-12-08T23:59:00Z"


@pytest.mark.parametrize("settings, used, now, show, note", [
    ("show_key: after_each_attempt\nattempts: 3", 1, BEFORE, True, ""),
    ("show_key: never\nattempts: 1\n" + DUE, 1, AFTER, False, "The answers and explanations of this quiz are not shown."),
    ("attempts: 3", 1, BEFORE, False, "The answers and explanations will be shown after your last attempt (2 left)."),
    ("attempts: 3", 2, BEFORE, False, "The answers and explanations will be shown after your last attempt (1 left)."),
    ("attempts: 3", 3, BEFORE, True, "You have no attempts left, so the answers and explanations are shown."),
    ("attempts: 3", 5, BEFORE, True, "You have no attempts left, so the answers and explanations are shown."),
    ("", 4, AFTER, False,
     "The answers and explanations are not shown: this quiz allows unlimited attempts and has no due date."),
    (DUE, 1, BEFORE, False, "The answers and explanations will be shown after the due date, Tue 1 Dec 2026 23:59 UTC."),
    (DUE, 1, AFTER, True, "The due date (Tue 1 Dec 2026 23:59 UTC) has passed, so the answers and explanations are shown."),
    ("attempts: 3\n" + DUE, 1, BEFORE, False,
     ("The answers and explanations will be shown after your last attempt (2 left) or after the due date, "
      "Tue 1 Dec 2026 23:59 UTC.")),
    # late work is accepted until the cut-off: the key stays hidden until then
    (DUE + "\n" + CUTOFF, 1, BETWEEN, False,
     "The answers and explanations will be shown after the cut-off, Tue 8 Dec 2026 23:59 UTC."),
    (DUE + "\n" + CUTOFF, 1, AFTER, True,
     "The cut-off (Tue 8 Dec 2026 23:59 UTC) has passed, so the answers and explanations are shown."),
])
def test_key_visibility(settings, used, now, show, note):
    bank = policy_bank(settings)
    assert key_visibility(bank, summary(bank, used), now) == KeyVisibility(show, note)


def test_at_the_due_time_itself_the_key_is_still_hidden():
    bank = policy_bank(DUE)
    assert not key_visibility(bank, summary(bank, 1), datetime(2026, 12, 1, 23, 59, tzinfo=UTC)).show
    assert key_visibility(bank, summary(bank, 1), datetime(2026, 12, 1, 23, 59, 1, tzinfo=UTC)).show


def test_a_naive_now_is_refused():
    bank = policy_bank(DUE)
    with pytest.raises(ValueError, match="no time zone"):
        key_visibility(bank, summary(bank, 1), datetime(2026, 12, 1))


# -- feedback without the key ----------------------------------------------------------------------

def _key_texts(question) -> list[str]:
    """Every text of ``question`` that states or points at its key, cut into lines worth searching for."""
    texts = [question.explanation, question.final_answer, question.errata, *question.solution, *question.common_mistakes,
             getattr(question, "model_answer", None), getattr(question, "back", None)]
    texts += [o.feedback for o in question.choices]
    texts += [o.text for o in question.choices if question.is_correct(o)]
    texts += [c.label for c in getattr(question, "concepts", [])]
    if getattr(question, "answer", None) is not None and question.type == "code_output":
        texts.append(question.answer)
    lines = [line.strip() for text in texts if text for line in text.splitlines()]
    return [line for line in lines if len(line) >= 3]


def _number_forms(value: float) -> set[str]:
    """A number the way feedback might write it: 294912, 294912.0, 294,912, 294 912 (any space)."""
    forms = {f"{value:g}", repr(value)}
    if float(value).is_integer():
        whole = int(value)
        grouped = f"{whole:,}"
        forms |= {str(whole), grouped, *(grouped.replace(",", sep) for sep in (" ", "\u00a0", "\u202f", "\u2009"))}
    return {f for f in forms if len(f.replace(",", "").replace(" ", "")) >= 3}


def _answers(question) -> list[Any]:
    """Answers to try: none, every option (right and wrong), a wrong number, wrong and right text."""
    if question.choices:
        ids = [o.id for o in question.choices]
        tries: list[Any] = [[i] for i in ids] + [ids[:2], ids] if question.type == "multiple_choice" else list(ids)
        return [None, *tries]
    if question.type == "numeric":
        return [None, question.answer * 7 + 13, question.answer]
    if question.type in ("text", "code_output"):
        right = question.answers[0] if question.type == "text" else question.answer
        return [None, "something else", right]
    return [None, "LoRA keeps the weights frozen."]


def _outcomes(question) -> dict[str, ProbeOutcome]:
    """Probe outcomes as the sandbox reports them: reference values in the details of compared probes."""
    details = ["raised NameError: name 'count' is not defined", "expected 294912, got 3",
               "expected a list of 4 items, got 3", "not run: the 20 s time limit was reached"]
    public = [p for p in question.checks if not p.hidden] + [p for p in question.checks if p.hidden]
    return {p.id: ProbeOutcome(False, details[i % len(details)]) for i, p in enumerate(public)}


def _banks() -> list[Any]:
    return [load_bank(p) for p in BANKS] + [parse_bank(EVERY_KIND, "every-kind.yaml")]


@pytest.mark.parametrize("bank", _banks(), ids=lambda b: b.id)
def test_hidden_key_feedback_states_no_key_in_any_form(bank):
    leaks = []
    for question in bank.questions:
        secrets = _key_texts(question)
        numbers = _number_forms(question.answer) if question.type == "numeric" else set()
        code = {question.id: _outcomes(question)} if question.type == "code" else None
        for answer in _answers(question):
            answers = {} if answer is None else {question.id: answer}
            result = score_answers(bank, answers, reveal_key=False, code_outcomes=code).question(question.id)
            assert result.correct_answer is None and result.explanation is None and not result.option_feedback
            shown = result.feedback + "\n" + result.reason
            if question.type == "numeric" and answer == question.answer:
                continue  # a right answer repeats the student's own number, which is the key
            leaks += [(question.id, answer, s) for s in secrets if s in shown]
            leaks += [(question.id, answer, n) for n in numbers if n in shown]
            if question.type == "code" and answer is not None:
                assert "294912" not in shown and "4 items" not in shown, shown
                for probe in question.checks:
                    outcome = code[question.id][probe.id]
                    if not probe.hidden and not outcome.detail.startswith("expected"):
                        assert outcome.detail in shown, "what the student's own run did stays"
                assert all(p.name in shown for p in question.checks), "check names are public"
                assert all(p.message in shown for p in question.checks if p.message and not p.hidden)
    assert not leaks, leaks


@pytest.mark.parametrize("bank", _banks(), ids=lambda b: b.id)
def test_revealed_feedback_still_shows_explanations(bank):
    """The other side of the switch, so the test above cannot pass by hiding everything always."""
    result = score_answers(bank, {}, reveal_key=True)
    explained = [q for q in bank.questions if q.explanation and q.points > 0 and q.type != "code"]
    assert explained, "every bank explains some graded question"
    for question in explained:
        assert question.explanation.strip() in result.question(question.id).feedback


def test_hidden_feedback_keeps_right_and_wrong_and_the_score():
    bank = parse_bank(EVERY_KIND)
    answers = {"single": "A", "multi": ["A", "D"], "num": 5, "word": "quantized", "out": "8",
               "explain": "the weights stay frozen"}
    shown, hidden = score_answers(bank, answers), score_answers(bank, answers, reveal_key=False)
    assert (hidden.score, hidden.percent) == (shown.score, shown.percent)
    assert [q.status for q in hidden.questions] == [q.status for q in shown.questions]
    assert hidden.question("single").feedback.startswith("✗ Incorrect. You chose A")
    assert hidden.question("word").feedback.startswith("✓ Correct.")
    multi = hidden.question("multi")
    assert "1 of the ticked options is not right" in multi.reason and "1 right option not ticked" in multi.reason
    assert "D" not in multi.reason, "which ticked option is wrong is part of the key"
    explain = hidden.question("explain")
    assert "You got 1/2 concepts." in explain.feedback and explain.missed_concepts == []
    assert explain.found_concepts == ["the base weights stay frozen during training"], "what the student wrote stays"


def test_every_kind_conceals_through_the_registry():
    """A kind added later gets at least the default (no key text, no option feedback)."""
    assert all(callable(kind.conceal) for kind in KINDS.kinds)


# -- the quiz widget and graded banks --------------------------------------------------------------

def test_the_widget_refuses_a_graded_bank_unless_its_author_says_practice():
    from grader.widgets import Quiz

    graded = load_bank(ROOT / "quizzes" / "lora-assignment.yaml")
    with pytest.raises(UserError, match=r"bank 'lora-assignment' is graded \(show_key: after_last_attempt\).*practice=True"):
        Quiz(graded, progress=False, autotick=False)
    with pytest.raises(UserError, match="is graded"):
        Quiz(policy_bank("attempts: 2"), progress=False, autotick=False)
    tried = Quiz(graded, ids=["lora-principle"], progress=False, autotick=False, practice=True)
    assert tried.bank.question_ids == ["lora-principle"]
    assert Quiz(ROOT / "quizzes" / "day48-lora-qlora.yaml", progress=False, autotick=False).bank.id == "day48-lora-qlora"


def test_release_gives_a_graded_bank_nothing_but_the_notebook(tmp_path: Path):
    from grader.release import release

    written = release(bank=parse_bank(EVERY_KIND), out_dir=tmp_path)
    assert [p.suffix for p in written] == [".ipynb"]
    text = written[0].read_text(encoding="utf-8")
    for question in parse_bank(EVERY_KIND).questions:
        options = {o.text for o in question.choices}  # the options themselves are the question
        assert not [s for s in _key_texts(question) if len(s) > 12 and s in text and s not in options], question.id
        if question.type == "code":
            assert question.reference not in text


def test_now_can_be_any_zone():
    bank = policy_bank(DUE)
    tokyo = timezone(timedelta(hours=9))
    # 08:30 in Tokyo on 2 Dec is 23:30 UTC on 1 Dec: before the due date
    assert not key_visibility(bank, summary(bank, 1), datetime(2026, 12, 2, 8, 30, tzinfo=tokyo)).show
