"""Canvas QTI export: every seed bank round-trips through an independent QTI reader with its texts,
options, keys and points intact, and what Canvas cannot hold is reported, never dropped."""
from __future__ import annotations

from pathlib import Path

import pytest
from lms_readers.canvas_qti import QtiItem, read_package
from paths import FIXTURES, ROOT

from grader.exports import canvas_qti
from grader.exports.items import bank_info, lms_items
from grader.kinds import KINDS
from grader.loader import load_bank
from grader.markup import markdown_html, strip_tags

BANKS = [ROOT / "quizzes" / name for name in (
    "coursera-peft-graded-quiz.yaml", "day48-lora-qlora.yaml", "ibm-peft-graded-quiz.yaml",
    "lora-qlora-challenges.yaml", "lora-qlora-flashcards-practice.yaml", "lora-assignment.yaml")]
EVERY_KIND = FIXTURES / "banks" / "every_kind.yaml"
CANVAS_TYPE = {"single": "multiple_choice_question", "multiple": "multiple_answers_question",
               "numeric": "numerical_question", "short": "short_answer_question", "essay": "essay_question",
               "description": "text_only_question"}

pytest.importorskip("text2qti")


def seen(markdown: str | None) -> str:
    """What a reader sees of bank Markdown once rendered (tags stripped, white space collapsed)."""
    return " ".join(strip_tags(markdown_html(markdown or "", "tex")).split())


def seen_html(fragment: str | None) -> str:
    return " ".join(strip_tags(fragment or "").split())


def export(path: Path, tmp_path: Path):
    bank = load_bank(path)
    items = lms_items(bank)
    out = tmp_path / f"{bank.id}.zip"
    losses = canvas_qti.write(items, bank_info(bank), out)
    return bank, items, read_package(out), losses


@pytest.mark.parametrize("path", [*BANKS, EVERY_KIND], ids=lambda p: p.stem)
def test_texts_options_keys_and_points_survive(path: Path, tmp_path: Path) -> None:
    bank, items, quiz, _losses = export(path, tmp_path)
    assert quiz.title == " ".join(bank.title.split())
    assert [q.title for q in quiz.items] == [q.id for q in bank.questions]
    assert quiz.points_possible == pytest.approx(sum(i.points for i in items if i.form != "description"))
    for question, item, read in zip(bank.questions, items, quiz.items, strict=True):
        assert read.question_type == CANVAS_TYPE[item.form], question.id
        if item.form == "description":
            assert seen(question.prompt) in seen_html(read.text_html)
            continue
        assert seen_html(read.text_html) == seen(item.prompt), question.id
        assert question.prompt.split()[0].strip("*`$") in seen_html(read.text_html)
        assert read.points == pytest.approx(question.points), question.id
        assert seen_html(read.general_feedback_html) == seen(item.general_feedback), question.id
        _assert_key(question, item, read)


def _assert_key(question, item, read: QtiItem) -> None:
    if item.form in ("single", "multiple"):
        texts = [seen_html(html) for html in read.choices.values()]
        assert texts == [seen(o.text) for o in question.choices], question.id
        right = [seen_html(read.choices[ident]) for ident in read.correct]
        assert sorted(right) == sorted(seen(o.text) for o in question.choices if question.is_correct(o)), question.id
        feedback = {seen_html(read.choices[i]): seen_html(f) for i, f in read.choice_feedback_html.items()}
        assert feedback == {seen(o.text): seen(o.feedback) for o in question.choices if o.feedback}, question.id
    elif item.form == "numeric":
        allowed = question.allowed_error()
        assert read.numeric_exact == question.answer
        assert read.numeric_range == pytest.approx((question.answer - allowed, question.answer + allowed), abs=1e-12)
    elif item.form == "short":
        assert read.correct == {a.text for a in item.answers}


def test_every_kind_keeps_the_hostile_characters_and_exact_numbers(tmp_path: Path) -> None:
    bank, _items, quiz, _losses = export(EVERY_KIND, tmp_path)
    by_id = {q.title: q for q in quiz.items}
    single = seen_html(by_id["single"].text_html)
    assert "# r: rank, $r$ in the paper, <tag> & more" in single
    for text in ("{r}", "tilde ~", "equals =", "hash #", "colon :", "backslash \\", "\\(\\Delta W = BA\\)"):
        assert text in single
    assert any("& <b>not bold</b>" in seen_html(h) for h in by_id["single"].choices.values())  # text, not markup
    assert "$" not in by_id["single"].text_html.replace("&#36;", "")  # no dollar left for text2qti's LaTeX images
    assert "100 $ less" in seen_html(by_id["single"].general_feedback_html)
    assert by_id["numeric-zero"].numeric_range == (0.0, 0.0) and by_id["numeric-zero"].numeric_exact == 0.0
    assert by_id["numeric-rel"].numeric_range == pytest.approx((3.5 - 0.175, 3.5 + 0.175))
    assert by_id["numeric"].points == 1.5
    assert by_id["free"].question_type == "essay_question" and by_id["free"].points == 2
    assert quiz.shuffle_answers is True
    assert seen_html(quiz.description_html) == seen(bank.description)
    assert by_id["card"].question_type == "text_only_question"
    assert "NF4, double quantization, paged optimizers." in seen_html(by_id["card"].text_html)
    # three "What does this print?" questions: not refused as duplicates
    assert sum("What does this print?" in seen_html(q.text_html) for q in quiz.items) == 3


def test_what_canvas_cannot_hold_is_reported(tmp_path: Path) -> None:
    _bank, _items, _quiz, losses = export(EVERY_KIND, tmp_path)
    lost = {(loss.question, loss.what.split(" (")[0]) for loss in losses}
    assert ("single", "hint") in lost
    assert ("single", "tags lora-rank") in lost
    assert ("text", "case-sensitive matching") in lost
    assert ("multiple", "option weights") in lost
    assert ("code", "the marker's notes") in lost and ("free", "the marker's notes") in lost
    assert all(loss.source == "format" for loss in losses)


def test_the_kind_registry_maps_every_kind_of_the_fixture() -> None:
    """The fixture really holds every kind, so the round trip above covers each kind's LMS item."""
    assert {q.type for q in load_bank(EVERY_KIND).questions} == set(KINDS.names)
