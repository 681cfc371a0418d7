"""course.report: spreads over seeds, the ordering rule, seed tables and Findings with their metadata."""
from __future__ import annotations

import math

import nbformat
import pytest

from course.report import FINDINGS_KEY, Findings, findings_from_outputs, gap, seed_table, spread
from course.training import TrainResult


def _run(label: str, accuracy: float, seed: int) -> TrainResult:
    return TrainResult(label=label, accuracy=accuracy, test_accuracy=accuracy - 0.01, eval_loss=0.4,
                       train_losses=[0.7, 0.5, 0.3], eval_history=[], wall_time_s=1.0, examples_per_s=1.0,
                       peak_memory_mb=1.0, trainable_params=10, total_params=100, trainable_percent=10.0,
                       extra={"seed": seed, "r": 4})


def test_spread_statistics_use_the_sample_standard_deviation():
    s = spread([0.80, 0.82, 0.84])
    assert (s.n, s.low, s.high) == (3, 0.80, 0.84)
    assert s.mean == pytest.approx(0.82)
    assert s.std == pytest.approx(0.02)
    assert str(s) == "0.820 ± 0.020"
    single = spread([0.5])
    assert single.std == 0.0 and str(single) == "0.500"
    assert str(spread([74_498, 74_498])) == "74,498" and str(spread([3e-7])) == "3.00e-07"
    assert math.isnan(spread([0.5, float("nan")]).mean)  # a failed run is not silently dropped


def test_gap_is_positive_only_when_the_difference_beats_the_larger_spread():
    assert gap(spread([0.90, 0.91, 0.92]), spread([0.70, 0.71, 0.72])) == pytest.approx(0.19)
    assert gap(spread([0.80, 0.85, 0.90]), spread([0.79, 0.80, 0.81])) < 0  # 0.05 apart, std 0.05


def test_seed_table_folds_seeds_into_mean_and_std_cells():
    runs = [_run("LoRA", a, s) for s, a in enumerate((0.80, 0.82, 0.84))] + [_run("head", 0.6, 0)]
    table = seed_table(runs, metrics=("accuracy",))
    assert list(table.index) == ["LoRA", "head"]
    assert table.loc["LoRA", "accuracy"] == "0.820 ± 0.020"
    assert table.loc["LoRA", "seeds"] == 3 and table.loc["head", "accuracy"] == "0.600"
    by_rank = seed_table(runs, by="r", metrics=("test_accuracy",))
    assert list(by_rank.index) == [4]


def test_findings_show_a_table_and_carry_their_numbers_in_output_metadata():
    findings = Findings("Validation accuracy")
    findings.add("LoRA", [0.80, 0.82, 0.84], note="3 seeds")
    findings.add_results("head", [_run("head", 0.6, 0), _run("head", 0.62, 1)])
    findings.add("parameters", 37_634)
    assert findings["LoRA"].mean == pytest.approx(0.82) and "head" in findings
    data, metadata = findings._repr_mimebundle_()
    assert "0.820 ± 0.020" in data["text/html"] and "0.820 ± 0.020" in data["text/plain"]
    assert "37,634" in data["text/plain"]
    stored = metadata[FINDINGS_KEY]
    assert stored["title"] == "Validation accuracy"
    assert stored["items"]["LoRA"]["values"] == [0.80, 0.82, 0.84] and stored["items"]["LoRA"]["note"] == "3 seeds"
    # what a notebook keeps of it, and how the claim tests read it back
    output = nbformat.v4.new_output("display_data", data=data, metadata=metadata)
    items = findings_from_outputs([output])
    assert items["head"]["mean"] == pytest.approx(0.61)
