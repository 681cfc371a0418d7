"""Fine-tuned encoder baseline for the course sentiment data, with the course's own training loop.

Where ``baseline.py`` shows what words alone achieve, this shows what fine-tuning the course model
(all-MiniLM-L6-v2 by default) achieves, overall and per construction; ``data/README.md`` records
the numbers. Runs on the CPU in minutes with the ``cpu`` profile's 2,000 training reviews.

    python data/finetune_baseline.py --method full --lr 2e-4 --steps 60 --eval-size 300
    python data/finetune_baseline.py --method lora --rank 8 --lr 3e-3 --targets query,key,value,dense
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install

from course import (  # noqa: E402
    get_profile,
    load_classifier,
    load_sentiment,
    load_tokenizer,
    predict,
    train_classifier,
)


def accuracy_by_kind(model, tokenizer, examples) -> dict[str, float]:
    """Test accuracy per construction ("contrast", "reported", …)."""
    preds = predict(model, tokenizer, [ex.text for ex in examples])
    hits: dict[str, list[bool]] = defaultdict(list)
    for pred, ex in zip(preds, examples):
        hits[ex.kind].append(pred == ex.label)
    return {kind: sum(v) / len(v) for kind, v in sorted(hits.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fine-tune the course model on the course data.")
    parser.add_argument("--method", choices=["full", "lora"], default="full")
    parser.add_argument("--rank", type=int, default=8, help="LoRA rank (alpha = 2 x rank)")
    parser.add_argument("--targets", default="query,value",
                        help="comma-separated module names LoRA adapts (MiniLM: query,key,value,dense)")
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--steps", type=int, default=None, help="default: the profile's epochs")
    parser.add_argument("--profile", default="cpu", help="smoke, cpu or gpu")
    parser.add_argument("--eval-size", type=int, default=None, help="default: the profile's")
    parser.add_argument("--model", default=None, help="default: course.resolve_model()")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    profile = get_profile(args.profile)
    data = load_sentiment(profile=profile, eval_size=args.eval_size, seed=args.seed)
    tokenizer = load_tokenizer(args.model)
    model = load_classifier(args.model, seed=args.seed)
    label = "full fine-tune"
    if args.method == "lora":
        from peft import LoraConfig, get_peft_model  # noqa: PLC0415

        config = LoraConfig(r=args.rank, lora_alpha=2 * args.rank, target_modules=args.targets.split(","),
                            task_type="SEQ_CLS")
        model = get_peft_model(model, config)
        label = f"LoRA r={args.rank} ({args.targets})"
    steps = args.steps
    result = train_classifier(model, tokenizer, data, lr=args.lr, max_steps=steps, profile=profile,
                              eval_every=max(1, (steps or len(data.train) // profile.batch_size) // 2),
                              seed=args.seed, label=label)
    print(result)
    print("validation history (step, accuracy, loss):",
          [(s, round(acc, 3), round(loss, 3)) for s, acc, loss in result.eval_history])
    print("test accuracy by kind:",
          {k: round(v, 3) for k, v in accuracy_by_kind(model, tokenizer, data.test).items()})
    print(json.dumps(result.to_dict()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
