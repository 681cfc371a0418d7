"""What a quiz shows without a kernel, one quiz per lesson, and code questions in the widget.

- ``Quiz._repr_mimebundle_``: the live view plus text/plain, text/markdown and text/html fallbacks,
  keyless and escaped, kept by ``course.executed.tidy`` when a lesson is committed;
- ``Quiz.combined``: questions of several banks under one id and title, each scored as its bank says;
- ``code`` questions: shown with a note, outside the widget's score and total.

Headless (no kernel, no browser); runs on ipywidgets 8 and, through tests/widgets_compat.sh, 7.7.1.
"""
from __future__ import annotations

import json

import pytest
from IPython.core.formatters import DisplayFormatter
from lesson_quiz_cells import LESSON_QUIZ_CELLS, QUESTION_COUNTS
from paths import ROOT

from grader import load_bank, parse_bank, score_answers
from grader.errors import UserError
from grader.scorer import score_question
from grader.widgets import Quiz, combine_banks, static_bundle
from grader.widgets.static import WIDGET_VIEW, escape_markdown_html

BANKS = sorted((ROOT / "quizzes").glob("*.yaml"))
FALLBACKS = ("text/plain", "text/markdown", "text/html")


def _quiz(bank, **kwargs) -> Quiz:
    kwargs.setdefault("progress", False)
    kwargs.setdefault("autotick", False)
    kwargs.setdefault("student", "ana")
    return Quiz(bank, **kwargs)


# -- the static fallback -------------------------------------------------------------------------------

def test_display_gives_the_live_view_and_three_fallbacks():
    quiz = _quiz(ROOT / "quizzes" / "day48-lora-qlora.yaml")
    data, _metadata = DisplayFormatter().format(quiz)  # what IPython's display() sends
    assert set(FALLBACKS) | {WIDGET_VIEW} <= set(data)
    assert data[WIDGET_VIEW]["model_id"] == quiz.widget.model_id, "the live notebook still draws the widget"
    assert not data["text/plain"].startswith("VBox(")
    assert data["text/plain"].startswith("### Day 48 Quiz")


def test_include_and_exclude_are_honoured():
    quiz = _quiz(ROOT / "quizzes" / "day48-lora-qlora.yaml")
    assert set(quiz._repr_mimebundle_(include=["text/markdown"])) == {"text/markdown"}
    assert WIDGET_VIEW not in quiz._repr_mimebundle_(exclude=[WIDGET_VIEW])


def test_a_closed_widget_offers_only_the_fallbacks():
    quiz = _quiz(ROOT / "quizzes" / "day48-lora-qlora.yaml")
    quiz.close()
    assert set(quiz._repr_mimebundle_()) == set(FALLBACKS)


def test_fallbacks_list_title_description_every_question_and_option_letter():
    bank = load_bank(ROOT / "quizzes" / "coursera-peft-graded-quiz.yaml")
    data = static_bundle(bank)
    html, markdown, plain = data["text/html"], data["text/markdown"], data["text/plain"]
    assert "<h3>Graded Quiz: Parameter-Efficient Fine-Tuning (PEFT)</h3>" in html
    assert bank.description.split()[0] in markdown
    for number, question in enumerate(bank.questions, 1):
        assert f"**{number}. (" in markdown and f"{number}. (" in plain
        assert f"<strong>{number}. (" in html
        for option in question.options:
            assert f"- **{option.id}.**" in markdown and f"- {option.id}." in plain
            assert f"<strong>{option.id}.</strong>" in html
    assert markdown.count("```python") == plain.count("```python") > 0, "code options stay code"
    assert 'class="gq-code"' in html


def _revealing(bank) -> list[str]:
    """Every text that would give a key away: explanations, option feedback, solutions, mistakes,
    flashcard backs, hints, typed answers; whichever of them the prompt and options do not contain."""
    texts = []
    for q in bank.questions:
        texts += [q.explanation, q.hint, getattr(q, "back", None), q.final_answer]
        texts += [o.feedback for o in q.choices]
        texts += list(getattr(q, "common_mistakes", None) or [])
        texts += [str(a) for a in getattr(q, "answers", None) or []]
        texts += [getattr(q, "reference", None), getattr(q, "expected_output", None)]
    shown = " ".join(q.prompt + " ".join(o.text for o in q.choices) + (q.shown_code or "") for q in bank.questions)
    lines = [t.strip().splitlines()[0].strip() for t in texts if isinstance(t, str) and t.strip()]
    return [line for line in lines if len(line) > 3 and line not in shown]


@pytest.mark.parametrize("path", BANKS, ids=lambda p: p.stem)
def test_no_fallback_gives_a_key_away(path):
    bank = load_bank(path)
    data = _quiz(bank, practice=True)._repr_mimebundle_()
    revealing = _revealing(bank)
    assert revealing, "the check needs texts to look for"
    for mime in FALLBACKS:
        text = data[mime] if mime != "text/html" else data[mime].replace("&#x27;", "'").replace("&quot;", '"')
        for line in revealing:
            assert line not in text, f"{mime} of {bank.id} shows {line!r}"
        assert "✓" not in text and "correct: true" not in text.lower() and "(correct)" not in text.lower()


def test_every_option_reads_the_same_whether_right_or_wrong():
    bank = load_bank(ROOT / "quizzes" / "day48-lora-qlora.yaml")
    markdown = static_bundle(bank)["text/markdown"]
    for question in bank.questions:
        for option in question.options:
            assert f"- **{option.id}.** {escape_markdown_html(option.text.strip())}\n" in markdown


HOSTILE = r"""
id: hostile
title: "<script>alert('title')</script> & co"
source: original
show_key: after_each_attempt
description: "<img src=x onerror=alert(1)> described"
questions:
  - id: q1
    type: single_choice
    prompt: "Which is smaller, $a<b$ or </div><iframe src=javascript:alert(2)>? Code: `x < y`, `2**3`"
    options:
      - {text: "<b onmouseover=alert(3)>bold</b>", correct: true}
      - {text: "plain"}
"""


def test_hostile_bank_text_is_escaped_in_markdown_and_html():
    data = _quiz(parse_bank(HOSTILE))._repr_mimebundle_()
    for mime in ("text/markdown", "text/html"):
        lowered = data[mime].lower()
        for tag in ("<script", "<img", "<iframe", "<b ", "</div><iframe"):
            assert tag not in lowered, f"{mime} passes {tag!r} through"
    assert "&lt;script&gt;" in data["text/markdown"] and "&lt;script&gt;" in data["text/html"]
    assert r"$a\lt b$" in data["text/markdown"], "math keeps its meaning for MathJax"
    assert "`x < y`" in data["text/markdown"], "code spans stay verbatim (renderers escape them)"
    assert "<script>alert('title')</script>" in data["text/plain"], "plain text is text"
    assert "`2**3`" in data["text/plain"] and "**1." not in data["text/plain"], "bold marks go, code stays"


def test_committed_lesson_keeps_the_fallback_tidy_strips_the_view():
    executed = pytest.importorskip("course.executed")
    bundle = _quiz(ROOT / "quizzes" / "day48-lora-qlora.yaml")._repr_mimebundle_()
    nb = {"metadata": {"widgets": {"state": {}}}, "cells": [
        {"cell_type": "code", "metadata": {}, "source": "quiz", "outputs": [
            {"output_type": "display_data", "metadata": {}, "data": json.loads(json.dumps(bundle))}]}]}
    kept = executed.tidy(nb)["cells"][0]["outputs"]
    assert len(kept) == 1 and set(kept[0]["data"]) == {"text/markdown", "text/html"}
    assert "What is the main principle behind LoRA" in kept[0]["data"]["text/markdown"]


# -- one quiz per lesson -------------------------------------------------------------------------------

PARTS = [("day48-lora-qlora", ["q1"]), ("ibm-peft-graded-quiz", ["q2", "q5"]),
         ("coursera-peft-graded-quiz", ["q1", "q5"])]


@pytest.fixture()
def banks_env(monkeypatch):
    monkeypatch.setenv("GRADER_BANKS", str(ROOT / "quizzes"))


def test_combined_quiz_has_the_lessons_title_and_unique_ids(banks_env):
    quiz = Quiz.combined("lesson-x", title="Lesson X self-check", description="Only ours.", parts=PARTS,
                         progress=False, autotick=False, student="ana")
    assert quiz.quiz_id == "lesson-x" and quiz.bank.title == "Lesson X self-check"
    ids = quiz.bank.question_ids
    assert ids == ["day48-lora-qlora.q1", "q2", "ibm-peft-graded-quiz.q5", "coursera-peft-graded-quiz.q1",
                   "coursera-peft-graded-quiz.q5"], "only ids two banks share get their bank's prefix"
    shown = quiz._repr_mimebundle_()["text/markdown"]
    assert shown.startswith("### Lesson X self-check\n\nOnly ours.") and "five single-choice" not in shown
    assert "Question 1 of 5" in quiz.text()
    assert load_bank(ROOT / "quizzes" / "day48-lora-qlora.yaml").question_ids[0] == "q1", "source bank untouched"


def test_each_question_is_scored_by_its_own_banks_rules(banks_env):
    own = load_bank(ROOT / "quizzes" / "coursera-peft-graded-quiz.yaml").question("q1")  # multi-select, partial credit
    quiz = Quiz.combined("lesson-x", title="Lesson X", parts=PARTS, progress=False, autotick=False, student="ana")
    picks = own.correct_ids + [next(o.id for o in own.options if not own.is_correct(o))]  # right plus one wrong
    quiz.go("coursera-peft-graded-quiz.q1")
    quiz.select(picks)
    outcome = quiz.check()
    expected = score_question(own, picks)
    assert expected.status != "correct" and expected.points < expected.max_points
    assert (outcome.result.status, outcome.result.points) == (expected.status, expected.points)
    assert outcome.result.id == "coursera-peft-graded-quiz.q1"


def test_combined_settings_come_from_the_parts(banks_env):
    bank = combine_banks("lesson-x", title="X", parts=PARTS)
    assert bank.pass_percent == 80 and bank.show_key == "after_each_attempt" and not bank.shuffle_options
    assert bank.attempts is None and bank.badge is None and bank.source.startswith("combined from day48-lora-qlora")
    assert combine_banks("lesson-x", title="X", parts=PARTS, pass_percent=50).pass_percent == 50


def test_a_graded_part_keeps_the_widgets_guard(banks_env):
    parts = [("day48-lora-qlora", ["q1"]), (ROOT / "quizzes" / "lora-assignment.yaml", ["rank-meaning"])]
    with pytest.raises(UserError, match="is graded"):
        Quiz.combined("lesson-x", title="X", parts=parts, progress=False, autotick=False)


@pytest.mark.parametrize(("parts", "message"), [
    ([], "at least one"),
    ([("day48-lora-qlora", ["q99"])], "has no question 'q99'"),
    ([("day48-lora-qlora", "q1")], "as a list"),
    ([("day48-lora-qlora", ["q1"]), ("day48-lora-qlora", ["q1"])], "listed twice"),
])
def test_combined_quiz_errors_say_what_to_fix(banks_env, parts, message):
    with pytest.raises(UserError, match=message):
        combine_banks("lesson-x", title="X", parts=parts)


def test_a_bad_quiz_id_is_a_user_error(banks_env):
    with pytest.raises(UserError, match="combined quiz 'no spaces please': id"):
        combine_banks("no spaces please", title="X", parts=PARTS)


@pytest.mark.parametrize("stem", sorted(LESSON_QUIZ_CELLS))
def test_proposed_lesson_quiz_cell_builds_one_quiz(stem, banks_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the progress file goes next to the notebook
    *body, last = LESSON_QUIZ_CELLS[stem].split("\n\n")
    namespace: dict = {}
    exec("\n\n".join(body), namespace)  # noqa: S102 - our own cell text
    quiz = eval(last, namespace)
    assert isinstance(quiz, Quiz) and quiz.bank.title.startswith(f"Lesson {int(stem[:2])} self-check")
    assert len(quiz.session.questions) == QUESTION_COUNTS[stem] == len(set(quiz.bank.question_ids))
    assert WIDGET_VIEW in quiz._repr_mimebundle_()
    quiz.check()  # nothing chosen: a message, no crash
    quiz.finish()
    assert (tmp_path / f"lesson{stem[:2]}.progress.json").exists()
    quiz.close()


@pytest.mark.parametrize("stem", sorted(LESSON_QUIZ_CELLS))
def test_lesson_notebook_carries_the_proposed_cell(stem):
    nb = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code" and "Quiz" in "".join(c["source"])]
    assert len(cells) == 1, "one quiz cell per lesson"
    if "Quiz.combined" not in cells[0]:
        pytest.skip("the lesson still has its per-bank quizzes (update it with tests/lesson_quiz_cells.py)")
    assert cells[0] == LESSON_QUIZ_CELLS[stem]


# -- code questions in the widget ----------------------------------------------------------------------

def test_code_questions_are_outside_the_widget_score_with_a_note():
    path = ROOT / "quizzes" / "lora-assignment.yaml"
    full = load_bank(path)
    code = [q for q in full.questions if q.type == "code"]
    checkable = [q for q in full.questions if q.type != "code"]
    assert code and checkable
    quiz = _quiz(path, practice=True)
    assert quiz.session.graded_max == sum(q.points for q in checkable)
    assert quiz.not_scored_here == {q.id: float(q.points) for q in code}
    for q in checkable:
        quiz.go(q.id)
        quiz.select(q.correct_ids[0] if q.type == "single_choice" else q.correct_ids if q.choices else str(q.answer))
        assert quiz.check().result.status == "correct"
    quiz.go(code[0].id)
    shown = quiz.text()
    assert "Not part of this self-check score" in shown and f"# answer: {code[0].id}" in shown
    assert f"worth {code[0].points:g} points" in shown
    assert quiz.finish().result.percent == 100, "a student with everything checkable right sees 100 %"
    assert f"Score: {quiz.session.graded_max:g}/{quiz.session.graded_max:g}" in quiz.text()
    assert score_answers(full, quiz.answers).max_score == full.max_score, "grader grade still counts the code"
