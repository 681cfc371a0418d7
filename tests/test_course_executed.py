"""course.executed: the stamp that ties committed outputs to their code, and tidying for commit."""
from __future__ import annotations

import nbformat

from course.executed import WIDGET_VIEW, code_sha256, stamp, stamp_of, tidy


def _notebook():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# title"),
                                         nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("print(x)")])
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n"),
                           nbformat.v4.new_output("display_data", data={WIDGET_VIEW: {"model_id": "abc"},
                                                                        "text/plain": "VBox(...)"}),
                           nbformat.v4.new_output("display_data", data={WIDGET_VIEW: {"model_id": "def"},
                                                                        "text/html": "<p>question 1</p>",
                                                                        "text/plain": "VBox(...)"})]
    nb.cells[2].metadata["execution"] = {"iopub.execute_input": "2026-11-29T00:00:00"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def test_code_hash_changes_with_code_only():
    nb = _notebook()
    before = code_sha256(nb)
    nb.cells[0].source = "# another title"
    assert code_sha256(nb) == before
    nb.cells[1].source = "x = 2"
    assert code_sha256(nb) != before


def test_tidy_drops_widget_state_views_and_timing_but_keeps_fallbacks():
    nb = tidy(_notebook())
    assert "widgets" not in nb.metadata and "execution" not in nb.cells[2].metadata
    outputs = nb.cells[2].outputs
    assert len(outputs) == 2 and outputs[0]["text"] == "1\n"
    assert outputs[1]["data"] == {"text/html": "<p>question 1</p>"}  # the static fallback stays
    nbformat.validate(nb)


def test_stamp_records_profile_and_code_hash():
    nb = stamp(_notebook(), profile="cpu", wall_s=123.45, device="CPU, 2 cores")
    record = stamp_of(nb)
    assert record["profile"] == "cpu" and record["wall_s"] == 123.5 and record["device"] == "CPU, 2 cores"
    assert record["code_sha256"] == code_sha256(nb)
    assert stamp_of(_notebook()) is None
