"""Execute a lesson notebook the way CI does, and look up outputs by cell tag.

Why a helper: every lesson test runs its notebook in smoke mode (``COURSE_SMOKE=1``: CPU, tiny
subsets) and then asserts on the outputs of tagged cells ("rank-table", "memory-table"…), so the
execution settings live in one place.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from paths import ROOT


def execute_notebook(path: str | Path, *, timeout_s: int = 600, extra_env: dict[str, str] | None = None):
    """Run every cell of ``path`` in a fresh kernel, in smoke mode, from the notebook's folder.

    Returns the executed ``NotebookNode``; a failing cell raises ``nbclient``'s
    ``CellExecutionError`` naming the cell and its traceback.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    env_backup = dict(os.environ)
    os.environ.pop("MPLBACKEND", None)  # the kernel must use its inline backend so figures are saved as PNG
    os.environ.update({"COURSE_SMOKE": "1", "TQDM_DISABLE": "1",
                       "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    os.environ.update(extra_env or {})
    try:
        client = NotebookClient(nb, timeout=timeout_s, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    return nb


def cells_tagged(nb, tag: str) -> list:
    """The code cells carrying ``tag`` in their metadata."""
    return [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]


def output_text(cell) -> str:
    """All text a cell showed: stream output, text/plain, text/html and text/markdown joined."""
    parts: list[str] = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        data = out.get("data", {})
        for mime in ("text/plain", "text/html", "text/markdown"):
            if mime in data:
                parts.append(data[mime] if isinstance(data[mime], str) else "".join(data[mime]))
    return "\n".join(parts)


#: A number as the lessons print it: sign, thousands commas, decimals, exponent.
NUMBER = r"([-+]?\d[\d,]*\.?\d*(?:e[-+]?\d+)?)"


def number_after(text: str, label: str, *, regex: bool = False) -> float:
    """The first number printed after ``label`` in ``text`` (a literal string, or a regex with ``regex``)."""
    match = re.search((label if regex else re.escape(label)) + r"\s*" + NUMBER, text)
    assert match, f"{label!r} not found in output:\n{text}"
    return float(match.group(1).replace(",", ""))


#: The first Adam step's ‖ΔW‖ at r=64 over r=1, as lessons 1 and 3 derive it (s·η·√(d·r/3)): √64 = 8 with a
#: fixed α (α = 2r under α/r is the same), 1/√64 with α/r, 1 with rsLoRA's α/√r; each with the margin the
#: lessons' "about" allows.
FIRST_STEP_RATIOS = {"grows": (6, 10), "shrinks": (0.1, 0.16), "stays": (0.8, 1.25)}


def assert_first_step_ratios(**measured: tuple[float, float]) -> None:
    """Each measured (lowest, highest) ratio, keyed "grows", "shrinks" or "stays", lies inside its range."""
    for kind, (low, high) in measured.items():
        bottom, top = FIRST_STEP_RATIOS[kind]
        assert bottom < low and high < top, f"first-step ratio that {kind}: {low}..{high} not in ({bottom}, {top})"


def errors(nb) -> list[str]:
    """``ename: evalue`` of every error a cell showed (empty for a clean run)."""
    return [f"{out.get('ename')}: {out.get('evalue')}" for cell in nb.cells for out in cell.get("outputs", [])
            if out.get("output_type") == "error"]


def has_image(cell) -> bool:
    """Whether the cell displayed a PNG (a matplotlib figure)."""
    return any("image/png" in out.get("data", {}) for out in cell.get("outputs", []))


def widget_views(cell) -> int:
    """How many ipywidgets views the cell displayed (a quiz shows one per bank)."""
    return sum("application/vnd.jupyter.widget-view+json" in out.get("data", {}) for out in cell.get("outputs", []))


def execute_lesson(path: str | Path, *, timeout_s: int = 600):
    """Execute a lesson with this checkout's ``course`` and ``grader`` first on the kernel's path.

    The kernel starts in notebooks/, so without this it could import some installed copy instead of
    the code under test.
    """
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return execute_notebook(path, timeout_s=timeout_s, extra_env={"PYTHONPATH": python_path})


def lesson_tests(path: str | Path, *, timeout_s: int = 600, slow: bool = True):
    """What every lesson's test module starts with: the ``executed`` fixture (the lesson run once per
    module by :func:`execute_lesson`) and the test that no cell of it shows an error, marked slow
    unless ``slow`` is False. Use as ``executed, test_no_cell_shows_an_error = lesson_tests(NOTEBOOK)``.
    """
    @pytest.fixture(scope="module", name="executed")
    def executed_fixture():
        return execute_lesson(path, timeout_s=timeout_s)

    def test_no_cell_shows_an_error(executed):
        assert not errors(executed)

    return executed_fixture, pytest.mark.slow(test_no_cell_shows_an_error) if slow else test_no_cell_shows_an_error


def assert_one_lesson_quiz(cell, title: str, questions: int) -> None:
    """A lesson's closing self-check: one combined quiz (one widget view) under the lesson's own title,
    whose static version (what a saved notebook shows) lists each of its ``questions``."""
    text = output_text(cell)
    assert widget_views(cell) == 1, "one quiz per lesson, not one per bank"
    assert title in text
    assert len(re.findall(r"(?m)^\*\*\d+\. ", text)) == questions, text[:2000]


def internal_links(path: str | Path) -> tuple[set[str], set[str]]:
    """The ``](#anchor)`` links of a notebook's Markdown and the ``<a id=…>`` anchors it defines."""
    nb = nbformat.read(path, as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', markdown))
    links = set(re.findall(r"\]\(#([^)]+)\)", markdown))
    return links, anchors


def tagged_cell(nb, tag: str):
    """The one cell carrying ``tag``: a lesson's result lives in exactly one place."""
    cells = cells_tagged(nb, tag)
    assert len(cells) == 1, f"expected exactly one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def tagged_text(nb, tag: str) -> str:
    """What the one cell tagged ``tag`` showed."""
    return output_text(tagged_cell(nb, tag))


def html_rows(text: str) -> dict[str, list[str]]:
    """Rows of the HTML tables in ``text``: first header cell → the data cells that follow it."""
    flat = re.sub(r"\s+", " ", text)
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", flat):
        header = re.search(r"<th>(.*?)</th>", row)
        if header:
            rows[header.group(1).strip()] = [c.strip() for c in re.findall(r"<td>(.*?)</td>", row)]
    return rows


def findings(nb, tag: str) -> dict[str, dict]:
    """The ``course.report.Findings`` numbers the one cell tagged ``tag`` displayed: name → mean, std, values…"""
    from course.report import findings_from_outputs

    items = findings_from_outputs(tagged_cell(nb, tag).get("outputs", []))
    assert items, f"the cell tagged {tag!r} displayed no Findings"
    return items
