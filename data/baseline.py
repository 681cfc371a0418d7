"""Bag-of-words baseline for the course sentiment data: how far do single words get you?

A unigram logistic regression sees which words occur but not their order or scope, so it cannot
tell "not bad" from "bad, not good" or see which side of a "but" a word is on. Its accuracy is the
bar a fine-tuned encoder has to clear for the lessons' sweeps to mean something; ``data/README.md``
records the number this script prints.

    python data/baseline.py            # overall and per-construction test accuracy
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

HERE = Path(__file__).resolve().parent


def read_split(folder: Path, split: str) -> list[dict]:
    with (folder / f"{split}.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def bow_baseline(folder: Path = HERE / "sentiment", *, ngram_max: int = 1) -> dict:
    """Fit on train (regularisation chosen by 5-fold CV), score validation and test.

    Returns overall accuracies and test accuracy per construction (``kind``), so a reader can see
    which constructions words alone handle (plain clauses) and which they cannot (negation, contrast).
    """
    train, val, test = (read_split(folder, s) for s in ("train", "validation", "test"))
    vectorizer = CountVectorizer(ngram_range=(1, ngram_max), lowercase=True,
                                 token_pattern=r"(?u)\b\w[\w']*\b")
    x_train = vectorizer.fit_transform(r["text"] for r in train)
    search = GridSearchCV(LogisticRegression(max_iter=2000), {"C": [0.01, 0.1, 1.0, 10.0]}, cv=5)
    search.fit(x_train, [r["label"] for r in train])
    model = search.best_estimator_

    def accuracy(rows: list[dict]) -> float:
        pred = model.predict(vectorizer.transform(r["text"] for r in rows))
        return float(sum(int(p == r["label"]) for p, r in zip(pred, rows)) / len(rows))

    by_kind: dict[str, list[dict]] = defaultdict(list)
    for r in test:
        by_kind[r.get("kind", "all")].append(r)
    return {
        "ngram_max": ngram_max,
        "C": search.best_params_["C"],
        "train_accuracy": accuracy(train),
        "validation_accuracy": accuracy(val),
        "test_accuracy": accuracy(test),
        "test_accuracy_by_kind": {k: accuracy(v) for k, v in sorted(by_kind.items())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bag-of-words logistic regression baseline.")
    parser.add_argument("--data", type=Path, default=HERE / "sentiment")
    parser.add_argument("--ngram-max", type=int, default=1,
                        help="1 = unigrams (the documented baseline); 2 adds bigrams")
    args = parser.parse_args(argv)
    result = bow_baseline(args.data, ngram_max=args.ngram_max)
    print(f"bag of words (1..{result['ngram_max']}-grams, C={result['C']}): "
          f"train {result['train_accuracy']:.3f}  validation {result['validation_accuracy']:.3f}  "
          f"test {result['test_accuracy']:.3f}")
    for kind, acc in result["test_accuracy_by_kind"].items():
        print(f"  test {kind:<12} {acc:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
