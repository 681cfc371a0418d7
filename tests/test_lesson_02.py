"""Lesson 2 (the LoRA rank) runs top to bottom in smoke mode and shows what its prose claims.

Why these tests: the lesson's text leans on numbers its cells compute — LoRA's exact output at
initialisation, peft's parameter count matching r(d+k) by hand, a frozen and unsaved head without
``modules_to_save``, one table row per swept rank, an effective rank no larger than the adapter's
rank. If a peft or transformers upgrade, or an edit, breaks one of them, the lesson would teach
something false without any error, so each tagged output is parsed and checked. The Colab set-up
cell and the committed file are checked for every lesson in test_lessons_committed.py.
"""
from __future__ import annotations

import re

import pytest

from notebook_exec import ROOT, cells_tagged, execute_lesson, has_image, html_rows, internal_links, output_text, tagged_text, widget_views

NOTEBOOK = ROOT / "notebooks" / "02_lora_rank.ipynb"
RANKS = [1, 2, 4, 8, 16, 32, 64]
HIDDEN, LAYERS, HEAD = 384, 6, 384 * 2 + 2  # all-MiniLM-L6-v2 and a two-class head
NUMBER = r"([-+]?[0-9][0-9,]*\.?[0-9]*(?:e[-+]?\d+)?)"


def number_after(text: str, label: str) -> float:
    match = re.search(re.escape(label) + r"\s*" + NUMBER, text)
    assert match, f"{label!r} not found in:\n{text}"
    return float(match.group(1).replace(",", ""))


def lora_trainable(r: int) -> int:
    """Trainable parameters of LoRA on query+value of every layer, plus the head in modules_to_save."""
    return LAYERS * 2 * r * (HIDDEN + HIDDEN) + HEAD


@pytest.fixture(scope="module")
def executed():
    """The notebook executed once in smoke mode, with this checkout's packages on the kernel's path."""
    return execute_lesson(NOTEBOOK)


# --- the committed file -----------------------------------------------------------------------

def test_self_check_links_reach_the_sections_that_answer_it():
    """(That every link has an anchor is checked for all lessons in test_lessons_committed.py.)"""
    links, _anchors = internal_links(NOTEBOOK)
    assert {"target-modules", "rank-sweep", "choosing-r"} <= links


# --- the executed lesson ----------------------------------------------------------------------

def test_no_cell_shows_an_error(executed):
    for cell in executed.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out.get("evalue")


def test_lora_is_exact_at_initialisation(executed):
    text = tagged_text(executed, "init-parity")
    assert number_after(text, "max |logits difference| at initialisation:") < 1e-5


def test_peft_count_matches_the_hand_formula(executed):
    text = tagged_text(executed, "param-count")
    assert number_after(text, "peft   :") == lora_trainable(8)
    assert "lora_A" in text and "lora_B" in text and "classifier" in text


def test_module_names_listed(executed):
    text = tagged_text(executed, "module-names")
    for name in ("attention.self.query", "attention.self.value", "attention.self.key", "classifier"):
        assert name in text


def test_modules_to_save_demo_shows_frozen_unsaved_head(executed):
    cell = cells_tagged(executed, "modules-to-save-demo")[0]
    rows = html_rows(output_text(cell))
    without, with_head = rows["without modules_to_save"], rows["modules_to_save=['classifier']"]
    # columns: head trainable, max |Δ head weight|, head tensors in saved adapter, val acc x2
    assert without[0] == "False" and float(without[1]) == 0.0 and without[2] == "0"
    assert with_head[0] == "True" and float(with_head[1]) > 0.0 and with_head[2] == "2"
    # A saved-and-reloaded head gives back the trained model exactly.
    assert float(with_head[3]) == pytest.approx(float(with_head[4]))
    summary = tagged_text(executed, "modules-to-save-summary")
    assert "'classifier'" in summary  # task_type="SEQ_CLS" adds the head to modules_to_save


def test_rank_table_has_a_row_per_rank_and_references(executed):
    rows = html_rows(tagged_text(executed, "rank-table"))
    for r in RANKS:
        row = rows[f"LoRA r={r}"]
        assert row[0] == str(r) + ".0" or row[0] == str(r)
        assert int(float(row[1])) == lora_trainable(r)
    assert "head only" in rows and "full fine-tuning" in rows
    assert int(float(rows["head only"][1])) == HEAD
    assert float(rows["full fine-tuning"][2]) == pytest.approx(100.0)


def test_rank_plot_is_drawn(executed):
    assert has_image(cells_tagged(executed, "rank-plot")[0])


def test_svd_shows_a_low_effective_rank(executed):
    cell = cells_tagged(executed, "svd-plot")[0]
    assert has_image(cell)
    text = output_text(cell)
    lora = re.search(r"LoRA r=64: effective rank \(90 % of energy\) =\s*(\d+) of 384", text)
    random = re.search(r"random rank-64: effective rank \(90 % of energy\) =\s*(\d+) of 384", text)
    assert lora and random, text
    assert 1 <= int(lora.group(1)) <= 64 and 1 <= int(random.group(1)) <= 64
    table = html_rows(tagged_text(executed, "svd-table"))
    assert len([k for k in table if k.isdigit()]) == LAYERS


def test_rank_choice_is_one_of_the_swept_ranks(executed):
    text = tagged_text(executed, "choose-r")
    match = re.search(r"Chosen rank: r=(\d+)", text)
    assert match and int(match.group(1)) in RANKS


def test_self_check_lists_and_scores_the_bank_questions(executed):
    text = tagged_text(executed, "self-check")
    for qid in ("q2", "q7", "q9"):
        assert f"[{qid}]" in text
    assert "day48-lora-qlora" in text
    assert widget_views(cells_tagged(executed, "self-check")[0]) == 1  # one quiz widget for the one bank


def test_sweep_uses_rslora_and_the_scale_check_compares_both_multipliers(executed):
    """The sweep's ranks must differ only in capacity: rsLoRA's α/√r with α = 2√8, against plain α = 2r."""
    rows = html_rows(tagged_text(executed, "scale-check"))
    rs_alpha = 2 * 8 ** 0.5
    assert float(rows["r=16, α/√r (sweep)"][0]) == pytest.approx(rs_alpha / 16 ** 0.5, rel=1e-3)
    assert float(rows["r=64, α/√r (sweep)"][0]) == pytest.approx(rs_alpha / 64 ** 0.5, rel=1e-3)
    assert float(rows["r=64, α/r with α=2r"][0]) == pytest.approx(2.0)
    for row in (row for row in rows.values() if row):  # header rows have no data cells
        assert float(row[1]) > 0.0  # every run moved its adapter away from B = 0
    text = tagged_text(executed, "scale-check")
    assert re.search(r"At r=64, α = 2r moved ΔW \d+\.\d× as far as the rsLoRA multiplier did", text), text
