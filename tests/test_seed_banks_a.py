"""The banks transcribed from seeds 000, 002 and 003 keep the seeds' questions, keys and settings.

Why these tests: lessons and answer files refer to these banks by id and question id, and the keys
were read off tick marks and answer keys by hand. A transcription slip (a moved `correct: true`, a
lost question, a wrong pass mark) would silently mis-grade students, so every key is pinned here.
Where the seed documents are available, each prompt and option is also checked against the seed's
own wording, which catches paraphrases and dropped options.
"""
from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import pytest

from grader import load_bank

from paths import ROOT

QUIZZES = ROOT / "quizzes"
SEEDS = Path(os.environ.get("COURSE_SEEDS_DIR", "/work/shared/seeds"))

#: file stem -> (seed file, type of every question, key of every question, bank-level settings)
BANKS: dict[str, dict] = {
    "ibm-peft-graded-quiz": {
        "source": "000_554f6b7482aa7a6c.txt",
        "keys": {"q1": ["C"], "q2": ["C"], "q3": ["B"], "q4": ["A"], "q5": ["D"]},
        "types": {f"q{i}": "single_choice" for i in range(1, 6)},
        "settings": {"pass_percent": 80, "keep": "highest", "attempts": None, "time_limit_s": None},
    },
    "day48-lora-qlora": {
        "source": "002_410bd2ece56a659a.txt",
        "keys": {"q1": ["B"], "q2": ["C"], "q3": ["B"], "q4": ["C"], "q5": ["B"],
                 "q6": ["C"], "q7": ["C"], "q8": ["C"], "q9": ["B"], "q10": ["C"]},
        "types": {f"q{i}": "single_choice" for i in range(1, 11)},
        "settings": {"pass_percent": 80, "keep": "highest", "attempts": None, "time_limit_s": None,
                     "title": "Day 48 Quiz: Fine-tuning Techniques - LoRA & QLoRA"},
    },
    "coursera-peft-graded-quiz": {
        "source": "003_a6e845b297f947d4.txt",
        "keys": {"q1": ["B"], "q2": ["D"], "q3": ["A"], "q4": ["D"], "q5": ["D"]},
        "types": {"q1": "multiple_choice", **{f"q{i}": "single_choice" for i in range(2, 6)}},
        "settings": {"pass_percent": 80, "keep": "highest", "attempts": None, "time_limit_s": None},
    },
}

#: Questions that two seeds both ask carry the same `same-as-*` tag (checked here within these banks).
SHARED_TAGS = {
    "same-as-qlora-technique": {("ibm-peft-graded-quiz", "q1"), ("coursera-peft-graded-quiz", "q1")},
    "same-as-low-rank-technique": {("ibm-peft-graded-quiz", "q2"), ("coursera-peft-graded-quiz", "q2")},
    "same-as-low-rank-efficiency": {("ibm-peft-graded-quiz", "q3"), ("coursera-peft-graded-quiz", "q3")},
    # Also asked by seeds 001 and 004 (lora-qlora-flashcards-practice, lora-qlora-challenges).
    "same-as-qlora-vs-lora": {("day48-lora-qlora", "q4")},
}

#: Keys the course disputes but keeps from the seed: each must say why in `errata`.
DISPUTED = {
    ("ibm-peft-graded-quiz", "q4"): "LoraConfig",
    ("day48-lora-qlora", "q3"): "alpha / r",
    ("day48-lora-qlora", "q7"): "query",
    ("coursera-peft-graded-quiz", "q1"): "LoRA adaptation",
    ("coursera-peft-graded-quiz", "q4"): "alpha / rank",
    ("coursera-peft-graded-quiz", "q5"): "out_features",
}


def _bank(stem: str):
    return load_bank(QUIZZES / f"{stem}.yaml")


def _normalise(text: str) -> str:
    """Compare wording, not layout: NFKC, markdown emphasis dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).replace("**", "")
    return re.sub(r"\s+", " ", text).replace(" ,", ",").strip()


@pytest.mark.parametrize("stem", sorted(BANKS))
def test_bank_identity_and_settings(stem: str) -> None:
    expected = BANKS[stem]
    bank = _bank(stem)
    assert bank.id == stem
    assert bank.source == expected["source"]
    for field, value in expected["settings"].items():
        assert getattr(bank, field) == value, field


@pytest.mark.parametrize("stem", sorted(BANKS))
def test_every_seed_question_with_its_key(stem: str) -> None:
    expected = BANKS[stem]
    bank = _bank(stem)
    assert [q.id for q in bank.questions] == list(expected["keys"])
    assert {q.id: q.type for q in bank.questions} == expected["types"]
    assert {q.id: [o.id for o in q.options if o.correct] for q in bank.questions} == expected["keys"]
    # Seed order is kept: q1 is the seed's Q1, and so on.
    assert [q.seed_ref for q in bank.questions] == [f"Q{i}" for i in range(1, len(bank.questions) + 1)]
    for question in bank.questions:
        assert [o.id for o in question.options] == ["A", "B", "C", "D"], question.id
        assert question.explanation, f"{question.id}: every question of these seeds has an explanation"


def test_ibm_quick_checks_hold_the_summary_table_concepts() -> None:
    bank = _bank("ibm-peft-graded-quiz")
    assert [q.quick_check for q in bank.questions] == [
        "Key concept: QLoRA memory savings",
        "Key concept: Low-rank training",
        "Key concept: Parameter efficiency",
        "Key concept: Efficient fine-tuning",
        "Key concept: LoRA mechanism",
    ]


def test_coursera_code_question_offers_four_python_blocks() -> None:
    question = _bank("coursera-peft-graded-quiz").question("q4")
    for option in question.options:
        assert option.text.lstrip().startswith("```python"), option.id
        assert option.text.rstrip().endswith("```"), option.id
    assert "class LoRALayer" in question.options[0].text
    assert "load_state_dict" in question.options[1].text
    assert "LinearWithLoRA(model_lora.fc1" in question.options[2].text
    assert "return self.linear(x) + self.lora(x)" in question.options[3].text


@pytest.mark.parametrize(("stem", "qid"), sorted(DISPUTED))
def test_disputed_keys_are_explained(stem: str, qid: str) -> None:
    question = _bank(stem).question(qid)
    assert question.errata and DISPUTED[(stem, qid)] in _normalise(question.errata)


@pytest.mark.parametrize("tag", sorted(SHARED_TAGS))
def test_questions_asked_by_two_seeds_share_a_tag(tag: str) -> None:
    tagged = {(stem, q.id) for stem in BANKS for q in _bank(stem).questions if tag in q.tags}
    assert tagged == SHARED_TAGS[tag]


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"seed documents not available at {SEEDS}")
@pytest.mark.parametrize("stem", sorted(BANKS))
def test_prompts_and_options_keep_the_seed_wording(stem: str) -> None:
    bank = _bank(stem)
    seed = _normalise((SEEDS / bank.source).read_text(encoding="utf-8"))
    for question in bank.questions:
        assert _normalise(question.prompt) in seed, f"{question.id}: prompt not in the seed"
        if _normalise(question.explanation) not in seed:  # corrected: the errata must quote what the seed said
            quoted = _normalise(question.errata or "").split('"')[1::2]  # the quoted passages
            assert "explanation" in (question.errata or "") and any(q in seed for q in quoted), \
                f"{question.id}: explanation not in the seed, and no errata quoting the seed's explanation"
        for option in question.options:
            if option.text.lstrip().startswith("```"):
                code = [line.strip() for line in option.text.splitlines() if line.strip() and not line.startswith("```")]
                missing = [line for line in code if _normalise(line) not in seed]
                assert not missing, f"{question.id}{option.id}: code lines not in the seed: {missing}"
            else:
                assert _normalise(option.text) in seed, f"{question.id}{option.id}: option text not in the seed"
