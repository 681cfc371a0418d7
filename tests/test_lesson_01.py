"""Lesson 1 (LoRA from scratch) runs top to bottom in smoke mode and shows what it claims.

Why these tests: the lesson's prose refers to numbers its cells print (zero output change at
initialisation, the first Adam step under three scales, parity with PEFT, identical merged outputs,
the parameter count formula). These do not depend on how long anything trains, so they hold in
smoke mode too; if a library upgrade or an edit breaks one of them the lesson would teach something
false without failing. Conclusions drawn from training runs are checked on the committed cpu-profile
run in test_lesson_claims.py; the Colab set-up cell and freshness in test_lessons_committed.py.
"""
from __future__ import annotations


import pytest

from notebook_exec import ROOT, assert_one_lesson_quiz, assert_first_step_ratios, cells_tagged, findings, has_image, lesson_tests, number_after, output_text, tagged_text

NOTEBOOK = ROOT / "notebooks" / "01_lora_from_scratch.ipynb"
executed, test_no_cell_shows_an_error = lesson_tests(NOTEBOOK)


@pytest.mark.slow
def test_params_plot_uses_real_shapes(executed):
    cell = cells_tagged(executed, "params-plot")[0]
    assert has_image(cell)
    text = output_text(cell)
    # 384×384 query: r(d+k)/(dk) = 8·768/147456 and break-even rank 384·384/768.
    assert "MiniLM query 384×384 (this model): r=8 trains 4.17% of the layer; break-even rank r* = 192" in text
    assert "LLaMA-7B q_proj 4096×4096: r=8 trains 0.39% of the layer; break-even rank r* = 2048" in text


@pytest.mark.slow
def test_zero_init_leaves_output_unchanged_and_only_b_gets_gradient(executed):
    text = tagged_text(executed, "zero-init-check")
    assert number_after(text, "B = 0:      max |LinearWithLoRA(x) - query(x)| =") == 0.0
    assert number_after(text, "B random:   max |LinearWithLoRA(x) - query(x)| =") > 1e-2
    assert number_after(text, "|dL/dA| =") == 0.0
    assert number_after(text, "|dL/dB| =") > 0.0


@pytest.mark.slow
def test_first_adam_step_grows_shrinks_or_stays_with_the_rank_as_derived(executed):
    """The prose: fixed α grows the first step ~8× from r=1 to 64, α/r shrinks it ~8×, α/√r keeps it."""
    assert has_image(cells_tagged(executed, "alpha-scaling")[0])
    ratios = findings(executed, "alpha-scaling")
    mean = {name: (item["mean"], item["mean"]) for name, item in ratios.items()}
    assert_first_step_ratios(grows=mean["α (quiz)"], shrinks=mean["α/r (PEFT)"], stays=mean["α/√r (rsLoRA)"])
    assert ratios["largest relative deviation of a measurement from s·η·√(d·r/3)"]["mean"] < 0.15


@pytest.mark.slow
def test_trainable_parameter_count_matches_formula(executed):
    text = tagged_text(executed, "lora-params")
    # 12 wrapped layers × 8·(384+384) + classifier 384·2+2, on the 22,566,146-parameter mean-pooling classifier.
    assert "counted: 74,498 trainable of 22,639,874" in text
    assert "full fine-tuning" in text


@pytest.mark.slow
def test_training_compares_head_only_and_lora_with_their_seeds(executed):
    assert "head only" in tagged_text(executed, "lora-train")
    numbers = findings(executed, "lora-vs-head")
    assert {"head only", "LoRA r=8 on query/value + head"} <= set(numbers)
    assert numbers["LoRA trainable parameters"]["mean"] == 74_498


@pytest.mark.slow
def test_hand_written_layer_matches_peft(executed):
    text = tagged_text(executed, "peft-parity")
    assert number_after(text, "one layer, same hidden states:      max |ours - PEFT| =") < 1e-5
    assert number_after(text, "logits: max |ours - PEFT| =") < 1e-5
    assert "same predictions: True" in text


@pytest.mark.slow
def test_merged_model_matches_and_has_no_lora_left(executed):
    text = tagged_text(executed, "merge-check")
    assert number_after(text, "max |merged - unmerged| logits =") < 1e-5
    assert "LoRA modules left in the merged model: 0" in text
    assert "parameters: 22,566,146 (the original model had 22,566,146)" in text


@pytest.mark.slow
def test_loss_curves_compare_a_healthy_and_an_overfitting_run(executed):
    assert has_image(cells_tagged(executed, "loss-curves")[0])
    numbers = findings(executed, "loss-curves")
    for name in ("2,000 reviews", "64 reviews"):
        assert f"{name}: lowest validation loss during training" in numbers
        low, end = numbers[f"{name}: lowest validation loss during training"], numbers[f"{name}: validation loss at the end"]
        assert low["mean"] <= end["mean"] + 1e-9


@pytest.mark.slow
def test_latency_is_reported_with_its_spread(executed):
    assert "Measured here: unmerged LoRA takes" in tagged_text(executed, "latency-table")


@pytest.mark.slow
def test_self_check_shows_the_chosen_questions(executed):
    assert_one_lesson_quiz(cells_tagged(executed, "self-check")[0], "Lesson 1 self-check", questions=7)
