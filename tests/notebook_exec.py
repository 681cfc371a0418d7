"""Execute a lesson notebook the way CI does, and look up outputs by cell tag.

Why a helper: every lesson test runs its notebook in smoke mode (``COURSE_SMOKE=1``: CPU, tiny
subsets) and then asserts on the outputs of tagged cells ("rank-table", "memory-table"…), so the
execution settings live in one place.
"""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


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


def has_image(cell) -> bool:
    """Whether the cell displayed a PNG (a matplotlib figure)."""
    return any("image/png" in out.get("data", {}) for out in cell.get("outputs", []))


def widget_views(cell) -> int:
    """How many ipywidgets views the cell displayed (a quiz shows one per bank)."""
    return sum("application/vnd.jupyter.widget-view+json" in out.get("data", {}) for out in cell.get("outputs", []))
