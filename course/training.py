"""A short, readable training loop for the lessons' sentiment classifier.

The lessons teach what changes between runs — which weights train, the rank, alpha, the
quantization — so the loop itself is shared here and stays the same for every run they compare.
It is a plain PyTorch loop rather than ``transformers.Trainer`` so that a student can read it in
one sitting: shuffle, tokenize a batch, forward, loss, backward, step.
"""
from __future__ import annotations

import html
import math
import random
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from course.data import Example, SentimentData
from course.env import Profile, compute_dtype, get_profile, seed_everything
from course.measure import (
    SavedActivations,
    TrainingMemory,
    count_parameters,
    gradient_bytes,
    optimizer_state_bytes,
    track_peak_memory,
    weight_bytes,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LEARNING_RATES", "OPTIMIZERS", "TrainResult", "evaluate", "predict", "results_table", "train_classifier", "train_seeds"]

OptimizerFactory = Callable[..., torch.optim.Optimizer]

#: The learning rate each way of fine-tuning uses in the lessons, tuned for validation accuracy on the
#: cpu profile's budget (one epoch over 2,000 reviews, batch 32, AdamW with warm-up and linear decay):
#: ``python benchmarks/tune_lr.py``; the grid and its results are in docs/course.md. One rate for
#: every method would compare learning rates as much as methods — a lone head needs large steps, full
#: fine-tuning of 22.7 M pretrained weights small ones.
LEARNING_RATES: dict[str, float] = {
    "head": 1e-2,             # the classification head alone, encoder frozen
    "lora": 5e-3,             # LoRA r=8 on query/value (+ head)
    "lora_all_linear": 3e-3,  # LoRA r=8 on every linear layer (+ head), as QLoRA does
    "full": 4e-4,             # full fine-tuning
}


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    """What one training run produced; ``to_dict()`` gives a flat row for a comparison table.

    ``accuracy`` and ``eval_loss`` are on the validation split after training; ``test_accuracy``
    on the test split. ``wall_time_s`` covers the whole call (training and evaluation) while
    ``examples_per_s`` counts training only. ``memory`` is the training step's memory by part in
    MiB (``course.measure.TrainingMemory``: weights, gradients, optimizer state, activations,
    total), counted the same way on every machine; ``peak_memory_mb`` is that total on a CPU and
    torch's measured peak allocation on a GPU (``extra["memory_method"]`` says which).
    """

    label: str
    accuracy: float
    test_accuracy: float
    eval_loss: float
    train_losses: list[float]
    eval_history: list[tuple[int, float, float]]
    wall_time_s: float
    examples_per_s: float
    peak_memory_mb: float
    trainable_params: int
    total_params: int
    trainable_percent: float
    extra: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, float] = field(default_factory=dict)
    model: Any = field(default=None, repr=False, compare=False)
    """The trained model, kept only where ``train_seeds(keep=...)`` asked for it."""

    @property
    def steps(self) -> int:
        return len(self.train_losses)

    def to_dict(self) -> dict[str, Any]:
        """One flat record: the scalar fields, ``steps``, ``final_train_loss`` and the ``extra``
        entries as their own columns (so ``extra={"rank": 8}`` becomes a ``rank`` column)."""
        row = {f.name: getattr(self, f.name) for f in fields(self)
               if f.name not in {"train_losses", "eval_history", "extra", "memory", "model"}}
        row["steps"] = self.steps
        row["final_train_loss"] = _tail_mean(self.train_losses)
        for key, value in self.extra.items():
            row[key if key not in row else f"extra_{key}"] = value
        return row

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
            f"<td style='text-align:right'>{html.escape(_fmt(v))}</td></tr>"
            for k, v in self.to_dict().items()
        )
        return f"<table><caption>TrainResult</caption>{rows}</table>"

    def __str__(self) -> str:
        return (f"{self.label or 'run'}: val acc {self.accuracy:.3f}, test acc "
                f"{self.test_accuracy:.3f}, {self.steps} steps in {self.wall_time_s:.1f}s, "
                f"{self.trainable_percent:.3f}% trainable")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _tail_mean(values: Sequence[float], fraction: float = 0.1) -> float:
    """Mean of the last ``fraction`` of ``values``: a final loss less noisy than the last step."""
    if not values:
        return float("nan")
    k = max(1, int(len(values) * fraction))
    return float(sum(values[-k:]) / k)


def results_table(results: Sequence[TrainResult]) -> pd.DataFrame:
    """A pandas DataFrame with one ``to_dict()`` row per run, in the given order."""
    import pandas as pd  # noqa: PLC0415 — only needed for tables

    return pd.DataFrame([r.to_dict() for r in results])


# ---------------------------------------------------------------------------------------------
# Batches, evaluation, prediction
# ---------------------------------------------------------------------------------------------
def _model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _autocast(device: torch.device):
    """Mixed precision on GPU with ``compute_dtype()``; a no-op on CPU or where it is float32."""
    dtype = compute_dtype()
    if device.type != "cuda" or dtype == torch.float32:
        return nullcontext()
    return torch.autocast(device_type="cuda", dtype=dtype)


def _encode(tokenizer, texts: Sequence[str], max_length: int, device: torch.device) -> dict:
    """Tokenize a batch, padded to its longest text and cut at ``max_length`` tokens."""
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length,
                    return_tensors="pt")
    return {k: v.to(device) for k, v in enc.items()}


def _batches(items: Sequence, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


@torch.no_grad()
def evaluate(model: torch.nn.Module, tokenizer, examples: Sequence[Example], *,
             batch_size: int | None = None, max_length: int | None = None,
             profile: Profile | None = None) -> dict[str, float]:
    """Accuracy and mean cross-entropy of ``model`` on ``examples`` (in eval mode, no grad).

    The model's train/eval mode is restored afterwards, so this is safe to call mid-training.
    """
    profile = profile or get_profile()
    batch_size = batch_size or profile.eval_batch_size
    max_length = max_length or profile.max_length
    if not examples:
        raise ValueError("evaluate() needs at least one example")
    device = _model_device(model)
    was_training = model.training
    model.eval()
    correct, loss_sum = 0, 0.0
    try:
        for batch in _batches(list(examples), batch_size):
            enc = _encode(tokenizer, [ex.text for ex in batch], max_length, device)
            labels = torch.tensor([ex.label for ex in batch], device=device)
            with _autocast(device):
                logits = model(**enc).logits
            loss_sum += F.cross_entropy(logits.float(), labels, reduction="sum").item()
            correct += (logits.argmax(dim=-1) == labels).sum().item()
    finally:
        model.train(was_training)
    return {"accuracy": correct / len(examples), "loss": loss_sum / len(examples)}


@torch.no_grad()
def predict(model: torch.nn.Module, tokenizer, texts: Sequence[str] | str, *,
            batch_size: int | None = None, max_length: int | None = None) -> list[int]:
    """Predicted label ids for ``texts`` (a single string is treated as a list of one)."""
    profile = get_profile()
    texts = [texts] if isinstance(texts, str) else list(texts)
    batch_size = batch_size or profile.eval_batch_size
    max_length = max_length or profile.max_length
    device = _model_device(model)
    was_training = model.training
    model.eval()
    out: list[int] = []
    try:
        for batch in _batches(texts, batch_size):
            with _autocast(device):
                logits = model(**_encode(tokenizer, batch, max_length, device)).logits
            out.extend(logits.argmax(dim=-1).tolist())
    finally:
        model.train(was_training)
    return out


# ---------------------------------------------------------------------------------------------
# Optimizers and schedule
# ---------------------------------------------------------------------------------------------
def _torch_adamw(params, *, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def _bnb_optimizer(class_name: str) -> OptimizerFactory:
    """A bitsandbytes optimizer by name. Paged optimizers keep their state in CUDA unified
    memory that can spill to CPU RAM under memory pressure (QLoRA's third trick); without a GPU
    there is nothing to page, so the run falls back to torch's AdamW and says so."""

    def make(params, *, lr: float, weight_decay: float) -> torch.optim.Optimizer:
        if not torch.cuda.is_available():
            warnings.warn(f"{class_name} needs a CUDA GPU; using torch.optim.AdamW instead",
                          stacklevel=3)
            return _torch_adamw(params, lr=lr, weight_decay=weight_decay)
        import bitsandbytes as bnb  # noqa: PLC0415 — optional, GPU only

        return getattr(bnb.optim, class_name)(params, lr=lr, weight_decay=weight_decay)

    return make


#: Optimizer names accepted by ``train_classifier``.
OPTIMIZERS: dict[str, OptimizerFactory] = {
    "adamw": _torch_adamw,
    "adamw_8bit": _bnb_optimizer("AdamW8bit"),
    "paged_adamw_8bit": _bnb_optimizer("PagedAdamW8bit"),
    "paged_adamw_32bit": _bnb_optimizer("PagedAdamW32bit"),
}


def _make_optimizer(optimizer: str | OptimizerFactory, params, lr: float,
                    weight_decay: float) -> torch.optim.Optimizer:
    if callable(optimizer):
        return optimizer(params, lr=lr, weight_decay=weight_decay)
    try:
        factory = OPTIMIZERS[optimizer]
    except KeyError:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {sorted(OPTIMIZERS)} "
                         "or pass a callable (params, lr=, weight_decay=) -> Optimizer") from None
    return factory(params, lr=lr, weight_decay=weight_decay)


def _linear_warmup_decay(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """LR multiplier: linear warm-up from 0 to 1, then linear decay to 0 at ``total_steps``."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return factor


# ---------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------
def _plan_steps(n_examples: int, batch_size: int, grad_accum: int, epochs: int | None,
                max_steps: int | None) -> int:
    """Optimizer steps to run: ``max_steps`` if given, capped by ``epochs`` if that is given too."""
    per_epoch = max(1, math.ceil(n_examples / (batch_size * grad_accum)))
    if max_steps is not None and epochs is not None:
        return min(max_steps, epochs * per_epoch)
    if max_steps is not None:
        return max_steps
    return (epochs or 1) * per_epoch


def _micro_batches(examples: Sequence[Example], batch_size: int, seed: int):
    """Endless stream of shuffled batches; each epoch reshuffled with its own seed."""
    epoch = 0
    while True:
        order = list(examples)
        random.Random(seed * 1000 + epoch).shuffle(order)
        yield from _batches(order, batch_size)
        epoch += 1


def train_classifier(
    model: torch.nn.Module,
    tokenizer,
    data: SentimentData,
    *,
    lr: float,
    epochs: int | None = None,
    max_steps: int | None = None,
    batch_size: int | None = None,
    max_length: int | None = None,
    weight_decay: float = 0.0,
    warmup_ratio: float = 0.06,
    optimizer: str | OptimizerFactory = "adamw",
    grad_accum: int = 1,
    eval_every: int | None = None,
    max_grad_norm: float | None = 1.0,
    seed: int = 0,
    label: str = "",
    progress: bool = True,
    profile: Profile | None = None,
    extra: dict[str, Any] | None = None,
) -> TrainResult:
    """Train the parameters of ``model`` that require grad on ``data.train``; report the rest.

    Whatever is frozen stays frozen: the same loop trains a full model, a LoRA model or a QLoRA
    model. Unset sizes come from ``profile`` (default ``get_profile()``): with neither ``epochs``
    nor ``max_steps`` given, the profile's epochs are run; with only ``max_steps``, exactly that
    many optimizer steps (cycling through epochs as needed); with both, whichever ends first.
    A profile's own ``max_steps`` (set only for ``smoke``) caps every run, so CI stays fast.

    On a GPU the forward pass runs under autocast with ``compute_dtype()``; with float16 a
    ``GradScaler`` scales the loss so small gradients do not underflow. ``optimizer`` is a name
    from ``OPTIMIZERS`` or a callable ``(params, lr=, weight_decay=) -> Optimizer`` (e.g.
    ``torch.optim.SGD``). ``extra`` is copied into ``TrainResult.extra`` (e.g. ``{"rank": 8}``).
    """
    started = time.perf_counter()
    profile = profile or get_profile()
    batch_size = batch_size or profile.batch_size
    max_length = max_length or profile.max_length
    if epochs is None and max_steps is None:
        epochs, max_steps = profile.epochs, profile.max_steps
    if grad_accum < 1:
        raise ValueError(f"grad_accum must be >= 1, got {grad_accum}")
    if not data.train:
        raise ValueError("data.train is empty")
    total_steps = _plan_steps(len(data.train), batch_size, grad_accum, epochs, max_steps)
    if profile.max_steps is not None:
        # The smoke profile caps every run, so CI stays fast even where a lesson asks for more.
        total_steps = min(total_steps, profile.max_steps)

    seed_everything(seed)
    device = _model_device(model)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters (all have requires_grad=False)")
    opt = _make_optimizer(optimizer, params, lr, weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, _linear_warmup_decay(total_steps, int(warmup_ratio * total_steps)))
    # Loss scaling only for float16 autocast over float32 master weights; bf16 does not need it.
    use_scaler = (device.type == "cuda" and compute_dtype() == torch.float16
                  and all(p.dtype == torch.float32 for p in params))
    scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)

    def run_eval() -> dict[str, float]:
        nonlocal eval_seconds
        t0 = time.perf_counter()
        metrics = evaluate(model, tokenizer, data.validation, batch_size=profile.eval_batch_size,
                           max_length=max_length)
        eval_seconds += time.perf_counter() - t0
        return metrics

    from tqdm.auto import tqdm  # noqa: PLC0415 — keeps `import course.training` light

    train_losses: list[float] = []
    eval_history: list[tuple[int, float, float]] = []
    eval_seconds, seen_examples = 0.0, 0
    stream = _micro_batches(data.train, batch_size, seed)
    memory = TrainingMemory(weights=weight_bytes(model))
    every_param = list(model.parameters())
    model.train()
    with track_peak_memory(device) as gpu_peak:
        bar = tqdm(range(total_steps), desc=label or "training", disable=not progress, leave=False)
        for step in bar:
            step_loss = 0.0
            for _ in range(grad_accum):
                batch = next(stream)
                enc = _encode(tokenizer, [ex.text for ex in batch], max_length, device)
                labels = torch.tensor([ex.label for ex in batch], device=device)
                with SavedActivations(exclude=every_param) as saved, _autocast(device):
                    logits = model(**enc).logits
                memory.activations = max(memory.activations, saved.bytes)
                loss = F.cross_entropy(logits.float(), labels) / grad_accum
                scaler.scale(loss).backward()
                step_loss += loss.item()
                seen_examples += len(batch)
            memory.gradients = max(memory.gradients, gradient_bytes(params))
            if max_grad_norm is not None:
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
            scaler.step(opt)
            scaler.update()
            memory.optimizer_state = max(memory.optimizer_state, optimizer_state_bytes(opt))
            opt.zero_grad(set_to_none=True)
            schedule.step()
            train_losses.append(step_loss)
            bar.set_postfix(loss=f"{step_loss:.3f}")
            if eval_every and (step + 1) % eval_every == 0 and step + 1 < total_steps:
                metrics = run_eval()
                eval_history.append((step + 1, metrics["accuracy"], metrics["loss"]))
                if progress and not bar.disable:  # beside a live progress bar, not in a saved notebook
                    bar.write(f"{label or 'training'} step {step + 1}: validation accuracy "
                              f"{metrics['accuracy']:.3f}, loss {metrics['loss']:.3f}")
                model.train()
        bar.close()
    train_seconds = time.perf_counter() - started - eval_seconds

    final = run_eval()
    eval_history.append((total_steps, final["accuracy"], final["loss"]))
    test = evaluate(model, tokenizer, data.test, batch_size=profile.eval_batch_size,
                    max_length=max_length)
    model.eval()
    counts = count_parameters(model)
    record = {"lr": lr, "batch_size": batch_size, "grad_accum": grad_accum,
              "max_length": max_length, "optimizer": optimizer if isinstance(optimizer, str)
              else getattr(optimizer, "__name__", type(optimizer).__name__),
              "train_examples": len(data.train), "seed": seed,
              "memory_method": gpu_peak.method if device.type == "cuda" else "counted",
              "eval_time_s": eval_seconds}
    record.update(extra or {})
    return TrainResult(
        label=label,
        accuracy=final["accuracy"],
        test_accuracy=test["accuracy"],
        eval_loss=final["loss"],
        train_losses=train_losses,
        eval_history=eval_history,
        wall_time_s=time.perf_counter() - started,
        examples_per_s=seen_examples / max(train_seconds, 1e-9),
        peak_memory_mb=gpu_peak.peak_mb if device.type == "cuda" else memory.total / 2**20,
        trainable_params=counts.trainable,
        total_params=counts.total,
        trainable_percent=counts.percent,
        extra=record,
        memory=memory.to_mb(),
    )


def train_seeds(
    build: Callable[[int], torch.nn.Module],
    tokenizer,
    data: SentimentData,
    *,
    seeds: Sequence[int] | None = None,
    label: str = "",
    extra: dict[str, Any] | None = None,
    keep: Callable[[int], bool] | None = None,
    **train_kwargs: Any,
) -> list[TrainResult]:
    """Train one setting once per seed: ``build(seed)`` makes the model, ``train_classifier`` trains it.

    Everything random differs between seeds — the new head, LoRA's random ``A`` (``build`` runs
    right after ``seed_everything(seed)``), the batch order and dropout — so the spread of the
    results is the honest noise of one run. ``seeds`` default to ``get_profile().seeds``. Models are
    dropped after training to free memory, except where ``keep(seed)`` is true: those are returned
    as ``result.model`` (e.g. to look inside one trained adapter).
    """
    profile = train_kwargs.get("profile") or get_profile()
    results = []
    for seed in (profile.seeds if seeds is None else seeds):
        seed_everything(seed)
        model = build(seed)
        result = train_classifier(model, tokenizer, data, seed=seed, label=label,
                                  extra={**(extra or {}), "seed": seed}, **train_kwargs)
        if keep is not None and keep(seed):
            result.model = model
        del model
        results.append(result)
    return results
