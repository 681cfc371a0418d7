"""The state of one student's run through a quiz, with no widgets in it.

:class:`QuizSession` holds answers, tries, hints, timers and flashcard marks, and asks
``grader.scoring`` for every verdict: it never decides a score itself. The widget (``quiz.py``)
only draws what the session says, which is why the whole quiz logic is tested without a browser
and on both ipywidgets 7 and 8.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..bank import Bank
from ..kinds import KINDS
from ..meaning.judge import JudgeSource
from ..models import Option, QuestionBase
from ..progress import Attempt, Progress
from ..scorer import score_answers, score_question
from ..scoring import QuestionResult, QuizResult
from ..scoring.attempts import AttemptSummary, summarize_attempts
from .order import OptionLabels, shuffled, student_rng

DEFAULT_TRIES = 2
"""Tries per graded question when the bank does not say: one slip is forgiven, guessing is not."""

MARKS = {"got_it": "got_it", "got": "got_it", "got it": "got_it", "again": "again"}
"""What :meth:`QuizSession.mark` accepts (the buttons say "Got it" and "Again") -> the stored mark."""


@dataclass
class QuestionState:
    """What happened to one question in the current attempt."""

    answer: Any = None
    """The current selection, in the answer-file format ('B', ['A', 'C'], 252, 'text')."""
    tries: int = 0
    checked_answer: Any = None
    result: QuestionResult | None = None
    hint_shown: bool = False
    opened_at: float | None = None
    timed_out: bool = False
    flipped: bool = False
    mark: str | None = None
    """Flashcards: 'got_it' or 'again'."""


@dataclass
class CheckOutcome:
    """What pressing Check did: a scored result, or why nothing was scored."""

    result: QuestionResult | None
    message: str = ""
    final: bool = False
    """No more tries at this question (right, out of tries, or out of time): the key may be shown."""


@dataclass
class FinishOutcome:
    result: QuizResult
    summary: AttemptSummary
    best_percent: float
    new_best: bool


@dataclass
class DeckSummary:
    got_it: list[str] = field(default_factory=list)
    again: list[str] = field(default_factory=list)
    unseen: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        total = len(self.got_it) + len(self.again) + len(self.unseen)
        line = f"Deck: {len(self.got_it)}/{total} got it"
        if self.again:
            line += f", {len(self.again)} to see again"
        if self.unseen:
            line += f", {len(self.unseen)} not seen yet"
        return line + "."


class QuizSession:
    """One student's attempt(s) at ``bank``: answers, tries, timers; scoring delegated to grader.scoring."""

    def __init__(self, bank: Bank, *, student: str, quiz_id: str | None = None, seed: int | str | None = None,
                 shuffle_options: bool | None = None, shuffle_questions: bool | None = None,
                 tries: int | None = DEFAULT_TRIES, time_limit_s: float | None = None,
                 progress: Progress | None = None, clock: Callable[[], float] = time.monotonic,
                 judges: JudgeSource | None = None) -> None:
        self.bank = bank
        self.judges = judges or JudgeSource()
        """Judges free responses by meaning; the model loads on the first free response checked."""
        self.student = student
        self.quiz_id = quiz_id or bank.id
        self.clock = clock
        self.default_tries = tries
        self.time_limit_s = time_limit_s if time_limit_s is not None else bank.time_limit_s
        self.progress = progress or Progress(quiz_id=self.quiz_id, student=student)
        shuffle_options = bank.shuffle_options if shuffle_options is None else shuffle_options
        shuffle_questions = bank.shuffle_questions if shuffle_questions is None else shuffle_questions
        questions = list(bank.questions)
        if shuffle_questions:
            questions = shuffled(questions, student_rng(self.quiz_id, student, seed, purpose="questions"))
        self.questions: list[QuestionBase] = questions
        self._options: dict[str, list[Option]] = {}
        self._labels: dict[str, OptionLabels] = {}
        for q in questions:
            options = q.choices
            if options:
                rng = student_rng(self.quiz_id, student, seed, purpose=f"options:{q.id}")
                self._options[q.id] = shuffled(options, rng) if shuffle_options else list(options)
                self._labels[q.id] = OptionLabels.for_order([o.id for o in self._options[q.id]])
        self.states: dict[str, QuestionState] = {}
        self.started_at = 0.0
        self.finished: FinishOutcome | None = None
        self.restart()

    # -- the attempt -------------------------------------------------------------------------------
    def restart(self) -> None:
        """Start a fresh attempt: clear answers, tries and timers (finished attempts stay recorded)."""
        self.states = {q.id: QuestionState() for q in self.questions}
        for qid, mark in self.progress.flashcards.items():
            if qid in self.states:
                self.states[qid].mark = mark
        self.started_at = self.clock()
        self.finished = None

    @property
    def attempt_summary(self) -> AttemptSummary:
        return summarize_attempts(self.bank, self.progress.percents)

    @property
    def can_retake(self) -> bool:
        return self.attempt_summary.can_retry

    def question(self, qid: str) -> QuestionBase:
        return self.bank.question(qid)

    def options(self, qid: str) -> list[Option]:
        """The question's options in this student's order."""
        return self._options.get(qid, [])

    def labels(self, qid: str) -> OptionLabels:
        """The letters shown beside ``qid``'s options (A, B, C… in this student's order); answers keep the ids."""
        return self._labels.get(qid, OptionLabels())

    def is_card(self, qid: str) -> bool:
        return KINDS.of(self.question(qid)).answer_input(self.question(qid)).style == "card"

    @property
    def is_deck(self) -> bool:
        """Every question is a flashcard: the quiz is a deck of cards."""
        return bool(self.questions) and all(self.is_card(q.id) for q in self.questions)

    # -- one question ------------------------------------------------------------------------------
    def tries_allowed(self, qid: str) -> int | None:
        question = self.question(qid)
        if question.attempts is not None:
            return question.attempts
        if not question.graded:  # self-check aids: try as often as you like
            return None
        return self.default_tries

    def tries_left(self, qid: str) -> int | None:
        allowed = self.tries_allowed(qid)
        return None if allowed is None else max(0, allowed - self.states[qid].tries)

    def is_final(self, qid: str) -> bool:
        """No more checking: right, out of tries, out of time, or the attempt is finished."""
        state = self.states[qid]
        if self.finished is not None or state.timed_out or self.quiz_time_left() == 0:
            return True
        if state.result is not None and state.result.status == "correct":
            return True
        left = self.tries_left(qid)
        return left == 0

    def shown_status(self, qid: str) -> str | None:
        """What the question strip shows: the verdict once final, 'tried' while a try remains
        (a ✗ there would say "wrong" before the student has used their second try), else None."""
        result = self.states[qid].result
        if result is None:
            return None
        return result.status if self.is_final(qid) else "tried"

    def open(self, qid: str) -> None:
        """The student is looking at ``qid``: its own timer starts now (once)."""
        state = self.states[qid]
        if state.opened_at is None:
            state.opened_at = self.clock()

    def select(self, qid: str, answer: Any) -> bool:
        """Record the current selection; False (ignored) once the question is final."""
        if self.is_final(qid):
            return False
        self.states[qid].answer = answer
        return True

    def check(self, qid: str) -> CheckOutcome:
        """Score the current selection with ``grader.scoring`` and use up one try."""
        question, state = self.question(qid), self.states[qid]
        self.expire_timers()
        spec = KINDS.of(question).answer_input(question)
        if spec.style in ("card", "elsewhere"):  # flashcards are flipped; code is graded by `grader grade`
            return CheckOutcome(None, spec.note)
        if self.is_final(qid):
            reason = "Time is up for this question." if state.timed_out or self.quiz_time_left() == 0 else "No tries left."
            if state.result is not None and state.result.status == "correct":
                reason = "Already answered correctly."
            return CheckOutcome(state.result, reason, final=True)
        if _empty(state.answer):
            return CheckOutcome(None, "Choose an answer first." if question.choices else "Type an answer first.")
        outcome = self.judges.outcome(question, state.answer)  # free responses: judged by meaning (trusted)
        result = score_question(question, state.answer, reveal_key=True, code_outcomes=outcome)
        if result.status == "invalid":  # an unreadable answer ('two hundred') costs no try
            return CheckOutcome(result, final=False)
        state.tries += 1
        state.checked_answer = state.answer
        state.result = result
        self._record(qid)
        return CheckOutcome(result, final=self.is_final(qid))

    def hint(self, qid: str) -> str | None:
        """The question's hint (remembered as shown), or None when it has none."""
        question = self.question(qid)
        if not question.hint:
            return None
        self.states[qid].hint_shown = True
        return question.hint

    # -- flashcards --------------------------------------------------------------------------------
    def flip(self, qid: str) -> bool:
        """Turn the card over (and back); returns whether the back now shows."""
        state = self.states[qid]
        state.flipped = not state.flipped
        return state.flipped

    def mark(self, qid: str, verdict: str) -> DeckSummary:
        """Mark a flipped card 'got_it' (or 'got') or 'again'; the card goes back face down."""
        mark = MARKS.get(verdict.strip().casefold()) if isinstance(verdict, str) else None
        if mark is None:
            raise ValueError(f"a flashcard is marked 'got_it' (or 'got') or 'again', not {verdict!r}")
        state = self.states[qid]
        if not state.flipped:
            raise ValueError(f"flip card '{qid}' before marking it: the mark says whether you knew its back")
        state.mark = mark
        state.flipped = False
        self.progress.flashcards[qid] = mark
        return self.deck_summary()

    def deck_summary(self) -> DeckSummary:
        deck = DeckSummary()
        for q in self.questions:
            if KINDS.of(q).answer_input(q).style == "card":
                mark = self.states[q.id].mark
                (deck.got_it if mark == "got_it" else deck.again if mark == "again" else deck.unseen).append(q.id)
        return deck

    # -- timers ------------------------------------------------------------------------------------
    def question_time_left(self, qid: str) -> float | None:
        question, state = self.question(qid), self.states[qid]
        if question.time_limit_s is None or state.opened_at is None:
            return None if question.time_limit_s is None else float(question.time_limit_s)
        return max(0.0, question.time_limit_s - (self.clock() - state.opened_at))

    def quiz_time_left(self) -> float | None:
        if self.time_limit_s is None:
            return None
        return max(0.0, self.time_limit_s - (self.clock() - self.started_at))

    def expire_timers(self) -> list[str]:
        """Mark questions whose time ran out; returns their ids (newly expired only)."""
        expired = []
        for q in self.questions:
            state = self.states[q.id]
            if not state.timed_out and state.opened_at is not None and self.question_time_left(q.id) == 0:
                state.timed_out = True
                expired.append(q.id)
        return expired

    # -- the whole quiz ----------------------------------------------------------------------------
    @property
    def graded_max(self) -> float:
        return float(self.bank.max_score)

    @property
    def running_score(self) -> float:
        """Points of the latest checked answers so far."""
        return round(sum(s.result.points for s in self.states.values() if s.result is not None), 4)

    @property
    def checked_count(self) -> int:
        return sum(1 for q in self.questions if q.graded and self.states[q.id].result is not None)

    @property
    def answers(self) -> dict[str, Any]:
        """The checked answers, in the answer-file format ``grader grade`` reads."""
        return {q.id: self.states[q.id].checked_answer for q in self.questions
                if self.states[q.id].checked_answer is not None}

    def unanswered(self) -> list[str]:
        """Questions the student could still answer in the widget: not checked (and not locked by a
        timer), or cards not marked. Questions answered elsewhere (a ``code`` cell) do not count."""
        left = []
        for q in self.questions:
            state, style = self.states[q.id], KINDS.of(q).answer_input(q).style
            if style == "elsewhere":
                continue
            done = state.mark is not None if style == "card" else state.result is not None or self.is_final(q.id)
            if not done:
                left.append(q.id)
        return left

    def finish(self) -> FinishOutcome:
        """Score the checked answers as one attempt and record it (once per attempt)."""
        if self.finished is not None:
            return self.finished
        answers = self.answers
        result = score_answers(self.bank, answers, code_outcomes=self.judges.outcomes(self.bank, answers))
        best_before = self.progress.best_percent
        self.progress.attempts.append(Attempt(percent=result.percent, score=result.score, max_score=result.max_score))
        self.progress.answers = self.answers
        best = self.progress.best_percent or 0.0
        self.finished = FinishOutcome(result, self.attempt_summary, best,
                                      new_best=best_before is None or result.percent > best_before)
        return self.finished

    def _record(self, qid: str) -> None:
        state = self.states[qid]
        self.progress.answers[qid] = state.checked_answer
        self.progress.questions[qid] = {"tries": state.tries, "status": state.result.status if state.result else None,
                                        "points": state.result.points if state.result else 0.0}


def _empty(answer: Any) -> bool:
    return answer is None or (isinstance(answer, str) and not answer.strip()) or (
        isinstance(answer, (list, tuple)) and not answer)


__all__ = ["DEFAULT_TRIES", "MARKS", "CheckOutcome", "DeckSummary", "FinishOutcome", "QuestionState", "QuizSession"]
