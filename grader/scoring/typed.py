"""Typed answers: numbers with tolerances, short texts after normalisation."""
from __future__ import annotations

from typing import Any

from ..models.questions import NumericQuestion, TextQuestion
from .normalize import normalize_text, parse_number
from .patterns import PatternTimeout, matches
from .verdict import Verdict, invalid, unanswered


def score_numeric(question: NumericQuestion, answer: Any) -> Verdict:
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        return unanswered()
    raw = answer
    if isinstance(answer, str) and question.unit and answer.strip().endswith(question.unit):
        raw = answer.strip()[: -len(question.unit)]
    number = parse_number(raw)
    if number is None:
        return invalid(answer, f"expected a number, got {answer!r}")
    right = question.is_right(number)
    key = None  # a student copy (hashed key) cannot show the number
    if question.answer is not None:
        allowed = question.allowed_error()
        key = f"{question.answer:g}" + (f" {question.unit}" if question.unit else "")
        if allowed:
            key += f" (± {allowed:g})"
    return Verdict(1.0 if right else 0.0, "correct" if right else "incorrect", answer=number,
                   reason="" if right else f"{number:g} is not within tolerance", correct_answer=key)


def score_text(question: TextQuestion, answer: Any) -> Verdict:
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        return unanswered()
    if not isinstance(answer, (str, int, float)) or isinstance(answer, bool):
        return invalid(answer, f"expected text, got {type(answer).__name__}")
    given = normalize_text(str(answer), case_sensitive=question.case_sensitive)
    accepted = {normalize_text(a, case_sensitive=question.case_sensitive) for a in question.answers}
    right, slow = given in accepted or question.hash_matches(given), False
    for pattern in question.patterns if not right else ():
        try:
            if matches(pattern, given, ignore_case=not question.case_sensitive, whole=True):
                right = True
                break
        except PatternTimeout:
            slow = True
    key = question.answers[0] if question.answers else None
    reason = "" if right else "not one of the accepted answers"
    if slow and not right:
        reason += " (an accepted-answer pattern took too long on this answer and was stopped)"
    return Verdict(1.0 if right else 0.0, "correct" if right else "incorrect", answer=str(answer)[:2000],
                   reason=reason, correct_answer=key)
