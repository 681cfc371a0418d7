"""Helpers the lesson notebooks import: environment, model loading, data, training, measurement, plots.

The helpers hold plumbing only; each lesson shows the idea it teaches in its own cells. Names are
loaded lazily (``from course import load_classifier`` imports ``course.models`` on first use), so
``import course`` stays instant and does not import torch or transformers.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # course.env
    "Profile": "env", "PROFILES": "env", "bf16_supported": "env", "compute_dtype": "env",
    "describe_environment": "env", "get_device": "env", "get_profile": "env", "is_colab": "env",
    "is_smoke": "env", "seed_everything": "env", "start_lesson": "env",
    # course.models
    "bundled_model_dir": "models", "load_classifier": "models", "load_tokenizer": "models",
    "nf4_config": "models", "resolve_model": "models",
    # course.data
    "Example": "data", "SentimentData": "data", "load_sentiment": "data",
    "stratified_subset": "data",
    # course.training
    "TrainResult": "training", "evaluate": "training", "predict": "training",
    "results_table": "training", "train_classifier": "training", "train_seeds": "training",
    "OPTIMIZERS": "training", "LEARNING_RATES": "training",
    # course.measure
    "ParamCount": "measure", "PeakMemory": "measure", "count_parameters": "measure", "dir_size_mb": "measure",
    "model_memory_mb": "measure", "tensor_bytes": "measure", "track_peak_memory": "measure",
    "TrainingMemory": "measure", "SavedActivations": "measure",
    # course.report
    "Findings": "report", "Spread": "report", "gap": "report", "seed_table": "report", "spread": "report",
    # course.plots
    "plot_histograms": "plots", "plot_loss_curves": "plots", "plot_sweep": "plots",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first access (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'course' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"course.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
