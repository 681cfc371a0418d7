"""free_response: explain in your own words, checked against a concept checklist ('3/4 concepts')."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from ..models.base import NonEmptyStr, Slug, StrictModel, located, repeated
from ..models.question import MAX_POINTS, QuestionBase, check_regex
from ..scoring.normalize import contains_phrase
from ..scoring.patterns import PatternTimeout, matches
from ..scoring.result import ConceptCheck
from ..scoring.verdict import Verdict, invalid, one_line, status_for, unanswered
from .common import common_losses, general_feedback, is_blank
from .records import InputSpec, LmsItem
from .registry import Kind, PatternSite, conceal_key

DEFAULT_THRESHOLD = 0.6
"""Cosine similarity (all-MiniLM-L6-v2) from which a clause counts as stating a concept; set from the
labelled evaluation set (``benchmarks/free_response.py``), overridable per concept."""


class Contradiction(StrictModel):
    """A wrong statement that contradicts a concept, and what to tell a student who wrote it."""

    statement: NonEmptyStr
    """'LoRA freezes the low-rank matrices and retrains the rest of the model'."""
    feedback: str | None = None
    """Shown when an answer says it: 'it is the other way round: the pretrained weights stay frozen'."""


def _as_contradiction(value: Any) -> Any:
    return {"statement": value} if isinstance(value, str) else value


class Concept(StrictModel):
    """One idea a free response should state, judged by meaning against the author's statement and
    paraphrases, denied by its contradictions, negations and antonyms (:mod:`grader.meaning`)."""

    id: Slug
    label: NonEmptyStr
    """Shown in the checklist: 'updates only small low-rank matrices'."""
    statement: NonEmptyStr | None = None
    """The concept as one plain sentence a good answer could contain (default: the label)."""
    paraphrases: list[NonEmptyStr] = Field(default_factory=list)
    """Other ways a right answer says it ('two thin matrices are learned next to each weight')."""
    contradictions: list[Annotated[Contradiction, BeforeValidator(_as_contradiction)]] = Field(default_factory=list)
    """Wrong statements ('LoRA trains all the weights'): an answer closer to one of these than to the
    concept gets it reported as a likely misconception, never credited."""
    antonyms: list[Annotated[list[NonEmptyStr], Field(min_length=2, max_length=2)]] = Field(default_factory=list)
    """Word pairs that turn the concept around: [frozen, retrained], [keeps, removes], [less, more]."""
    threshold: float = Field(DEFAULT_THRESHOLD, ge=0.0, le=1.0)
    """Similarity from which a sentence counts as stating the concept (raise it when unrelated answers get credit)."""
    keywords: list[NonEmptyStr] = Field(default_factory=list)
    """Hints: words or phrases, matched as whole words, case-insensitively; the check when the model is unavailable."""
    patterns: list[NonEmptyStr] = Field(default_factory=list)
    """Hints: regular expressions (case-insensitive) searched in the answer; the check when the model is unavailable."""

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for index, pattern in enumerate(patterns):
            check_regex(pattern, (index,))
        return patterns

    @field_validator("antonyms")
    @classmethod
    def _distinct_pair(cls, pairs: list[list[str]]) -> list[list[str]]:
        for index, (first, second) in enumerate(pairs):
            if first.strip().casefold() == second.strip().casefold():
                raise located((index,), f"an antonym pair needs two different words, got '{first}' twice")
        return pairs

    @property
    def statement_text(self) -> str:
        return (self.statement or self.label).strip()


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


@dataclass(frozen=True)
class KeywordFallback:
    """The trusted outcome of a free response when the meaning model could not be loaded: why."""

    reason: str


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


def keyword_checks(question: FreeResponseQuestion, answer: str) -> list[ConceptCheck]:
    """The concept checks by the author's keywords and patterns only: what runs without the model.
    A concept with neither is matched by its label and statement as phrases."""
    checks = []
    for concept in question.concepts:
        hinted = concept.keywords or concept.patterns
        found = concept_found(concept, answer) if hinted else any(
            contains_phrase(answer, text) for text in (concept.label, concept.statement_text))
        checks.append(ConceptCheck(concept.id, concept.label, "found" if found else "missing", method="keywords"))
    return checks


def _quote(text: str, limit: int = 160) -> str:
    text = one_line(text)
    return "«" + (text if len(text) <= limit else text[: limit - 1] + "…") + "»"


def concept_lines(checks: list[ConceptCheck]) -> list[str]:
    """The checklist as feedback lines: found (with the student's words), contradicted (with why), missing."""
    lines = []
    for check in checks:
        if check.state == "found":
            lines.append(f"- ✓ {check.label}" + (f" — you wrote {_quote(check.evidence)}" if check.evidence else ""))
    for check in checks:
        if check.state == "contradicted":
            lines.append(f"- ⚠ {check.label} — this seems contradicted: you wrote {_quote(check.evidence)}"
                         + (f"; {check.why}" if check.why else "") + ".")
    for check in checks:
        if check.state == "missing":
            lines.append(f"- ✗ {check.label} — not mentioned yet")
    return lines


def score(question: FreeResponseQuestion, answer: Any, outcomes: Any = None) -> Verdict:
    """Concepts found / concepts: from the judge's trusted outcome when there is one (:mod:`grader.meaning`),
    else from keywords, with a note saying so. A contradicted concept is never credited."""
    if is_blank(answer):
        return unanswered()
    if not isinstance(answer, str):
        return invalid(answer, f"expected text, got {type(answer).__name__}")
    checks = list(getattr(outcomes, "checks", ()))
    if len(checks) != len(question.concepts) or [c.id for c in checks] != [c.id for c in question.concepts]:
        checks = keyword_checks(question, answer)
    found = [c.label for c in checks if c.state == "found"]
    missed = [c.label for c in checks if c.state != "found"]
    contradicted = [c for c in checks if c.state == "contradicted"]
    fraction = len(found) / len(question.concepts)
    note = f"You got {len(found)}/{len(question.concepts)} concepts."
    if contradicted:
        note += f" {len(contradicted)} seem{'s' if len(contradicted) == 1 else ''} contradicted by what you wrote."
    lines = concept_lines(checks)
    if checks and checks[0].method == "keywords":
        why = getattr(outcomes, "reason", "")
        lines.append("*Checked by keywords only" + (f": the meaning model could not be loaded ({why})" if why else "")
                     + ". Paraphrases may be missed and contradictions are not detected.*")
    note = "\n".join([note, *lines])
    status = status_for(fraction) if question.graded else "ungraded"
    model = f"A model answer: {question.model_answer.strip()}" if question.model_answer else None
    reason = ""
    if contradicted:
        reason = f"{len(contradicted)} concept(s) contradicted"
    elif missed:
        reason = f"{len(missed)} concept(s) missing"
    return Verdict(fraction, status, answer=answer, note=note, found_concepts=found, missed_concepts=missed,
                   concepts=checks, reason=reason, option_feedback=[model] if model else [])


def conceal(question: FreeResponseQuestion, verdict: Verdict, outcomes: Mapping[str, Any] | None = None) -> Verdict:
    """The concept labels are the rubric and the model answer is the key: while they are hidden the
    student sees how many concepts their answer earned and how many it seems to contradict, not which."""
    verdict = conceal_key(question, verdict, outcomes)
    if not verdict.concepts and not verdict.found_concepts and not verdict.missed_concepts:
        return verdict
    contradicted = sum(c.state == "contradicted" for c in verdict.concepts)
    note = f"You got {len(verdict.found_concepts)}/{len(question.concepts)} concepts."
    if contradicted:
        note += f" {contradicted} seem{'s' if contradicted == 1 else ''} contradicted by what you wrote."
    kept = [replace(c, id="", label="", evidence="", why="", similarity=None) for c in verdict.concepts]
    return replace(verdict, note=note, missed_concepts=[], concepts=kept, reason="")


def hash_key(data: dict[str, Any], _question: FreeResponseQuestion, _salt: str) -> None:
    """Nothing to hash: the checklist is the self-check itself (its labels say what to mention)."""


def patterns(question: FreeResponseQuestion) -> list[PatternSite]:
    return [(("concepts", c, "patterns", i), p, True, False)
            for c, concept in enumerate(question.concepts) for i, p in enumerate(concept.patterns)]


def lms_item(question: FreeResponseQuestion) -> LmsItem:
    """An essay; the checklist and model answer go to the marker, since no LMS format here runs it."""
    rubric = "\n".join(f"- {c.label}" for c in question.concepts)
    info = f"A good answer mentions:\n\n{rubric}"
    wrong = [x.statement for c in question.concepts for x in c.contradictions]
    if wrong:
        info += "\n\nMisconceptions to watch for (they cost the concept):\n\n" + "\n".join(f"- {w}" for w in wrong)
    if question.model_answer:
        info += f"\n\nModel answer: {question.model_answer.strip()}"
    losses = [*common_losses(question), (f"automatic concept checklist ({len(question.concepts)} concepts; "
                                         "given to the marker as grading notes)")]
    return LmsItem(question.id, "essay", question.prompt.strip(), question.points, general_feedback=general_feedback(question),
                   hint=question.hint, grader_info=info, tags=tuple(question.tags), losses=tuple(losses))


KIND = Kind(model=FreeResponseQuestion, how="explain in your own words", score=score, key_text=lambda _q: None,
            answer_input=lambda _q: InputSpec("area", "explain in your own words"),
            static_lines=lambda q: [f"*Checklist: {len(q.concepts)} ideas a good answer mentions.*", ""],
            lms_item=lms_item, hash_key=hash_key, patterns=patterns, conceal=conceal)
