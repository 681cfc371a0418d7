"""The quiz widget, driven headlessly through its public methods (as its buttons do).

Runs unchanged on ipywidgets 8 (this venv) and 7.7.1 (tests/widgets_compat.sh), asserting on what
the widgets show. No kernel or browser is needed: ipywidgets builds its models without one.
"""
from __future__ import annotations

import json

import ipywidgets
import pytest
from paths import ROOT

from grader import load_bank, parse_bank, score_answers
from grader.keys import student_copy_yaml
from grader.submissions import read_submission
from grader.widgets import Quiz

DAY48 = ROOT / "quizzes" / "day48-lora-qlora.yaml"
CHALLENGES = ROOT / "quizzes" / "lora-qlora-challenges.yaml"

ALL_TYPES = r"""
id: all-types
title: Every type
source: original
pass_percent: 75
attempts: 2
badge: {name: Perfect}
show_key: after_each_attempt
questions:
  - id: single
    type: single_choice
    prompt: "Which matrix is **low rank**? $\\Delta W = BA$"
    hint: Think of the product.
    explanation: BA has rank at most r.
    common_mistakes: [Picking the frozen weight W0]
    options:
      - {text: W0, feedback: W0 is frozen and full rank.}
      - {text: "$BA$", correct: true}
      - {text: the optimizer state}
  - id: multi
    type: multiple_choice
    prompt: Tick the QLoRA ingredients
    options: [{text: NF4, correct: true}, {text: double quantization, correct: true}, {text: dropout 0.9}, {text: fp64}]
  - id: num
    type: numeric
    prompt: How many parameters does a rank-2 adapter on a 63x63 matrix train?
    answer: 252
    attempts: 3
  - id: word
    type: text
    prompt: What does the Q in QLoRA stand for?
    answers: [quantized]
  - id: out
    type: code_output
    prompt: What does it print?
    snippet: "r = 4\nprint(r * 2)"
    answer: "8"
  - id: explain
    type: free_response
    prompt: Explain LoRA.
    concepts:
      - {id: frozen, label: the base weights stay frozen, keywords: [frozen, freeze]}
      - {id: lowrank, label: updates are low rank, keywords: [low rank, low-rank]}
      - {id: small, label: few trainable parameters, keywords: [few parameters, small]}
      - {id: merge, label: adapters can be merged, keywords: [merge, merged]}
  - id: card
    type: flashcard
    prompt: What does LoRA stand for?
    back: Low-Rank Adaptation
"""


def make_quiz(source=None, **kwargs) -> Quiz:
    bank = parse_bank(ALL_TYPES) if source is None else source
    kwargs.setdefault("progress", False)
    kwargs.setdefault("autotick", False)
    kwargs.setdefault("student", "ana")
    return Quiz(bank, **kwargs)


def answer(quiz: Quiz, value) -> str:
    """Select ``value`` in the current question, press Check, and return what the quiz shows."""
    quiz.select(value)
    quiz.check()
    return quiz.text()


def test_runs_on_a_supported_ipywidgets():
    assert ipywidgets.__version__.split(".")[0] in ("7", "8")


def test_single_choice_starts_empty_then_teaches_without_giving_the_key_away():
    quiz = make_quiz(shuffle_options=False)
    view = quiz._view("single")
    assert view.input.radio.value is None and view.input.radio.index is None
    assert "Attempts: 2 left" in quiz.text() and "Score: 0/" in quiz.score.value
    outcome = quiz.check()
    assert outcome.result is None and "Choose an answer first" in quiz.text() and "Attempts: 2 left" in quiz.text()
    shown = answer(quiz, "A")
    assert "Not quite" in shown and "W0 is frozen and full rank." in shown and "Attempts: 1 left" in shown
    assert "BA has rank at most r" not in shown and "Answer:" not in shown, "no key while tries remain"
    shown = answer(quiz, "B")
    assert "Correct!" in shown and "BA has rank at most r" in shown and "Common mistakes" in shown
    assert quiz.score.value == "Score: 1/5" and view.check.disabled and view.input.radio.disabled


def test_out_of_tries_reveals_key_and_locks():
    quiz = make_quiz(shuffle_options=False)
    for wrong in ("A", "C"):
        quiz.select(wrong)
        quiz.check()
    shown = quiz.text()
    assert "Attempts: 0 left" in shown and "Answer:" in shown and "BA has rank at most r" in shown
    outcome = quiz.check()
    assert outcome.final and "No tries left" in quiz.text()
    assert quiz.session.states["single"].tries == 2


def test_hint_button():
    quiz = make_quiz()
    assert quiz.hint() == "Think of the product." and "Hint" in quiz.text() and "Think of the product." in quiz.text()
    assert "[Hint]" in quiz.text()
    quiz.go("multi")
    assert quiz._view("multi").hint_button.layout.display == "none", "no greyed Hint button without a hint"
    assert "[Hint]" not in quiz.text() and quiz.hint() is None


def test_math_markdown_and_code_render_as_html():
    quiz = make_quiz(shuffle_options=False)
    view = quiz._view("single")
    prompt = view.container.children[0]
    assert isinstance(prompt, ipywidgets.HTMLMath)
    assert "<strong>low rank</strong>" in prompt.value and r"$\Delta W = BA$" in prompt.value
    option_list = view.input.widget.children[0]
    assert isinstance(option_list, ipywidgets.HTMLMath) and "$BA$" in option_list.value
    quiz.go("out")
    snippet = quiz._view("out").container.children[1]
    assert 'class="gq-code"' in snippet.value and "<span" in snippet.value and "print" in snippet.value


def test_multi_select_shows_partial_credit():
    quiz = make_quiz(shuffle_options=False)
    quiz.go("multi")
    quiz.select(["A", "C"])
    assert quiz._view("multi").input.value == ["A", "C"]
    quiz.check()
    shown = quiz.text()
    assert "Not quite (0/1 point)" in shown and "C is not right" in shown, "net_correct: a wrong tick cancels a right one"
    shown = answer(quiz, ["A"])
    assert "Partly correct (0.5/1 point)" in shown and "1 right option not ticked" in shown and "Answer: A, B" in shown


@pytest.mark.parametrize("qid, wrong, right", [("num", "250", "252"), ("word", "quick", "Quantized"), ("out", "4", "8\n")])
def test_typed_answers(qid, wrong, right):
    quiz = make_quiz()
    quiz.go(qid)
    assert "Not quite" in answer(quiz, wrong)
    assert "Correct!" in answer(quiz, right)


def test_unreadable_number_is_explained_and_costs_no_try():
    quiz = make_quiz()
    quiz.go("num")
    shown = answer(quiz, "two hundred")
    assert "Answer not understood" in shown and "Expected a number" in shown and "Attempts: 3 left" in shown
    assert quiz.session.states["num"].tries == 0 and quiz.score.value == "Score: 0/5"


def test_free_response_concept_checklist():
    quiz = make_quiz()
    quiz.go("explain")
    shown = answer(quiz, "The base model is frozen and we train small low-rank matrices.")
    assert "You got 3/4 concepts." in shown and "✗ adapters can be merged (not mentioned yet)" in shown
    assert "does not change your score" in shown and not quiz._view("explain").check.disabled, "self-checks may be retried"


def test_flashcards_flip_mark_and_summarise():
    bank = load_bank(ROOT / "quizzes" / "lora-qlora-flashcards-practice.yaml")
    quiz = make_quiz(bank, types=["flashcard"])
    got, again = quiz._view("fc1").marks
    assert "Front" in quiz.text() and "Back" not in quiz.text() and quiz.position.value == "Card 1 of 5"
    assert got.disabled and again.disabled, "a card is marked only once its back was seen"
    with pytest.raises(ValueError, match="flip card 'fc1' before marking it"):
        quiz.mark("got_it")
    assert quiz.flip() is True and "Back" in quiz.text() and "Low-Rank Adaptation" in quiz.text()
    assert not got.disabled and not again.disabled
    quiz.mark("got")  # the button says "Got it": 'got' and 'got_it' are the same mark
    assert quiz.current == "fc2" and "Deck: 1/5 got it" in quiz.score.value and quiz.position.value == "Card 2 of 5"
    with pytest.raises(ValueError, match="'got_it' \\(or 'got'\\) or 'again', not 'maybe'"):
        quiz.mark("maybe")
    quiz.flip(); quiz.mark("again")
    for _ in range(3):
        quiz.flip(); quiz.mark("got_it")
    assert quiz.current == "fc2", "the deck comes back to the cards to see again"
    assert "Front" in quiz.text() and quiz._view("fc2").marks[0].disabled, "a card comes back face down"
    outcome = quiz.finish()
    assert outcome.result.max_score == 0 and "Deck: 4/5 got it, 1 to see again." in quiz.text()


def test_countdown_per_question_locks_when_time_is_up(tmp_path):
    now = [1000.0]
    quiz = make_quiz(load_bank(CHALLENGES), clock=lambda: now[0], shuffle_options=False)
    assert quiz.timer.value == "⏱ 2:00 remaining"
    now[0] += 61
    quiz.tick()
    assert quiz.timer.value == "⏱ 0:59 remaining"
    now[0] += 60
    quiz.tick()
    assert quiz.timer.value == "⏰ Time is up" and "Time is up for this question" in quiz.text()
    quiz.select("A")
    assert quiz.check().result is None and quiz.session.states["c1"].tries == 0
    quiz.next()
    assert quiz.timer.value == "⏱ 2:00 remaining", "each question's clock starts when it is shown"


def test_quiz_time_limit_finishes_the_attempt():
    now = [0.0]
    quiz = make_quiz(time_limit_s=90, clock=lambda: now[0])
    assert quiz.timer.value == "⏱ 1:30 remaining"
    now[0] = 95
    quiz.tick()
    assert quiz.session.finished is not None and "Time is up for the quiz." in quiz.text()


def test_options_are_shuffled_per_student_reproducibly():
    bank = load_bank(DAY48)

    def order(student: str, seed: int | None = None) -> list[list[str]]:
        quiz = Quiz(bank, student=student, seed=seed, progress=False, shuffle_options=True)
        return [[o.id for o in quiz.session.options(q.id)] for q in bank.questions]

    ana = order("ana")
    assert ana == order("ana"), "the same student sees the same order on every rerun"
    assert ana != order("ben") and ana != order("ana", seed=7)
    assert all(sorted(ids) == ["A", "B", "C", "D"] for ids in ana)
    assert any(ids != ["A", "B", "C", "D"] for ids in ana)
    assert not bank.shuffle_options
    for unshuffled in (Quiz(bank, student="ana", progress=False), Quiz(bank, student="ana", progress=False, shuffle_options=None)):
        assert [o.id for o in unshuffled.session.options("q1")] == ["A", "B", "C", "D"], "the default follows the bank (no shuffle)"
    shuffling = parse_bank(DAY48.read_text().replace("\nquestions:", "\nshuffle_options: true\nquestions:", 1))
    assert shuffling.shuffle_options
    assert [o.id for o in Quiz(shuffling, student="ana", progress=False).session.options("q1")] == ana[0], "the bank says shuffle"


def test_finish_summary_pass_message_badge_and_best_score_kept(tmp_path):
    progress = tmp_path / "all.progress.json"
    quiz = make_quiz(progress=progress, shuffle_options=False)
    quiz.select("B"); quiz.check()
    outcome = quiz.finish()
    assert outcome.result.percent == 20 and not outcome.result.passed
    shown = quiz.text()
    assert "Your score: 1/5 (20%)" in shown and "Not passed yet" in shown and "| ✓ correct | 1/1 | B |" in shown
    assert quiz.retake_button.layout.display != "none"
    quiz.retake()
    answers = {"single": "B", "multi": ["A", "B"], "num": "252", "word": "quantized", "out": "8"}
    for qid, answer in answers.items():
        quiz.go(qid); quiz.select(answer); quiz.check()
    outcome = quiz.finish()
    shown = quiz.text()
    assert outcome.result.percent == 100 and "Passed!" in shown and "Badge earned: Perfect" in shown
    assert "Attempts left: 0" in shown and quiz.retake_button.layout.display == "none"
    saved = json.loads(progress.read_text())
    assert saved["best_percent"] == 100 and [a["percent"] for a in saved["attempts"]] == [20, 100]
    rerun = make_quiz(progress=progress, shuffle_options=False)  # a restarted kernel
    assert rerun.session.progress.best_percent == 100 and not rerun.session.can_retake
    rerun.finish()
    assert "Best so far: 100%" in rerun.text()


def test_progress_file_from_another_quiz_is_moved_aside(tmp_path):
    progress = tmp_path / "p.progress.json"
    progress.write_text("{not json")
    quiz = make_quiz(progress=progress)
    assert "moved to p.progress.json.bad" in quiz.notice.value and (tmp_path / "p.progress.json.bad").exists()
    quiz.select("A"); quiz.check()
    assert json.loads(progress.read_text())["answers"] == {"single": "A"}


def test_exported_answers_grade_the_same(tmp_path):
    bank = load_bank(DAY48)
    quiz = Quiz(bank, student="ana", progress=False, autotick=False)
    picks = {"q1": "B", "q2": "A", "q3": "B"}
    for qid, answer in picks.items():
        quiz.go(qid); quiz.select(answer); quiz.check()
    path = quiz.export_answers(tmp_path / "ana.json")
    submission = read_submission(path)
    assert submission.student == "ana" and submission.answers == picks and not submission.problems
    assert score_answers(bank, submission.answers).score == quiz.finish().result.score == 2


def test_student_copy_self_checks_without_readable_keys():
    copy = parse_bank(student_copy_yaml(load_bank(DAY48), salt="pepper-1234"))
    quiz = make_quiz(copy)
    quiz.select("B")
    quiz.check()
    assert "Correct!" in quiz.text()
    quiz.next(); quiz.select("A"); quiz.check(); quiz.select("B"); quiz.check()
    assert "Answer: C) The dimensionality of the low-rank decomposition" in quiz.text()


def test_subset_by_ids_and_tags():
    bank = load_bank(DAY48)
    assert Quiz(bank, ids=["q3", "q1"], progress=False).session.bank.question_ids == ["q3", "q1"]
    tagged = Quiz(bank, tags=["lora-alpha"], progress=False)
    assert tagged.session.bank.question_ids == ["q3"] and tagged.quiz_id.startswith("day48-lora-qlora-")
    assert Quiz("day48-lora-qlora", progress=False).bank.id == "day48-lora-qlora", "a bank id is found in quizzes/"


def test_shuffled_options_are_lettered_in_display_order_and_answered_by_id(tmp_path):
    bank = load_bank(DAY48)
    quiz = Quiz(bank, student="ana", progress=False, autotick=False, shuffle_options=True)
    shown = quiz.session.options("q1")
    assert [o.id for o in shown] != ["A", "B", "C", "D"], "this student's order is shuffled"
    radio = quiz._view("q1").input.radio
    assert [label[:2] for label, _ in radio.options] == ["A.", "B.", "C.", "D."], "letters run top to bottom"
    assert [oid for _, oid in radio.options] == [o.id for o in shown], "the values stay the bank's ids"
    right = next(o for o in shown if o.correct)
    wrong = next(o for o in shown if not o.correct)
    letter = {o.id: "ABCD"[i] for i, o in enumerate(shown)}
    text = answer(quiz, wrong.id)
    assert f"You chose {letter[wrong.id]}." in text, "feedback names the letter the student saw"
    text = answer(quiz, next(o for o in shown if not o.correct and o is not wrong).id)
    assert f"Answer: {letter[right.id]}) {right.text.strip()}" in text, "the key names the shown letter"
    quiz.go("q2")
    picks = {"q2": next(o for o in quiz.session.options("q2") if o.correct).id}
    quiz.select(picks["q2"]); quiz.check()
    outcome = quiz.finish()
    assert f"| ✓ correct | 1/1 | {quiz.session.labels('q2').letter(picks['q2'])} |" in quiz.text()
    submission = read_submission(quiz.export_answers(tmp_path / "ana.json"))
    assert submission.answers["q2"] == picks["q2"], "exported answers keep the option ids"
    assert score_answers(bank, submission.answers).score == outcome.result.score == 1


def test_multi_select_feedback_uses_shown_letters():
    bank = parse_bank(ALL_TYPES)
    quiz = make_quiz(bank, shuffle_options=True, ids=["multi"])
    labels = quiz.session.labels("multi")
    assert [labels.letter(o.id) for o in quiz.session.options("multi")] == ["A", "B", "C", "D"]
    view = quiz._view("multi")
    rows = view.input.widget.children
    assert [row.children[1].value[:9] for row in rows] == ["<b>A.</b>", "<b>B.</b>", "<b>C.</b>", "<b>D.</b>"]
    dropout = next(o.id for o in quiz.session.options("multi") if o.text == "dropout 0.9")
    nf4 = next(o.id for o in quiz.session.options("multi") if o.text == "NF4")
    text = answer(quiz, [dropout, nf4])
    assert f"{labels.letter(dropout)} is not right" in text and "1 right option not ticked" in text
    text = answer(quiz, [nf4])
    right = [o.id for o in quiz.session.options("multi") if o.correct]
    assert f"Answer: {labels.text(right)}" in text


def test_strip_buttons_navigate_and_show_no_cross_while_a_try_remains():
    quiz = make_quiz(shuffle_options=False)
    strip = quiz.strip_buttons
    assert [b.description for b in strip] == [str(n) for n in range(1, 8)] and "gq-current" in strip[0]._dom_classes
    quiz.select("A"); quiz.check()
    assert strip[0].description == "1•", "a wrong first try is not a verdict yet"
    quiz.select("C"); quiz.check()
    assert strip[0].description == "1✗", "out of tries: now it is"
    strip[2].click()
    assert quiz.current == "num" and "Question 3 of 7" in quiz.text()
    assert "gq-current" in strip[2]._dom_classes and "gq-current" not in strip[0]._dom_classes
    quiz.select("252"); quiz.check()
    assert strip[2].description == "3✓"


def test_finish_asks_before_leaving_questions_unanswered():
    quiz = make_quiz(shuffle_options=False)
    quiz.select("B"); quiz.check()
    quiz.finish_button.click()
    assert quiz.session.finished is None and quiz.confirm.layout.display != "none"
    assert "6 questions unanswered — finish anyway?" in quiz.text(), "the flashcard and the free response count too"
    assert quiz.request_finish() is None
    keep_going = quiz.confirm.children[2]
    keep_going.click()
    assert quiz.confirm.layout.display == "none" and quiz.current == "multi", "back to the first unanswered one"
    quiz.finish_button.click()
    quiz.confirm.children[1].click()  # Finish anyway
    assert quiz.session.finished is not None and "Your score: 1/5" in quiz.text()
    assert quiz.confirm.layout.display == "none"


def test_finish_with_everything_answered_does_not_ask():
    quiz = make_quiz(parse_bank(ALL_TYPES), shuffle_options=False, ids=["single", "num"])
    quiz.select("B"); quiz.check()
    quiz.go("num"); quiz.select("1"); quiz.check(); quiz.select("2"); quiz.check(); quiz.select("3"); quiz.check()
    outcome = quiz.request_finish()
    assert outcome is not None and outcome.result.score == 1 and quiz.confirm.layout.display == "none"


def test_layouts_wrap_on_narrow_screens():
    """The layout half of the narrow-screen fix (the browser test measures the result)."""
    quiz = make_quiz(shuffle_options=False)
    assert quiz.strip.layout.flex_flow == "row wrap"
    bar, nav = quiz.widget.children[2], quiz.widget.children[5]
    assert bar.layout.flex_flow == "row wrap" and nav.layout.flex_flow == "row wrap"
    assert quiz._view("single").input.radio.layout.width == "auto"
    quiz.go("multi")
    row = quiz._view("multi").input.widget.children[0]
    assert "gq-option-row" in row._dom_classes and row.children[1].layout.min_width == "0"
    from grader.widgets.style import CSS
    assert ".widget-radio-box label" in CSS and "white-space: normal" in CSS and "height: auto" in CSS


def test_relabel_rewrites_only_scored_choice_texts():
    from grader.scorer import score_question
    from grader.widgets.feedback import relabel
    from grader.widgets.order import OptionLabels

    question = parse_bank(ALL_TYPES).question("single")
    labels = OptionLabels.for_order(["C", "B", "A"])
    wrong = relabel(question, score_question(question, "A", reveal_key=True), labels)
    assert wrong.reason == "you chose C" and wrong.correct_answer == "B) $BA$" and wrong.answer == "A"
    assert wrong.option_feedback == ["W0 is frozen and full rank."]
    unreadable = score_question(question, "Z", reveal_key=True)
    assert relabel(question, unreadable, labels) == unreadable, "scoring's own words for an answer that is no option"
