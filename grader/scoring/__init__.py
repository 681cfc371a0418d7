"""Pure scoring: a bank and answers in, a :class:`QuizResult` out. No I/O, no UI."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..models import Bank
from ..models.questions import (CodeOutputQuestion, CodeQuestion, FlashcardQuestion, FreeResponseQuestion,
                                MultipleChoiceQuestion, NumericQuestion, SingleChoiceQuestion, TextQuestion)
from .choice import key_text, multi_select_fraction, score_code_output, score_multiple, score_single
from .code import ProbeOutcome, score_code
from .concepts import score_flashcard, score_free_response
from .result import QuestionResult, QuizResult
from .typed import score_numeric, score_text
from .verdict import build_result

__all__ = ["score_answers", "score_question", "QuizResult", "QuestionResult", "ProbeOutcome",
           "multi_select_fraction"]

_SCORERS = {
    SingleChoiceQuestion: score_single,
    MultipleChoiceQuestion: score_multiple,
    NumericQuestion: score_numeric,
    TextQuestion: score_text,
    CodeOutputQuestion: score_code_output,
    FreeResponseQuestion: score_free_response,
    FlashcardQuestion: score_flashcard,
}


def score_question(question, answer: Any, *, reveal_key: bool = True,
                   code_outcomes: Mapping[str, ProbeOutcome | bool] | None = None) -> QuestionResult:
    """Score one answer. ``code_outcomes`` are the trusted probe verdicts of a ``code`` question."""
    if isinstance(question, CodeQuestion):
        verdict = score_code(question, code_outcomes)
    else:
        verdict = _SCORERS[type(question)](question, answer)
    if verdict.correct_answer is None and verdict.status in ("unanswered", "invalid"):
        verdict.correct_answer = describe_key(question)
    return build_result(question, verdict, reveal_key=reveal_key)


def describe_key(question) -> str | None:
    """The key in words, for feedback on unanswered or unreadable answers."""
    if isinstance(question, (SingleChoiceQuestion, MultipleChoiceQuestion)):
        return key_text(question)
    if isinstance(question, CodeOutputQuestion):
        return key_text(question) if question.options is not None else (question.expected_output or None)
    if isinstance(question, NumericQuestion) and question.answer is not None:  # None: a hashed student copy
        return f"{question.answer:g}" + (f" {question.unit}" if question.unit else "")
    if isinstance(question, TextQuestion) and question.answers:
        return question.answers[0]
    return None


def score_answers(bank: Bank, answers: Mapping[str, Any], *, reveal_key: bool = True,
                  code_outcomes: Mapping[str, Mapping[str, ProbeOutcome | bool]] | None = None) -> QuizResult:
    """Score ``answers`` (question id → answer) against ``bank``.

    Missing answers score 0 as 'unanswered'; answers for ids the bank lacks are listed in
    ``unknown_ids``; malformed answers score 0 as 'invalid' with the reason. Never raises for bad answers.
    """
    if not isinstance(answers, Mapping):
        raise TypeError(f"answers must be a mapping of question id to answer, got {type(answers).__name__}")
    code_outcomes = code_outcomes or {}
    results = [score_question(q, answers.get(q.id), reveal_key=reveal_key, code_outcomes=code_outcomes.get(q.id))
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
