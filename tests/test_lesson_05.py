"""Lesson 5 (adapters in production) runs top to bottom in smoke mode and shows what it claims.

Why these tests: the lesson promises that a saved adapter is small, reloads to identical outputs,
merges into a plain model with the same outputs, that several adapters share one base model and
switch per request, that each further task costs an adapter's memory, that disabling them gives
the base model back, and that a QLoRA adapter merges exactly only into the dequantized weights. Each
of those holds whatever the training budget, so it is checked on the smoke run; if PEFT changes
behaviour (say, stops saving the classification head), the lesson would silently teach something
false. The Trainer-versus-loop agreement needs real training: test_lesson_claims.py.
"""
from __future__ import annotations

import re

import pytest

from notebook_exec import ROOT, assert_one_lesson_quiz, cells_tagged, findings, has_image, lesson_tests, number_after, tagged_text

NOTEBOOK = ROOT / "notebooks" / "05_adapters_in_production.ipynb"
executed, test_no_cell_shows_an_error = lesson_tests(NOTEBOOK)


@pytest.mark.slow
def test_trainer_and_course_loop_both_train(executed):
    numbers = findings(executed, "trainer-vs-loop")
    assert {"course loop (train_classifier)", "transformers Trainer"} <= set(numbers)


@pytest.mark.slow
def test_adapter_is_a_small_fraction_of_the_full_checkpoint(executed):
    text = tagged_text(executed, "adapter-size-table")
    match = re.search(r"The adapter takes ([0-9.]+) MB on disk, ([0-9.]+)% of the full checkpoint's ([0-9.]+) MB", text)
    assert match, text
    adapter_mb, percent, full_mb = map(float, match.groups())
    assert adapter_mb < 1 and percent < 1 and 80 < full_mb < 95


@pytest.mark.slow
def test_reloaded_adapter_gives_identical_predictions(executed):
    text = tagged_text(executed, "reload-check")
    assert number_after(text, "logits over") >= 1
    assert number_after(text, "test reviews:") < 1e-5
    assert "identical predictions: True" in text


@pytest.mark.slow
def test_merge_removes_lora_and_keeps_outputs(executed):
    text = tagged_text(executed, "merge-check")
    assert "LoRA layers before merging: 12; after: 0" in text
    assert "merged model class: BertMeanPoolingClassifier" in text
    assert number_after(text, "max |merged - unmerged| logits:") < 1e-4


@pytest.mark.slow
def test_multi_adapter_table_has_each_adapter_on_each_task(executed):
    numbers = findings(executed, "multi-adapter-table")
    for adapter in ("sentiment", "topic", "none (disable_adapter)"):
        for task in ("sentiment", "topic"):
            assert f"{adapter} adapter on {task}" in numbers


@pytest.mark.slow
def test_disabling_adapters_gives_back_the_base_model(executed):
    text = tagged_text(executed, "disable-check")
    assert number_after(text, "adapters disabled vs plain base model: max |Δ logits| =") < 1e-5
    assert number_after(text, "adapter enabled again vs trained sentiment model: max |Δ logits| =") < 1e-5


@pytest.mark.slow
def test_each_further_task_costs_an_adapter_not_a_model(executed):
    assert has_image(cells_tagged(executed, "memory-table")[0])
    numbers = findings(executed, "memory-table")
    per_adapter = numbers["each further adapter (measured increments)"]
    # r=8 on query/value (73,728 weights) plus the head (770), float32
    assert per_adapter["low"] == pytest.approx(per_adapter["high"]) == pytest.approx((73_728 + 770) * 4 / 2**20, rel=0.01)
    assert numbers["one base + 8 adapters"]["mean"] < numbers["8 separate fine-tuned models"]["mean"] / 7


@pytest.mark.slow
def test_only_dequantize_then_merge_reproduces_the_qlora_model(executed):
    numbers = findings(executed, "qlora-merge-check")
    assert numbers["dequantized, then merged (float32)"]["mean"] < 1e-4
    assert numbers["merged into the original float32 weights"]["mean"] > 100 * numbers["dequantized, then merged (float32)"]["mean"]
    assert numbers["merged back into 4 bits (peft merge_and_unload)"]["mean"] > 100 * numbers["dequantized, then merged (float32)"]["mean"]


@pytest.mark.slow
def test_self_check_shows_the_chosen_questions(executed):
    assert_one_lesson_quiz(cells_tagged(executed, "self-check")[0], "Lesson 5 self-check", questions=2)
