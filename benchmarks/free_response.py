"""Benchmark: the free-response concept checkers against hand labels — keywords vs meaning, side by side.

    .venv/bin/python benchmarks/free_response.py              # the table for docs/benchmarks.md
    .venv/bin/python benchmarks/free_response.py --show fr1   # and every disagreement on fr1

Reads the labelled evaluation set ``tests/fixtures/free_response_eval.yaml`` (116 answers to the
two free responses of ``quizzes/lora-qlora-flashcards-practice.yaml``, each concept labelled found,
missing or contradicted by hand, independently of either checker) and scores every answer with

* the keyword checker (the author's keywords and patterns: what runs when the model can't be loaded),
* the meaning checker (:mod:`grader.meaning`: all-MiniLM-L6-v2 similarity to the concept's statement
  and paraphrases, denied by its contradictions, negations and antonyms).

Reported per checker: agreement on credit (the concept credited or not, as the score counts it),
agreement on all three states (keywords never say "contradicted"), **false credits** (a concept
credited although the answer contradicts it: the goal is none), false contradictions (a concept
the answer states or leaves out reported as contradicted), and latency per answer on this machine
(median, p95; the meaning checker after its first call, which loads the model). The set is split
in two by id (odd/even number): the meaning checker's thresholds and bank fields were set looking
at the "dev" half, so the "held-out" half is the fairer number.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader import load_bank  # noqa: E402
from grader.kinds.free_response import FreeResponseQuestion, keyword_checks  # noqa: E402
from grader.meaning.judge import load_judge  # noqa: E402

EVAL_SET = ROOT / "tests" / "fixtures" / "free_response_eval.yaml"


def load_items() -> tuple[dict[str, FreeResponseQuestion], list[dict]]:
    data = YAML(typ="safe").load(EVAL_SET.read_text(encoding="utf-8"))
    bank = load_bank(ROOT / data["bank"])
    questions = {q.id: q for q in bank.questions if isinstance(q, FreeResponseQuestion)}
    items = [dict(item, question=qid) for qid, entries in data["questions"].items() for item in entries]
    return questions, items


def split_of(item_id: str) -> str:
    """'dev' for ids ending in an even number, else 'held-out'."""
    digits = "".join(c for c in item_id.rsplit("-", 1)[-1] if c.isdigit())
    return "dev" if digits and int(digits) % 2 == 0 else "held-out"


def evaluate(questions: dict, items: list[dict], checker, name: str) -> dict:
    rows = []
    times = []
    for item in items:
        question = questions[item["question"]]
        start = time.perf_counter()
        states = {c.id: c.state for c in checker(question, item["answer"])}
        times.append(time.perf_counter() - start)
        for concept, label in item["labels"].items():
            rows.append((item, concept, label, states[concept]))
    return {"name": name, "rows": rows, "times": times}


def metrics(rows: list[tuple]) -> dict:
    n = len(rows)
    credit = sum((label == "found") == (got == "found") for _, _, label, got in rows)
    exact = sum(label == got for _, _, label, got in rows)
    contradicted = [r for r in rows if r[2] == "contradicted"]
    false_credit = sum(r[3] == "found" for r in contradicted)
    caught = sum(r[3] == "contradicted" for r in contradicted)
    false_contra = sum(r[3] == "contradicted" and r[2] != "contradicted" for r in rows)
    answers_with_false_credit = len({r[0]["id"] for r in contradicted if r[3] == "found"})
    return {"pairs": n, "credit": credit / n, "exact": exact / n, "false_credit": false_credit,
            "contradicted": len(contradicted), "caught": caught, "false_contra": false_contra,
            "answers_false_credit": answers_with_false_credit}


def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", nargs="*", default=None, help="print disagreements (optionally of these question ids)")
    args = parser.parse_args()
    questions, items = load_items()
    judge = load_judge()
    start = time.perf_counter()
    judge.judge(next(iter(questions.values())), "warm up: loads the model and embeds the references")
    for q in questions.values():
        judge.judge(q, "warm up")
    first = time.perf_counter() - start
    runs = [evaluate(questions, items, keyword_checks, "keywords"),
            evaluate(questions, items, lambda q, a: judge.judge(q, a).checks, "meaning")]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{len(items)} answers, {sum(len(i['labels']) for i in items)} (answer, concept) pairs; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"meaning checker: model load + reference embeddings {first:.2f} s (first check of a session)\n")
    header = ("| checker | split | credit agreement | 3-state agreement | false credits (contradicted pairs) "
              "| contradictions caught | false contradictions | median ms | p95 ms |")
    print(header)
    print("|" + "---|" * header.count("|")[:-1] if False else "|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        ms = sorted(t * 1000 for t in run["times"])
        for split in ("all", "dev", "held-out"):
            rows = [r for r in run["rows"] if split == "all" or split_of(r[0]["id"]) == split]
            m = metrics(rows)
            timing = (f"{statistics.median(ms):.1f} | {ms[int(0.95 * (len(ms) - 1))]:.1f}" if split == "all" else " | ")
            print(f"| {run['name']} | {split} | {pct(m['credit'])} | {pct(m['exact'])} | {m['false_credit']} of "
                  f"{m['contradicted']} ({m['answers_false_credit']} answers) | {m['caught']} of {m['contradicted']} | "
                  f"{m['false_contra']} | {timing} |")
    by_category = Counter()
    for run in runs:
        for item, _, label, got in run["rows"]:
            by_category[(run["name"], item["category"], (label == "found") == (got == "found"))] += 1
    print("\ncredit agreement by category:")
    cats = sorted({k[1] for k in by_category})
    print("| category | " + " | ".join(r["name"] for r in runs) + " |")
    print("|---|" + "---|" * len(runs))
    for cat in cats:
        cells = []
        for run in runs:
            ok, bad = by_category[(run["name"], cat, True)], by_category[(run["name"], cat, False)]
            cells.append(pct(ok / (ok + bad)))
        print(f"| {cat} | " + " | ".join(cells) + " |")
    if args.show is not None:
        meaning = runs[1]
        details = {(i["id"]): i for i in items}
        print("\ndisagreements of the meaning checker:")
        for item, concept, label, got in meaning["rows"]:
            if label != got and (not args.show or item["question"] in args.show):
                check = next(c for c in judge.judge(questions[item["question"]], item["answer"]).checks if c.id == concept)
                print(f"- {item['id']} [{split_of(item['id'])}] {concept}: label {label}, got {got} "
                      f"({check.similarity}) «{check.evidence[:90]}» {check.why[:60]}")
        del details


if __name__ == "__main__":
    main()
