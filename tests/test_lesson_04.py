"""Lesson 04 (4-bit quantization and QLoRA): run the notebook in smoke mode and check its evidence.

The notebook is executed once per module (it loads the model several times and trains three
runs), then each test reads the outputs of one tagged cell. The Colab set-up cell and the
committed file are checked for every lesson in test_lessons_committed.py.
"""
from __future__ import annotations

import re

import nbformat
import pytest

from notebook_exec import ROOT, cells_tagged, execute_lesson, has_image, output_text, widget_views

NOTEBOOK = ROOT / "notebooks" / "04_quantization_and_qlora.ipynb"


@pytest.fixture(scope="module")
def executed():
    """The notebook after a full smoke-mode run (repo root on PYTHONPATH so ``course`` imports)."""
    return execute_lesson(NOTEBOOK, timeout_s=900)


def tagged_text(nb, tag: str) -> str:
    cells = cells_tagged(nb, tag)
    assert cells, f"no cell tagged {tag!r}"
    return "\n".join(output_text(cell) for cell in cells)


def number_after(text: str, pattern: str) -> float:
    """The first number that follows ``pattern`` (a regex) in ``text``."""
    match = re.search(pattern + r"\s*([-+]?\d[\d,]*\.?\d*(?:e[-+]?\d+)?)", text)
    assert match, f"{pattern!r} not found in:\n{text}"
    return float(match.group(1).replace(",", ""))


# ---------------------------------------------------------------------------------------------
# The committed file
# ---------------------------------------------------------------------------------------------
def test_every_required_tag_is_present():
    """(Outputs, links and the Colab set-up cell are checked for every lesson in test_lessons_committed.py.)"""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for tag in ["absmax-error", "nf4-table-check", "quant-error-table", "quant-histograms",
                "double-quant-bits", "memory-table", "head-quantized-error", "qlora-vs-lora-table"]:
        assert cells_tagged(nb, tag), tag


# ---------------------------------------------------------------------------------------------
# The executed notebook
# ---------------------------------------------------------------------------------------------
def test_no_cell_errors(executed):
    errors = [out for cell in executed.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors


def test_environment_cell_reports_smoke_profile(executed):
    first_code = [c for c in executed.cells if c.cell_type == "code"][1]
    assert "profile: smoke" in output_text(first_code)


def test_absmax_error_table(executed):
    text = tagged_text(executed, "absmax-error")
    for blocksize in ["64", "256", "4096", "whole matrix"]:
        assert blocksize in text
    assert "False" not in text, "some block broke the absmax/14 rounding bound"
    assert number_after(text, r"cut the error") > 1  # blocks of 64 beat one scale per matrix


def test_nf4_table_matches_bitsandbytes(executed):
    text = tagged_text(executed, "nf4-table-check")
    assert "16 values, 8 positive, 7 negative, exact zero: True" in text
    assert number_after(text, r"max \|NF4 by hand - bitsandbytes NF4\| =") < 1e-6


def test_hand_nf4_quantizer_reproduces_bitsandbytes(executed):
    text = tagged_text(executed, "nf4-parity")
    assert number_after(text, r"after dequantization on W:") < 1e-5


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
    entropies = [number_after(text, rf"{name}: code usage entropy") for name in ["int4 absmax", "FP4", "NF4"]]
    assert all(0 < e <= 4 for e in entropies)
    assert entropies[2] == max(entropies)  # quantile levels use the codes most evenly


def test_double_quant_bits(executed):
    text = tagged_text(executed, "double-quant-bits")
    assert number_after(text, r"4 \+ 32/64\s*=") == pytest.approx(4.5)
    assert number_after(text, r"4 \+ 8/64 \+ 32/\(64\*256\) =") == pytest.approx(4.127, abs=1e-3)
    assert number_after(text, r"plain NF4") == pytest.approx(4.5, abs=1e-3)
    assert 4.127 <= number_after(text, r"double-quantized") < 4.2


def test_memory_table_has_every_format_and_a_chart(executed):
    text = tagged_text(executed, "memory-table")
    for fmt in ["fp32", "fp16", "int8 (+fp32 rest)", "nf4 (+fp32 rest)", "nf4 (+fp16 rest)"]:
        assert fmt in text
    assert "embedding share" in text
    assert number_after(text, r"encoder linears shrink") > 6  # 32 bits -> about 4.1 bits
    assert any(has_image(c) for c in cells_tagged(executed, "memory-plot"))


def test_quantized_head_error_is_shown(executed):
    text = tagged_text(executed, "head-quantized-error")
    assert "Linear4bit" in text  # the head was quantized
    assert re.search(r"\b\w*(Error|Exception)\b: ", text), text
    assert "no error" not in text


def test_paged_optimizer_cell_explains_cpu_fallback(executed):
    text = tagged_text(executed, "paged-optimizer")
    assert "QLoRA adapters + head" in text
    assert "No CUDA" in text  # CI runs on the CPU


def test_qlora_vs_lora_table_and_chart(executed):
    text = tagged_text(executed, "qlora-vs-lora-table")
    for label in ["full fine-tuning", "LoRA", "QLoRA"]:
        assert label in text
    assert any(has_image(c) for c in cells_tagged(executed, "qlora-vs-lora-plot"))
    summary = tagged_text(executed, "qlora-vs-lora-plot")
    qlora_mib = number_after(summary, r"model memory")
    lora_mib = number_after(summary, r"model memory [\d.]+ vs")
    assert qlora_mib < lora_mib


def test_lora_and_qlora_start_from_the_same_adapters(executed):
    """The comparison's prose says the 4-bit base is the only difference between LoRA and QLoRA."""
    text = tagged_text(executed, "qlora-training")
    assert "LoRA and QLoRA adapters start from identical A matrices: True" in text


def test_self_check_lists_the_chosen_questions(executed):
    text = tagged_text(executed, "self-check")
    for qid in ["[q4]", "[q5]", "[q6]", "[q10]", "[q1]", "[c5]"]:
        assert qid in text
    assert widget_views(cells_tagged(executed, "self-check")[0]) == 3  # one quiz per bank
