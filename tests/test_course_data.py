"""The synthetic dataset (generator + committed files) and course.data.load_sentiment."""
from __future__ import annotations

import filecmp
import importlib.util
import json
import sys
import types
from collections import Counter
from pathlib import Path

import pytest

from course.data import DATA_DIR, Example, load_sentiment, stratified_subset
from course.env import PROFILES

from paths import ROOT


def _generator():
    spec = importlib.util.spec_from_file_location("make_sentiment", ROOT / "data" / "make_sentiment.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_sentiment", module)
    spec.loader.exec_module(module)
    return module


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_committed_files_are_exactly_what_the_generator_writes(tmp_path):
    gen = _generator()
    assert gen.main(["--out", str(tmp_path)]) == 0
    for split in ("train", "validation", "test"):
        assert filecmp.cmp(tmp_path / f"{split}.jsonl", DATA_DIR / f"{split}.jsonl", shallow=False), split


def test_generator_is_deterministic_and_seed_dependent(tmp_path):
    gen = _generator()
    sizes = {"train": 200, "validation": 40, "test": 40}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        gen.write_jsonl(gen.generate(sizes, seed=seed), tmp_path / name)
    assert filecmp.cmp(tmp_path / "a" / "train.jsonl", tmp_path / "b" / "train.jsonl", shallow=False)
    assert not filecmp.cmp(tmp_path / "a" / "train.jsonl", tmp_path / "c" / "train.jsonl", shallow=False)


def test_committed_splits_are_balanced_unique_and_small():
    rows = {s: _read(DATA_DIR / f"{s}.jsonl") for s in ("train", "validation", "test")}
    assert {s: len(r) for s, r in rows.items()} == {"train": 8000, "validation": 1000, "test": 1000}
    for split, split_rows in rows.items():
        counts = Counter(r["label"] for r in split_rows)
        assert counts[0] == counts[1], split
        assert all(set(r) == {"text", "label", "kind"} for r in split_rows), split
    texts = [r["text"] for split_rows in rows.values() for r in split_rows]
    assert len(set(texts)) == len(texts), "a review appears twice (possibly across splits)"
    assert sum(p.stat().st_size for p in DATA_DIR.glob("*.jsonl")) < 2 * 2**20


def test_label_noise_is_only_in_train_and_at_most_a_few_percent():
    gen = _generator()
    sizes = {"train": 2000, "validation": 200, "test": 200}
    clean, noisy = gen.generate(sizes, seed=3, train_noise=0.0), gen.generate(sizes, seed=3)
    flipped = sum(a.label != b.label for a, b in zip(clean["train"], noisy["train"]))
    assert flipped == round(gen.DEFAULT_TRAIN_NOISE * 2000)
    assert flipped / 2000 <= 0.03
    for split in ("validation", "test"):
        assert [r.label for r in clean[split]] == [r.label for r in noisy[split]]
    assert Counter(r.label for r in noisy["train"]) == {0: 1000, 1: 1000}


def test_single_words_are_weak_cues_outside_the_plain_share():
    """In the compositional reviews sentiment words occur in both classes: 'boring' is not a label by itself."""
    rows = [r for r in _read(DATA_DIR / "train.jsonl") if r["kind"] != "plain"]
    for word in ("boring", "great", "not", "but", "recommend"):
        labels = Counter(r["label"] for r in rows if word in r["text"].lower().split())
        share = labels[1] / (labels[0] + labels[1])
        assert 0.25 < share < 0.75, (word, labels)


@pytest.mark.parametrize("profile", ["smoke", "cpu", "gpu"])
def test_load_sentiment_sizes_follow_the_profile(profile):
    prof = PROFILES[profile]
    data = load_sentiment(profile=prof)
    assert len(data.train) == (prof.train_size or 8000)
    assert len(data.validation) == len(data.test) == (prof.eval_size or 1000)
    assert data.label_names == ("negative", "positive") and data.name == "synthetic"
    assert all(isinstance(ex, Example) and ex.label in (0, 1) for ex in data.train)


def test_load_sentiment_subsets_are_stratified_and_deterministic():
    a = load_sentiment(profile=PROFILES["cpu"], train_size=300, eval_size=101, seed=5)
    b = load_sentiment(profile=PROFILES["cpu"], train_size=300, eval_size=101, seed=5)
    c = load_sentiment(profile=PROFILES["cpu"], train_size=300, eval_size=101, seed=6)
    assert a.train == b.train and a.test == b.test
    assert a.train != c.train
    assert a.class_balance("train") == {"negative": 150, "positive": 150}
    assert sorted(a.class_balance("validation").values()) == [50, 51]
    assert not {ex.text for ex in a.train} & {ex.text for ex in a.test}


def test_stratified_subset_keeps_proportions():
    examples = [Example(f"t{i}", int(i < 30)) for i in range(100)]  # 30 % positive
    subset = stratified_subset(examples, 20, seed=0)
    assert Counter(ex.label for ex in subset) == {0: 14, 1: 6}
    assert stratified_subset(examples, None) == examples


class _FakeSplit(list):
    def __init__(self, rows, names):
        super().__init__(rows)
        self.column_names = list(rows[0])
        self.features = {"label": types.SimpleNamespace(names=names)}


def test_hub_dataset_fills_missing_splits(monkeypatch):
    """SST-2 style: test labels hidden (-1) -> validation becomes test, validation carved from train."""
    train = [{"sentence": f"s{i}", "label": i % 2, "idx": i} for i in range(200)]
    fake = types.ModuleType("datasets")
    fake.load_dataset = lambda name: {
        "train": _FakeSplit(train, ["neg", "pos"]),
        "validation": _FakeSplit([{"sentence": f"v{i}", "label": i % 2, "idx": i} for i in range(40)],
                                 ["neg", "pos"]),
        "test": _FakeSplit([{"sentence": f"x{i}", "label": -1, "idx": i} for i in range(40)], ["neg", "pos"]),
    }
    monkeypatch.setitem(sys.modules, "datasets", fake)
    data = load_sentiment("sst2", train_size=None, eval_size=None)
    assert data.name == "sst2" and data.label_names == ("neg", "pos")
    assert len(data.test) == 40 and all(ex.text.startswith("v") for ex in data.test)
    assert len(data.validation) == 20 and len(data.train) == 180
    assert not {ex.text for ex in data.validation} & {ex.text for ex in data.train}


def test_hub_dataset_without_datasets_package_explains(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(ImportError, match="pip install datasets"):
        load_sentiment("imdb")


def test_about_thirty_percent_of_reviews_are_plain_and_have_no_negation():
    """The easy share (data/README.md): plain evaluations whose words decide the label."""
    gen = _generator()
    fillers = [f for domain in gen.DOMAINS.values() for f in domain["fillers"]]
    negators = {"not", "n't", "never", "hardly", "neither", "nor", "but", "although", "though", "however"}
    for split in ("train", "validation", "test"):
        rows = _read(DATA_DIR / f"{split}.jsonl")
        plain = [r for r in rows if r["kind"] == "plain"]
        assert 0.27 < len(plain) / len(rows) < 0.33, split
        for row in plain:
            text = row["text"]
            for filler in fillers:  # neutral sentences such as "It is based on a novel I have not read."
                text = text.replace(filler, "")
            words = set(text.lower().replace("n't", " n't").replace(",", " ").replace(".", " ").split())
            assert not negators & words, row
