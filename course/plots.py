"""The lessons' standard plots. Each function returns a matplotlib ``Figure``.

The figure is closed in pyplot before it is returned, so a notebook shows it exactly once — as
the cell's value — with no ``plt.show()``, and a script can ``fig.savefig(...)`` it. Pass ``ax``
to draw into an existing grid of axes instead.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from course.training import TrainResult

__all__ = ["plot_histograms", "plot_loss_curves", "plot_sweep"]


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    import matplotlib.pyplot as plt  # noqa: PLC0415 — pyplot only when plotting

    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    plt.close(fig)  # shown once as the cell's value, not again by the inline backend
    return fig, ax


def _records(data: Any) -> list[dict[str, Any]]:
    """Rows from a DataFrame, a list of dicts or a list of objects with ``to_dict()``."""
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # a pandas DataFrame
        return data.to_dict(orient="records")
    rows = []
    for item in data:
        rows.append(item.to_dict() if hasattr(item, "to_dict") else dict(item))
    return rows


def _as_array(values: Any) -> np.ndarray:
    """A flat float NumPy array from a NumPy array, a list or a torch tensor (any device/dtype)."""
    if hasattr(values, "detach"):
        values = values.detach().float().cpu().numpy()
    return np.asarray(values, dtype=np.float64).ravel()


def plot_sweep(
    df_or_records: Any,
    x: str,
    y: str | Sequence[str],
    *,
    hue: str | None = None,
    reference_lines: Mapping[str, float] | None = None,
    logx: bool = False,
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    annotate: bool = False,
    figsize: tuple[float, float] = (6.0, 4.0),
) -> Figure:
    """A metric against a swept setting, e.g. accuracy against LoRA rank.

    ``y`` may name several columns (one line each); ``hue`` splits rows into one line per value
    of that column (e.g. one line per alpha). Rows that share an x value (and hue) are repeats of
    one setting, e.g. its seeds: they are drawn as their mean with an error bar of one standard
    deviation, and the legend says how many runs each point averages. ``reference_lines`` draws
    labelled horizontal lines such as ``{"full fine-tune": 0.91}``. With ``logx`` the x axis is
    log2-scaled and ticks sit at the swept values, which suits ranks 1, 2, 4, … 64.
    """
    rows = _records(df_or_records)
    if not rows:
        raise ValueError("plot_sweep() needs at least one row")
    ys = [y] if isinstance(y, str) else list(y)
    for column in [x, *ys, *([hue] if hue else [])]:
        if column not in rows[0]:
            raise KeyError(f"column {column!r} not found; available: {sorted(rows[0])}")
    fig, ax = _new_axes(ax, figsize)
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row[hue] if hue else None, []).append(row)
    for group, group_rows in groups.items():
        by_x: dict[Any, list[dict[str, Any]]] = {}
        for row in group_rows:
            by_x.setdefault(row[x], []).append(row)
        xs = sorted(by_x)
        repeats = max(len(rows_at_x) for rows_at_x in by_x.values())
        for column in ys:
            name = column if group is None else f"{hue}={group}"
            if group is not None and len(ys) > 1:
                name = f"{column}, {hue}={group}"
            samples = [np.array([r[column] for r in by_x[xv]], dtype=float) for xv in xs]
            means = np.array([s.mean() for s in samples])
            if repeats > 1:
                stds = np.array([s.std(ddof=1) if s.size > 1 else 0.0 for s in samples])
                ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3, label=f"{name} (mean ± std, n={repeats})")
            else:
                ax.plot(xs, means, marker="o", label=name)
            if annotate:
                for xv, yv in zip(xs, means):
                    ax.annotate(f"{yv:.3g}", (xv, yv), textcoords="offset points",
                                xytext=(0, 6), ha="center", fontsize=8)
    for i, (name, value) in enumerate((reference_lines or {}).items()):
        ax.axhline(value, linestyle="--", linewidth=1, color=f"C{(i + 5) % 10}",
                   label=f"{name} ({value:.3g})")
    if logx:
        ax.set_xscale("log", base=2)
        ticks = sorted({r[x] for r in rows})
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or (ys[0] if len(ys) == 1 else "value"))
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(groups) > 1 or len(ys) > 1 or reference_lines:
        ax.legend(fontsize=8)
    return fig


def _smooth(values: Sequence[float], weight: float) -> np.ndarray:
    """Exponential moving average with bias correction, as TensorBoard's smoothing slider."""
    out, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight**i))
    return np.asarray(out)


def plot_loss_curves(
    results: Iterable[TrainResult],
    *,
    smoothing: float = 0.8,
    show_eval: bool = True,
    logy: bool = False,
    ax: Axes | None = None,
    title: str | None = "Training loss",
    figsize: tuple[float, float] = (6.5, 4.0),
) -> Figure:
    """Training loss per optimizer step, one line per run label.

    The per-step loss is smoothed with a moving average (``smoothing`` in [0, 1), 0 = none). Runs
    that share a label are repeats of one setting (its seeds): they are drawn as the mean of their
    smoothed curves with a band from the lowest to the highest, and the legend says how many.
    A single run also shows its raw per-step loss faintly. With ``show_eval`` the validation losses
    from ``eval_history`` are drawn as markers in the same colour (mean ± std over the seeds), so
    over-fitting shows as markers rising above the line.
    """
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    fig, ax = _new_axes(ax, figsize)
    groups: dict[str, list[TrainResult]] = {}
    for i, result in enumerate(results):
        groups.setdefault(result.label or f"run {i + 1}", []).append(result)
    for i, (name, runs) in enumerate(groups.items()):
        color = f"C{i % 10}"
        length = min(len(r.train_losses) for r in runs)
        steps = np.arange(1, length + 1)
        curves = np.array([_smooth(r.train_losses[:length], smoothing) if smoothing > 0
                           else np.asarray(r.train_losses[:length], dtype=float) for r in runs])
        if len(runs) == 1:
            if smoothing > 0:
                ax.plot(steps, runs[0].train_losses[:length], color=color, alpha=0.25, linewidth=0.8)
            ax.plot(steps, curves[0], color=color, label=name)
        else:
            ax.plot(steps, curves.mean(axis=0), color=color, label=f"{name} (mean of {len(runs)} seeds)")
            ax.fill_between(steps, curves.min(axis=0), curves.max(axis=0), color=color, alpha=0.2)
        if show_eval and all(r.eval_history for r in runs):
            by_step: dict[int, list[float]] = {}
            for run in runs:
                for step, _acc, loss in run.eval_history:
                    by_step.setdefault(step, []).append(loss)
            ev_steps = sorted(by_step)
            means = [float(np.mean(by_step[s])) for s in ev_steps]
            errors = [float(np.std(by_step[s], ddof=1)) if len(by_step[s]) > 1 else 0.0 for s in ev_steps]
            ax.errorbar(ev_steps, means, yerr=errors if len(runs) > 1 else None, linestyle="none", marker="D",
                        color=color, markersize=5, capsize=3, label=f"{name} (validation)")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy loss")
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_histograms(
    arrays: Mapping[str, Any],
    *,
    bins: int | Sequence[float] = 100,
    density: bool = True,
    log: bool = False,
    range: tuple[float, float] | None = None,  # noqa: A002 — same name as numpy/matplotlib
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str = "value",
    figsize: tuple[float, float] = (6.5, 4.0),
) -> Figure:
    """Overlaid histograms, e.g. a layer's weights before and after 4-bit quantization.

    Values may be NumPy arrays, lists or torch tensors (any shape, device or dtype). All
    histograms share the same bin edges so their shapes can be compared directly.
    """
    if not arrays:
        raise ValueError("plot_histograms() needs at least one array")
    flat = {name: _as_array(values) for name, values in arrays.items()}
    if range is None:
        lo = min(float(v.min()) for v in flat.values() if v.size)
        hi = max(float(v.max()) for v in flat.values() if v.size)
        range = (lo, hi if hi > lo else lo + 1.0)
    edges = np.histogram_bin_edges(np.concatenate(list(flat.values())), bins=bins, range=range)
    fig, ax = _new_axes(ax, figsize)
    for name, values in flat.items():
        ax.hist(values, bins=edges, density=density, alpha=0.5, label=f"{name} (n={values.size:,})",
                histtype="stepfilled", log=log)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density" if density else "count")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig
