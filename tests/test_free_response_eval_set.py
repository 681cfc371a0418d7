"""The hand-labelled free-response evaluation set (tests/fixtures/free_response_eval.yaml) stays usable.

The benchmark (benchmarks/free_response.py) and the meaning checker's tests read that file; a
missing label, a concept the bank renamed, a typo in a category or a set that shrank would silently
skew the agreement numbers instead of failing. So every structural rule is checked here against the
bank itself (concept ids come from ``grader.load_bank``, never from a copy), and the checks are
themselves tested on broken copies of the set, so they cannot pass vacuously.
"""
from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from paths import FIXTURES, ROOT
from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError

from grader import load_bank

EVAL_SET = FIXTURES / "free_response_eval.yaml"
LABELS = ("found", "missing", "contradicted")
CATEGORIES = ("paraphrase", "model-like", "partial", "keyword-stuffed", "negated", "mixed",
              "off-topic", "word-order", "short", "long")
TOP_KEYS = {"bank", "labels", "questions"}
ITEM_KEYS = {"id", "category", "answer", "labels"}
OPTIONAL_ITEM_KEYS = {"note"}
MIN_ANSWERS = 45
MIN_PER_CATEGORY = 3
MIN_CONTRADICTING = 10
LONG_WORDS = (150, 300)
SHORT_MAX_WORDS = 12

ISSUE_EXAMPLES = {
    # Quoted in issue 15 (the two ending in '…' are quoted there only up to that point).
    "fr1": ["keeps the pretrained network untouched and learns a pair of thin matrices whose product is added to each weight",
            "LoRA freezes the low rank matrices and trains all the other parameters, so it uses more memory than full fine-tuning",
            "LoRA is a data augmentation technique. It is not about low-rank adapters or frozen weights or fewer trainable parameters"],
    "fr2": ["QLoRA removes the LoRA adapters and quantizes the gradients"],
}


def read_eval_set(path: Path = EVAL_SET) -> dict[str, Any]:
    """Parse with ruamel's safe loader, which refuses duplicate keys (PyYAML keeps the last one, so a
    concept labelled twice would hide the first label)."""
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def bank_concepts(bank_path: str) -> dict[str, list[str]]:
    """Concept ids of every free-response question of the bank the set names, in bank order."""
    bank = load_bank(ROOT / bank_path)
    return {q.id: [c.id for c in q.concepts] for q in bank.questions if q.type == "free_response"}


def _item_problems(where: str, item: Any, concepts: list[str]) -> list[str]:
    if not isinstance(item, dict):
        return [f"{where}: an item is a mapping, got {type(item).__name__}"]
    problems = []
    if missing := ITEM_KEYS - item.keys():
        problems.append(f"{where}: missing key(s) {sorted(missing)}")
    if unknown := item.keys() - ITEM_KEYS - OPTIONAL_ITEM_KEYS:
        problems.append(f"{where}: unknown key(s) {sorted(unknown)}")
    if item.get("category") not in CATEGORIES:
        problems.append(f"{where}: unknown category {item.get('category')!r} (one of {', '.join(CATEGORIES)})")
    answer = item.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        problems.append(f"{where}: answer must be non-empty text")
        return problems
    words = len(answer.split())
    if item.get("category") == "long" and not LONG_WORDS[0] <= words <= LONG_WORDS[1]:
        problems.append(f"{where}: a long answer has {LONG_WORDS[0]}-{LONG_WORDS[1]} words, this one {words}")
    if item.get("category") == "short" and words > SHORT_MAX_WORDS:
        problems.append(f"{where}: a short answer has at most {SHORT_MAX_WORDS} words, this one {words}")
    labels = item.get("labels")
    if not isinstance(labels, dict):
        problems.append(f"{where}: labels must map each concept id to one of {LABELS}")
        return problems
    if labels.keys() != set(concepts):
        problems.append(f"{where}: labels must cover exactly the concepts {concepts}, "
                        f"missing {sorted(set(concepts) - labels.keys())}, unknown {sorted(labels.keys() - set(concepts))}")
    for concept, label in labels.items():
        if label not in LABELS:
            problems.append(f"{where}: label {label!r} for {concept} is not one of {LABELS}")
    return problems


def _question_problems(qid: str, items: Any, concepts: list[str]) -> list[str]:
    if not isinstance(items, list):
        return [f"{qid}: expected a list of answers"]
    problems = []
    for index, item in enumerate(items):
        where = f"{qid}[{index}] ({item.get('id') if isinstance(item, dict) else '?'})"
        problems += _item_problems(where, item, concepts)
        if isinstance(item, dict) and not str(item.get("id", "")).startswith(f"{qid}-"):
            problems.append(f"{where}: id should start with '{qid}-'")
    items = [item for item in items if isinstance(item, dict)]
    if len(items) < MIN_ANSWERS:
        problems.append(f"{qid}: {len(items)} answers, at least {MIN_ANSWERS} needed")
    per_category = Counter(item.get("category") for item in items)
    for category in CATEGORIES:
        if per_category[category] < MIN_PER_CATEGORY:
            problems.append(f"{qid}: category {category} has {per_category[category]} answers, "
                            f"at least {MIN_PER_CATEGORY} needed")
    contradicting = sum("contradicted" in (item.get("labels") or {}).values() for item in items)
    if contradicting < MIN_CONTRADICTING:
        problems.append(f"{qid}: {contradicting} answers contradict a concept, at least {MIN_CONTRADICTING} needed")
    answers = Counter(" ".join(str(item.get("answer", "")).split()).casefold() for item in items)
    problems += [f"{qid}: answer repeated {n} times: {text[:60]!r}" for text, n in answers.items() if n > 1]
    return problems


def eval_set_problems(data: Any, concepts_by_question: dict[str, list[str]]) -> list[str]:
    """Every way ``data`` (the parsed set) breaks the rules above, all at once (empty when usable)."""
    if not isinstance(data, dict):
        return ["the evaluation set is a mapping with keys bank, labels, questions"]
    problems = []
    if data.keys() != TOP_KEYS:
        problems.append(f"top-level keys must be {sorted(TOP_KEYS)}, got {sorted(data.keys())}")
    definitions = data.get("labels")
    if not isinstance(definitions, dict) or set(definitions) != set(LABELS) \
            or not all(isinstance(text, str) and text.strip() for text in definitions.values()):
        problems.append(f"labels: define each of {LABELS} in words")
    questions = data.get("questions")
    if not isinstance(questions, dict):
        return problems + ["questions: expected a mapping of question id to answers"]
    if questions.keys() != concepts_by_question.keys():
        problems.append(f"questions must be the bank's free responses {sorted(concepts_by_question)}, "
                        f"got {sorted(questions)}")
    ids = Counter(item.get("id") for items in questions.values() if isinstance(items, list)
                  for item in items if isinstance(item, dict))
    problems += [f"item id {item_id!r} used {n} times" for item_id, n in ids.items() if n > 1]
    for qid, items in questions.items():
        if qid in concepts_by_question:
            problems += _question_problems(qid, items, concepts_by_question[qid])
    return problems


@pytest.fixture(scope="module")
def eval_set() -> dict[str, Any]:
    return read_eval_set()


@pytest.fixture(scope="module")
def concepts(eval_set) -> dict[str, list[str]]:
    return bank_concepts(eval_set["bank"])


def test_names_a_bank_with_free_responses(eval_set, concepts):
    assert (ROOT / eval_set["bank"]).is_file()
    assert set(concepts) == {"fr1", "fr2"}
    assert all(len(ids) == 4 for ids in concepts.values())  # the seed's /4 scale


def test_eval_set_is_well_formed(eval_set, concepts):
    problems = eval_set_problems(eval_set, concepts)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("qid", sorted(ISSUE_EXAMPLES))
def test_issue_examples_are_items(eval_set, qid):
    answers = [item["answer"] for item in eval_set["questions"][qid]]
    for example in ISSUE_EXAMPLES[qid]:
        assert any(answer.startswith(example) for answer in answers), f"issue 15's example missing: {example!r}"


def test_issue_contradictions_are_labelled_contradicted(eval_set):
    """The answers issue 15 saw credited must carry the denials the checker is measured against."""
    by_answer = {item["answer"]: item["labels"] for items in eval_set["questions"].values() for item in items}
    augmentation = by_answer[ISSUE_EXAMPLES["fr1"][2]]
    assert {augmentation[c] for c in ("low-rank-matrices", "frozen-base", "fewer-trainable-parameters")} == {"contradicted"}
    reversed_roles = by_answer[ISSUE_EXAMPLES["fr1"][1]]
    assert reversed_roles["frozen-base"] == reversed_roles["saves-resources"] == "contradicted"
    removed = next(labels for answer, labels in by_answer.items() if answer.startswith(ISSUE_EXAMPLES["fr2"][0]))
    assert removed["lora-adapters-kept"] == "contradicted"


def _first(data: dict[str, Any], qid: str = "fr1") -> dict[str, Any]:
    return data["questions"][qid][0]


def _drop_category(data: dict[str, Any], category: str) -> None:
    data["questions"]["fr2"] = [i for i in data["questions"]["fr2"] if i["category"] != category]


def _uncontradict(data: dict[str, Any]) -> None:
    for item in data["questions"]["fr1"]:
        item["labels"] = {c: "missing" if v == "contradicted" else v for c, v in item["labels"].items()}


BREAKAGES: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("label dropped", lambda d: _first(d)["labels"].pop("frozen-base"), r"missing \['frozen-base'\]"),
    ("concept renamed", lambda d: _first(d)["labels"].update({"low-rank": "found"}), r"unknown \['low-rank'\]"),
    ("bad label value", lambda d: _first(d)["labels"].update({"frozen-base": "partly"}), "'partly' for frozen-base"),
    ("bad category", lambda d: _first(d).update({"category": "paraphrased"}), "unknown category 'paraphrased'"),
    ("duplicate id", lambda d: _first(d, "fr2").update({"id": _first(d)["id"]}), "used 2 times"),
    ("empty answer", lambda d: _first(d).update({"answer": "  "}), "non-empty text"),
    ("typo in a key", lambda d: _first(d).update({"notes": "x"}), r"unknown key\(s\) \['notes'\]"),
    ("too few answers", lambda d: d["questions"]["fr1"].__delitem__(slice(44, None)), "44 answers, at least 45"),
    ("category gone", lambda d: _drop_category(d, "word-order"), "category word-order has 0 answers"),
    ("no contradictions", _uncontradict, "0 answers contradict a concept"),
    ("question missing", lambda d: d["questions"].pop("fr2"), "must be the bank's free responses"),
    ("long answer cut", lambda d: next(i for i in d["questions"]["fr1"] if i["category"] == "long")
     .update({"answer": "too short now"}), "a long answer has 150-300 words"),
    ("repeated answer", lambda d: d["questions"]["fr2"][1].update({"answer": _first(d, "fr2")["answer"]}),
     "answer repeated 2 times"),
    ("definition gone", lambda d: d["labels"].pop("contradicted"), "labels: define each"),
]


@pytest.mark.parametrize("mutate, expected", [(m, e) for _, m, e in BREAKAGES], ids=[n for n, _, _ in BREAKAGES])
def test_broken_copies_are_caught(eval_set, concepts, mutate, expected):
    broken = copy.deepcopy(eval_set)
    mutate(broken)
    problems = eval_set_problems(broken, concepts)
    assert any(re.search(expected, p) for p in problems), "\n".join(problems) or "no problem found"


def test_duplicate_keys_in_the_file_are_refused(tmp_path):
    text = EVAL_SET.read_text(encoding="utf-8").replace(
        "labels: {low-rank-matrices: found,", "labels: {low-rank-matrices: found, low-rank-matrices: missing,", 1)
    path = tmp_path / "eval.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DuplicateKeyError, match="duplicate key"):
        read_eval_set(path)
