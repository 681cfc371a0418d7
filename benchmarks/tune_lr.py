"""Tune the learning rate of each way of fine-tuning the lessons compare, on the cpu profile's budget.

The lessons compare training the head alone, LoRA (query/value or every linear layer) and full
fine-tuning. A comparison at one shared learning rate would compare learning rates as much as
methods: a lone linear head needs large steps, full fine-tuning moves 22.7 M pretrained weights and
needs small ones. So each method gets the rate that does best on *validation* accuracy here, and
the lessons use those (``course.training.LEARNING_RATES``); docs/course.md records this table.

    python benchmarks/tune_lr.py --seeds 0 1 --out docs/lr-tuning.json

About 25 s per run on a quiet 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from course import env, load_sentiment, load_tokenizer, train_classifier  # noqa: E402
from methods import build  # noqa: E402

GRID = {
    "head only": [3e-3, 1e-2, 3e-2],
    "LoRA r=8 query/value": [2e-3, 5e-3, 1e-2],
    "LoRA r=8 all linear": [1e-3, 3e-3, 6e-3],
    "full fine-tuning": [1e-4, 2e-4, 4e-4, 8e-4],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--methods", nargs="+", default=list(GRID), choices=list(GRID))
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the raw results")
    args = parser.parse_args()
    profile = env.get_profile("cpu")
    data = load_sentiment(profile=profile)
    tokenizer = load_tokenizer()
    rows = []
    for method in args.methods:
        for lr in GRID[method]:
            for seed in args.seeds:
                result = train_classifier(build(method, seed), tokenizer, data, lr=lr, seed=seed, progress=False,
                                          profile=profile)
                rows.append({"method": method, "lr": lr, "seed": seed, "val": result.accuracy,
                             "loss": result.to_dict()["final_train_loss"], "wall_s": result.wall_time_s})
                print(json.dumps(rows[-1]), flush=True)
    print("\n| method | learning rate | validation accuracy | final training loss |\n|---|---|---|---|")
    for method in args.methods:
        best = max(GRID[method], key=lambda lr: statistics.mean(r["val"] for r in rows
                                                                 if r["method"] == method and r["lr"] == lr))
        for lr in GRID[method]:
            group = [r for r in rows if r["method"] == method and r["lr"] == lr]
            vals, losses = [r["val"] for r in group], [r["loss"] for r in group]
            mark = " **(best)**" if lr == best else ""
            print(f"| {method} | {lr:g}{mark} | {statistics.mean(vals):.3f} ({', '.join(f'{v:.3f}' for v in vals)}) "
                  f"| {statistics.mean(losses):.3f} |")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
