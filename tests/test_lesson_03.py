"""Lesson 3 (the LoRA scale α) runs top to bottom in smoke mode and shows what its prose claims.

Why these tests: the lesson's argument rests on the first Adam step's ‖ΔW‖ falling like 1/√r at
fixed α and rising like √r with α = 2r, the closed-form prediction matching the measurement, and
rsLoRA's α/√r keeping it flat; those numbers are deterministic even in smoke mode, so they are pinned
here. The tables must hold one row per configuration. Conclusions from training (with their spread)
are checked on the committed cpu-profile run in test_lesson_claims.py.
"""
from __future__ import annotations

import pytest

from notebook_exec import ROOT, assert_one_lesson_quiz, assert_first_step_ratios, cells_tagged, findings, has_image, internal_links, lesson_tests, tagged_text

NOTEBOOK = ROOT / "notebooks" / "03_lora_alpha.ipynb"
executed, test_no_cell_shows_an_error = lesson_tests(NOTEBOOK)


def test_self_check_links_reach_the_sections_that_answer_it():
    links, _anchors = internal_links(NOTEBOOK)
    assert {"rule-of-thumb", "scale"} <= links


@pytest.mark.slow
def test_first_update_scales_as_the_analysis_says(executed):
    assert has_image(cells_tagged(executed, "scale-plot")[0])
    ratios = findings(executed, "scale-plot")
    mean = {name: (item["mean"], item["mean"]) for name, item in ratios.items()}
    assert_first_step_ratios(grows=mean["α = 2r, s = α/r"], shrinks=mean["α = 16 fixed, s = α/r"],
                             stays=mean["α = 16, rsLoRA s = α/√r"])
    assert ratios["largest relative deviation from s·η·√(dr/3)"]["mean"] < 0.15


@pytest.mark.slow
def test_alpha_sweep_table_plot_and_loss_curves(executed):
    text = tagged_text(executed, "alpha-table")
    for alpha in ("4", "64"):  # the smoke profile's α
        assert alpha in text
    assert has_image(cells_tagged(executed, "alpha-plot")[0])
    assert has_image(cells_tagged(executed, "loss-curves")[0])
    numbers = findings(executed, "alpha-plot")
    assert "val acc, α=4 (s=0.5)" in numbers and "val acc, α=64 (s=8)" in numbers


@pytest.mark.slow
def test_alpha_lr_cells_share_products_or_alphas(executed):
    text = tagged_text(executed, "alpha-lr-table")
    assert text.count("equal α·lr") >= 3 and text.count("equal α ") + text.count("equal α\n") >= 1
    numbers = findings(executed, "alpha-lr-table")
    assert {"range of cell means, equal α·lr", "range of cell means, equal α", "largest seed std of any cell"} <= set(numbers)


@pytest.mark.slow
def test_three_rules_compared_at_r64_from_one_shared_r8_setting(executed):
    numbers = findings(executed, "rule-of-thumb-table")
    for rule in ("α = 2r", "fixed α = 16", "rsLoRA, α = 2√8"):
        assert f"r=64, {rule}" in numbers
    norms = {rule: numbers[f"learned ‖ΔW‖ at r=64, {rule}"]["mean"] for rule in ("α = 2r", "fixed α = 16", "rsLoRA, α = 2√8")}
    assert norms["α = 2r"] > norms["rsLoRA, α = 2√8"] > norms["fixed α = 16"]  # the order of the first-step table


@pytest.mark.slow
def test_every_setting_is_trained_once(executed):
    text = tagged_text(executed, "all-runs")
    assert text.count("<th>r=8, s=2, lr=0.005</th>") == 1  # one table row, shared by the α sweep, grid and rules


@pytest.mark.slow
def test_self_check_lists_and_scores_q3(executed):
    assert_one_lesson_quiz(cells_tagged(executed, "self-check")[0], "Lesson 3 self-check", questions=1)
