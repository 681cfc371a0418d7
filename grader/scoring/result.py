"""Results of scoring: plain dataclasses, separate from how they are shown.

Reports, widgets and the CLI all render these; none of them computes a score.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

SIGNIFICANT_DIGITS = 12
"""Digits :func:`number_text` keeps: enough for any key a bank states, few enough to hide float noise
(0.1 + 0.2 reads 0.3)."""


def number_text(value: float) -> str:
    """A number as feedback writes it: 800 for 800.0, 0.3 for 0.30000000000000004, 2949120 rather than
    ``:g``'s 2.94912e+06. Scientific notation only outside 1e-6 … 1e16, where plain digits stop being readable.

    One helper for scores, points, keys and answers, so the same number never reads two ways.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return "∞" if value > 0 else "-∞" if value < 0 else "NaN"
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if not 1e-6 <= magnitude < 1e16:
        return f"{value:.{SIGNIFICANT_DIGITS}g}"
    decimals = max(0, SIGNIFICANT_DIGITS - 1 - math.floor(math.log10(magnitude)))
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def points_label(points: float) -> str:
    """'1 point', '0.5 points', '4 points': how every heading and feedback line names a number of points."""
    return f"{number_text(points)} point" + ("" if points == 1 else "s")


def score_label(points: float, max_points: float) -> str:
    """'0/1 point', '3.5/4 points': points earned out of the question's points."""
    return f"{number_text(points)}/{points_label(max_points)}"

Status = Literal["correct", "partial", "incorrect", "unanswered", "invalid", "ungraded", "pending"]

ConceptState = Literal["found", "missing", "contradicted"]


@dataclass
class ConceptCheck:
    """How one concept of a free response fared, and the student's words that decided it.

    Kept with the result (and so in the gradebook) so feedback can quote the sentence that carried a
    concept, and an instructor's review sheet can show why each concept was or was not credited.
    """

    id: str
    label: str
    state: ConceptState
    evidence: str = ""
    """The student's sentence or clause that carried the concept (or contradicted it); '' when missing."""
    similarity: float | None = None
    """Meaning match of :attr:`evidence` with the concept (cosine, −1…1); None when judged by keywords."""
    method: Literal["meaning", "keywords"] = "keywords"
    why: str = ""
    """For a contradiction: what gave it away ('"not" denies it', 'closest to: LoRA trains all the weights')."""


STATUS_MARK = {"correct": "✓", "partial": "◐", "incorrect": "✗", "unanswered": "–", "invalid": "⚠",
               "ungraded": "·", "pending": "…"}


def answer_text(answer: Any) -> str:
    """An answer as understood, in words: numbers by :func:`number_text`, a list as 'A, C'."""
    if isinstance(answer, (list, tuple)):
        return ", ".join(answer_text(a) for a in answer)
    if isinstance(answer, float):
        return number_text(answer)
    return str(answer)


def id_list(ids: list[str], shown: int = 10) -> str:
    """Question ids for a sentence: at most ``shown`` of them (each cut at 100 characters), then how many more."""
    text = ", ".join(i[:100] for i in ids[:shown])
    return text + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


@dataclass
class QuestionResult:
    """How one answer scored, with everything a student needs to learn from it."""

    id: str
    type: str
    points: float
    max_points: float
    status: Status
    feedback: str
    """Readable summary: verdict, the chosen option's feedback, concepts, the explanation."""
    answer: Any = None
    """The answer as understood (normalised), JSON-safe."""
    reason: str = ""
    """Why the answer did not get full points, in one sentence (empty when it did)."""
    explanation: str | None = None
    option_feedback: list[str] = field(default_factory=list)
    correct_answer: Any = None
    """The key, when revealing it was allowed."""
    found_concepts: list[str] = field(default_factory=list)
    missed_concepts: list[str] = field(default_factory=list)
    concepts: list[ConceptCheck] = field(default_factory=list)
    """A free response's concept verdicts, one per concept of the question, in the bank's order."""
    notes: list[str] = field(default_factory=list)
    """What reading or running the answer turned up besides its score (a cell given twice, the code's
    error, a time limit): shown at the question, in :attr:`feedback` too."""

    @property
    def correct(self) -> bool:
        return self.status == "correct"

    @property
    def concepts_found(self) -> int:
        return len(self.found_concepts)

    @property
    def concepts_total(self) -> int:
        return len(self.found_concepts) + len(self.missed_concepts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class QuizResult:
    """The score of one set of answers against one bank."""

    bank_id: str
    score: float
    max_score: float
    percent: float
    passed: bool
    pass_percent: float
    questions: list[QuestionResult]
    unknown_ids: list[str] = field(default_factory=list)
    """Answers given for questions the bank does not have (reported, never fatal)."""
    badge: str | None = None
    """The bank's badge name when every graded question is fully right."""

    def question(self, question_id: str) -> QuestionResult:
        return next(q for q in self.questions if q.id == question_id)

    def to_dict(self) -> dict[str, Any]:
        return {"bank_id": self.bank_id, "score": self.score, "max_score": self.max_score,
                "percent": self.percent, "passed": self.passed, "pass_percent": self.pass_percent,
                "badge": self.badge, "unknown_ids": list(self.unknown_ids),
                "questions": [q.to_dict() for q in self.questions]}

    def summary_line(self) -> str:
        verdict = "passed" if self.passed else f"not passed (pass mark {number_text(self.pass_percent)}%)"
        return f"Score {number_text(self.score)}/{number_text(self.max_score)} ({number_text(self.percent)}%): {verdict}"

    def to_markdown(self, *, details: bool = True) -> str:
        """A summary table (like seed 000's), then per-question feedback."""
        lines = [f"**{self.summary_line()}**", ""]
        if self.badge:
            lines += [f"🎖️ Badge earned: **{self.badge}**", ""]
        lines += ["| Q | result | points | your answer |", "|---|---|---|---|"]
        for q in self.questions:
            answer = "" if q.answer is None else answer_text(q.answer).replace("\n", " ").replace("|", "\\|")
            if len(answer) > 60:
                answer = answer[:57] + "…"
            lines.append(f"| {q.id} | {STATUS_MARK[q.status]} {q.status} | {score_label(q.points, q.max_points)} | {answer} |")
        if self.unknown_ids:
            lines += ["", f"Answers for unknown questions were ignored: {id_list(self.unknown_ids)}"]
        if details:
            for q in self.questions:
                lines += ["", f"### {q.id} — {score_label(q.points, q.max_points)}", "", q.feedback]
        return "\n".join(lines) + "\n"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()
