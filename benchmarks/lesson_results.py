"""Collect the executed lessons' measured numbers into docs/results.md material.

Why: docs/results.md must hold numbers the notebooks computed, not numbers typed by hand. Every
number a lesson's conclusions rest on is displayed by a ``course.report.Findings`` table, which also
stores it in the output's metadata; this script reads those tables (and each notebook's run stamp:
profile, wall time, machine) from executed notebooks and prints them as Markdown, one section per
lesson, and copies the figures of the chosen cells to ``docs/img/<profile>-<lesson>-<tag>.png``.

    python benchmarks/lesson_results.py --out-img docs/img notebooks/0*.ipynb > section.md
"""
from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course.executed import stamp_of  # noqa: E402
from course.report import FINDINGS_KEY, spread  # noqa: E402

#: cells whose figures are copied next to docs/results.md, per lesson (by tag)
FIGURES = {
    "01": ["alpha-scaling", "loss-curves"],
    "02": ["rank-plot", "svd-plot"],
    "03": ["alpha-plot", "loss-curves"],
    "04": ["memory-breakdown", "quantization-noise"],
    "05": ["memory-table"],
}


def findings_tables(nb) -> list[str]:
    """Every Findings table the notebook displayed, as Markdown, with the tag of its cell."""
    out = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            record = (output.get("metadata") or {}).get(FINDINGS_KEY)
            if not record:
                continue
            lines = [f"**{record['title']}** (`{tags[0] if tags else 'untagged'}`)", "",
                     "| measured | mean ± std | range | n |", "|---|---|---|---|"]
            for name, item in record["items"].items():
                measured = spread(item["values"])
                span = f"{measured.low:.3g} – {measured.high:.3g}" if measured.n > 1 and measured.std else ""
                lines.append(f"| {name} | {measured.format()} | {span} | {measured.n} |")
            out.append("\n".join(lines))
    return out


def section(path: Path, img_dir: Path | None) -> str:
    nb = nbformat.read(path, as_version=4)
    stamp = stamp_of(nb) or {}
    lesson = path.name[:2]
    lines = [f"### {path.stem}", "",
             f"Profile `{stamp.get('profile', '?')}`, {stamp.get('wall_s', float('nan')):.0f} s on {stamp.get('device', '?')}"
             f" ({stamp.get('executed', '?')}).", ""]
    for table in findings_tables(nb):
        lines += [table, ""]
    for tag in FIGURES.get(lesson, []):
        for cell in (c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])):
            pngs = [o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
            for index, png in enumerate(pngs):
                if img_dir is None:
                    continue
                name = f"{stamp.get('profile', 'run')}-{lesson}-{tag}" + (f"-{index}" if index else "") + ".png"
                (img_dir / name).write_bytes(base64.b64decode(png))
                lines += [f"![{tag}](img/{name})", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path, help="executed lesson notebooks")
    parser.add_argument("--out-img", type=Path, help="folder for the figures (none written without it)")
    args = parser.parse_args()
    if args.out_img:
        args.out_img.mkdir(parents=True, exist_ok=True)
    stamps = []
    sections = []
    for path in sorted(args.notebooks):
        sections.append(section(path, args.out_img))
        stamps.append((path.stem, stamp_of(nbformat.read(path, as_version=4)) or {}))
    print("| lesson | profile | wall time |\n|---|---|---|")
    for stem, stamp in stamps:
        print(f"| {stem} | {stamp.get('profile', '?')} | {stamp.get('wall_s', float('nan')):.0f} s |")
    total = sum(stamp.get("wall_s", 0) for _, stamp in stamps)
    print(f"| **all** | | **{total:.0f} s ≈ {total / 60:.0f} min** |\n")
    print("\n".join(sections))


if __name__ == "__main__":
    main()
