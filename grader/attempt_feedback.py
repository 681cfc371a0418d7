"""The feedback files of one attempt (``feedback/<student>/attempt-N.md`` and ``.html``), written the
same way when the attempt is graded and again when an instructor's review changes its points.

``grade`` writes them from what it has in memory; importing a review sheet (:mod:`grader.review`)
writes them again later, from the gradebook alone. So that both give the same page, everything the
page needs besides the gradebook's row and the automatic result is kept with the attempt
(:class:`FeedbackInputs`, column ``feedback``): the trusted notes decided at grading time (lateness,
the LMS's late mark), the problems found in the file, the student's code, whether ``--hide-key`` was
given, and the result with the key left out. Whether the key is shown is decided again at writing
time by the bank's ``show_key`` (:func:`grader.scoring.disclosure.key_visibility`): a re-written page
never shows a key the policy still keeps back, and shows it once the policy allows it.

The instructor's points and comment (:class:`grader.overrides.Override`) are laid over the result
here (:func:`with_overrides`): the question's points and status, the score line, and a note at the
question saying what the automatic check gave and what the instructor wrote.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .bank import Bank
from .class_grades import write_atomic
from .overrides import Override, effective_points, totals
from .reports import safe_name
from .scoring import QuestionResult, QuizResult
from .scoring.attempts import AttemptSummary
from .scoring.disclosure import key_visibility
from .scoring.late import Lateness, apply_late
from .scoring.result import ConceptCheck, number_text, score_label
from .scoring.verdict import status_for
from .submissions import Submission

__all__ = ["FeedbackInputs", "feedback_folder", "result_from_dict", "with_overrides", "write_feedback"]


def feedback_folder(student: str) -> str:
    """The folder of a student's feedback files: their id when it is a plain lowercase name, else a safe
    name plus a hash of the id (two ids never share a folder, also on case-insensitive disks)."""
    base = safe_name(student)
    if base == student and base == base.lower():
        return base
    return f"{base}-{hashlib.sha256(student.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


@dataclass
class FeedbackInputs:
    """What an attempt's feedback is written from besides the gradebook's row and the automatic result."""

    late_message: str = ""
    """The lateness sentence shown at the top ('' when on time or when the bank has no due date)."""
    penalty_percent: float = 0.0
    """The late penalty the page spells out ('After the late penalty this attempt counts …'); 0 for none or refused."""
    lms_late: bool = False
    """The LMS marked the submission late while its time was not (shown as a note)."""
    reveal_key: bool = True
    """False under ``--hide-key``: the key is never shown, whatever the bank's ``show_key`` says."""
    problems: list[str] = field(default_factory=list)
    """What reading and running the file found (the page lists those about no one question)."""
    code: dict[str, str] = field(default_factory=dict)
    """The student's code per code question (the result keeps only '(code)')."""
    hidden: dict[str, Any] | None = None
    """The result with the key left out (``score_answers(..., reveal_key=False)``), as a dict."""

    @classmethod
    def of(cls, *, bank: Bank, submission: Submission, hidden: QuizResult | None, late: Lateness, lms_late: bool,
           reveal_key: bool) -> FeedbackInputs:
        """The inputs of a submission being graded, with ``late`` its lateness by the bank's dates."""
        code = {q.id: submission.answers[q.id] for q in bank.questions
                if q.type == "code" and isinstance(submission.answers.get(q.id), str)}
        return cls(late_message=late.message if (late.late_by or late.refused) else "",
                   penalty_percent=0.0 if late.refused else late.penalty_percent, lms_late=lms_late,
                   reveal_key=reveal_key, problems=list(submission.problems), code=code,
                   hidden=hidden.to_dict() if hidden is not None else None)

    def to_json(self) -> str:
        # the fields are JSON data already: dataclasses.asdict would deep-copy ``hidden`` (a whole result) for nothing
        return json.dumps({f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, default=str)

    @classmethod
    def from_json(cls, text: str | None) -> FeedbackInputs | None:
        """The stored inputs, or None when there are none (an attempt graded before they were kept) or they are unreadable."""
        try:
            data = json.loads(text) if text else None
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        known = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError:
            return None


def result_from_dict(data: Mapping[str, Any] | None) -> QuizResult | None:
    """A :class:`QuizResult` from its ``to_dict()`` form (as the gradebook stores it); None for None.

    Keys the dataclasses do not know are dropped, so a result stored by a newer grader still loads.
    """
    if not isinstance(data, Mapping):
        return None
    question_fields = {f.name for f in dataclasses.fields(QuestionResult)}
    concept_fields = {f.name for f in dataclasses.fields(ConceptCheck)}
    questions = []
    for q in data.get("questions", []):
        values = {k: v for k, v in q.items() if k in question_fields}
        values["concepts"] = [ConceptCheck(**{k: v for k, v in c.items() if k in concept_fields})
                              for c in values.get("concepts") or [] if isinstance(c, Mapping)]
        questions.append(QuestionResult(**values))
    result_fields = {f.name for f in dataclasses.fields(QuizResult)}
    return QuizResult(**{**{k: v for k, v in data.items() if k in result_fields}, "questions": questions})


def with_overrides(result: QuizResult, overrides: Mapping[str, Override]) -> QuizResult:
    """``result`` with the instructor's points in place of the automatic ones, the score, percent and
    pass mark recomputed, and at each reviewed question a note of the review first in its feedback."""
    from .feedback import markdown_text

    if not overrides:
        return result
    questions = []
    for question in result.questions:
        override = overrides.get(question.id)
        if override is None:
            questions.append(question)
            continue
        graded = override.points is not None and question.max_points > 0
        points = effective_points(question.points, question.max_points, override) if graded else question.points
        lines = []
        if graded:
            lines.append(f"**Reviewed by your instructor: {score_label(points, question.max_points)}** "
                         f"(the automatic check gave {number_text(question.points)}).")
        if override.comment:
            lines.append(f"Your instructor's comment: {markdown_text(override.comment)}")
        status = status_for(points / question.max_points) if graded else question.status
        questions.append(replace(question, points=points, status=status,
                                 feedback="\n\n".join(lines + ([question.feedback] if question.feedback else []))))
    score, percent = totals(((q.id, q.points, q.max_points) for q in result.questions), result.max_score, overrides)
    passed = result.max_score > 0 and percent + 1e-9 >= result.pass_percent
    return replace(result, score=score, percent=percent, passed=passed, questions=questions)


def write_feedback(*, bank: Bank, out_dir: Path, submission: Submission, attempt: int, result: QuizResult | None,
                   hidden: QuizResult | None, reason: str, summary: AttemptSummary, inputs: FeedbackInputs,
                   overrides: Mapping[str, Override], now: datetime | None = None) -> bool:
    """Write ``feedback/<student>/attempt-<attempt>.md`` and ``.html``; return whether they show the key.

    ``result`` and ``hidden`` are the automatic results with and without the key; ``summary`` is the
    student's attempt summary now (the key policy and the attempt lines read it).
    """
    from .feedback import feedback_pages

    visibility = key_visibility(bank, summary, now or datetime.now(timezone.utc))
    key_shown = inputs.reveal_key and visibility.show
    shown = result if key_shown else hidden
    if shown is not None:
        shown = with_overrides(shown, overrides)
    notes = [inputs.late_message] if inputs.late_message else []
    if shown is not None and inputs.penalty_percent:
        counts = apply_late(shown.percent, Lateness(None, inputs.penalty_percent, False, ""))
        notes.append(f"After the late penalty this attempt counts {number_text(counts)}% "
                     f"({number_text(round(counts * shown.max_score / 100, 2))}/"
                     f"{number_text(shown.max_score)} points); the score below is before it.")
    if inputs.lms_late:
        notes.append("The LMS marked this submission late.")
    if not key_shown:
        notes.append(visibility.note if inputs.reveal_key else "The answers are not shown in this feedback.")
    folder = out_dir / "feedback" / feedback_folder(submission.student)
    folder.mkdir(parents=True, exist_ok=True)
    markdown, page = feedback_pages(bank, submission, shown, reason, summary, notes=notes)
    write_atomic(folder / f"attempt-{attempt}.md", markdown)
    write_atomic(folder / f"attempt-{attempt}.html", page)
    return key_shown


def rewrite_feedback(*, bank: Bank, out_dir: Path, student: str, attempt: int, file: str, stored_result: Any,
                     reason: str, summary: AttemptSummary, stored_inputs: str | None,
                     overrides: Mapping[str, Override], now: datetime | None = None) -> bool:
    """Write an attempt's feedback again from what the gradebook holds; False when it holds too little
    (an attempt graded before :class:`FeedbackInputs` were kept: its old page stays as it was)."""
    inputs = FeedbackInputs.from_json(stored_inputs)
    if inputs is None or (stored_result is not None and inputs.hidden is None):
        return False  # without the keyless result a page could show a key the policy keeps back
    submission = Submission(path=Path(file), student=student, answers=dict(inputs.code), problems=list(inputs.problems))
    result = result_from_dict(stored_result)
    write_feedback(bank=bank, out_dir=out_dir, submission=submission, attempt=attempt, result=result,
                   hidden=result_from_dict(inputs.hidden) if result is not None else None, reason=reason,
                   summary=summary, inputs=inputs, overrides=overrides, now=now)
    return True
