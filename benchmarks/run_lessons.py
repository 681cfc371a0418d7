"""Execute the lesson notebooks in one profile, timing each, and keep the executed copies.

Why: the lessons are committed with the outputs of a full run (students read them on GitHub), and
docs/results.md reports the wall time and the tables of every lesson; this is the one command that
produces both, on a laptop CPU or on a GPU machine.

    python benchmarks/run_lessons.py --profile cpu --in-place notebooks/0*.ipynb     # what is committed
    python benchmarks/run_lessons.py --profile cpu --out runs/cpu notebooks/0*.ipynb  # copies elsewhere
    python benchmarks/lesson_results.py --profile cpu --out-img docs/img notebooks/0*.ipynb

Each executed notebook is tidied (no widget state, no per-cell timing) and stamped with the profile,
its wall time and a hash of its code cells (``course.executed``); ``tests/test_lessons_committed.py``
fails when a committed notebook's code no longer matches its outputs. Smoke mode is refused with
``--in-place``: its outputs are noise and must never be committed. A failing cell does not stop the
other notebooks: its error is reported, that notebook is not written back, and the run exits 1.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course.executed import stamp, tidy  # noqa: E402


def device_name() -> str:
    """The machine in words, as the lessons' first cell prints it."""
    import torch  # noqa: PLC0415

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU, {os.cpu_count()} cores"


def run_one(path: Path, target: Path, profile: str, timeout_s: int) -> dict:
    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    error = None
    try:
        NotebookClient(nb, timeout=timeout_s, kernel_name="python3",
                       resources={"metadata": {"path": str(path.resolve().parent)}}).execute()
    except Exception as exc:  # report and go on with the next lesson
        error = f"{type(exc).__name__}: {str(exc)[-2000:]}"
    wall = time.perf_counter() - started
    if error is None or target.resolve() != path.resolve():
        nbformat.write(stamp(tidy(nb), profile=profile, wall_s=wall, device=device_name()), target)
    return {"notebook": path.name, "wall_s": round(wall, 1), "error": error}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--profile", choices=["smoke", "cpu", "gpu"], required=True)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, help="folder for the executed copies and timings.json")
    where.add_argument("--in-place", action="store_true", help="write each executed notebook back over itself")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args()
    if args.in_place and args.profile == "smoke":
        parser.error("smoke-mode outputs are noise: never write them into the committed notebooks")
    out_dir = args.out or args.notebooks[0].parent
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ.pop("MPLBACKEND", None)
    os.environ.pop("COURSE_SMOKE", None)
    os.environ["COURSE_PROFILE"] = args.profile
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    records = []
    for path in sorted(args.notebooks):
        target = path if args.in_place else out_dir / path.name
        record = run_one(path, target, args.profile, args.timeout)
        records.append(record)
        status = "ok" if record["error"] is None else f"FAILED: {record['error'][:300]}"
        print(f"{record['notebook']}: {record['wall_s']:.0f} s, {status}", flush=True)
    total = sum(r["wall_s"] for r in records)
    print(f"total: {total:.0f} s ({total / 60:.1f} min)")
    if args.out:
        (out_dir / "timings.json").write_text(json.dumps({"profile": args.profile, "lessons": records,
                                                          "total_s": total}, indent=2))
    return 1 if any(r["error"] for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
