"""Checks every committed lesson notebook must pass, without running a kernel.

Why one module: each lesson is committed with the outputs of a full run so it reads on GitHub with its
figures; those outputs must come from the lesson's current code (a hash of the code cells stamped by
``benchmarks/run_lessons.py``), from the cpu or gpu profile (never CI's smoke mode), without errors or
widget state. Its Markdown links must point at real anchors, and every quiz link must land on a section
that shows the answer with a number or a plot. Its Colab set-up cell is the one course/colab.py
generates (tests/test_colab_setup.py checks that, and runs the cell with a fake Colab): it installs the
course and what Colab lacks, keeping Colab's own torch, transformers and ipywidgets, whose builds
match its GPU drivers and frontend. The rules are the same for every lesson, so they
are written once and run per notebook; the lesson-specific checks live in ``test_lesson_0N.py`` (smoke
run) and ``test_lesson_claims.py`` (the committed run's numbers).
"""
from __future__ import annotations

import re

import nbformat
import pytest

from course.executed import WIDGET_VIEW, code_sha256, stamp_of
from notebook_exec import ROOT, internal_links

LESSONS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
RERUN = "rerun it: python benchmarks/run_lessons.py --profile cpu --in-place {path}"


def test_all_five_lessons_are_found():
    assert [path.name[:2] for path in LESSONS] == ["01", "02", "03", "04", "05"]


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda path: path.stem)
def test_outputs_come_from_a_full_run_of_the_current_code(notebook):
    nb = nbformat.read(notebook, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    stamp = stamp_of(nb)
    rerun = RERUN.format(path=notebook.relative_to(ROOT))
    assert stamp, f"{notebook.name} has no outputs from a run; {rerun}"
    assert stamp["profile"] in {"cpu", "gpu"}, f"{notebook.name} holds {stamp['profile']}-profile outputs; {rerun}"
    assert stamp["code_sha256"] == code_sha256(nb), f"a code cell of {notebook.name} changed after its run; {rerun}"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code), f"{notebook.name} has cells that never ran"
    assert [cell.execution_count for cell in code] == sorted(cell.execution_count for cell in code)


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda path: path.stem)
def test_committed_outputs_are_clean_and_small(notebook):
    nb = nbformat.read(notebook, as_version=4)
    assert "widgets" not in nb.metadata, "widget state is useless without a kernel"
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", f"{notebook.name}: {output.get('evalue')}"
            assert WIDGET_VIEW not in output.get("data", {})
    assert notebook.stat().st_size < 3 * 2**20, f"{notebook.name} is {notebook.stat().st_size / 2**20:.1f} MiB"


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda path: path.stem)
def test_every_internal_link_has_an_anchor(notebook):
    links, anchors = internal_links(notebook)
    assert links and links <= anchors, f"links without an anchor: {links - anchors}"


def _sections(nb) -> dict[str, list]:
    """Anchor → the cells from that anchor to the next anchor (its section)."""
    sections: dict[str, list] = {}
    current = None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = re.findall(r'<a id="([^"]+)"></a>', cell.source)
            if found:
                current = found[0]
                for anchor in found:
                    sections.setdefault(anchor, [])
        if current:
            sections[current].append(cell)
    return sections


def _shows_evidence(cell) -> bool:
    """A code cell whose output has a figure, or a table or line with a number in it."""
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if "image/png" in data:
            return True
        text = output.get("text", "") + "".join(str(v) for k, v in data.items() if k.startswith("text/"))
        if re.search(r"\d", text):
            return True
    return False


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda path: path.stem)
def test_every_quiz_link_lands_on_a_section_that_shows_the_answer(notebook):
    nb = nbformat.read(notebook, as_version=4)
    self_check = next(cell for cell in nb.cells if cell.cell_type == "markdown" and "## Self-check" in cell.source)
    quiz_links = set(re.findall(r"\]\(#([^)]+)\)", self_check.source))
    sections = _sections(nb)
    assert quiz_links
    for anchor in quiz_links:
        cells = sections[anchor]
        assert any(cell.cell_type == "code" and _shows_evidence(cell) for cell in cells), \
            f"{notebook.name}: the quiz link #{anchor} lands on a section without a number or a plot"


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda path: path.stem)
def test_one_set_up_pattern_for_every_lesson(notebook):
    """The same first two code cells everywhere: the Colab install, then ``env.start_lesson()``."""
    nb = nbformat.read(notebook, as_version=4)
    first, second = [cell.source for cell in nb.cells if cell.cell_type == "code"][:2]
    reference = nbformat.read(LESSONS[0], as_version=4)
    assert first == [c.source for c in reference.cells if c.cell_type == "code"][0]
    assert "profile, device = env.start_lesson()" in second
