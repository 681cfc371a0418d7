"""Collect a lesson run's measured tables and plots into docs/results.md material.

Why: docs/results.md must hold numbers the notebooks computed, not numbers typed by hand. Execute
the lessons in a profile (``COURSE_PROFILE=cpu`` on a laptop, ``gpu`` on the lent GPU), saving the
executed copies, then run this script over them; it prints a Markdown section per notebook with the
text of the tagged result cells and writes their figures to ``docs/img/<profile>-<lesson>-<tag>.png``.

    python benchmarks/lesson_results.py --profile cpu --out-img docs/img RUN_DIR/*.ipynb > section.md
"""
from __future__ import annotations

import argparse
import base64
import re
from pathlib import Path

from html.parser import HTMLParser

import nbformat


class _TableParser(HTMLParser):
    """Rows of the first HTML table (pandas' Styler output has no useful text/plain form)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag == "style":
            self._skip += 1
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "style":
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None and not self._skip:
            self._cell.append(data)


def html_table_to_markdown(html: str) -> str:
    parser = _TableParser()
    parser.feed(html)
    rows = [r for r in parser.rows if any(r)]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)

#: the cells whose outputs are the lesson's results, per notebook (by tag)
RESULT_TAGS = {
    "01": ["lora-params", "lora-train", "peft-parity", "merge-check", "latency-table"],
    "02": ["rank-table", "rank-plot", "scale-check", "svd-table", "svd-plot", "choose-r"],
    "03": ["alpha-table", "alpha-plot", "alpha-lr-heatmap", "rule-of-thumb-table", "rslora-plot", "loss-curves"],
    "04": ["quant-error-table", "double-quant-bits", "memory-table", "memory-plot", "qlora-vs-lora-table", "qlora-vs-lora-plot"],
    "05": ["adapter-size-table", "reload-check", "multi-adapter-table", "memory-table"],
}


def _plain(cell) -> tuple[str, list[str]]:
    """The cell's printed text, and its HTML tables converted to Markdown."""
    parts, tables = [], []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if out.get("output_type") == "stream":
            if out.get("name") != "stderr":  # warnings and progress bars are not results
                parts.append(out.get("text", ""))
        elif "text/html" in data and "<table" in data["text/html"]:
            tables.append(html_table_to_markdown(data["text/html"]))
        elif "text/plain" in data and "image/png" not in data:
            text = data["text/plain"]
            if not text.startswith("<Figure"):
                parts.append(text)
    text = "\n".join(p.rstrip() for p in parts if p.strip())
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    text = "\n".join(line for line in text.splitlines() if not re.search(r"\d+it/s\]|\?it/s\]|s/it\]", line))
    return text, [t for t in tables if t]


def section(path: Path, profile: str, img_dir: Path | None) -> str:
    nb = nbformat.read(path, as_version=4)
    lesson = path.name[:2]
    lines = [f"### {path.stem}", ""]
    for tag in RESULT_TAGS.get(lesson, []):
        cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
        for cell in cells:
            text, tables = _plain(cell)
            if text or tables:
                lines += [f"`{tag}`", ""]
            for table in tables:
                lines += [table, ""]
            if text:
                lines += ["```", text, "```", ""]
            pngs = [o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
            for index, png in enumerate(pngs):
                if img_dir is None:
                    continue
                name = f"{profile}-{lesson}-{tag}" + (f"-{index}" if index else "") + ".png"
                (img_dir / name).write_bytes(base64.b64decode(png))
                lines += [f"![{tag}](img/{name})", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path, help="executed lesson notebooks")
    parser.add_argument("--profile", required=True, help="the profile they ran in (names the images)")
    parser.add_argument("--out-img", type=Path, help="folder for the figures (none written without it)")
    args = parser.parse_args()
    if args.out_img:
        args.out_img.mkdir(parents=True, exist_ok=True)
    for path in sorted(args.notebooks):
        print(section(path, args.profile, args.out_img))


if __name__ == "__main__":
    main()
