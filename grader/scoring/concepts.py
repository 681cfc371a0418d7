"""Free responses checked against a concept checklist, and flashcards (never graded).

Keyword matching is a self-check aid: it tells a student which ideas their explanation does not
mention yet. It cannot judge whether the explanation is right, which is why free responses carry
0 points unless an author opts in.
"""
from __future__ import annotations

from typing import Any

from ..models.questions import Concept, FlashcardQuestion, FreeResponseQuestion
from .normalize import contains_phrase
from .patterns import PatternTimeout, matches
from .verdict import Verdict, invalid, status_for, unanswered


def concept_found(concept: Concept, text: str) -> bool:
    """Whether ``text`` mentions ``concept`` by one of its keywords or patterns (a pattern that runs
    past its time limit counts as not found)."""
    if any(contains_phrase(text, keyword) for keyword in concept.keywords):
        return True
    for pattern in concept.patterns:
        try:
            if matches(pattern, text, ignore_case=True, whole=False):
                return True
        except PatternTimeout:
            continue
    return False


def score_free_response(question: FreeResponseQuestion, answer: Any) -> Verdict:
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        return unanswered()
    if not isinstance(answer, str):
        return invalid(answer, f"expected text, got {type(answer).__name__}")
    found = [c.label for c in question.concepts if concept_found(c, answer)]
    missed = [c.label for c in question.concepts if c.label not in found]
    fraction = len(found) / len(question.concepts)
    note = f"You got {len(found)}/{len(question.concepts)} concepts."
    if missed:
        note += " Not mentioned yet: " + "; ".join(missed) + "."
    status = status_for(fraction) if question.graded else "ungraded"
    model = f"A model answer: {question.model_answer.strip()}" if question.model_answer else None
    return Verdict(fraction, status, answer=answer, note=note, found_concepts=found, missed_concepts=missed,
                   reason="" if not missed else f"{len(missed)} concept(s) missing",
                   option_feedback=[model] if model else [])


def score_flashcard(question: FlashcardQuestion, answer: Any) -> Verdict:
    """Flashcards are for recall practice: the answer ('got it', 'again') is recorded, never scored."""
    return Verdict(0.0, "ungraded", answer=answer, note=f"Back of the card: {question.back.strip()}")
