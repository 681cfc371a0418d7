"""Moodle XML and GIFT exports: every seed bank round-trips through an independent reader of each
format (read the way Moodle's importers read them) with its texts, options, keys and points intact,
weights on Moodle's list of grades, and what a format cannot hold reported, never dropped."""
from __future__ import annotations

from pathlib import Path

import pytest
from lms_readers.gift import GiftFormatError, GiftQuestion, read_gift
from lms_readers.moodle_xml import (
    MOODLE_GRADES,
    XmlQuestion,
    import_problems,
    read_quiz,
)
from paths import FIXTURES, ROOT

from grader.exports import gift, moodle_xml
from grader.exports.export import export_bank
from grader.exports.items import bank_info, lms_items
from grader.kinds.records import LmsAnswer, LmsItem
from grader.loader import load_bank
from grader.markup import markdown_html, strip_tags

BANKS = [ROOT / "quizzes" / name for name in (
    "coursera-peft-graded-quiz.yaml", "day48-lora-qlora.yaml", "ibm-peft-graded-quiz.yaml",
    "lora-qlora-challenges.yaml", "lora-qlora-flashcards-practice.yaml", "lora-assignment.yaml")]
EVERY_KIND = FIXTURES / "banks" / "every_kind.yaml"
ALL_BANKS = [*BANKS, EVERY_KIND]
QTYPE = {"single": "multichoice", "multiple": "multichoice", "numeric": "numerical", "short": "shortanswer",
         "essay": "essay", "description": "description"}


def seen(markdown: str | None) -> str:
    """What a reader sees of bank Markdown once rendered (tags stripped, white space collapsed)."""
    return " ".join(strip_tags(markdown_html(markdown or "", "tex")).split())


def seen_html(fragment: str | None) -> str:
    return " ".join(strip_tags(fragment or "").split())


def listed(fraction: float) -> bool:
    return any(abs(abs(fraction) - grade) < 1e-5 for grade in MOODLE_GRADES)


def write(fmt, path: Path, tmp_path: Path):
    bank = load_bank(path)
    items = lms_items(bank)
    out = tmp_path / f"{bank.id}{fmt.FORMAT.suffix}"
    losses = fmt.write(items, bank_info(bank), out)
    return bank, items, out, losses


def _assert_choices(question, item: LmsItem, answers, text_of) -> None:
    """Option texts, which are right, their weights and feedback, in bank order."""
    assert [text_of(a.text) for a in answers] == [seen(o.text) for o in question.choices], question.id
    right = [text_of(a.text) for a in answers if a.fraction > 0]
    assert right == [seen(o.text) for o in question.choices if question.is_correct(o)], question.id
    assert [a.fraction for a in answers] == pytest.approx([a.fraction for a in item.answers], abs=1e-6), question.id
    assert all(listed(a.fraction) for a in answers), question.id
    assert [seen_html(a.feedback) for a in answers] == [seen(o.feedback) for o in question.choices], question.id


# --- Moodle XML ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_BANKS, ids=lambda p: p.stem)
def test_moodle_xml_keeps_texts_options_keys_and_points(path: Path, tmp_path: Path) -> None:
    bank, items, out, _losses = write(moodle_xml, path, tmp_path)
    quiz = read_quiz(out)
    assert quiz.categories == [f"$course$/top/{' '.join(bank.title.split())}"]
    assert seen_html(quiz.category_info[0]) == seen(bank.description)
    assert [q.name for q in quiz.questions] == [q.id for q in bank.questions]
    for question, item, read in zip(bank.questions, items, quiz.questions, strict=True):
        assert read.qtype == QTYPE[item.form] and read.idnumber == question.id and not read.hidden
        assert read.text_format == "html" and seen_html(read.text) == seen(item.prompt), question.id
        assert seen_html(read.general_feedback) == seen(item.general_feedback), question.id
        assert read.default_grade == pytest.approx(0 if item.form == "description" else question.points)
        assert read.tags == list(item.tags)
        has_hints = item.hint and item.form not in ("essay", "description")  # Moodle reads none there
        assert [seen_html(h) for h in read.hints] == ([seen(item.hint)] if has_hints else [])
        assert import_problems(read) == [], question.id
        _assert_moodle_key(question, item, read, bank.shuffle_options)


def _assert_typed_answers(question, item: LmsItem, answers) -> None:
    """Numeric: the number and its tolerance at full marks; short: the accepted answers, all full marks."""
    if item.form == "numeric":
        [answer] = answers
        assert (float(answer.text), answer.fraction) == (question.answer, 1.0)
        assert answer.tolerance == question.allowed_error()
    else:
        assert [a.text for a in answers] == [a.text for a in item.answers]
        assert all(a.fraction == 1 for a in answers)


def _assert_moodle_key(question, item: LmsItem, read: XmlQuestion, shuffle: bool) -> None:
    if item.form in ("single", "multiple"):
        assert read.single is (item.form == "single") and read.shuffle is shuffle
        assert all(a.format == "html" for a in read.answers)
        _assert_choices(question, item, read.answers, seen_html)
    elif item.form in ("numeric", "short"):
        _assert_typed_answers(question, item, read.answers)
        assert item.form == "numeric" or read.usecase is item.case_sensitive
    elif item.form == "essay":
        assert read.answers == [] and read.response_format == "editor" and read.response_template == ""
        assert seen_html(read.grader_info) == seen(item.grader_info), question.id


# --- GIFT ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_BANKS, ids=lambda p: p.stem)
def test_gift_keeps_texts_options_and_keys(path: Path, tmp_path: Path) -> None:
    bank, items, out, _losses = write(gift, path, tmp_path)
    read = read_gift(out)
    assert read.categories == [f"$course$/top/{' '.join(bank.title.split())}"]
    assert [q.name for q in read.questions] == [q.id for q in bank.questions]
    for question, item, got in zip(bank.questions, items, read.questions, strict=True):
        assert got.qtype == QTYPE[item.form] and got.text_format == "html", question.id
        if item.form == "description":
            assert got.default_mark == 0
            assert seen(item.prompt) in seen_html(got.text) and seen(item.general_feedback) in seen_html(got.text)
            continue
        assert got.default_mark == 1  # GIFT has no points: the other values are reported (test below)
        assert seen_html(got.text) == seen(item.prompt), question.id
        assert seen_html(got.general_feedback) == seen(item.general_feedback), question.id
        _assert_gift_key(question, item, got)


def _assert_gift_key(question, item: LmsItem, got: GiftQuestion) -> None:
    if item.form in ("single", "multiple"):
        assert got.single is (item.form == "single"), question.id
        _assert_choices(question, item, got.answers, seen_html)
    elif item.form in ("numeric", "short"):
        _assert_typed_answers(question, item, got.answers)
    elif item.form == "essay":
        assert got.answers == []


# --- hostile text -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [moodle_xml, gift], ids=["moodle-xml", "gift"])
def test_every_kind_keeps_the_hostile_characters(fmt, tmp_path: Path) -> None:
    _bank, _items, out, _losses = write(fmt, EVERY_KIND, tmp_path)
    read = read_quiz(out) if fmt is moodle_xml else read_gift(out)
    assert read.categories == ["$course$/top/Every kind: LoRA {r} ~ = # : \\ <b> & money $5"]
    by_id = {q.name: q for q in read.questions}
    single = seen_html(by_id["single"].text)
    for text in ("{r}", "tilde ~", "equals =", "hash #", "colon :", "backslash \\ must", "\\(\\Delta W = BA\\)",
                 "\\(B \\in \\mathbb{R}^{d \\times r}\\)", "# r: rank, $r$ in the paper, <tag> & more"):
        assert text in single, text
    options = [seen_html(a.text) for a in by_id["single"].answers]
    assert options == ["r = 8 ~ {small}", "r = 4096 (full) & <b>not bold</b>", "r = 0"]
    assert seen_html(by_id["single"].answers[0].feedback) == "Right: small ranks #1."
    assert "100 $ less" in seen_html(by_id["single"].general_feedback)
    assert [a.text for a in by_id["text"].answers] == ["NF4", "NormalFloat4", "NormalFloat {4}"]
    assert [float(by_id[n].answers[0].text) for n in ("numeric", "numeric-zero", "numeric-rel")] == [12288, 0, 3.5]
    assert by_id["numeric-rel"].answers[0].tolerance == 3.5 * 0.05


def test_moodle_xml_text_is_escaped_xml_not_raw_html(tmp_path: Path) -> None:
    _bank, _items, out, _losses = write(moodle_xml, EVERY_KIND, tmp_path)
    raw = out.read_text(encoding="utf-8")
    assert raw.startswith("<?xml version='1.0' encoding='UTF-8'?>\n<quiz>")
    assert "&amp;lt;b&amp;gt;not bold" in raw  # the option's literal <b> is text, escaped twice: HTML, then XML
    assert "<b>not bold" not in raw


def test_gift_has_no_blank_line_inside_a_question(tmp_path: Path) -> None:
    bank, _items, out, _losses = write(gift, BANKS[-1], tmp_path)
    blocks = out.read_text(encoding="utf-8").strip().split("\n\n")
    assert len(blocks) == 1 + len(bank.questions)  # the category, then one block per question


# --- losses -------------------------------------------------------------------------------------


def _lost(losses) -> set[tuple[str | None, str]]:
    return {(loss.question, loss.what.split(" (")[0]) for loss in losses}


def test_what_gift_cannot_hold_is_reported(tmp_path: Path) -> None:
    _bank, _items, _out, losses = write(gift, EVERY_KIND, tmp_path)
    lost = _lost(losses)
    assert {("single", "hint"), ("single", "tags lora-rank"), ("text", "case-sensitive matching"),
            ("code-output-typed", "case-sensitive matching"), ("multiple", "2 points"), ("numeric", "1.5 points"),
            ("free", "2 points"), ("code", "3 points"), ("card", "general feedback")} <= lost
    assert {q for q, what in lost if what.startswith("the marker's notes")} == {"free", "code", "code-output-lines"}
    assert all(loss.source == "format" for loss in losses)


def test_gift_reports_the_seed_banks_points_hints_and_tags(tmp_path: Path) -> None:
    _bank, items, _out, losses = write(gift, BANKS[5], tmp_path)  # lora-assignment: essays worth 4-6 points
    lost = _lost(losses)
    for item in items:
        assert ((item.id, f"{item.points:g} points") in lost) is (item.points != 1)
        assert ((item.id, f"tags {', '.join(item.tags)}") in lost) is bool(item.tags)
    _bank, items, _out, losses = write(gift, BANKS[3], tmp_path)  # challenges: every question has a hint
    assert {q for q, what in _lost(losses) if what == "hint"} == {i.id for i in items if i.hint} != set()


def test_moodle_xml_loses_only_the_hints_of_essays(tmp_path: Path) -> None:
    """Every other LMS item field has a Moodle XML element; an essay has no hints in Moodle."""
    for path in ALL_BANKS:
        _bank, items, _out, losses = write(moodle_xml, path, tmp_path)
        assert _lost(losses) == {(i.id, "hint") for i in items if i.hint and i.form == "essay"}, path.stem
    losses = write(moodle_xml, BANKS[4], tmp_path)[3]  # flashcards practice: its two essays have hints
    assert [loss.question for loss in losses] == ["fr1", "fr2"]


def _item(form: str, *answers: LmsAnswer, **fields) -> LmsItem:
    return LmsItem(id=f"{form}-x", form=form, prompt="Pick.", points=1, answers=answers, **fields)


@pytest.mark.parametrize("fmt", [moodle_xml, gift], ids=["moodle-xml", "gift"])
def test_weights_off_moodles_list_are_snapped_and_reported(fmt, tmp_path: Path) -> None:
    items = [
        _item("multiple", LmsAnswer("a", 0.37), LmsAnswer("b", 0.63), LmsAnswer("c", -1 / 3)),
        _item("single", LmsAnswer("a", 1.0), LmsAnswer("b", 0.0)),
        LmsItem("eleven", "multiple", "Pick all.", 1, tuple(LmsAnswer(str(i), 1 / 11) for i in range(11))),
    ]
    out = tmp_path / f"snap{fmt.FORMAT.suffix}"
    losses = fmt.write(items, bank_info(load_bank(EVERY_KIND)), out)
    whats = [loss.what for loss in losses if loss.question == "multiple-x"]
    assert whats == ["option 'a' weight 37 % (Moodle accepts only its list of grades: written as 40 %)",
                     "option 'b' weight 63 % (Moodle accepts only its list of grades: written as 60 %)"]
    assert not [loss for loss in losses if loss.question == "single-x"]  # -1/3 and 0/100 are on the list
    eleven = [loss.what for loss in losses if loss.question == "eleven"]
    assert len(eleven) == 12 and "right options add up to 110 %" in eleven[-1]
    read = read_quiz(out) if fmt is moodle_xml else read_gift(out)
    weights = [a.fraction for a in read.questions[0].answers]
    assert weights == pytest.approx([0.4, 0.6, -0.3333333])
    assert all(listed(a.fraction) for q in read.questions for a in q.answers)


@pytest.mark.parametrize("fmt", [moodle_xml, gift], ids=["moodle-xml", "gift"])
def test_short_answer_stars_are_literal_and_arrows_do_not_make_a_matching_question(fmt, tmp_path: Path) -> None:
    item = _item("short", LmsAnswer("a*b", 1.0), LmsAnswer("x -> y", 1.0))
    out = tmp_path / f"short{fmt.FORMAT.suffix}"
    losses = fmt.write([item], bank_info(load_bank(EVERY_KIND)), out)
    read = read_quiz(out) if fmt is moodle_xml else read_gift(out)
    [question] = read.questions
    assert question.qtype == "shortanswer"
    texts = [a.text for a in question.answers]
    if fmt is gift:  # Moodle's GIFT import would read '->' as a matching question: left out, reported
        assert texts == ["a\\*b"]
        assert [loss.what.split(" (")[0] for loss in losses] == ["accepted answer 'x -> y'"]
    else:
        assert texts == ["a\\*b", "x -> y"] and losses == []


@pytest.mark.parametrize("fmt", [moodle_xml, gift], ids=["moodle-xml", "gift"])
def test_backslashes_before_escape_letters_survive(fmt, tmp_path: Path) -> None:
    """GIFT reads ``\\n`` as a line break and ``\\\\`` as one backslash: LaTeX and paths must not turn into either."""
    prompt = "Is $a \\neq b$? Paths `C:\\new\\#1\\{x\\}` and `\\\\server`, a TeX break $a \\\\ b$."
    item = LmsItem("slashes", "short", prompt, 1, (LmsAnswer("C:\\new\\", 1.0),))
    out = tmp_path / f"slashes{fmt.FORMAT.suffix}"
    fmt.write([item], bank_info(load_bank(EVERY_KIND)), out)
    [question] = (read_quiz(out) if fmt is moodle_xml else read_gift(out)).questions
    assert seen_html(question.text) == seen(prompt)
    assert "\\(a \\neq b\\)" in question.text and "C:\\new\\#1\\{x\\}" in question.text
    assert [a.text for a in question.answers] == ["C:\\new\\"]


def test_gift_guards_texts_that_look_like_a_format_or_a_weight(tmp_path: Path) -> None:
    item = _item("single", LmsAnswer("[markdown] is a format name", 1.0), LmsAnswer("%50% looks like a weight", 0.0))
    out = tmp_path / "guard.gift"
    gift.write([item], bank_info(load_bank(EVERY_KIND)), out)
    [question] = read_gift(out).questions
    assert [(seen_html(a.text), a.fraction) for a in question.answers] == [
        ("[markdown] is a format name", 1.0), ("%50% looks like a weight", 0.0)]


def test_the_gift_reader_refuses_what_moodle_refuses(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gift"
    bad.write_text("::q::Which? {=a =b->c}\n", encoding="utf-8")
    with pytest.raises(GiftFormatError, match="matching"):
        read_gift(bad)
    bad.write_text("::q::Which? {=a\n", encoding="utf-8")
    with pytest.raises(GiftFormatError, match="braces"):
        read_gift(bad)


# --- the formats as ``grader export`` uses them -------------------------------------------------


@pytest.mark.parametrize(("name", "suffix", "unkept"), [
    ("moodle-xml", ".xml", set()),
    ("gift", ".gift", {"shuffled options", "the bank's description"}),
])
def test_export_bank_reports_the_quiz_settings_each_format_drops(name, suffix, unkept, tmp_path: Path) -> None:
    report = export_bank(load_bank(EVERY_KIND), name, tmp_path)
    assert report.path == tmp_path / f"every-kind{suffix}" and report.path.exists()
    bank_level = {loss.what for loss in report.losses if loss.question is None}
    assert {"3 attempts at the whole quiz", "time limit of 900 s for the whole quiz", "pass mark 70 %"} <= bank_level
    assert bank_level & {"shuffled options", "the bank's description"} == unkept


def test_the_gift_reader_agrees_with_moodles_own_importer_tests(tmp_path: Path) -> None:
    """Three inputs of Moodle's ``question/format/gift/tests/giftformat_test.php`` and what Moodle's
    importer makes of them there: the test-side reader must read them the same way."""
    source = tmp_path / "moodle.gift"
    source.write_text("""
// essay
::Q8:: How are you? {}

// multiple choice with specified feedback for right and wrong answers
::Q2:: What's between orange and green in the spectrum?
{
    =yellow # right; good!
    ~red # [html]wrong, it's yellow
    ~[plain]blue # wrong, it's yellow
}

// multiple choice, multiple response with specified feedback for right and wrong answers
::colours:: What's between orange and green in the spectrum?
{
    ~%50%yellow # right; good!
    ~%-100%red # [html]wrong
    ~%50%off-beige # right; good!
    ~%-100%[plain]blue # wrong
}
""", encoding="utf-8")
    essay, single, multi = read_gift(source).questions
    assert (essay.name, essay.qtype, essay.text, essay.default_mark) == ("Q8", "essay", "How are you?", 1.0)
    assert (single.qtype, single.single, single.text) == ("multichoice", True, "What's between orange and green in the spectrum?")
    assert [(a.text, a.fraction, a.feedback) for a in single.answers] == [
        ("yellow", 1.0, "right; good!"), ("red", 0.0, "wrong, it's yellow"), ("blue", 0.0, "wrong, it's yellow")]
    assert multi.single is False
    assert [(a.text, a.fraction) for a in multi.answers] == [("yellow", 0.5), ("red", -1.0), ("off-beige", 0.5), ("blue", -1.0)]
