"""``Quiz``: the self-checking quiz widget for JupyterLab and Colab.

    from grader.widgets import Quiz
    Quiz("quizzes/day48-lora-qlora.yaml")            # or a Bank, a bank id, ids=[...], tags=[...]

One question at a time, with Check / Hint / Previous / Next / Finish; a running score, tries left,
optional countdowns, and a summary table at the end. All verdicts come from ``grader.scoring`` via
:class:`~grader.widgets.session.QuizSession`; this module only draws them. Its public methods
(``select``, ``check``, ``hint``, ``next``, ``flip``, ``mark``, ``finish``) do exactly what the
buttons do, so tests drive the real widget without a browser.
"""
from __future__ import annotations

import getpass
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipywidgets as w

from ..bank import Bank
from ..errors import UserError
from ..kinds import KINDS, InputSpec
from ..loader import find_bank, load_bank
from ..models import QuestionBase
from ..progress import load_progress, progress_path, save_progress
from ..scoring.result import STATUS_MARK, points_label
from . import feedback, static
from .inputs import AnswerInput, build_input
from ..markup import code_html, inline_html, markdown_html, plain_text, strip_tags
from .scope import not_scored_note, self_check_bank
from .session import DEFAULT_TRIES, CheckOutcome, FinishOutcome, QuizSession
from .style import CSS


def _resolve_bank(bank: Bank | str | Path) -> Bank:
    if isinstance(bank, Bank):
        return bank
    path = Path(bank)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return load_bank(path)
    return load_bank(find_bank(str(bank)))  # a bank id: quizzes/<id>.yaml found from the notebook's folder


def quiz_id_for(full: Bank, chosen: Bank) -> str:
    """The bank id, or for part of a bank the id plus a short hash of the chosen questions
    (so a lesson's three-question quiz keeps its own progress file)."""
    if chosen.question_ids == full.question_ids:
        return full.id
    return f"{full.id}-{hashlib.sha256(','.join(chosen.question_ids).encode()).hexdigest()[:6]}"


def _default_student() -> str:
    try:
        return os.environ.get("GRADER_STUDENT") or getpass.getuser() or "student"
    except Exception:  # getuser fails in some containers without a passwd entry
        return "student"


def _clock_text(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _title(question: QuestionBase, width: int = 60) -> str:
    first = next((line for line in question.prompt.strip().splitlines() if line.strip()), question.id)
    text = plain_text(first)
    return text if len(text) <= width else text[: width - 1] + "…"


def _input_spec(question: QuestionBase) -> InputSpec:
    """What the question's kind asks the widget to offer."""
    return KINDS.of(question).answer_input(question)


def _button(label: str, tooltip: str, style: str = "") -> w.Button:
    return w.Button(description=label, tooltip=tooltip, button_style=style, layout=w.Layout(width="auto"))


_STRIP_MARKS = {**STATUS_MARK, "tried": "•"}
"""The question strip's marks: a verdict once final; a neutral dot while a try remains."""


def _wrap() -> w.Layout:
    """A row's layout that wraps onto the next line on a narrow screen instead of running off it
    (a fresh one per row: hiding a row sets its layout's ``display``)."""
    return w.Layout(flex_flow="row wrap", align_items="center", width="100%")


@dataclass
class QuestionView:
    """The widgets of one question, built the first time it is shown."""

    container: w.VBox
    input: AnswerInput | None = None
    check: w.Button | None = None
    hint_button: w.Button | None = None
    tries: w.Label = field(default_factory=w.Label)
    hint: w.HTMLMath = field(default_factory=w.HTMLMath)
    feedback: w.HTMLMath = field(default_factory=w.HTMLMath)
    card: w.HTMLMath | None = None
    flip: w.Button | None = None
    marks: tuple[w.Button, ...] = ()


class Quiz:
    """An interactive quiz over a bank (or part of it). Display it by making it a cell's last line."""

    def __init__(self, bank: Bank | str | Path, *, ids: Sequence[str] | None = None, tags: Sequence[str] | None = None,
                 types: Sequence[str] | None = None, student: str | None = None, seed: int | str | None = None,
                 shuffle_options: bool | None = None, shuffle_questions: bool | None = None,
                 tries: int | None = DEFAULT_TRIES, time_limit_s: float | None = None,
                 progress: bool | str | Path = True, clock: Callable[[], float] = time.monotonic,
                 autotick: bool = True, practice: bool = False) -> None:
        """
        ``shuffle_options``: ``None`` (the default) follows the bank's ``shuffle_options`` (off unless
        the bank says so); ``True`` shuffles each question's options per student, reproducibly
        (``seed`` varies it). Shown letters follow the display order, answers keep the option ids.
        ``tries`` are the tries per graded
        question when the bank sets none (``None``: unlimited). ``progress``: write
        ``<quiz>.progress.json`` in the working directory (True), at a given path, or nowhere (False).
        ``clock`` and ``autotick=False`` let tests drive the countdowns with :meth:`tick`.

        The widget shows keys and explanations after every check, so it only takes practice banks
        (``show_key: after_each_attempt``); a graded bank raises :class:`~grader.errors.UserError`
        unless its author passes ``practice=True`` (e.g. to try their own bank out).
        """
        full = _resolve_bank(bank)
        if full.show_key != "after_each_attempt" and not practice:
            raise UserError(f"bank '{full.id}' is graded (show_key: {full.show_key}): the quiz widget would show its "
                            "keys and explanations after each check. Use a practice bank (show_key: after_each_attempt), "
                            "or pass practice=True if you are the bank's author trying it out.")
        chosen = full.subset(ids=list(ids) if ids is not None else None, tags=list(tags) if tags is not None else None) \
            if ids is not None or tags is not None else full
        chosen, self.not_scored_here = self_check_bank(chosen.of_types(types))  # code questions: see scope.py
        self.bank = chosen
        self.quiz_id = quiz_id_for(full, chosen)
        self.student = student or _default_student()
        if progress is True:
            self.progress_file: Path | None = progress_path(self.quiz_id)
        else:
            self.progress_file = Path(progress) if progress else None
        record = load_progress(self.progress_file, quiz_id=self.quiz_id, student=self.student) if self.progress_file else None
        self.session = QuizSession(chosen, student=self.student, quiz_id=self.quiz_id, seed=seed,
                                   shuffle_options=shuffle_options, shuffle_questions=shuffle_questions,
                                   tries=tries, time_limit_s=time_limit_s, progress=record, clock=clock)
        self.index = 0
        self._views: dict[str, QuestionView] = {}
        self.last_check_s: float | None = None
        self._build_frame(record.notice if record else None)
        self._show(0)
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        if autotick and self._has_timers():
            self._ticker = threading.Thread(target=self._tick_loop, name=f"quiz-timer-{self.quiz_id}", daemon=True)
            self._ticker.start()

    # -- frame -------------------------------------------------------------------------------------
    def _build_frame(self, notice: str | None) -> None:
        bank = self.bank
        intro = markdown_html(bank.description) if bank.description else ""
        self.header = w.HTMLMath(value=f'{CSS}<div class="gq-title">{inline_html(bank.title)}</div>'
                                       f'<div class="gq-muted">{intro}</div>')
        self.position = w.Label()
        self.score = w.Label()
        self.timer = w.Label()
        self.strip_buttons: list[w.Button] = []
        for number, q in enumerate(self.session.questions):
            cell = w.Button(description=str(number + 1), tooltip=f"go to question {number + 1}",
                            layout=w.Layout(width="auto"))
            cell.on_click(lambda _b, index=number: self._show(index))
            self.strip_buttons.append(cell)
        self.strip = w.HBox(self.strip_buttons, layout=_wrap())
        self.strip.add_class("gq-strip")
        self.area = w.VBox(layout=w.Layout(width="100%"))
        self.prev_button = _button("◀ Previous", "previous question")
        self.next_button = _button("Next ▶", "next question")
        self.finish_button = _button("Finish", "score this attempt and see the summary", "primary")
        self.retake_button = _button("Retake", "start a new attempt")
        self.retake_button.layout.display = "none"
        self.prev_button.on_click(lambda _b: self.previous())
        self.next_button.on_click(lambda _b: self.next())
        self.finish_button.on_click(lambda _b: self.request_finish())
        self.retake_button.on_click(lambda _b: self.retake())
        # Finish with questions left asks first, inside the widget (no browser dialog: Colab's
        # output frames and some notebook front ends block them)
        self.confirm_text = w.HTML()
        finish_anyway = _button("Finish anyway", "score this attempt now", "danger")
        keep_going = _button("Keep going", "go to the first unanswered question")
        finish_anyway.on_click(lambda _b: self.finish())
        keep_going.on_click(lambda _b: self.keep_going())
        self.confirm = w.HBox([self.confirm_text, finish_anyway, keep_going], layout=_wrap())
        self.confirm.add_class("gq-confirm")
        self.confirm.layout.display = "none"
        self.notice = w.HTML(value=feedback.message_html(notice, "partial") if notice else "")
        self.summary = w.HTMLMath()
        bar = w.HBox([self.position, self.score, self.timer],
                     layout=w.Layout(justify_content="space-between", flex_flow="row wrap", width="100%"))
        bar.add_class("gq-bar")
        nav = w.HBox([self.prev_button, self.next_button, self.finish_button, self.retake_button], layout=_wrap())
        nav.add_class("gq-nav")
        self.widget = w.VBox([self.header, self.notice, bar, self.strip, self.area, nav, self.confirm, self.summary],
                             layout=w.Layout(width="100%", max_width="52em"))
        self.widget.add_class("gq-quiz")

    # -- one question's widgets --------------------------------------------------------------------
    def _view(self, qid: str) -> QuestionView:
        if qid not in self._views:
            self._views[qid] = self._build_view(self.session.question(qid))
        return self._views[qid]

    def _build_view(self, question: QuestionBase) -> QuestionView:
        meta = " · ".join(x for x in (question.difficulty, points_label(question.points)
                                      if question.graded else "self-check") if x)
        prompt = w.HTMLMath(value=f'<div class="gq-prompt">{markdown_html(question.prompt)}</div>'
                                  f'<div class="gq-muted" style="font-size:.85em">{meta}</div>')
        parts: list[w.Widget] = [prompt]
        if question.shown_code:
            parts.append(w.HTML(value=code_html(question.shown_code)))
        view = QuestionView(container=w.VBox())
        spec = _input_spec(question)
        if spec.style == "card":
            view.card = w.HTMLMath(value=self._card_html(question, flipped=False))
            view.flip = _button("Flip card ↻", "show the other side", "info")
            got = _button("Got it ✓", "I knew this one", "success")
            again = _button("Again ↺", "show me this card again later", "warning")
            view.flip.on_click(lambda _b: self.flip())
            got.on_click(lambda _b: self.mark("got_it"))
            again.on_click(lambda _b: self.mark("again"))
            view.marks = (got, again)  # enabled once the card shows its back (see _refresh)
            view.container.children = [view.card, w.HBox([view.flip, got, again], layout=_wrap()), view.feedback]
            return view
        if spec.style == "elsewhere":
            note = not_scored_note(question, self.not_scored_here.get(question.id))
            parts.append(w.HTMLMath(value=feedback.box(markdown_html(note), "info")))
            view.container.children = parts
            return view
        view.input = build_input(spec, self.session.options(question.id),
                                 lambda answer, qid=question.id: self.session.select(qid, answer),
                                 self.session.labels(question.id))
        view.check = _button("Check", "check your answer", "primary")
        view.hint_button = _button("Hint", "show a hint")
        view.check.on_click(lambda _b: self.check())
        view.hint_button.on_click(lambda _b: self.hint())
        if not question.hint:  # a greyed button promises help that never comes
            view.hint_button.layout.display = "none"
        if view.input is not None:
            parts.append(view.input.widget)
        parts += [w.HBox([view.check, view.hint_button, view.tries], layout=_wrap()),
                  view.hint, view.feedback]
        view.container.children = parts
        return view

    def _card_html(self, question: QuestionBase, *, flipped: bool) -> str:
        side, text = ("Back", _input_spec(question).back) if flipped else ("Front", question.prompt)
        return f'<div class="gq-card"><div class="gq-muted">{side}</div>{markdown_html(text)}</div>'

    # -- drawing -----------------------------------------------------------------------------------
    @property
    def current(self) -> str:
        """The id of the question on screen."""
        return self.session.questions[self.index].id

    def _show(self, index: int) -> None:
        self.index = max(0, min(index, len(self.session.questions) - 1))
        qid = self.current
        self.session.open(qid)
        view = self._view(qid)
        self.area.children = [view.container]
        self._refresh(qid)

    def _refresh(self, qid: str) -> None:
        """Redraw the bar and ``qid``'s controls from the session (never from widget state)."""
        session, view = self.session, self._view(qid)
        total = len(session.questions)
        self.position.value = f"{'Card' if session.is_deck else 'Question'} {self.index + 1} of {total}"
        self.prev_button.disabled = self.index == 0
        self.next_button.disabled = self.index == total - 1
        if session.graded_max:
            self.score.value = f"Score: {session.running_score:g}/{session.graded_max:g}"
        else:
            self.score.value = session.deck_summary().text
        self._refresh_timer()
        self._refresh_strip()
        if view.card is not None:  # the card's side and its buttons follow the session
            flipped = session.states[qid].flipped
            view.card.value = self._card_html(session.question(qid), flipped=flipped)
            for button in view.marks:
                button.disabled = not flipped or session.finished is not None
        if view.check is None:
            return
        final = session.is_final(qid)
        view.check.disabled = final
        if view.input is not None:
            view.input.disable(final)
        state = session.states[qid]
        if state.timed_out or session.quiz_time_left() == 0:
            view.tries.value = "⏰ Time is up"
        elif state.result is not None and state.result.status == "correct":
            view.tries.value = "✓ Done"
        else:
            view.tries.value = feedback.tries_text(session.tries_left(qid), state.tries)

    def _refresh_strip(self) -> None:
        """Number buttons that jump to their question, marked once a verdict is final."""
        for number, (q, cell) in enumerate(zip(self.session.questions, self.strip_buttons), 1):
            shown = self.session.shown_status(q.id)
            mark = ("🃏" if self.session.states[q.id].mark else "") if shown is None else _STRIP_MARKS.get(shown, "")
            cell.description = f"{number}{mark}"
            cell.tooltip = f"go to question {number}" + (" (tried, a try left)" if shown == "tried" else "")
            if number - 1 == self.index:
                cell.add_class("gq-current")
            else:
                cell.remove_class("gq-current")

    def _refresh_timer(self) -> None:
        session, qid = self.session, self.current
        lefts = [t for t in (session.question_time_left(qid), session.quiz_time_left()) if t is not None]
        if not lefts:
            self.timer.value = ""
        elif min(lefts) <= 0:
            self.timer.value = "⏰ Time is up"
        else:
            self.timer.value = f"⏱ {_clock_text(min(lefts))} remaining"

    # -- actions (the buttons call these) ----------------------------------------------------------
    def select(self, answer: Any) -> None:
        """Set the current question's input, exactly as clicking or typing would."""
        view = self._view(self.current)
        if view.input is None:
            raise ValueError(f"question '{self.current}' takes no typed answer (use flip/mark for flashcards)")
        view.input.value = answer

    def check(self) -> CheckOutcome:
        """Check the current answer and show the verdict; returns what the session decided."""
        started = time.perf_counter()
        qid = self.current
        question, view = self.session.question(qid), self._view(qid)
        outcome = self.session.check(qid)
        if outcome.result is not None and not (outcome.message and outcome.final):
            view.feedback.value = feedback.result_html(question, outcome.result, final=outcome.final,
                                                       tries_left=self.session.tries_left(qid),
                                                       labels=self.session.labels(qid))
        elif outcome.message:
            status = "incorrect" if "Time" in outcome.message else "info"
            view.feedback.value = feedback.message_html(outcome.message, status) + (
                view.feedback.value if outcome.final and outcome.result is not None else "")
        self._refresh(qid)
        self._save()
        self.last_check_s = time.perf_counter() - started
        return outcome

    def hint(self) -> str | None:
        """Show the current question's hint."""
        text = self.session.hint(self.current)
        view = self._view(self.current)
        view.hint.value = feedback.hint_html(text) if text else feedback.message_html("No hint for this one.")
        return text

    def next(self) -> None:
        self._show(self.index + 1)

    def previous(self) -> None:
        self._show(self.index - 1)

    def go(self, question: str | int) -> None:
        """Jump to a question by id or 0-based position."""
        index = question if isinstance(question, int) else [q.id for q in self.session.questions].index(question)
        self._show(index)

    def flip(self) -> bool:
        """Turn the current flashcard over; returns whether its back shows."""
        qid = self.current
        question = self.session.question(qid)
        if _input_spec(question).style != "card":
            raise ValueError(f"question '{qid}' is not a flashcard")
        flipped = self.session.flip(qid)
        self._refresh(qid)
        return flipped

    def mark(self, verdict: str) -> None:
        """Mark the current, flipped flashcard 'got_it' (or 'got') or 'again', as its buttons do;
        'again' cards come back at the end. Raises ValueError before the card is flipped."""
        qid = self.current
        deck = self.session.mark(qid, verdict)
        view = self._view(qid)
        got = self.session.states[qid].mark == "got_it"
        view.feedback.value = feedback.message_html(deck.text, "correct" if got else "partial")
        self._save()
        if self.index < len(self.session.questions) - 1:
            self._show(self.index + 1)
        elif deck.again:  # end of the deck: start over at the first card to see again
            self.go(deck.again[0])
        else:
            self._refresh(qid)

    def request_finish(self) -> FinishOutcome | None:
        """What **Finish** does: finish at once when nothing is left to answer, else ask first
        ("3 questions unanswered — finish anyway?") and return None."""
        left = self.session.unanswered() if self.session.finished is None else []
        if not left:
            return self.finish()
        noun = "card" if self.session.is_deck else "question"
        what = f"{len(left)} {noun}{'s' if len(left) != 1 else ''} {'not marked' if noun == 'card' else 'unanswered'}"
        self.confirm_text.value = (f"<b>{what}</b> — finish anyway?"
                                   + ("" if noun == "card" else " <span class=\"gq-muted\">(an answer counts once checked)</span>"))
        self.confirm.layout.display = ""
        return None

    def keep_going(self) -> None:
        """What **Keep going** does: close the question and show the first unanswered question."""
        self.confirm.layout.display = "none"
        left = self.session.unanswered()
        if left:
            self.go(left[0])

    def finish(self) -> FinishOutcome:
        """Score this attempt's checked answers and show the summary table (no questions asked:
        **Finish anyway** and the quiz's own time limit call this)."""
        outcome = self.session.finish()
        self.confirm.layout.display = "none"
        titles = {q.id: _title(q) for q in self.session.questions}
        deck = self.session.deck_summary()
        labels = {q.id: self.session.labels(q.id) for q in self.session.questions}
        self.summary.value = feedback.summary_html(outcome, titles, deck, labels)
        self.finish_button.disabled = True
        self.retake_button.layout.display = "" if self.session.can_retake else "none"
        self._stop.set()
        self._refresh(self.current)
        self._save()
        return outcome

    def retake(self) -> None:
        """Start a new attempt (when the bank allows one)."""
        if not self.session.can_retake:
            raise RuntimeError("no attempts left at this quiz")
        self.session.restart()
        self._views.clear()
        self.summary.value = ""
        self.finish_button.disabled = False
        self.retake_button.layout.display = "none"
        self._show(0)
        if self._ticker is not None and not self._ticker.is_alive():
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick_loop, daemon=True)
            self._ticker.start()

    def tick(self) -> None:
        """Advance the countdowns: lock questions whose time ran out; finish when the quiz's did."""
        expired = self.session.expire_timers()
        if self.session.quiz_time_left() == 0 and self.session.finished is None:
            self.finish()
            self.summary.value = feedback.message_html("Time is up for the quiz.", "incorrect") + self.summary.value
            return
        if self.current in expired:
            view = self._view(self.current)
            if view.check is not None:
                view.feedback.value = feedback.message_html("⏰ Time is up for this question.", "incorrect")
        self._refresh(self.current)

    # -- answers and progress ----------------------------------------------------------------------
    @property
    def answers(self) -> dict[str, Any]:
        """Checked answers, in the answer-file format ``grader grade`` reads."""
        return self.session.answers

    def export_answers(self, path: str | Path | None = None) -> Path:
        """Write ``{"student", "bank", "answers"}`` JSON (default ``<student>-<quiz>.answers.json``)."""
        target = Path(path) if path is not None else Path.cwd() / f"{self.student}-{self.quiz_id}.answers.json"
        data = {"student": self.student, "bank": self.bank.id, "answers": self.answers}
        target.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return target

    def _save(self) -> None:
        if self.progress_file is None:
            return
        try:
            save_progress(self.session.progress, self.progress_file)
        except OSError as exc:  # a read-only folder must not break the quiz
            self.notice.value = feedback.message_html(f"Progress not saved ({exc.strerror or exc}).", "partial")
            self.progress_file = None

    # -- timers ------------------------------------------------------------------------------------
    def _has_timers(self) -> bool:
        return self.session.time_limit_s is not None or any(q.time_limit_s for q in self.session.questions)

    def _tick_loop(self) -> None:
        while not self._stop.wait(1.0):
            if getattr(self.widget, "comm", None) is None:  # closed, e.g. the cell was cleared
                return
            try:
                self.tick()
            except Exception:  # a drawing error must not kill the kernel's thread silently forever
                self._stop.set()
                raise

    def close(self) -> None:
        """Stop the countdown thread and close the widgets."""
        self._stop.set()
        self.widget.close()

    # -- display -----------------------------------------------------------------------------------
    def text(self) -> str:
        """What the student sees right now, as plain text (for tests, and screen readers' sake)."""
        pieces = [self.position.value, self.score.value, self.timer.value]
        for child in self.area.children[0].children if self.area.children else ():
            pieces.append(_widget_text(child))
        pieces.append(_widget_text(self.confirm))
        pieces.append(strip_tags(self.summary.value))
        return "\n".join(p for p in pieces if p)

    def _repr_mimebundle_(self, include: Collection[str] | None = None,
                          exclude: Collection[str] | None = None) -> dict[str, Any]:
        """The live widget view plus a keyless static version (text, Markdown, HTML) of the quiz.

        A front end with a widget manager draws the view; a saved notebook without widget state
        (GitHub, nbviewer, exported HTML, a committed lesson after ``course.executed.tidy``) shows
        the static version instead of ``VBox(children=…)``. See :mod:`grader.widgets.static`."""
        return static.mimebundle(self.widget, self.bank, include, exclude)

    @classmethod
    def combined(cls, quiz_id: str, *, title: str, parts: Sequence[tuple[Bank | str | Path, Sequence[str] | None]],
                 description: str | None = None, pass_percent: float | None = None, **options: Any) -> Quiz:
        """One quiz over questions from several banks, under its own id and title (a lesson's
        closing self-check); ``options`` are :class:`Quiz`'s. See :func:`grader.widgets.lesson.combine_banks`."""
        from .lesson import combine_banks

        bank = combine_banks(quiz_id, title=title, parts=parts, description=description, pass_percent=pass_percent)
        return cls(bank, **options)


def _widget_text(widget: w.Widget) -> str:
    if widget.layout.display == "none":  # hidden: not what the student sees
        return ""
    if isinstance(widget, (w.HTML, w.HTMLMath)):
        return strip_tags(widget.value)
    if isinstance(widget, w.Label):
        return widget.value
    if isinstance(widget, w.Button):
        return f"[{widget.description}]"
    if isinstance(widget, w.RadioButtons):
        return "\n".join(f"({'x' if value == widget.value else ' '}) {label}" for label, value in widget.options)
    if isinstance(widget, w.Checkbox):
        return "[x]" if widget.value else "[ ]"
    if isinstance(widget, (w.Text, w.Textarea)):
        return f"> {widget.value}"
    if isinstance(widget, w.Box):
        return " ".join(t for t in (_widget_text(c) for c in widget.children) if t)
    return ""


__all__ = ["Quiz", "QuestionView"]
