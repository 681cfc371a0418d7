"""The banks transcribed from seeds 001 and 004 load, keep every seed question, and score as intended.

These tests pin what lessons and other tests rely on: question ids, types and keys, the timers and
attempts of the timed challenges, the badge, provenance, and that the free-response concept
checklists recognise realistic answers (a complete answer finds every concept, a vague one few).
"""
from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from collections import Counter

import pytest

from grader import load_bank, score_answers

from paths import ROOT

FLASHCARDS = ROOT / "quizzes" / "lora-qlora-flashcards-practice.yaml"
CHALLENGES = ROOT / "quizzes" / "lora-qlora-challenges.yaml"


@pytest.fixture(scope="module")
def flashcards():
    return load_bank(FLASHCARDS)


@pytest.fixture(scope="module")
def challenges():
    return load_bank(CHALLENGES)


def _bank(name: str, flashcards, challenges):
    return {"flashcards": flashcards, "challenges": challenges}[name]


def _type(question) -> str:
    return str(getattr(question.type, "value", question.type))


# --- identity and provenance -----------------------------------------------------------------------

@pytest.mark.parametrize("name, bank_id, seed", [
    ("flashcards", "lora-qlora-flashcards-practice", "001_99495b15d4856a2b.txt"),
    ("challenges", "lora-qlora-challenges", "004_965f0c1c2f54ac30.txt"),
])
def test_bank_id_and_source_name_the_seed(name, bank_id, seed, flashcards, challenges):
    bank = _bank(name, flashcards, challenges)
    assert bank.id == bank_id
    assert bank.source == seed


@pytest.mark.parametrize("path", [FLASHCARDS, CHALLENGES])
def test_file_starts_with_schema_comment(path):
    assert path.read_text(encoding="utf-8").splitlines()[0] == "# yaml-language-server: $schema=./bank.schema.json"


# --- every seed question, in order, with its type ----------------------------------------------------

@pytest.mark.parametrize("name, ids, counts", [
    ("flashcards",
     ["fc1", "fc2", "fc3", "fc4", "fc5", "r1", "r2", "r3", "r4", "r5", "fr1", "fr2", "p1", "p2", "p3"],
     {"flashcard": 5, "single_choice": 7, "free_response": 2, "code_output": 1}),
    ("challenges",
     ["c1", "c2", "c3", "c4", "c5", "p1", "p2", "p3", "p4", "p5"],
     {"single_choice": 9, "code_output": 1}),
])
def test_question_ids_in_seed_order_and_type_counts(name, ids, counts, flashcards, challenges):
    bank = _bank(name, flashcards, challenges)
    assert [q.id for q in bank.questions] == ids
    assert Counter(_type(q) for q in bank.questions) == counts


KEYS = [
    ("flashcards", "r1", "A"), ("flashcards", "r2", "A"), ("flashcards", "r3", "D"),
    ("flashcards", "r4", "B"), ("flashcards", "r5", "C"),
    ("flashcards", "p1", "B"), ("flashcards", "p2", "A"), ("flashcards", "p3", "A"),
    ("challenges", "c1", "C"), ("challenges", "c2", "A"), ("challenges", "c3", "D"),
    ("challenges", "c4", "A"), ("challenges", "c5", "B"),
    ("challenges", "p1", "B"), ("challenges", "p2", "A"), ("challenges", "p3", "A"),
    ("challenges", "p4", "D"), ("challenges", "p5", "C"),
]


@pytest.mark.parametrize("name, qid, key", KEYS)
def test_every_key(name, qid, key, flashcards, challenges):
    question = _bank(name, flashcards, challenges).question(qid)
    assert [o.id for o in question.options] == ["A", "B", "C", "D"]
    assert [o.id for o in question.options if o.correct] == [key]


@pytest.mark.parametrize("name, qid, key", KEYS)
def test_scoring_credits_the_key_and_only_the_key(name, qid, key, flashcards, challenges):
    bank = _bank(name, flashcards, challenges)
    wrong = next(letter for letter in "ABCD" if letter != key)
    right = score_answers(bank, {qid: key}).question(qid)
    assert right.points == right.max_points == 1
    assert score_answers(bank, {qid: key.lower()}).question(qid).points == 1
    assert score_answers(bank, {qid: wrong}).question(qid).points == 0


@pytest.mark.parametrize("name", ["flashcards", "challenges"])
def test_code_output_snippet_prints_the_key(name, flashcards, challenges):
    question = _bank(name, flashcards, challenges).question("p3")
    assert _type(question) == "code_output"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(question.snippet, "<p3>", "exec"), {})
    key_text = next(o.text for o in question.options if o.correct)
    assert printed.getvalue().strip() == key_text == "252"
    assert [o.text for o in question.options] == ["252", "250", "260", "275"]


def test_grader_validate_accepts_both_banks():
    run = subprocess.run([sys.executable, "-m", "grader", "validate", str(FLASHCARDS), str(CHALLENGES)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


# --- seed 001 specifics --------------------------------------------------------------------------------

@pytest.mark.parametrize("qid, level, start_of_back", [
    ("fc1", "beginner", "LoRA stands for Low-Rank Adaptation."),
    ("fc2", "intermediate", "LoRA inserts small low-rank matrices"),
    ("fc3", "intermediate", "QLoRA stands for Quantized LoRA."),
    ("fc4", "beginner", "Quantization reduces the memory and compute"),
    ("fc5", "beginner", "They let you update a big model quickly"),
])
def test_flashcards_keep_seed_answer_and_level(qid, level, start_of_back, flashcards):
    card = flashcards.question(qid)
    assert _type(card) == "flashcard"
    assert card.back.startswith(start_of_back)
    assert card.points == 0
    assert card.level == level
    assert card.difficulty == {"beginner": "easy", "intermediate": "medium"}[level]


@pytest.mark.parametrize("qid", ["r1", "r2", "r3", "r4", "r5"])
def test_review_questions_keep_explanation_and_say_key_was_inferred(qid, flashcards):
    question = flashcards.question(qid)
    assert question.explanation
    assert "explanation" in question.errata and "ticked" in question.errata


@pytest.mark.parametrize("qid, hint_start", [
    ("fr1", "Think about how updating fewer parts"),
    ("fr2", "Focus on how using fewer bits per parameter"),
])
def test_free_responses_have_four_concepts_hint_and_model_answer(qid, hint_start, flashcards):
    question = flashcards.question(qid)
    assert _type(question) == "free_response"
    assert question.hint.startswith(hint_start)
    assert len(question.concepts) == 4
    assert all(len(concept.keywords) >= 3 for concept in question.concepts)
    assert len(question.model_answer.split()) > 40


# Realistic answers and how many of the four concepts each should hit.
FREE_RESPONSES = [
    ("fr1", "LoRA (Low-Rank Adaptation) freezes the pretrained weights and adds two small low-rank "
            "matrices to some layers. Only these matrices are trained, so there are far fewer "
            "trainable parameters, which saves GPU memory and makes fine-tuning faster and cheaper.", 4),
    ("fr1", "lora keeps the original model as it is and learns a low rank update; you train a handful "
            "of weights, and it runs on a cheap GPU", 4),
    ("fr1", "It only trains small adapter matrices, so it needs less memory.", 3),
    ("fr1", "LoRA is a technique that makes fine-tuning large models more efficient.", 1),
    ("fr1", "LoRA trains the entire model from scratch.", 0),
    ("fr2", "QLoRA quantizes the frozen base model to 4-bit NF4 and trains LoRA adapters on top, so a "
            "large model fits in the memory of a single GPU.", 4),
    ("fr2", "QLoRA uses 4-bit weights so it needs less memory.", 2),
    ("fr2", "QLoRA compresses the model so it is better than LoRA.", 1),
    ("fr2", "QLoRA is a better version of LoRA that works well.", 0),
]


@pytest.mark.parametrize("qid, text, expected", FREE_RESPONSES)
def test_free_response_concept_counts(qid, text, expected, flashcards):
    result = score_answers(flashcards, {qid: text}).question(qid)
    assert (result.concepts_found, result.concepts_total) == (expected, 4)
    assert f"{expected}/4" in result.feedback


def test_free_responses_and_flashcards_do_not_change_the_score(flashcards):
    keys = {qid: key for name, qid, key in KEYS if name == "flashcards"}
    vague = score_answers(flashcards, {**keys, "fr1": "no idea", "fr2": "no idea"})
    assert vague.score == vague.max_score == 8
    assert vague.passed


@pytest.mark.parametrize("qid", ["p1", "p2", "p3"])
def test_practice_has_full_worked_solution(qid, flashcards):
    question = flashcards.question(qid)
    assert question.difficulty and len(question.solution) == 2
    assert not any(step.startswith("Step") for step in question.solution)
    assert question.final_answer and question.quick_check and question.hint
    assert len(question.common_mistakes) == 3
    assert "[OK]" not in question.quick_check + question.hint


def test_truncated_practice_3_is_completed_from_seed_004(flashcards, challenges):
    mine, theirs = flashcards.question("p3"), challenges.question("p3")
    assert mine.snippet == theirs.snippet
    assert "004_965f0c1c2f54ac30.txt" in mine.errata


@pytest.mark.parametrize("qid", ["p1", "p2", "p3"])
def test_practice_shared_with_seed_004_carries_the_same_same_as_tag(qid, flashcards, challenges):
    mine = {t for t in flashcards.question(qid).tags if t.startswith("same-as-")}
    theirs = {t for t in challenges.question(qid).tags if t.startswith("same-as-")}
    assert mine and mine == theirs
    assert flashcards.question(qid).prompt == challenges.question(qid).prompt


# --- seed 004 specifics --------------------------------------------------------------------------------

@pytest.mark.parametrize("qid, category, level, seconds", [
    ("c1", "Conceptual", "intermediate", 120),
    ("c2", "Conceptual", "intermediate", 120),
    ("c3", "Model Choice", "advanced", 120),
    ("c4", "Metrics", "advanced", 120),
    ("c5", "Debug", "expert", 180),
])
def test_challenges_are_timed_with_two_attempts(qid, category, level, seconds, challenges):
    question = challenges.question(qid)
    assert (question.category, question.level, question.time_limit_s, question.attempts) == \
        (category, level, seconds, 2)
    assert question.hint and question.explanation
    assert "no key" in question.errata


def test_badge_is_earned_only_by_a_perfect_run(challenges):
    assert challenges.badge.name == "LoRA and QLoRA Mastery"
    assert challenges.badge.description == "Get all challenges correct to earn this badge!"
    assert challenges.badge.icon
    keys = {qid: key for name, qid, key in KEYS if name == "challenges"}
    perfect = score_answers(challenges, keys)
    assert perfect.percent == 100 and perfect.badge == "LoRA and QLoRA Mastery"
    one_wrong = score_answers(challenges, {**keys, "c5": "A"})
    assert one_wrong.score == 9 and one_wrong.badge is None


def test_debug_practice_shows_the_buggy_code(challenges):
    question = challenges.question("p4")
    assert _type(question) == "single_choice"
    assert "model_size + lora_size * quantization_factor" in question.snippet


@pytest.mark.parametrize("qid, steps", [("p1", 2), ("p2", 2), ("p3", 2), ("p4", 2), ("p5", 3)])
def test_challenge_bank_practice_has_worked_solutions(qid, steps, challenges):
    question = challenges.question(qid)
    assert question.difficulty and len(question.solution) == steps
    assert question.final_answer.endswith(f"Option {next(o.id for o in question.options if o.correct)}")
    assert question.quick_check and question.hint and len(question.common_mistakes) == 3
