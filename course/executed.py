"""What ties a committed lesson's outputs to the code that produced them.

Students read the lessons on GitHub before they run them, so each notebook is committed with the
outputs of a full run (the ``cpu`` profile, or ``gpu`` where a GPU run exists), never of CI's smoke
mode. ``stamp`` records, in the notebook's metadata, the profile of that run and a hash of every code
cell; ``tests/test_lessons_committed.py`` recomputes the hash and fails when a code cell was changed
after its outputs were produced. ``tidy`` keeps the committed file small and free of state that only
a live kernel can use (widget state, per-cell timing).

    python benchmarks/run_lessons.py --profile cpu --in-place notebooks/0*.ipynb
"""
from __future__ import annotations

import hashlib
import json
import platform
from datetime import datetime, timezone
from typing import Any

__all__ = ["METADATA_KEY", "WIDGET_VIEW", "code_sha256", "stamp", "stamp_of", "tidy"]

#: Key of the notebook metadata that ``stamp`` writes.
METADATA_KEY = "course_run"
#: The MIME type of an ipywidgets view: meaningless without a live kernel, so not committed.
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def code_sha256(nb: Any) -> str:
    """SHA-256 of the notebook's code cells' sources, in order (Markdown edits do not change it)."""
    sources = [cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
               for cell in nb["cells"] if cell["cell_type"] == "code"]
    return hashlib.sha256(json.dumps(sources, ensure_ascii=False).encode("utf-8")).hexdigest()


def tidy(nb: Any) -> Any:
    """Drop what a static copy cannot use: widget state, widget views (their plain-text fallback
    stays where the widget offers one) and nbclient's per-cell execution timestamps."""
    nb["metadata"].pop("widgets", None)
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("execution", None)
        if cell["cell_type"] != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data is not None and WIDGET_VIEW in data:
                data = {mime: value for mime, value in data.items() if mime != WIDGET_VIEW and mime != "text/plain"}
                if not data:
                    continue
                output["data"] = data
            kept.append(output)
        cell["outputs"] = kept
    return nb


def stamp(nb: Any, *, profile: str, wall_s: float, device: str | None = None) -> Any:
    """Record which run produced the outputs: profile, code hash, wall time, machine, date."""
    nb["metadata"][METADATA_KEY] = {
        "profile": profile,
        "code_sha256": code_sha256(nb),
        "wall_s": round(wall_s, 1),
        "device": device or f"{platform.machine()} CPU",
        "python": platform.python_version(),
        "executed": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }
    return nb


def stamp_of(nb: Any) -> dict[str, Any] | None:
    """The stamp ``stamp`` wrote, or None for a notebook committed without a run."""
    return nb["metadata"].get(METADATA_KEY)
