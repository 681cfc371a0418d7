"""Pure scoring primitives: verdicts, results, normalisation, time-limited patterns, the choice rules.

Per-kind scoring lives with each kind (``grader.kinds``); scoring a whole bank is
:func:`grader.scorer.score_answers` (also ``grader.score_answers``). This package sits below the
kinds and knows none of them by name.
"""
from __future__ import annotations

from .choice import multi_select_fraction
from .code import ProbeOutcome
from .result import ConceptCheck, QuestionResult, QuizResult
from .verdict import Verdict

__all__ = ["ConceptCheck", "QuizResult", "QuestionResult", "ProbeOutcome", "Verdict", "multi_select_fraction"]
