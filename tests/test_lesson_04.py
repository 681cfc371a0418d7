"""Lesson 04 (4-bit quantization and QLoRA): run the notebook in smoke mode and check its evidence.

The notebook is executed once per module (it loads the model several times and trains three
runs), then each test reads the outputs of one tagged cell. The Colab set-up cell and the
committed file are checked for every lesson in test_lessons_committed.py.
"""
from __future__ import annotations

import re

import nbformat
import pytest

from notebook_exec import ROOT, assert_one_lesson_quiz, cells_tagged, findings, has_image, lesson_tests, number_after, output_text, tagged_text

NOTEBOOK = ROOT / "notebooks" / "04_quantization_and_qlora.ipynb"
executed, test_no_cell_shows_an_error = lesson_tests(NOTEBOOK, timeout_s=900, slow=False)


# ---------------------------------------------------------------------------------------------
# The committed file
# ---------------------------------------------------------------------------------------------
def test_every_required_tag_is_present():
    """(Outputs, links and the Colab set-up cell are checked for every lesson in test_lessons_committed.py.)"""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for tag in ["absmax-error", "nf4-table-check", "quant-error-table", "quant-histograms", "double-quant-bits",
                "memory-table", "skip-modules-check", "head-quantized-error", "qlora-vs-lora-findings",
                "memory-breakdown", "quantization-noise"]:
        assert cells_tagged(nb, tag), tag


# ---------------------------------------------------------------------------------------------
# The executed notebook
# ---------------------------------------------------------------------------------------------
def test_environment_cell_reports_smoke_profile(executed):
    first_code = [c for c in executed.cells if c.cell_type == "code"][1]
    assert "profile: smoke" in output_text(first_code)


def test_absmax_error_table(executed):
    text = tagged_text(executed, "absmax-error")
    for blocksize in ["64", "256", "4096", "whole matrix"]:
        assert blocksize in text
    assert "False" not in text, "some block broke the absmax/14 rounding bound"
    assert number_after(text, r"cut the error", regex=True) > 1  # blocks of 64 beat one scale per matrix


def test_nf4_table_matches_bitsandbytes(executed):
    text = tagged_text(executed, "nf4-table-check")
    assert "16 values, 8 positive, 7 negative, exact zero: True" in text
    assert number_after(text, r"max \|NF4 by hand - bitsandbytes NF4\| =", regex=True) < 1e-6


def test_hand_nf4_quantizer_reproduces_bitsandbytes(executed):
    text = tagged_text(executed, "nf4-parity")
    assert number_after(text, r"after dequantization on W:", regex=True) < 1e-5


def test_quant_error_table_compares_formats_on_every_projection(executed):
    text = tagged_text(executed, "quant-error-table")
    for column in ["int4", "fp4", "nf4", "nf4 (by hand)"]:
        assert column in text
    for module in ["attention.self.query", "attention.self.key", "attention.self.value",
                   "attention.output.dense", "intermediate.dense", "output.dense",
                   "all encoder linears"]:
        assert module in text
    assert "Lowest average error: nf4" in text


def test_histograms_show_levels_of_three_formats(executed):
    cells = cells_tagged(executed, "quant-histograms")
    assert any(has_image(c) for c in cells)
    text = tagged_text(executed, "quant-histograms")
    entropies = [number_after(text, rf"{name}: code usage entropy", regex=True) for name in ["int4 absmax", "FP4", "NF4"]]
    assert all(0 < e <= 4 for e in entropies)
    assert entropies[2] == max(entropies)  # quantile levels use the codes most evenly


def test_double_quant_bits(executed):
    text = tagged_text(executed, "double-quant-bits")
    assert number_after(text, r"4 \+ 32/64\s*=", regex=True) == pytest.approx(4.5)
    assert number_after(text, r"4 \+ 8/64 \+ 32/\(64\*256\) =", regex=True) == pytest.approx(4.127, abs=1e-3)
    assert number_after(text, r"plain NF4", regex=True) == pytest.approx(4.5, abs=1e-3)
    assert 4.127 <= number_after(text, r"double-quantized", regex=True) < 4.2


def test_memory_table_has_every_format_and_a_chart(executed):
    text = tagged_text(executed, "memory-table")
    for fmt in ["fp32", "fp16", "int8 (+fp32 rest)", "nf4 (+fp32 rest)", "nf4 (+fp16 rest)"]:
        assert fmt in text
    assert "embedding share" in text
    assert number_after(text, r"encoder linears shrink", regex=True) > 6  # 32 bits -> about 4.1 bits
    assert any(has_image(c) for c in cells_tagged(executed, "memory-plot"))


def test_quantized_head_error_is_shown(executed):
    text = tagged_text(executed, "head-quantized-error")
    assert "Linear4bit" in text  # the head was quantized
    assert re.search(r"\b\w*(Error|Exception)\b: ", text), text
    assert "no error" not in text


def test_skip_list_check_shows_which_modules_stay_in_float(executed):
    text = tagged_text(executed, "skip-modules-check")
    assert "True = left in floating point" in text and "bert.pooler.dense" in text


def test_prepare_model_for_kbit_training_freezes_everything(executed):
    cell = next(c for c in executed.cells if c.cell_type == "code" and "trainable parameters before prepare" in output_text(c))
    text = output_text(cell)
    assert re.search(r"after: 0\b", text) and "gradient checkpointing on: True" in text


def test_paged_optimizer_cells_explain_the_cpu(executed):
    assert "QLoRA adapters + head" in tagged_text(executed, "paged-optimizer")
    assert "No CUDA device" in tagged_text(executed, "paged-measurement")  # CI runs on the CPU


def test_three_ways_of_training_are_compared_with_their_seeds(executed):
    numbers = findings(executed, "qlora-vs-lora-findings")
    for label in ["full fine-tuning", "LoRA", "QLoRA"]:
        assert f"val acc, {label}" in numbers and f"wall time s, {label}" in numbers


def test_memory_breakdown_separates_what_each_method_saves(executed):
    assert any(has_image(c) for c in cells_tagged(executed, "memory-breakdown"))
    mib = findings(executed, "memory-breakdown")
    full, lora = mib["full fine-tuning: gradients + optimizer state"]["mean"], mib["LoRA: gradients + optimizer state"]["mean"]
    assert full == pytest.approx(3 * 4 * 22_566_146 / 2**20, rel=0.01)  # one gradient + two AdamW moments per weight
    assert lora < full / 50
    assert mib["QLoRA: weights"]["mean"] < 0.7 * mib["LoRA: weights"]["mean"]  # 4-bit linears
    ckpt = mib["QLoRA + gradient checkpointing: activations"]["mean"]
    assert ckpt < 0.5 * mib["QLoRA: activations"]["mean"]  # checkpointing keeps only the layers' inputs


def test_fake_quantization_reproduces_bitsandbytes_and_the_noise_sweep_runs(executed):
    cell = next(c for c in executed.cells if c.cell_type == "code" and "fake NF4 (our table" in output_text(c))
    assert number_after(output_text(cell), r"max \|logit difference\| =", regex=True) < 1e-3
    numbers = findings(executed, "quantization-noise")
    errors = [numbers[f"relative MSE of the encoder weights, {fmt}"]["mean"] for fmt in ("NF4", "FP4", "NF3", "NF2")]
    assert errors == sorted(errors)  # coarser formats, larger weight error
    assert "NF2, fake-quantized" in numbers


def test_self_check_lists_the_chosen_questions(executed):
    assert_one_lesson_quiz(cells_tagged(executed, "self-check")[0], "Lesson 4 self-check", questions=6)
