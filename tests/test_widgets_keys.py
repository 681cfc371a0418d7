"""Student copies (grader.keys): keys hidden as salted hashes, self-checking unchanged; practice banks only."""
from __future__ import annotations


import pytest

from grader import BankError, load_bank, parse_bank, score_answers, score_question
from grader.keys import GradedBankError, is_student_copy_file, student_copy, student_copy_yaml, write_student_copy

from paths import ROOT

BANKS = sorted((ROOT / "quizzes").glob("*.yaml"))
SEED_BANKS = [p for p in BANKS if load_bank(p).show_key == "after_each_attempt"]
"""The practice banks: the only ones a student copy is made of."""

TYPED = """
id: typed
title: Typed keys
source: original
show_key: after_each_attempt
errata: The key of q-exact was once 251.
questions:
  - id: exact
    type: numeric
    prompt: How many?
    answer: 252
    final_answer: "252"
  - id: tol
    type: numeric
    prompt: About?
    answer: 3.5
    tolerance: 0.5
  - id: rel
    type: numeric
    prompt: Roughly?
    answer: 1000
    rel_tolerance: 0.01
  - id: word
    type: text
    prompt: Name it
    answers: [Low-Rank Adaptation, LoRA]
  - id: out
    type: code_output
    prompt: What does it print?
    snippet: print('Hello  World')
    answer: Hello  World
  - id: multi
    type: multiple_choice
    prompt: Tick
    options: [{text: a, correct: true}, {text: b}, {text: c, correct: true}, {text: d}]
  - id: code
    type: code
    prompt: Write f
    reference: "def f(): return 1"
    checks: [{id: p1, name: returns one, expr: f() == 1, hidden: true}]
"""


def _copy(bank, salt="pepper-1234"):
    return parse_bank(student_copy_yaml(bank, salt=salt), "copy.yaml")


@pytest.mark.parametrize("path", SEED_BANKS, ids=lambda p: p.stem)
def test_seed_bank_copy_scores_every_option_like_the_original(path):
    bank = load_bank(path)
    copy = _copy(bank)
    kept = [q for q in bank.questions if q.type != "code"]
    assert copy.key_salt == "pepper-1234" and copy.question_ids == [q.id for q in kept]
    for original, hashed in zip(kept, copy.questions):
        if getattr(original, "options", None) is None:
            continue
        assert not any(o.correct for o in hashed.options), "a student copy must not mark the key"
        assert all(o.key_hash and o.key_hash.startswith("sha256:") for o in hashed.options)
        assert hashed.correct_ids == original.correct_ids
        for option in original.options:
            answer = [option.id] if original.type == "multiple_choice" else option.id
            want, got = score_question(original, answer), score_question(hashed, answer)
            assert (got.points, got.status) == (want.points, want.status), (original.id, option.id)


@pytest.mark.parametrize("path", SEED_BANKS, ids=lambda p: p.stem)
def test_seed_bank_copy_text_does_not_show_keys(path):
    text = student_copy_yaml(load_bank(path), salt="pepper-1234")
    assert "correct: true" not in text and "final_answer" not in text and "errata" not in text
    assert text.startswith("# Student copy of bank")


def test_typed_keys_are_hashed_and_still_checkable():
    bank = parse_bank(TYPED)
    data = student_copy(bank, salt="pepper-1234")
    by_id = {q["id"]: q for q in data["questions"]}
    assert "code" not in by_id, "code questions (reference, hidden checks) never go to students"
    assert "answer" not in by_id["exact"] and "answers" not in by_id["word"] and "answer" not in by_id["out"]
    assert by_id["rel"]["tolerance"] == pytest.approx(10.0) and "rel_tolerance" not in by_id["rel"]
    assert "errata" not in data and "final_answer" not in by_id["exact"]
    copy = parse_bank(student_copy_yaml(bank, salt="pepper-1234"))
    cases = [("exact", 252, True), ("exact", "252.0", True), ("exact", 251, False),
             ("tol", 3.9, True), ("tol", 3.05, True), ("tol", 4.1, False), ("tol", 2.9, False),
             ("rel", 1009, True), ("rel", 991.5, True), ("rel", 1012, False),
             ("word", "  lora. ", True), ("word", "low-rank adaptation", True), ("word", "QLoRA", False),
             ("out", "Hello  World\n", True), ("out", "Hello World", True), ("out", "Hello", False)]
    for qid, answer, right in cases:
        assert score_question(copy.question(qid), answer).correct is right, (qid, answer)
        assert score_question(bank.question(qid), answer).correct is right, (qid, answer)
    hidden = score_question(copy.question("exact"), 251)
    assert hidden.correct_answer is None and "252" not in hidden.feedback


def test_multi_select_partial_credit_survives_hashing():
    bank = parse_bank(TYPED)
    copy = _copy(bank)
    for answer in (["A"], ["A", "B"], ["A", "C"], ["A", "B", "C", "D"], ["B", "D"]):
        assert score_answers(copy, {"multi": answer}).score == score_answers(bank, {"multi": answer}).score


def test_salt_makes_copies_differ_and_is_reproducible():
    bank = load_bank(ROOT / "quizzes" / "day48-lora-qlora.yaml")
    first, again = student_copy(bank, salt="salt-one-1"), student_copy(bank, salt="salt-one-1")
    other = student_copy(bank, salt="salt-two-2")
    hashes = lambda d: [o["key_hash"] for q in d["questions"] for o in q["options"]]  # noqa: E731
    assert hashes(first) == hashes(again) and not set(hashes(first)) & set(hashes(other))
    assert student_copy(bank)["key_salt"] != student_copy(bank)["key_salt"], "default salt must be random"
    # equal answers to different questions never share a hash, so the hash of "B" teaches nothing
    assert len(set(hashes(first))) == len(hashes(first))


def test_refuses_copy_of_copy_short_salt_and_code_only_banks():
    bank = parse_bank(TYPED)
    with pytest.raises(ValueError, match="already a student copy"):
        student_copy(_copy(bank))
    with pytest.raises(ValueError, match="at least 8 characters"):
        student_copy(bank, salt="short")
    code_only = bank.subset(ids=["code"])
    with pytest.raises(ValueError, match="only questions whose keys cannot be hidden"):
        student_copy(code_only)


def test_hashed_keys_without_salt_or_mixed_with_correct_are_located_errors():
    text = student_copy_yaml(parse_bank(TYPED), salt="pepper-1234")
    no_salt = "\n".join(line for line in text.splitlines() if not line.startswith("key_salt:"))
    with pytest.raises(BankError, match=r"questions\[\d\]: this question's key is hashed .* no `key_salt`"):
        parse_bank(no_salt, "copy.yaml")
    mixed = text.replace("  - id: A\n", "  - id: A\n    correct: true\n", 1)
    assert mixed != text
    with pytest.raises(BankError, match=r"copy.yaml:\d+: questions\[5\]\.options: options carry `key_hash`"):
        parse_bank(mixed, "copy.yaml")


def test_write_student_copy_round_trips_through_the_loader(tmp_path):
    path = write_student_copy(load_bank(ROOT / "quizzes" / "lora-qlora-challenges.yaml"), tmp_path / "out" / "c.yaml",
                              salt="pepper-1234")
    copy = load_bank(path)
    assert copy.badge is not None and copy.question("p3").snippet
    key = {q.id: q.correct_ids[0] for q in copy.questions if getattr(q, "options", None)}
    result = score_answers(copy, key)
    assert result.percent == 100 and result.badge == copy.badge.name


def test_the_seed_banks_are_practice_banks_and_the_assignment_is_graded():
    policies = {p.stem: load_bank(p).show_key for p in BANKS}
    assert policies.pop("lora-assignment") == "after_last_attempt"
    assert len(policies) == 5 and set(policies.values()) == {"after_each_attempt"}


@pytest.mark.parametrize("show_key", [None, "after_last_attempt", "never"])
def test_a_graded_bank_gets_no_student_copy(show_key):
    text = TYPED.replace("show_key: after_each_attempt\n", "" if show_key is None else f"show_key: {show_key}\n")
    bank = parse_bank(text)
    assert bank.show_key == (show_key or "after_last_attempt"), "a bank is graded unless it says otherwise"
    with pytest.raises(GradedBankError, match=rf"bank 'typed' is graded \(show_key: {bank.show_key}\)"):
        student_copy(bank)
    with pytest.raises(GradedBankError):
        student_copy_yaml(bank)


def test_a_student_copy_file_is_recognised_by_its_header_only(tmp_path):
    bank = parse_bank(TYPED)
    path = write_student_copy(bank, tmp_path / "typed.student.yaml", salt="pepper-1234")
    assert is_student_copy_file(path, "typed")
    assert not is_student_copy_file(path, "other"), "another bank's copy is not this bank's"
    (tmp_path / "notes.yaml").write_text("# my notes\n")
    assert not is_student_copy_file(tmp_path / "notes.yaml", "typed")
    (tmp_path / "link.yaml").symlink_to(path)
    assert not is_student_copy_file(tmp_path / "link.yaml", "typed")
    assert not is_student_copy_file(tmp_path / "missing.yaml", "typed")
    assert not is_student_copy_file(tmp_path, "typed")
