"""Execute the lesson notebooks in one profile, timing each, and keep the executed copies.

Why: docs/results.md reports the wall time of every lesson and the tables they computed; this is
the one command that produces both, on a laptop CPU or on a GPU machine.

    python benchmarks/run_lessons.py --profile cpu --out runs/cpu notebooks/0*.ipynb
    python benchmarks/lesson_results.py --profile cpu --out-img docs/img runs/cpu/0*.ipynb

A failing cell does not stop the other notebooks: its error is reported and the run exits 1.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def run_one(path: Path, out_dir: Path, timeout_s: int) -> dict:
    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    error = None
    try:
        NotebookClient(nb, timeout=timeout_s, kernel_name="python3",
                       resources={"metadata": {"path": str(path.resolve().parent)}}).execute()
    except Exception as exc:  # report and go on with the next lesson
        error = f"{type(exc).__name__}: {str(exc)[-2000:]}"
    wall = time.perf_counter() - started
    nbformat.write(nb, out_dir / path.name)
    return {"notebook": path.name, "wall_s": round(wall, 1), "error": error}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--profile", choices=["smoke", "cpu", "gpu"], required=True)
    parser.add_argument("--out", type=Path, required=True, help="folder for the executed copies and timings.json")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.pop("MPLBACKEND", None)
    os.environ.pop("COURSE_SMOKE", None)
    os.environ["COURSE_PROFILE"] = args.profile
    os.environ.setdefault("TQDM_DISABLE", "1")
    records = []
    for path in sorted(args.notebooks):
        record = run_one(path, args.out, args.timeout)
        records.append(record)
        status = "ok" if record["error"] is None else f"FAILED: {record['error'][:300]}"
        print(f"{record['notebook']}: {record['wall_s']:.0f} s, {status}", flush=True)
    total = sum(r["wall_s"] for r in records)
    print(f"total: {total:.0f} s ({total / 60:.1f} min)")
    (args.out / "timings.json").write_text(json.dumps({"profile": args.profile, "lessons": records, "total_s": total}, indent=2))
    return 1 if any(r["error"] for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
