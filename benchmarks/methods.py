"""The models the training benchmarks compare, built one way for all of them.

``tune_lr.py`` (the learning rate of each method) and ``plateau_study.py`` (pooling × data) train the
same set-ups as the lessons: the head alone on a frozen encoder, LoRA r=8 (α = 16, no dropout, head in
``modules_to_save``) on query/value or on every linear layer, and full fine-tuning. The lessons build
these in their own cells, because that is what they teach; the benchmarks share this module so that a
change to one set-up reaches both.
"""
from __future__ import annotations

import torch

from course import env, load_classifier

#: method name → LoRA target modules (None: no LoRA)
METHODS: dict[str, list[str] | None] = {
    "head only": None,
    "LoRA r=8 query/value": ["query", "value"],
    "LoRA r=8 all linear": ["query", "key", "value", "dense"],
    "full fine-tuning": None,
}


def build(method: str, seed: int, *, pooling: str = "mean") -> torch.nn.Module:
    """A freshly loaded classifier (its head seeded by ``seed``) prepared for ``method``."""
    model = load_classifier(pooling=pooling, device="cpu", seed=seed)
    if method == "head only":
        for name, param in model.named_parameters():
            param.requires_grad_(name.startswith("classifier"))
        return model
    if method == "full fine-tuning":
        return model
    from peft import LoraConfig, get_peft_model  # noqa: PLC0415

    env.seed_everything(seed)
    return get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=METHODS[method],
                                            modules_to_save=["classifier"]))
