"""Results with their spread: what one comparison measured over several seeds, and how a lesson shows it.

A single training run of a small model is a noisy measurement: another seed moves its accuracy by a
point or more. So the lessons repeat every comparison over ``profile.seeds`` and report each number
as mean ± standard deviation over the seeds, with the range, and they state a conclusion only where
the difference between two settings is larger than that spread.

``Findings`` is how a lesson shows the numbers its prose relies on: a small table for the reader
and, in the output's metadata (invisible in every notebook viewer), the same numbers as JSON, so the
tests can read the committed run and fail when a stated conclusion no longer holds.
"""
from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from course.training import TrainResult

__all__ = ["FINDINGS_KEY", "Findings", "Spread", "gap", "seed_table", "spread"]

#: Key of the output metadata under which ``Findings`` stores its numbers (read by the tests).
FINDINGS_KEY = "course/findings"


@dataclass(frozen=True)
class Spread:
    """Several measurements of one quantity (one per seed): mean, sample standard deviation, range.

    ``std`` uses n - 1 (the unbiased sample estimate) and is 0 for a single value, which a reader
    must then not mistake for certainty: ``str`` shows ``n`` whenever it is below 2.
    """

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return sum(self.values) / self.n if self.values else math.nan

    @property
    def std(self) -> float:
        if self.n < 2:
            return 0.0
        m = self.mean
        return math.sqrt(sum((v - m) ** 2 for v in self.values) / (self.n - 1))

    @property
    def low(self) -> float:
        return min(self.values) if self.values else math.nan

    @property
    def high(self) -> float:
        return max(self.values) if self.values else math.nan

    def format(self, digits: int = 3) -> str:
        """``0.853 ± 0.012``; a single value or identical integers (a parameter count) without the ``±``."""
        if self.n == 0:
            return "–"
        if self.std == 0 and all(float(v).is_integer() for v in self.values):
            return f"{int(self.mean):,}"
        if self.n < 2:
            return _number(self.mean, digits)
        return f"{_number(self.mean, digits)} ± {_number(self.std, digits)}"

    def __str__(self) -> str:
        return self.format()

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "low": self.low, "high": self.high, "n": self.n,
                "values": list(self.values)}


def _number(value: float, digits: int) -> str:
    """Fixed-point, except for tiny non-zero values (a 1e-7 parity check) which get an exponent."""
    if value != 0 and abs(value) < 10 ** -digits:
        return f"{value:.2e}"
    return f"{value:,.{digits}f}"


def spread(values: Iterable[float]) -> Spread:
    """A ``Spread`` of ``values`` (floats; NaN is kept, so a failed run is not silently dropped)."""
    return Spread(tuple(float(v) for v in values))


def gap(better: Spread, worse: Spread) -> float:
    """How far ``better`` lies above ``worse`` beyond their spreads: the difference of the means minus
    the larger of the two standard deviations. Positive means the ordering holds with a margin larger
    than the seed-to-seed noise, which is the rule every lesson uses before it states an ordering."""
    return (better.mean - worse.mean) - max(better.std, worse.std)


def _metric_values(results: Sequence[TrainResult], metric: str) -> list[float]:
    return [float(r.to_dict()[metric]) for r in results]


def seed_table(
    results: Iterable[TrainResult],
    by: str | Callable[[TrainResult], Any] = "label",
    metrics: Sequence[str] = ("accuracy", "test_accuracy", "final_train_loss"),
    digits: int = 3,
) -> pd.DataFrame:
    """One row per setting, the runs of all seeds folded into "mean ± std" cells.

    ``by`` names a field of ``TrainResult.to_dict()`` (``"label"``, or an ``extra`` key such as
    ``"r"``) or is a function of a result; rows keep the order in which settings first appear.
    A ``seeds`` column counts the runs behind each row.
    """
    import pandas as pd  # noqa: PLC0415 — only needed for tables

    key = (lambda r: r.to_dict()[by]) if isinstance(by, str) else by
    groups: dict[Any, list[TrainResult]] = {}
    for result in results:
        groups.setdefault(key(result), []).append(result)
    rows = []
    for setting, runs in groups.items():
        row: dict[str, Any] = {by if isinstance(by, str) else "setting": setting, "seeds": len(runs)}
        for metric in metrics:
            row[metric] = spread(_metric_values(runs, metric)).format(digits)
        rows.append(row)
    return pd.DataFrame(rows).set_index(by if isinstance(by, str) else "setting")


class Findings:
    """The measured numbers a lesson's conclusions rest on, each with its spread over seeds.

    Displayed, it is a table ("name | mean ± std | range | n"); the numbers also travel in the
    output's metadata under ``FINDINGS_KEY`` so ``tests/test_lesson_claims.py`` can read them from the
    committed notebook.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self._items: dict[str, tuple[Spread, str]] = {}

    def add(self, name: str, values: Iterable[float] | float, note: str = "") -> Spread:
        """Record ``values`` (one per seed, or a single number) under ``name``; returns the spread."""
        measured = spread([values] if isinstance(values, (int, float)) else values)
        self._items[name] = (measured, note)
        return measured

    def add_results(self, name: str, results: Sequence[TrainResult], metric: str = "accuracy",
                    note: str = "") -> Spread:
        """Record one metric of several runs (e.g. the seeds of one setting)."""
        return self.add(name, _metric_values(results, metric), note)

    def __getitem__(self, name: str) -> Spread:
        return self._items[name][0]

    def __contains__(self, name: str) -> bool:
        return name in self._items

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: {**measured.to_dict(), "note": note} for name, (measured, note) in self._items.items()}

    def _rows(self) -> list[tuple[str, str, str, str, str]]:
        rows = []
        for name, (measured, note) in self._items.items():
            span = "" if measured.n < 2 or measured.std == 0 else f"{measured.low:.3g} – {measured.high:.3g}"
            rows.append((name, measured.format(), span, str(measured.n), note))
        return rows

    def __str__(self) -> str:
        width = max((len(r[0]) for r in self._rows()), default=0)
        lines = [self.title]
        for name, value, span, n, note in self._rows():
            extra = f"  [{span}]" if span else ""
            lines.append(f"  {name:<{width}}  {value}{extra}  n={n}{'  ' + note if note else ''}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:{a}'>{html.escape(c)}</td>"
                             for c, a in zip(row, ("left", "right", "right", "right", "left"))) + "</tr>"
            for row in self._rows())
        head = "".join(f"<th>{h}</th>" for h in ("measured", "mean ± std", "range", "n", ""))
        return (f"<table><caption style='text-align:left'><b>{html.escape(self.title)}</b></caption>"
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def _repr_mimebundle_(self, include=None, exclude=None) -> tuple[dict, dict]:
        data = {"text/plain": str(self), "text/html": self._repr_html_()}
        return data, {FINDINGS_KEY: {"title": self.title, "items": self.to_dict()}}

    def __repr__(self) -> str:
        return f"Findings({self.title!r}, {list(self._items)})"


def findings_from_outputs(outputs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The ``Findings`` items a notebook cell displayed (merged if it displayed several)."""
    items: dict[str, dict[str, Any]] = {}
    for out in outputs:
        record = (out.get("metadata") or {}).get(FINDINGS_KEY)
        if record:
            items.update(record["items"])
    return items
