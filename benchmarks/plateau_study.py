"""Why the course's first runs sat on a loss plateau at chance, and what removed it.

Two suspects, crossed: the classifier's pooling (transformers' ``[CLS]`` + pooler head vs the mean
of the token vectors, which is how all-MiniLM-L6-v2 was trained) and the data (the course's first
dataset, where composition decides almost every label, vs the current one with 30 % plain reviews).
For each of the four combinations it trains, over several seeds, (a) the head alone on the frozen
encoder — what the pretrained features offer at step 0 — and (b) LoRA r=8 on query/value plus the
head, with the cpu profile's budget (2,000 reviews, one epoch of 63 steps), recording validation
accuracy along the way.

    python benchmarks/plateau_study.py --seeds 0 1 2 --out-img docs/img/plateau-study.png

Prints a Markdown table (docs/course.md, "Why mean pooling and a plain share") and saves the
training-loss figure. About 25 s per run on a quiet 2-core machine (24 runs for three seeds).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "data"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import make_sentiment  # noqa: E402

from course import LEARNING_RATES, env, load_sentiment, load_tokenizer, train_classifier  # noqa: E402
from methods import build  # noqa: E402

STEPS, EVAL_EVERY = 63, 15


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--eval-size", type=int, default=200)
    parser.add_argument("--out-img", type=Path, default=None)
    args = parser.parse_args()
    profile = env.get_profile("cpu")
    tokenizer = load_tokenizer()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        datasets = {}
        for name, share in (("first dataset (no plain share)", 0.0), ("current dataset (30 % plain)", 0.3)):
            folder = Path(tmp) / f"share{share}"
            make_sentiment.write_jsonl(make_sentiment.generate(plain_share=share), folder)
            datasets[name] = load_sentiment(profile=profile, eval_size=args.eval_size, data_dir=folder)
        for data_name, data in datasets.items():
            for pooling in ("cls", "mean"):
                for method in ("head only", "LoRA r=8"):
                    for seed in args.seeds:
                        model = build("LoRA r=8 query/value" if method == "LoRA r=8" else method, seed, pooling=pooling)
                        result = train_classifier(
                            model, tokenizer, data, lr=LEARNING_RATES["head"] if method == "head only" else LEARNING_RATES["lora"],
                            max_steps=STEPS, eval_every=EVAL_EVERY, seed=seed, progress=False, profile=profile)
                        runs.append({"data": data_name, "pooling": pooling, "method": method, "seed": seed,
                                     "result": result})
                        history = ", ".join(f"{s}: {a:.3f}" for s, a, _ in result.eval_history)
                        print(f"{data_name} | {pooling} | {method} | seed {seed} | val acc by step {history} "
                              f"| final loss {result.to_dict()['final_train_loss']:.3f}", flush=True)
    print()
    print("| data | pooling | method | val acc after 15 steps | after 30 | after 63 | final train loss |")
    print("|---|---|---|---|---|---|---|")
    keys = list(dict.fromkeys((r["data"], r["pooling"], r["method"]) for r in runs))
    for key in keys:
        group = [r["result"] for r in runs if (r["data"], r["pooling"], r["method"]) == key]

        def cell(values: list[float]) -> str:
            return f"{statistics.mean(values):.3f} ± {statistics.stdev(values) if len(values) > 1 else 0:.3f}"

        at = {step: [dict((s, a) for s, a, _ in r.eval_history)[step] for r in group] for step in (15, 30, STEPS)}
        losses = [r.to_dict()["final_train_loss"] for r in group]
        print(f"| {key[0]} | {key[1]} | {key[2]} | {cell(at[15])} | {cell(at[30])} | {cell(at[STEPS])} | {cell(losses)} |")
    if args.out_img:
        plot(runs, args.out_img)
        print(f"\nwrote {args.out_img}")
    return 0


def plot(runs: list[dict], path: Path) -> None:
    """Training loss of the LoRA runs (mean over seeds, band = min..max), one panel per dataset."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    data_names = list(dict.fromkeys(r["data"] for r in runs))
    fig, axes = plt.subplots(1, len(data_names), figsize=(11, 3.8), sharey=True)
    for ax, data_name in zip(np.atleast_1d(axes), data_names):
        for pooling, color in (("cls", "tab:red"), ("mean", "tab:blue")):
            curves = np.array([r["result"].train_losses for r in runs
                               if r["data"] == data_name and r["pooling"] == pooling and r["method"] == "LoRA r=8"])
            kernel = np.ones(5) / 5
            smooth = np.array([np.convolve(c, kernel, mode="valid") for c in curves])
            steps = np.arange(smooth.shape[1]) + 3
            ax.plot(steps, smooth.mean(0), color=color, label=f"{pooling} pooling (mean of {len(curves)} seeds)")
            ax.fill_between(steps, smooth.min(0), smooth.max(0), color=color, alpha=0.2)
        ax.axhline(np.log(2), color="grey", ls=":", label="ln 2 (chance)")
        ax.set(title=data_name, xlabel="optimizer step")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("training loss (5-step average)")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.suptitle("LoRA r=8 on query/value, cpu-profile budget")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    sys.exit(main())
