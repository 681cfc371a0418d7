"""free_response: explain in your own words, checked against a concept checklist ('3/4 concepts')."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from ..models.base import NonEmptyStr, Slug, StrictModel, located, repeated
from ..models.question import MAX_POINTS, QuestionBase, check_regex
from ..scoring.normalize import contains_phrase
from ..scoring.patterns import PatternTimeout, matches
from ..scoring.verdict import Verdict, invalid, status_for, unanswered
from .common import common_losses, general_feedback, is_blank
from .records import InputSpec, LmsItem
from .registry import Kind, PatternSite, conceal_key


class Concept(StrictModel):
    """One idea a free response should mention, recognised by keywords or regular expressions."""

    id: Slug
    label: NonEmptyStr
    """Shown in the checklist: 'updates only small low-rank matrices'."""
    keywords: list[NonEmptyStr] = Field(default_factory=list)
    """Words or phrases, matched as whole words, case-insensitively."""
    patterns: list[NonEmptyStr] = Field(default_factory=list, validate_default=True)
    """Regular expressions (case-insensitive) searched in the answer."""

    @field_validator("patterns")
    @classmethod
    def _some_matcher(cls, patterns: list[str], info: ValidationInfo) -> list[str]:
        for index, pattern in enumerate(patterns):
            check_regex(pattern, (index,))
        if not patterns and not info.data.get("keywords"):
            raise ValueError("a concept needs at least one keyword or pattern")
        return patterns


class FreeResponseQuestion(QuestionBase):
    """Explain in your own words; checked against a concept checklist ('You got 3/4 concepts').

    A self-check aid by default (points 0): keyword matching cannot judge understanding.
    """

    type: Literal["free_response"]
    points: float = Field(0, ge=0, le=MAX_POINTS)
    concepts: list[Concept] = Field(min_length=1)
    model_answer: str | None = None

    @field_validator("concepts")
    @classmethod
    def _unique_concepts(cls, concepts: list[Concept]) -> list[Concept]:
        if duplicates := repeated(c.id for c in concepts):
            index, first = duplicates[0]
            raise located((index, "id"), f"duplicate concept id '{concepts[index].id}' (also concepts[{first}])")
        return concepts


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


def score(question: FreeResponseQuestion, answer: Any, _outcomes: Any = None) -> Verdict:
    if is_blank(answer):
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


def conceal(question: FreeResponseQuestion, verdict: Verdict, outcomes: Mapping[str, Any] | None = None) -> Verdict:
    """The labels of missed concepts are the rubric, and the model answer is the key: keep the count only."""
    verdict = conceal_key(question, verdict, outcomes)
    if not verdict.found_concepts and not verdict.missed_concepts:
        return verdict
    count = f"You got {len(verdict.found_concepts)}/{len(question.concepts)} concepts."
    return replace(verdict, note=count, missed_concepts=[])


def hash_key(data: dict[str, Any], _question: FreeResponseQuestion, _salt: str) -> None:
    """Nothing to hash: the checklist is the self-check itself (its labels say what to mention)."""


def patterns(question: FreeResponseQuestion) -> list[PatternSite]:
    return [(("concepts", c, "patterns", i), p, True, False)
            for c, concept in enumerate(question.concepts) for i, p in enumerate(concept.patterns)]


def lms_item(question: FreeResponseQuestion) -> LmsItem:
    """An essay; the checklist and model answer go to the marker, since no LMS format here runs it."""
    rubric = "\n".join(f"- {c.label}" for c in question.concepts)
    info = f"A good answer mentions:\n\n{rubric}"
    if question.model_answer:
        info += f"\n\nModel answer: {question.model_answer.strip()}"
    losses = [*common_losses(question), f"automatic concept checklist ({len(question.concepts)} concepts; "
                                        "given to the marker as grading notes)"]
    return LmsItem(question.id, "essay", question.prompt.strip(), question.points, general_feedback=general_feedback(question),
                   hint=question.hint, grader_info=info, tags=tuple(question.tags), losses=tuple(losses))


KIND = Kind(model=FreeResponseQuestion, how="explain in your own words", score=score, key_text=lambda _q: None,
            answer_input=lambda _q: InputSpec("area", "explain in your own words"),
            static_lines=lambda q: [f"*Checklist: {len(q.concepts)} ideas a good answer mentions.*", ""],
            lms_item=lms_item, hash_key=hash_key, patterns=patterns, conceal=conceal)
