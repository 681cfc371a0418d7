"""The lessons' sentiment data: the offline synthetic reviews in ``data/``, or a hub dataset.

Every lesson trains on the same task, so results are comparable across lessons, and the
``Profile`` decides how much of it a run uses. Subsets are stratified (same class balance as the
full split) and deterministic (same ``seed``, same examples), so two runs in a rank sweep see
exactly the same data.
"""
from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from course._resources import resource_dir
from course.env import Profile, get_profile

__all__ = ["DATA_DIR", "HUB_ALIASES", "Example", "SentimentData", "load_sentiment", "stratified_subset"]

#: The committed dataset written by ``data/make_sentiment.py``: ``data/sentiment`` in a checkout, the
#: package data ``peft_course_data/sentiment`` when the course is pip-installed (Colab).
DATA_DIR = resource_dir("sentiment")
#: Short names for hub datasets with a text column and a 0/1 label column.
HUB_ALIASES = {"sst2": "stanfordnlp/sst2", "imdb": "stanfordnlp/imdb"}
_TEXT_COLUMNS = ("text", "sentence", "review", "content", "document")
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Example:
    """One review. ``kind`` names the construction that decides its label in the synthetic data
    ("contrast", "concession", …) and is empty for hub data; lessons use it to see which
    constructions a model gets wrong."""

    text: str
    label: int
    kind: str = ""


@dataclass
class SentimentData:
    """Train/validation/test lists of ``Example`` plus the names of the labels."""

    train: list[Example]
    validation: list[Example]
    test: list[Example]
    label_names: tuple[str, str] = ("negative", "positive")
    name: str = "synthetic"

    def split(self, split: str) -> list[Example]:
        """A split by name, for loops over ``("train", "validation", "test")``."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        return getattr(self, split)

    @property
    def sizes(self) -> dict[str, int]:
        return {s: len(self.split(s)) for s in SPLITS}

    def class_balance(self, split: str = "train") -> dict[str, int]:
        """Examples per label name in ``split``."""
        counts = {name: 0 for name in self.label_names}
        for ex in self.split(split):
            counts[self.label_names[ex.label]] += 1
        return counts

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={n}" for s, n in self.sizes.items())
        return f"SentimentData(name={self.name!r}, {sizes}, labels={self.label_names})"


def stratified_subset(examples: Sequence[Example], size: int | None, *, seed: int = 0) -> list[Example]:
    """``size`` examples with the class proportions of ``examples``, chosen by ``seed``.

    ``None`` or a size at least ``len(examples)`` keeps everything (in the original order).
    The result is shuffled so classes are interleaved, and the same arguments always give the
    same list.
    """
    if size is None or size >= len(examples):
        return list(examples)
    if size < 0:
        raise ValueError(f"subset size must be >= 0, got {size}")
    rng = random.Random(seed)
    by_label: dict[int, list[Example]] = {}
    for ex in examples:
        by_label.setdefault(ex.label, []).append(ex)
    labels = sorted(by_label)
    # Largest-remainder allocation: every class gets its share, rounding leftovers to the
    # classes with the biggest fractional parts, so the total is exactly ``size``.
    shares = {y: size * len(by_label[y]) / len(examples) for y in labels}
    counts = {y: int(shares[y]) for y in labels}
    leftover = size - sum(counts.values())
    for y in sorted(labels, key=lambda y: (counts[y] - shares[y], y))[:leftover]:
        counts[y] += 1
    chosen: list[Example] = []
    for y in labels:
        chosen.extend(rng.sample(by_label[y], counts[y]))
    rng.shuffle(chosen)
    return chosen


def _read_jsonl(path: Path) -> list[Example]:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing. In a clone of the course regenerate it with `python data/make_sentiment.py`; "
            "an installed course brings it as package data: reinstall it with "
            "`pip install --force-reinstall 'peft-course @ git+<the course repository URL>'`"
        )
    with path.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [Example(text=r["text"], label=int(r["label"]), kind=r.get("kind", "")) for r in rows]


def _load_synthetic(data_dir: Path) -> dict[str, list[Example]]:
    return {split: _read_jsonl(data_dir / f"{split}.jsonl") for split in SPLITS}


def _rows_to_examples(rows: Iterable[dict], text_column: str) -> list[Example]:
    return [Example(text=str(r[text_column]), label=int(r["label"])) for r in rows]


def _load_hub(dataset_id: str, *, seed: int) -> tuple[dict[str, list[Example]], tuple[str, str]]:
    """Load a hub dataset with a text column and a 0/1 ``label`` column via ``datasets``.

    Missing or unlabeled splits are filled the usual way: SST-2's test labels are hidden (-1), so
    its validation split becomes the test split and a validation split is carved out of train;
    IMDb has no validation split, so one is carved out of train (10 %, stratified).
    """
    try:
        import datasets  # noqa: PLC0415 — optional, only for hub data
    except ImportError as err:
        raise ImportError(
            f"loading {dataset_id!r} needs the 'datasets' package (`pip install datasets`) and "
            "access to the Hugging Face Hub; without them use load_sentiment() for the bundled data"
        ) from err
    try:
        raw = datasets.load_dataset(dataset_id)
    except Exception as err:  # the hub raises many types: connection, offline mode, not found
        raise RuntimeError(
            f"could not load {dataset_id!r} from the Hugging Face Hub ({type(err).__name__}: {err}). "
            "Is the hub reachable (HF_HUB_OFFLINE unset)? Offline, use load_sentiment() for the "
            "bundled synthetic reviews."
        ) from err
    columns = list(raw["train"].column_names)
    text_column = next((c for c in _TEXT_COLUMNS if c in columns), None)
    if text_column is None or "label" not in columns:
        raise ValueError(
            f"{dataset_id!r} needs a 'label' column and one of {_TEXT_COLUMNS}; it has {columns}"
        )
    names = None
    label_feature = getattr(raw["train"], "features", {}).get("label")
    if getattr(label_feature, "names", None) and len(label_feature.names) == 2:
        names = tuple(label_feature.names)

    def labelled(split: str) -> list[Example]:
        if split not in raw:
            return []
        return [ex for ex in _rows_to_examples(raw[split], text_column) if ex.label >= 0]

    train, validation, test = labelled("train"), labelled("validation"), labelled("test")
    if not test:
        test, validation = validation, []
    if not validation:
        n_val = max(1, len(train) // 10)
        validation = stratified_subset(train, n_val, seed=seed)
        held_out = set(map(id, validation))
        train = [ex for ex in train if id(ex) not in held_out]
    return {"train": train, "validation": validation, "test": test}, names or ("negative", "positive")


def load_sentiment(
    name: str | None = None,
    *,
    profile: Profile | None = None,
    train_size: int | None = None,
    eval_size: int | None = None,
    seed: int = 0,
    data_dir: str | Path | None = None,
) -> SentimentData:
    """The lessons' sentiment task, cut to the profile's size.

    ``name``: ``None`` or ``"synthetic"`` reads the committed reviews in ``data/sentiment``
    (offline); ``"sst2"``, ``"imdb"`` or any hub dataset id with a text and a ``label`` column
    is loaded with the ``datasets`` package when the hub is reachable.
    ``train_size``/``eval_size`` default to ``profile`` (default: ``get_profile()``);
    ``eval_size`` applies to validation and test alike. For whole splits use
    ``profile=get_profile("gpu")`` or a size at least as large as the split.
    """
    profile = profile or get_profile()
    train_size = profile.train_size if train_size is None else train_size
    eval_size = profile.eval_size if eval_size is None else eval_size
    label_names: tuple[str, str] = ("negative", "positive")
    if name in (None, "synthetic"):
        splits = _load_synthetic(Path(data_dir) if data_dir else DATA_DIR)
        name = "synthetic"
    else:
        splits, label_names = _load_hub(HUB_ALIASES.get(name, name), seed=seed)
    return SentimentData(
        train=stratified_subset(splits["train"], train_size, seed=seed),
        validation=stratified_subset(splits["validation"], eval_size, seed=seed + 1),
        test=stratified_subset(splits["test"], eval_size, seed=seed + 2),
        label_names=label_names,
        name=name,
    )
