"""Lesson 5 (adapters in production) runs top to bottom in smoke mode and shows what it claims.

Why these tests: the lesson promises that a saved adapter is small, reloads to identical outputs,
merges into a plain model with the same outputs, that several adapters share one base model and
switch per request, and that disabling them gives the base model back. Each of those is printed by
a tagged cell; if PEFT changes behaviour (say, stops saving the classification head), the lesson
would silently teach something false, so the printed numbers are parsed and checked here.
"""
from __future__ import annotations

import re

import pytest

from notebook_exec import ROOT, execute_lesson, output_text, tagged_text, widget_views

NOTEBOOK = ROOT / "notebooks" / "05_adapters_in_production.ipynb"
FLOAT = r"([0-9.]+(?:e[-+]?\d+)?)"


def number_after(text: str, label: str) -> float:
    """The first number printed after ``label`` (a literal string) in ``text``."""
    match = re.search(re.escape(label) + r"\s*" + FLOAT, text)
    assert match, f"{label!r} not found in output:\n{text}"
    return float(match.group(1))


@pytest.fixture(scope="module")
def executed():
    """The notebook executed once in smoke mode, with this checkout's packages on the kernel's path."""
    return execute_lesson(NOTEBOOK)


# --- the executed lesson ----------------------------------------------------------------------

@pytest.mark.slow
def test_adapter_is_a_small_fraction_of_the_full_checkpoint(executed):
    text = tagged_text(executed, "adapter-size-table")
    adapter_mb = number_after(text, "The adapter takes")
    percent = number_after(text, "MB on disk,")
    assert 0 < adapter_mb < 1.0  # 74,498 float32 parameters ≈ 0.28 MB plus config files
    assert percent < 1.0
    assert "LoRA adapter r=8 + head" in text


@pytest.mark.slow
def test_reloaded_adapter_gives_identical_predictions(executed):
    text = tagged_text(executed, "reload-check")
    assert number_after(text, "max |reloaded - trained| logits over 128 test reviews:") < 1e-6
    assert "identical predictions: True" in text
    # The fresh base had a different head, so the match proves the head came from the adapter.
    assert number_after(text, "differs by") > 1e-3


@pytest.mark.slow
def test_merge_removes_lora_and_keeps_outputs(executed):
    text = tagged_text(executed, "merge-check")
    assert "LoRA layers before merging: 12; after: 0" in text
    assert "merged model class: BertForSequenceClassification" in text
    assert "Linear(in_features=384, out_features=384, bias=True)" in text
    assert "parameters: merged 22,713,986 vs base 22,713,986" in text
    assert number_after(text, "max |merged - unmerged| logits:") < 1e-5
    assert "identical predictions: True" in text


@pytest.mark.slow
def test_multi_adapter_table_has_a_row_per_adapter_and_the_disabled_base(executed):
    text = tagged_text(executed, "multi-adapter-table")
    for row in ("sentiment", "topic", "none (disable_adapter)"):
        assert row in text
    assert "sentiment test accuracy" in text and "topic test accuracy" in text
    # Even the smoke run's few steps teach the keyword-defined topic task something.
    topic_row = re.search(r"\ntopic\s+" + FLOAT + r"\s+" + FLOAT, text)
    assert topic_row, text
    assert float(topic_row.group(2)) > 0.6


@pytest.mark.slow
def test_disabling_adapters_gives_back_the_base_model(executed):
    text = tagged_text(executed, "disable-check")
    assert number_after(text, "adapters disabled vs plain base model: max |Δ logits| =") < 1e-6
    assert number_after(text, "adapter enabled again vs trained sentiment model: max |Δ logits| =") < 1e-6


@pytest.mark.slow
def test_memory_table_one_base_with_two_adapters_is_about_half_of_two_models(executed):
    text = tagged_text(executed, "memory-table")
    shared = number_after(text, "Serving both tasks from one base takes")
    two_models = number_after(text, "MB instead of")
    assert shared < 0.55 * two_models
    assert "two fully fine-tuned models" in text


@pytest.mark.slow
def test_self_check_shows_the_chosen_questions(executed):
    text = output_text([c for c in executed.cells if c.cell_type == "code"][-1])
    assert "day48-lora-qlora" in text and "[q8]" in text
    assert "ibm-peft-graded-quiz" in text and "[q4]" in text
    assert widget_views([c for c in executed.cells if c.cell_type == "code"][-1]) == 2
