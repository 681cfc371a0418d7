"""The widget's pure parts: Markdown/math rendering, per-student order, the progress file."""
from __future__ import annotations

import json

import pytest

from grader.markup import code_html, inline_html, markdown_html, strip_tags
from grader.progress import Attempt, load_progress, progress_path, save_progress
from grader.widgets.order import OptionLabels, position_letter, shuffled, student_rng


@pytest.mark.parametrize("source, expected", [
    ("A $W_0 \\times x$ and $$a_{ij} * b_{ij}$$", ["$W_0 \\times x$", "$$a_{ij} * b_{ij}$$"]),
    ("**bold** and `code_name`", ["<strong>bold</strong>", "<code>code_name</code>"]),
    ("<script>alert(1)</script>", ["&lt;script&gt;"]),
    ("costs \\$5 and \\$6", ["\\$5"]),
])
def test_markdown_keeps_math_for_mathjax_and_escapes_html(source, expected):
    rendered = markdown_html(source)
    for piece in expected:
        assert piece in rendered
    assert "<script>" not in rendered and "<em>" not in rendered, "math must not turn into emphasis"


def test_code_fences_are_highlighted_on_their_own_background():
    rendered = markdown_html("Look:\n\n```python\nx = r * 2  # rank\n```\n")
    assert 'class="gq-code"' in rendered and "background:#f6f8fa" in rendered and "<span" in rendered
    assert strip_tags(rendered).splitlines()[-1] == "x = r * 2 # rank"
    assert "<b>" not in code_html("<b>") and "&lt;" in code_html("<b>")


def test_inline_html_has_no_paragraph():
    assert inline_html("It *freezes* weights") == "It <em>freezes</em> weights"


def test_student_order_is_stable_per_student_and_never_the_identity():
    items = list("ABCD")
    first = shuffled(items, student_rng("bank", "ana", purpose="options:q1"))
    assert first == shuffled(items, student_rng("bank", "ana", purpose="options:q1"))
    assert first != items and sorted(first) == items
    others = {tuple(shuffled(items, student_rng("bank", name, purpose="options:q1"))) for name in ("ben", "cy", "di", "ed")}
    assert len(others | {tuple(first)}) > 1
    assert shuffled(["only"], student_rng("bank", "ana")) == ["only"]


def test_progress_round_trip_best_score_and_atomic_file(tmp_path):
    path = progress_path("day48", tmp_path)
    assert path == tmp_path / "day48.progress.json"
    progress = load_progress(path, quiz_id="day48", student="ana")
    assert progress.attempts == [] and progress.best_percent is None and not path.exists()
    progress.attempts += [Attempt(60, 6, 10), Attempt(90, 9, 10), Attempt(70, 7, 10)]
    progress.answers = {"q1": "B", "q2": ["A", "C"]}
    save_progress(progress, path)
    data = json.loads(path.read_text())
    assert data["best_percent"] == 90 and data["format"] == 1 and "notice" not in data
    assert [p.name for p in tmp_path.iterdir()] == ["day48.progress.json"], "no temporary file left behind"
    again = load_progress(path, quiz_id="day48", student="ana")
    assert again.percents == [60, 90, 70] and again.answers == {"q1": "B", "q2": ["A", "C"]}


@pytest.mark.parametrize("content, why", [("{broken", "Expecting"), (json.dumps({"format": 1, "quiz_id": "other", "student": "ana"}), "another quiz"),
                                          (json.dumps({"format": 99}), "unknown progress format")])
def test_unusable_progress_is_moved_aside_not_overwritten(tmp_path, content, why):
    path = tmp_path / "day48.progress.json"
    path.write_text(content)
    progress = load_progress(path, quiz_id="day48", student="ana")
    assert progress.attempts == [] and why in progress.notice
    assert (tmp_path / "day48.progress.json.bad").read_text() == content and not path.exists()


@pytest.mark.parametrize("index, letters", [(0, "A"), (3, "D"), (25, "Z"), (26, "AA"), (27, "AB"), (701, "ZZ"), (702, "AAA")])
def test_position_letters_run_like_spreadsheet_columns(index, letters):
    assert position_letter(index) == letters


def test_option_labels_follow_display_order_and_keep_unknown_ids():
    labels = OptionLabels.for_order(["D", "A", "C", "B"])  # a shuffled order of the bank's ids
    assert [labels.letter(i) for i in ("D", "A", "C", "B")] == ["A", "B", "C", "D"]
    assert labels.text(["B", "D"]) == "A, D", "listed in the order the student reads them"
    assert labels.in_order(["B", "zz", "D"]) == ["D", "B", "zz"] and labels.letter("zz") == "zz"
    assert OptionLabels().text(["x"]) == "x"
    with pytest.raises(ValueError, match="0 or more"):
        position_letter(-1)
