"""Judge a free response's concepts by meaning: the trusted step before its pure scorer.

For each concept the author gives a statement, optional paraphrases (what a right answer may say),
optional contradictions (what a wrong answer says: "LoRA trains all the weights") and antonym pairs
(frozen/retrained, keeps/removes). The answer is cut into sentences and clauses
(:mod:`grader.meaning.text`), everything is embedded with all-MiniLM-L6-v2
(:mod:`grader.meaning.encoder`), and for each concept:

1. a unit whose best cosine similarity with the statement or a paraphrase reaches the concept's
   ``threshold`` is a *candidate*;
2. a candidate is *denied* when it is closer to one of the concept's contradictions than to the
   concept, when a negation covers the concept's words in it but not in the reference it matched
   ("it is not about low-rank adapters"), or when it uses one of the author's antonyms the other way
   round from that reference ("removes" where the reference says "keeps"); a unit that matches a
   contradiction at the threshold denies the concept too;
3. any denial makes the concept *contradicted* (reported as a likely misconception, never credited);
   otherwise a candidate makes it *found*, quoting the unit; otherwise it is *missing*.

Why denial wins over a match elsewhere: an answer that says both "the weights are frozen" and "LoRA
retrains all the weights" has not shown it knows which is true. Sentence embeddings are poor at
negation and antonyms ("frozen" and "retrained" embed close together), which is why the polarity
checks exist beside the similarity. Keywords and patterns stay the fallback when the model cannot be
loaded (``free_response.keyword_checks``).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..bank import Bank
from ..kinds.free_response import (
    Concept,
    FreeResponseQuestion,
    KeywordFallback,
    concept_found,
)
from ..models.question import QuestionBase
from ..scoring.result import ConceptCheck
from .encoder import Encoder, EncoderUnavailable, load_encoder
from .text import (
    NEGATION_CUES,
    Unit,
    antonym_flip,
    clauses,
    content_stems,
    is_term_list,
    mask_subject,
    polarity,
    polarity_clash,
    subject_terms,
    units,
    words,
)


@dataclass(frozen=True)
class MeaningOutcome:
    """What the judge found in one answer: one check per concept (the free response's trusted outcome)."""

    checks: tuple[ConceptCheck, ...]
    model: str


@dataclass(frozen=True)
class _References:
    """One concept's reference sentences and their embeddings."""

    positives: tuple[str, ...]
    negatives: tuple[str, ...]
    negative_feedback: tuple[str, ...]
    pos: Any
    neg: Any
    anchors: frozenset[str]


CONTRADICTION_MARGIN = 0.1
"""How much closer than ``threshold`` a clause must come to one of the author's contradictions to count
as stating it: contradictions share the question's topic with right answers, so they need a higher bar."""


TOPIC_MARGIN = 0.0
"""How much closer to the concept than to the question's prompt a clause must be: 'fine-tuning is
important' is close to every reference of a question about fine-tuning, and closer still to the prompt."""
HINT_FLOOR = 0.2
"""A clause that contains one of the concept's keywords or patterns (the author's hints) counts as stating
it from this similarity on, below ``threshold``: short notes ('freeze base, train adapters') embed far
from full sentences, and the hint says what they are about; the stance checks still apply."""


class ConceptJudge:
    """Judges free responses with one loaded encoder; reference embeddings are computed once per concept."""

    def __init__(self, encoder: Encoder, *, contradiction_margin: float = CONTRADICTION_MARGIN,
                 hint_floor: float = HINT_FLOOR, topic_margin: float = TOPIC_MARGIN) -> None:
        self.encoder = encoder
        self.topic_margin = topic_margin
        self.contradiction_margin = contradiction_margin
        self.hint_floor = hint_floor
        self._refs: dict[tuple, Any] = {}

    def judge(self, question: FreeResponseQuestion, answer: str) -> MeaningOutcome:
        """The concept checks of ``answer`` (a non-blank string) against ``question``'s concepts."""
        terms = subject_terms(question.prompt)
        pieces = [u for u in units(answer) if u.text.strip() and not is_term_list(u.text)]
        vectors = self._embed(pieces, terms) if pieces else None
        topic = vectors @ self._prompt(question, terms) if pieces else None
        checks = tuple(self._check(concept, pieces, vectors, topic, self._references(question, concept, terms))
                       for concept in question.concepts)
        return MeaningOutcome(checks, self.encoder.name)

    def _embed(self, pieces: list[Unit], terms: frozenset[str]) -> Any:
        """Unit embeddings; the model runs on clauses only. A sentence of several clauses is the
        normalised mean of its clauses' embeddings: running the model on the sentence too would double
        the tokens of a long answer (the model's cost is linear in them) for a close approximation."""
        import numpy as np

        direct = [i for i, u in enumerate(pieces) if not (u.is_sentence and _has_clauses(pieces, i))]
        encoded = self.encoder.encode([mask_subject(pieces[i].text, terms) for i in direct])
        vectors = np.zeros((len(pieces), encoded.shape[1]), dtype=np.float32)
        vectors[direct] = encoded
        for i, unit in enumerate(pieces):
            if unit.is_sentence and _has_clauses(pieces, i):
                parts = [j for j in range(i + 1, len(pieces)) if not pieces[j].is_sentence
                         and pieces[j].sentence == unit.sentence]
                mean = vectors[parts].mean(axis=0)
                vectors[i] = mean / max(float(np.linalg.norm(mean)), 1e-9)
        return vectors

    def _prompt(self, question: FreeResponseQuestion, terms: frozenset[str]) -> Any:
        key = ("prompt", question.prompt)
        if key not in self._refs:
            self._refs[key] = self.encoder.encode([mask_subject(question.prompt, terms)])[0]
        return self._refs[key]

    def _references(self, question: FreeResponseQuestion, concept: Concept, terms: frozenset[str]) -> _References:
        key = (question.prompt, tuple(c.model_dump_json() for c in question.concepts), concept.id)
        refs = self._refs.get(key)
        if refs is None:
            positives = (concept.statement_text, *concept.paraphrases)
            negatives = tuple(c.statement for c in concept.contradictions)
            refs = _References(positives, negatives, tuple(c.feedback or "" for c in concept.contradictions),
                               self.encoder.encode([mask_subject(p, terms) for p in positives]),
                               self.encoder.encode([mask_subject(n, terms) for n in negatives]),
                               key_stems(question, concept))
            self._refs[key] = refs
        return refs

    def _check(self, concept: Concept, pieces: list[Unit], vectors: Any, topic: Any, refs: _References) -> ConceptCheck:
        base = {"id": concept.id, "label": concept.label, "method": "meaning"}
        if not pieces:
            return ConceptCheck(state="missing", **base)
        pos_sims = vectors @ refs.pos.T
        neg_sims = vectors @ refs.neg.T if refs.negatives else None
        best_found: tuple[float, Unit] | None = None
        for row, unit in enumerate(pieces):
            p = int(pos_sims[row].argmax())
            pos_sim = float(pos_sims[row, p])
            n = int(neg_sims[row].argmax()) if neg_sims is not None else -1
            neg_sim = float(neg_sims[row, n]) if neg_sims is not None else -1.0
            if neg_sim > pos_sim and neg_sim >= concept.threshold:  # closest to a wrong statement
                if (neg_sim < concept.threshold + self.contradiction_margin
                        or not content_stems(unit.text) & content_stems(refs.negatives[n]) & refs.anchors):
                    continue  # near it in topic only: no stance either way
                turned = _turned(unit.text, refs.negatives[n], refs.anchors, concept)
                if turned:  # a contradiction said the other way round is the concept
                    stance, similarity, why = "found", neg_sim, ""
                else:
                    stance, similarity = "contradicted", neg_sim
                    why = refs.negative_feedback[n] or f"that is close to “{refs.negatives[n]}”"
            elif pos_sim < float(topic[row]) + self.topic_margin:
                continue  # no closer to the concept than to the question itself: it restates the topic
            elif pos_sim >= concept.threshold or (pos_sim >= self.hint_floor and concept_hinted(concept, unit.text)):
                why = _turned(unit.text, refs.positives[p], refs.anchors, concept) or _hint_denied(concept, unit.text)
                stance, similarity = ("contradicted" if why else "found"), pos_sim
            else:
                continue
            if stance == "found":
                if best_found is None or similarity > best_found[0]:
                    best_found = (similarity, unit)
            elif not (unit.is_sentence and len(clauses(unit.text)) > 1):  # stances are read one clause at a time
                return ConceptCheck(state="contradicted", evidence=unit.text, similarity=round(similarity, 3),
                                    why=why, **base)
        if best_found is None:
            return ConceptCheck(state="missing", **base)
        similarity, unit = best_found
        return ConceptCheck(state="found", evidence=unit.text, similarity=round(similarity, 3), **base)


def _has_clauses(pieces: list[Unit], index: int) -> bool:
    """Whether the sentence unit at ``index`` is followed by clause units of its own."""
    nxt = index + 1
    return nxt < len(pieces) and not pieces[nxt].is_sentence and pieces[nxt].sentence == pieces[index].sentence


def key_stems(question: FreeResponseQuestion, concept: Concept) -> frozenset[str]:
    """The words that are this concept's own: in its statement, paraphrases and contradictions, but not
    in the prompt nor in another concept's references ('model', 'weights', 'fine-tuning' belong to the
    whole question). A negation only turns a clause around when it touches one of these."""
    def stems_of(c: Concept) -> set[str]:
        return set().union(*(content_stems(t) for t in (c.statement_text, *c.paraphrases,
                                                          *(x.statement for x in c.contradictions))))
    shared = content_stems(question.prompt).union(*(stems_of(c) for c in question.concepts if c.id != concept.id))
    return frozenset(stems_of(concept) - shared)


def _stack(first: Any, second: Any) -> Any:
    import numpy as np

    return np.concatenate([first, second], axis=0)


def concept_hinted(concept: Concept, text: str) -> bool:
    """Whether one of the author's keywords or patterns occurs in ``text``."""
    return bool(concept.keywords or concept.patterns) and concept_found(concept, text)


def _hint_denied(concept: Concept, text: str) -> str:
    """Why a clause denies the concept's own keyword ('not frozen', 'without adapters'), or ''."""
    stated, denied = polarity(text)
    for keyword in concept.keywords:
        if any(w in NEGATION_CUES for w in words(keyword)):
            continue  # the keyword says its own "not" ('not updated'): its denial is the concept's statement
        stems = content_stems(keyword)
        if stems and stems <= denied and not stems <= stated:
            return f"a negation (“not”, “without”, “instead of”…) turns “{keyword}” around"
    return ""


def _turned(unit: str, reference: str, keys: frozenset[str], concept: Concept) -> str:
    """Why ``unit``, which matches ``reference`` in meaning, says the opposite of it ('' when it does not)."""
    clash = polarity_clash(unit, reference, set(keys))
    if clash:
        return f"a negation (“not”, “without”, “instead of”…) turns “{clash}…” around"
    flip = antonym_flip(unit, reference, concept.antonyms)
    if flip:
        meant, said = flip
        return f"it says “{said}” where the idea is “{meant}”"
    return ""


def load_judge() -> ConceptJudge:
    """The judge of this process's meaning model (loaded once); EncoderUnavailable when it cannot be loaded.

    One judge per encoder, so the references a question's concepts embed once serve every quiz and
    grading run in the process (a notebook often builds several quizzes of the same bank)."""
    return _judge_for(load_encoder())


@lru_cache(maxsize=2)
def _judge_for(encoder: Encoder) -> ConceptJudge:
    return ConceptJudge(encoder)


class JudgeSource:
    """The judge of one quiz session or grading run, loaded the first time a free response needs it.

    A failure to load is remembered, so the model is tried once and every free response then says
    why keywords were used instead. Thread-safe: a grading run checks submissions on several threads.
    """

    def __init__(self, loader: Callable[[], ConceptJudge] = lambda: load_judge()) -> None:
        self._loader = loader
        self._lock = threading.Lock()
        self.judge: ConceptJudge | None = None
        self.failure: str | None = None
        self.loads = 0
        """How many times the model was loaded by this source (0 or 1): what tests check."""

    def get(self) -> ConceptJudge | None:
        with self._lock:
            if self.judge is None and self.failure is None:
                self.loads += 1
                try:
                    self.judge = self._loader()
                except EncoderUnavailable as exc:
                    self.failure = str(exc)
            return self.judge

    def outcome(self, question: QuestionBase, answer: Any) -> MeaningOutcome | KeywordFallback | None:
        """The trusted outcome of a free response's answer (None for other kinds or a blank answer)."""
        if not isinstance(question, FreeResponseQuestion) or not isinstance(answer, str) or not answer.strip():
            return None
        judge = self.get()
        return judge.judge(question, answer) if judge is not None else KeywordFallback(self.failure or "")

    def outcomes(self, bank: Bank, answers: Mapping[str, Any]) -> dict[str, Any]:
        """question id → trusted outcome, for every free response answered in ``answers``."""
        out: dict[str, Any] = {}
        for question in bank.questions:
            found = self.outcome(question, answers.get(question.id))
            if found is not None:
                out[question.id] = found
        return out
