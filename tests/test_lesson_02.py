"""Lesson 2 (the LoRA rank) runs top to bottom in smoke mode and shows what its prose claims.

Why these tests: the lesson leans on facts its cells compute whatever the training budget — LoRA's
exact output at initialisation, peft's parameter count matching r(d+k) by hand, an untrained and
unsaved head without ``modules_to_save``, a reloaded adapter reproducing its accuracy, the rsLoRA
multipliers of the sweep, an effective rank no larger than the adapter's rank. They are checked on
the smoke run; the conclusions drawn from training (orderings with their spread) are checked on the
committed cpu-profile run in test_lesson_claims.py.
"""
from __future__ import annotations

import re

import pytest

from notebook_exec import ROOT, assert_one_lesson_quiz, cells_tagged, findings, has_image, html_rows, internal_links, lesson_tests, number_after, tagged_text

NOTEBOOK = ROOT / "notebooks" / "02_lora_rank.ipynb"
executed, test_no_cell_shows_an_error = lesson_tests(NOTEBOOK)
SMOKE_RANKS = [1, 64]
HIDDEN, LAYERS, HEAD = 384, 6, 384 * 2 + 2  # all-MiniLM-L6-v2 and a two-class head


def lora_trainable(r: int) -> int:
    """Trainable parameters of LoRA on query+value of every layer, plus the head in modules_to_save."""
    return LAYERS * 2 * r * (HIDDEN + HIDDEN) + HEAD


def test_self_check_links_reach_the_sections_that_answer_it():
    links, _anchors = internal_links(NOTEBOOK)
    assert {"target-modules", "which-modules", "rank-sweep", "choosing-r"} <= links


@pytest.mark.slow
def test_module_names_listed_six_linears_per_layer(executed):
    text = tagged_text(executed, "module-names")
    for name in ("attention.self.query", "attention.self.value", "attention.self.key", "attention.output.dense",
                 "intermediate.dense", "layer.0.output.dense", "classifier"):
        assert name in text
    assert "pooler" not in text


@pytest.mark.slow
def test_lora_is_exact_at_initialisation_and_peft_counts_r_d_plus_k(executed):
    assert number_after(tagged_text(executed, "init-parity"), "max |logits difference| at initialisation:") < 1e-5
    text = tagged_text(executed, "param-count")
    assert number_after(text, "peft   :") == lora_trainable(8)


@pytest.mark.slow
def test_modules_to_save_demo_shows_untrained_unsaved_head(executed):
    rows = html_rows(tagged_text(executed, "modules-to-save-demo"))
    without, with_head = rows["without modules_to_save"], rows["modules_to_save=['classifier']"]
    # columns: head parameters the optimizer trains, head tensors in the saved adapter, all saved tensors
    assert (without[0], without[1]) == ("0", "0")
    assert (with_head[0], with_head[1]) == (str(HEAD), "2")
    assert "'classifier'" in tagged_text(executed, "modules-to-save-summary")


@pytest.mark.slow
def test_rank_table_has_a_row_per_rank_and_references(executed):
    text = tagged_text(executed, "rank-table")
    for r in SMOKE_RANKS:
        assert f"LoRA r={r}" in text and f"{lora_trainable(r):,}" in text
    assert "head only" in text and "full fine-tuning" in text and "22,566,146" in text
    assert has_image(cells_tagged(executed, "rank-plot")[0])


@pytest.mark.slow
def test_memory_is_counted_by_part(executed):
    numbers = findings(executed, "rank-findings")
    lora = numbers["gradients + optimizer state, LoRA r=64 (MiB)"]["mean"]
    full = numbers["gradients + optimizer state, full fine-tuning (MiB)"]["mean"]
    # AdamW: one gradient and two moments per trainable float32 weight
    assert lora == pytest.approx(3 * 4 * lora_trainable(64) / 2**20, rel=0.01)
    assert full == pytest.approx(3 * 4 * 22_566_146 / 2**20, rel=0.01)


@pytest.mark.slow
def test_scale_check_compares_rslora_with_alpha_two_r(executed):
    numbers = findings(executed, "scale-check")
    assert "val acc, α/√r (sweep), s=0.707" in numbers and "val acc, α/r with α=2r, s=2" in numbers
    assert numbers["mean ‖ΔW‖_F, α/r with α=2r (seed 0)"]["mean"] > numbers["mean ‖ΔW‖_F, α/√r (seed 0)"]["mean"] > 0


@pytest.mark.slow
def test_a_trained_adapter_reloads_with_its_accuracy(executed):
    text = tagged_text(executed, "reload-check")
    match = re.search(r"validation accuracy ([0-9.]+) before saving, ([0-9.]+) after reloading", text)
    assert match and match.group(1) == match.group(2), text


@pytest.mark.slow
def test_target_modules_table_compares_parameter_counts(executed):
    numbers = findings(executed, "target-modules-table")
    every_linear = LAYERS * (4 * 1 * (HIDDEN + HIDDEN) + 1 * (HIDDEN + 4 * HIDDEN) + 1 * (4 * HIDDEN + HIDDEN)) + HEAD
    assert f"every linear layer ({every_linear:,} trainable)" in numbers
    assert f"query/value ({lora_trainable(1):,} trainable)" in numbers


@pytest.mark.slow
def test_svd_shows_a_low_effective_rank(executed):
    assert has_image(cells_tagged(executed, "svd-plot")[0])
    numbers = findings(executed, "svd-table")
    lora = numbers["LoRA r=64, query and value"]
    assert 1 <= lora["low"] and lora["high"] <= 64 and lora["n"] == 2 * LAYERS
    assert numbers["random rank-64 product"]["mean"] <= 64


@pytest.mark.slow
def test_rank_choice_is_one_of_the_swept_ranks(executed):
    match = re.search(r"Chosen rank: r=(\d+)", tagged_text(executed, "choose-r"))
    assert match and int(match.group(1)) in SMOKE_RANKS


@pytest.mark.slow
def test_self_check_lists_and_scores_the_bank_questions(executed):
    assert_one_lesson_quiz(cells_tagged(executed, "self-check")[0], "Lesson 2 self-check", questions=3)
