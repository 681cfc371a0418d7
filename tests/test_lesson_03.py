"""Lesson 3 (the LoRA scale α) runs top to bottom in smoke mode and shows what its prose claims.

Why these tests: the lesson's argument rests on measured numbers — the first Adam step's ‖ΔW‖
falling like 1/√r at fixed α and rising like √r with α = 2r, the closed-form prediction matching
the measurement, rsLoRA's α/√r keeping the step size flat across ranks, and one row or cell per
configuration in the sweep tables. Those numbers are deterministic even in smoke mode, so they are
pinned here: a peft change to the initialisation or the scaling would otherwise make the lesson
teach something false silently. The Colab set-up cell is checked in test_lessons_committed.py.
"""
from __future__ import annotations

import re

import pytest

from notebook_exec import ROOT, cells_tagged, execute_lesson, has_image, html_rows, internal_links, output_text, tagged_cell, tagged_text, widget_views

NOTEBOOK = ROOT / "notebooks" / "03_lora_alpha.ipynb"
ALPHAS = [1, 4, 8, 16, 32, 64, 128]
RANKS = [1, 2, 4, 8, 16, 32, 64]
NUMBER = r"([-+]?[0-9][0-9,]*\.?[0-9]*(?:e[-+]?\d+)?)"


def number_after(text: str, pattern: str) -> float:
    """The first number after the regular expression ``pattern`` in ``text``."""
    match = re.search(pattern + r"\s*" + NUMBER, text)
    assert match, f"{pattern!r} not found in:\n{text}"
    return float(match.group(1).replace(",", ""))


@pytest.fixture(scope="module")
def executed():
    """The notebook executed once in smoke mode, with this checkout's packages on the kernel's path."""
    return execute_lesson(NOTEBOOK)


# --- the committed file -----------------------------------------------------------------------

def test_self_check_links_reach_the_sections_that_answer_it():
    """(That every link has an anchor is checked for all lessons in test_lessons_committed.py.)"""
    links, _anchors = internal_links(NOTEBOOK)
    assert "rule-of-thumb" in links


# --- the executed lesson ----------------------------------------------------------------------

def test_no_cell_shows_an_error(executed):
    for cell in executed.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out.get("evalue")


def test_first_update_scales_as_the_analysis_says(executed):
    cell = tagged_cell(executed, "scale-plot")
    assert has_image(cell)
    text = output_text(cell)
    fixed = number_after(text, r"Fixed α=16: r=1 → r=64 changes the first update by a factor")
    doubled = number_after(text, r"α=2r:\s+r=1 → r=64 changes it by a factor")
    error = number_after(text, r"The formula s·η·√\(dr/3\) is within")
    assert fixed == pytest.approx(1 / 8, rel=0.2)
    assert doubled == pytest.approx(8, rel=0.2)
    assert error < 10  # percent
    rows = html_rows(tagged_text(executed, "scale-table"))
    assert all(str(r) in rows for r in RANKS)


def test_alpha_sweep_table_plot_and_loss_curves(executed):
    rows = html_rows(tagged_text(executed, "alpha-table"))
    for alpha in ALPHAS:
        assert float(rows[str(alpha)][0]) == pytest.approx(alpha / 8)  # the scale α/r column
    assert has_image(tagged_cell(executed, "alpha-plot"))
    assert has_image(tagged_cell(executed, "loss-curves"))


def test_alpha_lr_heatmap_covers_the_grid(executed):
    cell = tagged_cell(executed, "alpha-lr-heatmap")
    assert has_image(cell)
    rows = html_rows(output_text(cell))
    assert {"4", "16", "64"} <= set(rows) and all(len(rows[a]) == 3 for a in ("4", "16", "64"))
    text = tagged_text(executed, "alpha-lr-tradeoff")
    assert "equal α·lr" in text and "equal α:" in text


def test_rule_of_thumb_is_tested_not_asserted(executed):
    text = tagged_text(executed, "rule-of-thumb-table")
    rows = html_rows(text)
    for r in ("2", "8", "32"):
        assert len(rows[r]) == 5  # four rules and the best one
    assert all(rule in text for rule in ("α = r", "α = 2r", "α = 4r", "α = 16 (fixed)"))
    verdict = re.search(r"Verdict: α = 2r was within noise of the best rule for (\d) of 3 ranks", text)
    assert verdict and 0 <= int(verdict.group(1)) <= 3


def test_rslora_keeps_the_update_size_flat(executed):
    assert "scale 4.000" in tagged_text(executed, "rslora-scale")  # α/√r with α=16, r=16
    cell = tagged_cell(executed, "rslora-plot")
    assert has_image(cell)
    text = output_text(cell)
    rs = number_after(text, r"rsLoRA α/√r: first update r=64/r=1 =")
    standard = number_after(text, r"α=16, scale α/r: first update r=64/r=1 =")
    doubled = number_after(text, r"α=2r, scale α/r: first update r=64/r=1 =")
    assert rs == pytest.approx(1.0, abs=0.15)
    assert standard == pytest.approx(1 / 8, rel=0.25)
    assert doubled == pytest.approx(8, rel=0.25)


def test_every_training_is_listed_once(executed):
    rows = html_rows(tagged_text(executed, "all-runs"))
    runs = [label for label in rows if label.startswith("r=")]
    # α sweep 7 + grid 6 new + rule of thumb 8 new + rsLoRA 3 = 24 distinct trainings
    assert len(runs) == len(set(runs)) == 24


def test_self_check_lists_and_scores_q3(executed):
    text = tagged_text(executed, "self-check")
    assert "[q3]" in text and "day48-lora-qlora" in text
    assert widget_views(cells_tagged(executed, "self-check")[0]) == 1
