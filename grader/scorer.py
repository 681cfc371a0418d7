"""Scoring a bank: each answer goes to its kind's scorer (looked up in the registry), and the
verdicts become one :class:`~grader.scoring.QuizResult`. Pure: no I/O, no UI."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .bank import Bank
from .kinds import KINDS, Registry
from .models.question import QuestionBase
from .scoring import ProbeOutcome, QuestionResult, QuizResult
from .scoring.verdict import build_result

__all__ = ["score_answers", "score_question", "describe_key"]


def score_question(question: QuestionBase, answer: Any, *, reveal_key: bool = True,
                   code_outcomes: Mapping[str, ProbeOutcome | bool] | None = None,
                   registry: Registry = KINDS) -> QuestionResult:
    """Score one answer. ``code_outcomes`` are the trusted probe verdicts of a ``code`` question."""
    kind = registry.of(question)
    verdict = kind.score(question, answer, code_outcomes)
    if verdict.correct_answer is None and verdict.status in ("unanswered", "invalid"):
        verdict.correct_answer = kind.key_text(question)
    return build_result(question, verdict, reveal_key=reveal_key)


def describe_key(question: QuestionBase, registry: Registry = KINDS) -> str | None:
    """The key in words, for feedback on unanswered or unreadable answers."""
    return registry.of(question).key_text(question)


def score_answers(bank: Bank, answers: Mapping[str, Any], *, reveal_key: bool = True,
                  code_outcomes: Mapping[str, Mapping[str, ProbeOutcome | bool]] | None = None,
                  registry: Registry = KINDS) -> QuizResult:
    """Score ``answers`` (question id → answer) against ``bank``.

    Missing answers score 0 as 'unanswered'; answers for ids the bank lacks are listed in
    ``unknown_ids``; malformed answers score 0 as 'invalid' with the reason. Never raises for bad answers.
    """
    if not isinstance(answers, Mapping):
        raise TypeError(f"answers must be a mapping of question id to answer, got {type(answers).__name__}")
    code_outcomes = code_outcomes or {}
    results = [score_question(q, answers.get(q.id), reveal_key=reveal_key, code_outcomes=code_outcomes.get(q.id),
                              registry=registry)
               for q in bank.questions]
    score = round(sum(r.points for r in results), 4)
    max_score = float(bank.max_score)
    percent = round(100.0 * score / max_score, 2) if max_score else 0.0
    passed = max_score > 0 and percent + 1e-9 >= bank.pass_percent
    required = set(bank.badge_question_ids())
    needed = [r for r in results if r.id in required]
    badge = bank.badge.name if bank.badge and needed and all(r.status == "correct" for r in needed) else None
    known = set(bank.question_ids)
    unknown = [str(k) for k in answers if k not in known]
    return QuizResult(bank_id=bank.id, score=score, max_score=max_score, percent=percent, passed=passed,
                      pass_percent=bank.pass_percent, questions=results, unknown_ids=unknown, badge=badge)
