"""Every conclusion a lesson's prose states is checked against the numbers of its committed run.

Why: the lessons are committed with the outputs of a full cpu-profile run, and their prose states
conclusions drawn from those outputs ("LoRA learns far better than the head alone", "the validation
loss of the 64-review run rises again"). A conclusion is only as good as the run behind it, so each
one is written here as an assertion over the numbers the run's ``course.report.Findings`` tables
stored in the notebook: an ordering must hold with a margin larger than the seed-to-seed spread
(``course.report.gap``), a value must lie in the stated range. When a rerun no longer supports a
sentence, this fails and the prose has to change, not the numbers. Smoke-mode outputs are never
committed (test_lessons_committed.py), so these numbers always come from real training.
"""
from __future__ import annotations

import math

import nbformat
import pytest

from course.report import Spread, gap
from notebook_exec import ROOT, assert_first_step_ratios, findings

LN2 = math.log(2)


def _load(name: str):
    return nbformat.read(ROOT / "notebooks" / name, as_version=4)


def spreads(nb, tag: str) -> dict[str, Spread]:
    return {name: Spread(tuple(item["values"])) for name, item in findings(nb, tag).items()}


@pytest.fixture(scope="module")
def lesson01():
    return _load("01_lora_from_scratch.ipynb")


# --- Lesson 1 ---------------------------------------------------------------------------------

def test_01_lora_learns_far_better_than_the_head_alone(lesson01):
    """Section 6: 'its validation accuracy is far above the head-only control's, by much more than the
    seed-to-seed spread, and its final training loss is far below ln 2'."""
    s = spreads(lesson01, "lora-vs-head")
    assert gap(s["LoRA r=8 on query/value + head"], s["head only"]) > 0.05
    loss = s["LoRA final training loss"]
    assert loss.mean + loss.std < LN2 - 0.15


def test_01_first_step_follows_the_derivation(lesson01):
    s = spreads(lesson01, "alpha-scaling")
    assert_first_step_ratios(grows=(s["α (quiz)"].low, s["α (quiz)"].high),
                             shrinks=(s["α/r (PEFT)"].low, s["α/r (PEFT)"].high),
                             stays=(s["α/√r (rsLoRA)"].low, s["α/√r (rsLoRA)"].high))


def test_01_healthy_run_stabilises_while_the_small_data_run_overfits(lesson01):
    """Section 6b: on 2,000 reviews the validation loss ends close to its lowest value; on 64 reviews the
    training loss falls much further while the validation loss ends well above its own lowest point."""
    s = spreads(lesson01, "loss-curves")
    healthy_rise = s["2,000 reviews: validation loss at the end"].mean - s["2,000 reviews: lowest validation loss during training"].mean
    assert healthy_rise < 0.05
    overfit_rise = (s["64 reviews: validation loss at the end"].mean
                    - s["64 reviews: lowest validation loss during training"].mean)
    assert overfit_rise > 0.3 and overfit_rise > s["64 reviews: validation loss at the end"].std
    assert gap(s["2,000 reviews: final training loss"], s["64 reviews: final training loss"]) > 0.1


def test_01_merging_removes_the_cost_of_the_adapter(lesson01):
    """Section 8: 'the difference between [merged and base] medians is timing noise: compare it with the
    interquartile ranges. The unmerged model runs two extra thin matmuls ...; they cost little'."""
    s = spreads(lesson01, "latency-table")
    base, merged, unmerged = (s[f"{name}: median"].mean for name in ("base model (no LoRA)", "LoRA, merged", "LoRA, unmerged"))
    spread_ms = max(s[f"{name}: interquartile range"].mean for name in ("base model (no LoRA)", "LoRA, merged"))
    assert abs(merged - base) < spread_ms
    assert unmerged / base < 1.15


# --- Lesson 2 ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lesson02():
    return _load("02_lora_rank.ipynb")


def _ranks(s: dict[str, Spread]) -> list[int]:
    return sorted(int(name.split("=")[1]) for name in s if name.startswith("LoRA r=") and "," not in name)


def test_02_every_rank_learns_and_beats_the_head_alone(lesson02):
    s = spreads(lesson02, "rank-findings")
    for r in _ranks(s):
        assert gap(s[f"LoRA r={r}"], s["head only"]) > 0.03, r
    loss = s["LoRA final training loss, all ranks"]
    assert loss.high < LN2 - 0.1


def test_02_accuracy_rises_with_rank_then_levels_off(lesson02):
    """'Each step from r=1 to r=4 to r=16 gains more than the spread; from r=16 to r=64 the gain is smaller
    than the spread.'"""
    s = spreads(lesson02, "rank-findings")
    assert gap(s["LoRA r=4"], s["LoRA r=1"]) > 0 and gap(s["LoRA r=16"], s["LoRA r=4"]) > 0
    assert gap(s["LoRA r=64"], s["LoRA r=16"]) < 0


def test_02_full_fine_tuning_stays_ahead_and_costs_far_more_memory(lesson02):
    s = spreads(lesson02, "rank-findings")
    best = max((s[f"LoRA r={r}"] for r in _ranks(s)), key=lambda x: x.mean)
    assert gap(s["full fine-tuning"], best) > 0
    assert s["gradients + optimizer state, LoRA r=64 (MiB)"].mean < 10
    assert 250 < s["gradients + optimizer state, full fine-tuning (MiB)"].mean < 270


def test_02_alpha_two_r_makes_rank_64_larger_and_erratic(lesson02):
    s = spreads(lesson02, "scale-check")
    rs, plain = s["val acc, α/√r (sweep), s=0.707"], s["val acc, α/r with α=2r, s=2"]
    assert plain.mean < rs.mean - 0.1 and plain.std > 3 * rs.std
    assert s["mean ‖ΔW‖_F, α/r with α=2r (seed 0)"].mean > 2 * s["mean ‖ΔW‖_F, α/√r (seed 0)"].mean


def test_02_every_linear_layer_beats_query_value_even_at_rank_64(lesson02):
    s = spreads(lesson02, "target-modules-table")
    every = next(v for k, v in s.items() if k.startswith("every linear layer"))
    qv = next(v for k, v in s.items() if k.startswith("query/value"))
    assert gap(every, qv) > 0.05
    assert gap(every, spreads(lesson02, "rank-findings")["LoRA r=64"]) > 0


def test_02_learned_updates_use_few_of_their_directions(lesson02):
    s = spreads(lesson02, "svd-table")
    assert s["LoRA r=64, query and value"].high <= 16  # of 64 possible
    assert s["full fine-tuning, query"].low > 2 * s["LoRA r=64, query and value"].high


# --- Lesson 3 ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lesson03():
    return _load("03_lora_alpha.ipynb")


def test_03_first_update_scales_as_derived(lesson03):
    s = spreads(lesson03, "scale-plot")
    mean = {name: (spread.mean, spread.mean) for name, spread in s.items()}
    assert_first_step_ratios(grows=mean["α = 2r, s = α/r"], shrinks=mean["α = 16 fixed, s = α/r"],
                             stays=mean["α = 16, rsLoRA s = α/√r"])
    assert s["largest relative deviation from s·η·√(dr/3)"].mean < 0.1  # "within a few percent"


def test_03_alpha_is_a_step_size_knob_with_a_best_setting_in_between(lesson03):
    """Section 3: all three scales learn; s=2 is the most accurate, with the lowest training loss, beyond the spread;
    the learned update grows about 8× from α=4 to α=64."""
    s = spreads(lesson03, "alpha-plot")
    for alpha in (4, 16, 64):
        assert s[f"final training loss, α={alpha}"].high < LN2 - 0.05
    middle = s["val acc, α=16 (s=2)"]
    assert gap(middle, s["val acc, α=4 (s=0.5)"]) > 0 and gap(middle, s["val acc, α=64 (s=8)"]) > 0
    assert s["final training loss, α=16"].mean < min(s["final training loss, α=4"].mean, s["final training loss, α=64"].mean)
    assert 5 < s["learned ‖ΔW‖: α=64 over α=4"].mean < 11


def test_03_equal_product_cells_agree_better_than_equal_alpha_cells(lesson03):
    s = spreads(lesson03, "alpha-lr-table")
    product, alpha = s["range of cell means, equal α·lr"].mean, s["range of cell means, equal α"].mean
    assert product < 0.1 and alpha > 3 * product
    assert product > s["largest seed std of any cell"].mean  # "only partial": they differ by more than their spread


def test_03_rslora_is_the_most_accurate_rule_at_rank_64(lesson03):
    s = spreads(lesson03, "rule-of-thumb-table")
    rs, two_r, fixed = s["r=64, rsLoRA, α = 2√8"], s["r=64, α = 2r"], s["r=64, fixed α = 16"]
    assert gap(rs, fixed) > 0 and gap(rs, two_r) > 0
    assert two_r.std > 3 * max(rs.std, fixed.std)  # "erratic"
    assert gap(rs, s["r=8, s=2 (all three rules)"]) > 0
    assert abs(fixed.mean - s["r=8, s=2 (all three rules)"].mean) < max(fixed.std, s["r=8, s=2 (all three rules)"].std) * 2
    norms = {name: s[f"learned ‖ΔW‖ at r=64, {name}"].mean for name in ("α = 2r", "fixed α = 16", "rsLoRA, α = 2√8")}
    assert norms["α = 2r"] > norms["rsLoRA, α = 2√8"] > norms["fixed α = 16"]


# --- Lesson 4 ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lesson04():
    return _load("04_quantization_and_qlora.ipynb")


def test_04_qlora_matches_lora_and_full_fine_tuning_is_a_little_ahead(lesson04):
    s = spreads(lesson04, "qlora-vs-lora-findings")
    lora, qlora, full = s["val acc, LoRA"], s["val acc, QLoRA"], s["val acc, full fine-tuning"]
    assert abs(lora.mean - qlora.mean) < 0.25 * min(lora.std, qlora.std)
    assert gap(full, lora) > 0 and gap(full, qlora) > 0
    for name in ("full fine-tuning", "LoRA", "QLoRA"):
        assert s[f"final training loss, {name}"].high < LN2 - 0.2
    # "full fine-tuning took the longest, and QLoRA was slower than LoRA, by about an eighth of LoRA's time
    # in this run (43 s against 38 s, more than either's spread)"
    time = {name: s[f"wall time s, {name}"] for name in ("full fine-tuning", "LoRA", "QLoRA")}
    assert gap(time["full fine-tuning"], time["LoRA"]) > 0 and gap(time["full fine-tuning"], time["QLoRA"]) > 0
    assert gap(time["QLoRA"], time["LoRA"]) > 0 and 1.08 < time["QLoRA"].mean / time["LoRA"].mean < 1.2
    assert round(time["QLoRA"].mean) == 43 and round(time["LoRA"].mean) == 38


def test_04_memory_breakdown_shows_what_each_technique_saves(lesson04):
    s = spreads(lesson04, "memory-breakdown")
    assert s["LoRA: gradients + optimizer state"].mean < s["full fine-tuning: gradients + optimizer state"].mean / 50
    assert s["QLoRA: weights"].mean < 0.7 * s["LoRA: weights"].mean
    assert s["QLoRA + gradient checkpointing: activations"].mean < 0.1 * s["QLoRA: activations"].mean
    # "for a batch of 32 reviews on this small model the activations were the largest part"
    assert s["LoRA: activations"].mean > s["LoRA: weights"].mean + s["LoRA: gradients + optimizer state"].mean


def test_04_adapters_absorb_nf4_noise_but_not_two_bit_noise(lesson04):
    s = spreads(lesson04, "quantization-noise")
    fp32, nf4 = s["float32 base (LoRA, section 9)"], s["NF4, bitsandbytes (QLoRA, section 9)"]
    assert abs(fp32.mean - nf4.mean) < max(fp32.std, nf4.std)
    for fmt in ("FP4", "NF3"):
        other = s[f"{fmt}, fake-quantized"]
        assert 0 < nf4.mean - other.mean < 1.5 * max(nf4.std, other.std), fmt  # "a few points lower, about their spread"
    nf2 = s["NF2, fake-quantized"]
    assert all(s[f"{fmt}, fake-quantized"].mean - nf2.mean > 0.2 for fmt in ("FP4", "NF3"))
    assert gap(nf4, nf2) > 0.15
    errors = [s[f"relative MSE of the encoder weights, {fmt}"].mean for fmt in ("NF4", "FP4", "NF3", "NF2")]
    assert errors == sorted(errors) and 0.25 < errors[-1] < 0.4


# --- Lesson 5 ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lesson05():
    return _load("05_adapters_in_production.ipynb")


def test_05_trainer_and_the_course_loop_cannot_be_told_apart(lesson05):
    """Section 1: 'The difference of the two means is within two standard errors'."""
    s = spreads(lesson05, "trainer-vs-loop")
    difference = s["difference of the means (loop − Trainer)"].mean
    error = s["standard error of that difference"].mean
    assert s["course loop (train_classifier)"].n >= 5 and s["transformers Trainer"].n >= 5
    assert abs(difference) < 2 * error
    assert s["transformers Trainer"].low > 0.75  # both actually learn


def test_05_each_adapter_does_its_own_task_and_is_near_chance_on_the_other(lesson05):
    s = spreads(lesson05, "multi-adapter-table")
    majority = s["topic majority class (always guessing it)"].mean
    assert s["sentiment adapter on sentiment"].mean > 0.8 and s["topic adapter on topic"].mean > 0.95
    assert abs(s["sentiment adapter on topic"].mean - majority) < 0.05
    assert abs(s["topic adapter on sentiment"].mean - 0.5) < 0.05


def test_05_a_further_task_costs_an_adapter_not_a_model(lesson05):
    s = spreads(lesson05, "memory-table")
    assert s["each further adapter (measured increments)"].high < 0.3
    assert s["one base + 8 adapters"].mean < s["base model"].mean + 8 * 0.3
    assert s["8 separate fine-tuned models"].mean == pytest.approx(8 * s["base model"].mean)


def test_05_only_dequantize_then_merge_reproduces_the_trained_qlora_model(lesson05):
    s = spreads(lesson05, "qlora-merge-check")
    assert s["dequantized, then merged (float32)"].mean < 1e-4
    assert s["merged into the original float32 weights"].mean > 0.05  # "their logits move by tenths"
    assert s["merged back into 4 bits (peft merge_and_unload)"].mean > 0.05
