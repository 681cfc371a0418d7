"""Every bank in quizzes/ loads, reproduces its seed, and states true code outputs."""
from __future__ import annotations

from collections import Counter

import pytest

from grader import load_bank
from grader.kinds import CodeOutputQuestion
from grader.scoring.normalize import normalize_output
from grader.snippets import run_snippet

from paths import ROOT

SEEDS = ROOT.parent / "shared" / "seeds"

#: seed file → (bank id, question count per type). The closing note's table comes from here.
EXPECTED = {
    "000_554f6b7482aa7a6c.txt": ("ibm-peft-graded-quiz", {"single_choice": 5}),
    "001_99495b15d4856a2b.txt": ("lora-qlora-flashcards-practice",
                                 {"flashcard": 5, "single_choice": 7, "free_response": 2, "code_output": 1}),
    "002_410bd2ece56a659a.txt": ("day48-lora-qlora", {"single_choice": 10}),
    "003_a6e845b297f947d4.txt": ("coursera-peft-graded-quiz", {"multiple_choice": 1, "single_choice": 4}),
    "004_965f0c1c2f54ac30.txt": ("lora-qlora-challenges", {"single_choice": 9, "code_output": 1}),
}

SEED_BANKS = [pytest.param(seed, bank_id, counts, id=bank_id) for seed, (bank_id, counts) in EXPECTED.items()]


@pytest.mark.parametrize("seed, bank_id, counts", SEED_BANKS)
def test_seed_bank_has_every_question(seed, bank_id, counts):
    bank = load_bank(ROOT / "quizzes" / f"{bank_id}.yaml")
    assert bank.id == bank_id and bank.source == seed
    assert dict(Counter(q.type for q in bank.questions)) == counts
    for q in bank.questions:
        assert q.seed_ref, f"{bank_id}:{q.id} does not say where it stands in the seed"


@pytest.mark.skipif(not SEEDS.is_dir(), reason="shared/seeds not beside the checkout")
@pytest.mark.parametrize("seed, bank_id, counts", SEED_BANKS)
def test_seed_file_exists(seed, bank_id, counts):
    assert (SEEDS / seed).is_file()


def test_bank_ids_are_unique_and_match_file_names():
    ids = Counter()
    for path in (ROOT / "quizzes").glob("*.yaml"):
        bank = load_bank(path)
        assert bank.id == path.stem
        ids[bank.id] += 1
    assert ids and max(ids.values()) == 1


def _code_output_questions():
    for path in sorted((ROOT / "quizzes").glob("*.yaml")):
        bank = load_bank(path)
        for q in bank.questions:
            if isinstance(q, CodeOutputQuestion):
                yield pytest.param(q, id=f"{bank.id}:{q.id}")


@pytest.mark.parametrize("question", list(_code_output_questions()))
def test_code_output_key_is_the_real_output(question):
    run = run_snippet(question.snippet, question.timeout_s)
    assert run.returncode == 0 and not run.timed_out, run.stderr
    assert normalize_output(run.stdout) == normalize_output(question.expected_output)


def test_questions_asked_by_two_seeds_share_a_tag():
    tags = Counter()
    for path in (ROOT / "quizzes").glob("*.yaml"):
        bank = load_bank(path)
        for t in {t for q in bank.questions for t in q.tags if t.startswith("same-as-")}:
            tags[t] += 1
    assert tags, "no shared same-as-* tags"
    assert all(n >= 2 for n in tags.values()), {t: n for t, n in tags.items() if n < 2}


def test_debatable_keys_carry_errata():
    q4 = load_bank(ROOT / "quizzes" / "ibm-peft-graded-quiz.yaml").question("q4")
    assert q4.errata and "LoraConfig" in q4.errata
