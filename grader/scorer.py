"""Scoring a bank: each answer goes to its kind's scorer (looked up in the registry), and the
verdicts become one :class:`~grader.scoring.QuizResult`. Pure: no I/O, no UI.

What the submission readers and the sandbox found about one question ("q3: `answer` must be a plain
value…", "lora-layer: your code ran past the time limit") is that question's: :func:`score_answers`
shows it at the question, and when the question has no answer it is the reason for the 0, so every
zero says why where the student looks for it.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from .bank import Bank
from .kinds import KINDS, Registry
from .models.question import QuestionBase
from .scoring import ProbeOutcome, QuestionResult, QuizResult
from .scoring.verdict import build_result, invalid, unanswered

__all__ = ["NO_ANSWER", "describe_key", "question_problems", "score_answers", "score_question"]

NO_ANSWER = "no answer for `{id}`"
"""The reason a question without an answer scores 0, ``{id}`` standing for its id; callers that know
where the answer was expected say so (a notebook's ``# answer:`` cell, an answer file's key)."""


def question_problems(problems: Sequence[str], question_ids: Collection[str]) -> tuple[list[str], dict[str, list[str]]]:
    """``problems`` split into those about the submission as a whole and those about one question.

    The readers and the sandbox write a question's problem as ``"<question id>: <what>"`` (a question
    id never holds ': '), so a problem whose text before the first ': ' is one of ``question_ids``
    belongs to that question, and the rest of its text is what it says.
    """
    general: list[str] = []
    by_question: dict[str, list[str]] = {}
    for problem in problems:
        head, sep, rest = problem.partition(": ")
        if sep and head in question_ids and rest.strip():
            by_question.setdefault(head, []).append(rest.strip())
        else:
            general.append(problem)
    return general, by_question


def score_question(question: QuestionBase, answer: Any, *, reveal_key: bool = True,
                   code_outcomes: Mapping[str, ProbeOutcome | bool] | Any = None,
                   registry: Registry = KINDS, notes: Sequence[str] = (), missing: str | None = None) -> QuestionResult:
    """Score one answer. ``code_outcomes`` is what the trusted side found about it: the probe verdicts of
    a ``code`` question, the concept checks of a ``free_response`` (:mod:`grader.meaning`).

    ``notes`` are what reading or running this answer turned up (:func:`question_problems`). When
    ``missing`` is given the submission holds no answer to the question: its first note, if any, is
    why the answer could not be read (scored 'invalid'), else ``missing`` says it was not there
    (a question that is only pending or never graded keeps that verdict).
    """
    kind = registry.of(question)
    notes = list(notes)
    verdict = kind.score(question, answer if missing is None else None, code_outcomes)
    if missing is not None and verdict.status not in ("pending", "ungraded"):  # a flashcard stays ungraded
        verdict = invalid(None, notes.pop(0)) if notes else unanswered(missing)
    if verdict.correct_answer is None and verdict.status in ("unanswered", "invalid"):
        verdict.correct_answer = kind.key_text(question)
    if not reveal_key:  # show_key hides the key for now: so go the texts that state it (kinds' `conceal`)
        verdict = kind.conceal(question, verdict, code_outcomes)
        question = question.model_copy(update={"explanation": None})
    return build_result(question, verdict, reveal_key=reveal_key, notes=notes)


def describe_key(question: QuestionBase, registry: Registry = KINDS) -> str | None:
    """The key in words, for feedback on unanswered or unreadable answers."""
    return registry.of(question).key_text(question)


def score_answers(bank: Bank, answers: Mapping[str, Any], *, reveal_key: bool = True,
                  code_outcomes: Mapping[str, Mapping[str, ProbeOutcome | bool]] | None = None,
                  registry: Registry = KINDS, problems: Sequence[str] = (), missing: str = NO_ANSWER) -> QuizResult:
    """Score ``answers`` (question id → answer) against ``bank``.

    Missing answers score 0 as 'unanswered', with ``missing`` (``{id}``: the question's id) as the
    reason; answers for ids the bank lacks are listed in ``unknown_ids``; malformed answers score 0
    as 'invalid' with the reason. ``problems`` are what reading the submission and running its code
    found; those about one question (:func:`question_problems`) are shown at it, and the first of a
    question without an answer is why it scores 0 ('invalid'). Never raises for bad answers.
    """
    if not isinstance(answers, Mapping):
        raise TypeError(f"answers must be a mapping of question id to answer, got {type(answers).__name__}")
    code_outcomes = code_outcomes or {}
    _, notes = question_problems(problems, set(bank.question_ids))
    results = [score_question(q, answers.get(q.id), reveal_key=reveal_key, code_outcomes=code_outcomes.get(q.id),
                              registry=registry, notes=notes.get(q.id, ()),
                              missing=missing.replace("{id}", q.id) if q.id not in answers else None)
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
