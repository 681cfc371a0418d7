"""course.plots: each function returns a Figure showing what it was given."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course.plots import plot_histograms, plot_loss_curves, plot_sweep  # noqa: E402
from course.training import TrainResult  # noqa: E402


def _result(label: str, losses: list[float]) -> TrainResult:
    return TrainResult(label=label, accuracy=0.8, test_accuracy=0.79, eval_loss=0.4,
                       train_losses=losses, eval_history=[(len(losses), 0.8, 0.4)],
                       wall_time_s=1.0, examples_per_s=10.0, peak_memory_mb=1.0,
                       trainable_params=10, total_params=100, trainable_percent=10.0,
                       extra={"rank": len(losses)})


def test_plot_sweep_one_line_per_hue_and_reference_lines():
    rows = [{"rank": r, "alpha": a, "accuracy": 0.8 + r / 100 + a / 1000}
            for r in (1, 4, 16) for a in (8, 32)]
    fig = plot_sweep(rows, "rank", "accuracy", hue="alpha", reference_lines={"full": 0.95}, logx=True)
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["alpha=8", "alpha=32", "full (0.95)"]
    assert list(ax.get_lines()[0].get_xdata()) == [1, 4, 16]
    assert ax.get_xscale() == "log"


def test_plot_sweep_accepts_train_results_and_rejects_unknown_columns():
    results = [_result("a", [1.0, 0.5]), _result("b", [1.0, 0.6, 0.4])]
    fig = plot_sweep(results, "rank", ["accuracy", "test_accuracy"])
    assert len(fig.axes[0].get_lines()) == 2
    with pytest.raises(KeyError, match="column 'alpha' not found"):
        plot_sweep(results, "alpha", "accuracy")


def test_plot_sweep_draws_repeated_settings_as_mean_with_error_bars():
    rows = [{"r": r, "seed": seed, "accuracy": 0.7 + r / 100 + seed / 100} for r in (1, 4) for seed in (0, 1, 2)]
    ax = plot_sweep(rows, "r", "accuracy").axes[0]
    (container,) = ax.containers  # one errorbar per line
    line, _caps, (bars,) = container
    assert list(line.get_xdata()) == [1, 4]
    assert list(line.get_ydata()) == pytest.approx([0.72, 0.75])
    segments = bars.get_segments()
    assert segments[0][1][1] - segments[0][0][1] == pytest.approx(2 * 0.01)  # ± one sample std of 0.70/0.71/0.72
    assert container.get_label() == "accuracy (mean ± std, n=3)"


def test_plot_loss_curves_draws_each_run():
    fig = plot_loss_curves([_result("a", [1.0, 0.7, 0.5]), _result("b", [0.9, 0.8])])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert sorted(legend) == ["a", "a (validation)", "b", "b (validation)"]
    smoothed = fig.axes[0].get_lines()[1].get_ydata()
    assert smoothed[0] == pytest.approx(1.0)  # bias-corrected EMA starts at the first value
    with pytest.raises(ValueError, match="smoothing"):
        plot_loss_curves([], smoothing=1.0)


def test_plot_loss_curves_folds_seeds_of_one_label_into_a_mean_and_a_band():
    runs = [_result("LoRA", [1.0, 0.6, 0.4]), _result("LoRA", [0.8, 0.6, 0.2])]
    ax = plot_loss_curves(runs, smoothing=0.0).axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["LoRA (mean of 2 seeds)", "LoRA (validation)"]
    mean_line = [line for line in ax.get_lines() if line.get_label().startswith("LoRA (mean")][0]
    assert list(mean_line.get_ydata()) == pytest.approx([0.9, 0.6, 0.3])
    assert len(ax.collections) >= 1  # the min..max band


def test_plot_histograms_shares_bins_across_arrays_and_tensors():
    fig = plot_histograms({"numpy": np.linspace(-1, 1, 1000), "torch": torch.zeros(10, 10)}, bins=20)
    patches = fig.axes[0].patches
    assert len(patches) == 2
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["numpy (n=1,000)", "torch (n=100)"]
