"""Measuring what parameter-efficient fine-tuning saves: parameters, memory, bytes on disk.

The lessons make claims such as "LoRA trains 0.3 % of the weights" or "4-bit weights take an
eighth of the memory"; these functions produce the numbers behind those claims, counted the same
way in every lesson.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = [
    "ParamCount",
    "PeakMemory",
    "SavedActivations",
    "TrainingMemory",
    "count_parameters",
    "dir_size_mb",
    "gradient_bytes",
    "model_memory_mb",
    "optimizer_state_bytes",
    "tensor_bytes",
    "track_peak_memory",
    "weight_bytes",
]

MB = 2**20


def _is_4bit(param: torch.Tensor) -> bool:
    """True for bitsandbytes ``Params4bit`` (checked by name: bitsandbytes is optional)."""
    return type(param).__name__ == "Params4bit"


def _logical_numel(param: torch.Tensor) -> int:
    """Number of weights a parameter represents.

    A 4-bit parameter is stored packed, two weights per byte, in a ``quant_storage`` tensor
    (uint8 by default), so its ``numel()`` is half — or less, for wider storage — of the weights.
    """
    if _is_4bit(param):
        return param.numel() * 2 * param.element_size()
    return param.numel()


@dataclass(frozen=True)
class ParamCount:
    """Trainable and total parameters (4-bit weights counted as the weights they represent)."""

    trainable: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.trainable / self.total if self.total else 0.0

    def __str__(self) -> str:
        return (f"trainable params: {self.trainable:,} || all params: {self.total:,} || "
                f"trainable: {self.percent:.4f}%")


def count_parameters(model: torch.nn.Module) -> ParamCount:
    """Count trainable (``requires_grad``) and all parameters of ``model``; shared ones once."""
    trainable = total = 0
    for param in model.parameters():  # ``parameters()`` already skips tied duplicates
        n = _logical_numel(param)
        total += n
        if param.requires_grad:
            trainable += n
    return ParamCount(trainable=trainable, total=total)


def _quant_state_tensors(param: torch.Tensor) -> list[torch.Tensor]:
    """The side tensors a 4-bit weight needs to be dequantized: block scales (``absmax``) and,
    with double quantization, the scales of those scales. They are not parameters or buffers,
    so a plain sum over ``state_dict`` would miss them."""
    state = getattr(param, "quant_state", None)
    if state is None:
        return []
    tensors = [getattr(state, "absmax", None)]
    nested = getattr(state, "state2", None)
    if nested is not None:
        tensors += [getattr(nested, "absmax", None), getattr(state, "offset", None)]
    return [t for t in tensors if isinstance(t, torch.Tensor)]


def tensor_bytes(model: torch.nn.Module, by: str = "dtype") -> dict[str, int]:
    """Bytes held by ``model``'s parameters, buffers and 4-bit scale factors, grouped ``by``:

    * ``"dtype"``: ``{"float32": …, "uint8": …}`` — 4-bit weights appear as packed uint8;
    * ``"kind"``: ``{"parameters": …, "buffers": …, "quant_state": …}``;
    * ``"trainable"``: ``{"trainable": …, "frozen": …}`` (buffers and scales are frozen).
    """
    if by not in {"dtype", "kind", "trainable"}:
        raise ValueError(f"by must be 'dtype', 'kind' or 'trainable', not {by!r}")
    out: dict[str, int] = {}

    def add(tensor: torch.Tensor, kind: str, trainable: bool) -> None:
        key = {"dtype": str(tensor.dtype).replace("torch.", ""), "kind": kind,
               "trainable": "trainable" if trainable else "frozen"}[by]
        out[key] = out.get(key, 0) + tensor.numel() * tensor.element_size()

    seen: set[int] = set()
    for param in model.parameters():
        add(param, "parameters", param.requires_grad)
        for side in _quant_state_tensors(param):
            if id(side) not in seen:
                seen.add(id(side))
                add(side, "quant_state", False)
    for buffer in model.buffers():
        add(buffer, "buffers", False)
    return out


def model_memory_mb(model: torch.nn.Module) -> float:
    """MiB needed to hold the model's weights: parameters + buffers + 4-bit scale factors,
    with 4-bit weights at their packed size. Activations and optimizer state are not included."""
    return weight_bytes(model) / MB


def dir_size_mb(path: str | Path) -> float:
    """MiB of all files under ``path`` (or of ``path`` itself if it is a file), e.g. a saved
    adapter versus a saved full model."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size / MB
    if not path.exists():
        raise FileNotFoundError(path)
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / MB


@dataclass
class TrainingMemory:
    """What one training step keeps in memory, by what keeps it (the QLoRA paper's Figure 1 split).

    * ``weights``: parameters, buffers and 4-bit scale factors (``tensor_bytes``), frozen or not;
    * ``gradients``: one gradient per *trainable* parameter, in its dtype;
    * ``optimizer_state``: every tensor the optimizer keeps (AdamW: two per trainable parameter);
    * ``activations``: the tensors autograd saved during the forward pass to compute the backward
      pass, counted once per storage and without the weights (they are counted above); this is the
      largest step's value, since it grows with the batch's padded length.

    These are *counted* from the model, the optimizer and autograd, so they mean the same on every
    machine and do not depend on what ran before (a process's resident memory does both). They leave
    out the allocator's overhead, temporary buffers freed inside an operation, and on a GPU the CUDA
    context; ``peak_mb`` on a GPU is therefore torch's measured ``max_memory_allocated`` instead.
    """

    weights: int = 0
    gradients: int = 0
    optimizer_state: int = 0
    activations: int = 0

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer_state + self.activations

    def to_mb(self) -> dict[str, float]:
        """MiB per part plus ``"total"``, for a table or a stacked bar."""
        parts = {"weights": self.weights, "gradients": self.gradients,
                 "optimizer state": self.optimizer_state, "activations": self.activations,
                 "total": self.total}
        return {key: value / MB for key, value in parts.items()}

    def __str__(self) -> str:
        return ", ".join(f"{k} {v:.1f} MiB" for k, v in self.to_mb().items())


def _storage_key(tensor: torch.Tensor) -> tuple[str, int]:
    """Identity of the memory behind a tensor: views and the tensor itself share it."""
    storage = tensor.untyped_storage()
    return (str(tensor.device), storage.data_ptr())


class SavedActivations:
    """Context manager counting the bytes autograd saves for the backward pass inside the block.

    Uses ``torch.autograd.graph.saved_tensors_hooks``: every tensor an operation saves passes
    through ``pack``. A storage is counted once however many operations save it (a layer's input is
    often saved by several), and storages of ``exclude`` (the model's parameters) are skipped: a
    linear layer saves its weight to compute the input's gradient, but that memory is the weights'.
    Gradient checkpointing shows up as fewer saved bytes, because checkpointed layers save only
    their inputs and recompute the rest in the backward pass.
    """

    def __init__(self, exclude: Iterable[torch.Tensor] = ()) -> None:
        self._exclude = {_storage_key(t) for t in exclude}
        self._seen: set[tuple[str, int]] = set()
        self.bytes = 0
        self._hooks = None

    def _pack(self, tensor: torch.Tensor) -> torch.Tensor:
        try:
            key = _storage_key(tensor)
            size = tensor.untyped_storage().nbytes()
        except (RuntimeError, NotImplementedError):  # tensors without a plain storage (e.g. sparse)
            return tensor
        if key not in self._exclude and key not in self._seen:
            self._seen.add(key)
            self.bytes += size
        return tensor

    def __enter__(self) -> SavedActivations:
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda tensor: tensor)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._hooks.__exit__(*exc)


def gradient_bytes(params: Iterable[torch.Tensor]) -> int:
    """Bytes of the ``.grad`` tensors that currently exist."""
    return sum(p.grad.numel() * p.grad.element_size() for p in params if p.grad is not None)


def optimizer_state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes of every tensor in ``optimizer.state`` (AdamW: ``exp_avg`` and ``exp_avg_sq`` per
    parameter, plus a scalar ``step``; 8-bit and paged optimizers keep their own, smaller tensors)."""
    total = 0
    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, torch.Tensor):
                total += value.numel() * value.element_size()
    return total


def weight_bytes(model: torch.nn.Module) -> int:
    """Bytes of the model's weights: parameters, buffers and 4-bit scale factors (see ``tensor_bytes``)."""
    return sum(tensor_bytes(model, by="kind").values())


@dataclass
class PeakMemory:
    """Result of ``track_peak_memory``; ``peak_mb`` is filled in when the ``with`` block exits.

    ``method`` is ``"cuda_max_allocated"`` (peak bytes allocated by torch on the GPU during the
    block, weights included) or ``"unavailable"`` on a CPU, where a process's resident memory would
    depend on what ran before: count the parts of a training step with ``TrainingMemory`` instead.
    """

    method: str = ""
    start_mb: float = 0.0
    peak_mb: float = float("nan")

    def __str__(self) -> str:
        return f"peak memory: {self.peak_mb:.1f} MiB ({self.method})"


@contextmanager
def track_peak_memory(device: torch.device | str | None = None) -> Iterator[PeakMemory]:
    """Peak GPU memory allocated by torch inside the block (``torch.cuda.max_memory_allocated``
    after resetting its counter). On a CPU the result says ``"unavailable"``."""
    device = torch.device(device) if device is not None else torch.device(
        "cuda" if torch.cuda.is_available() else "cpu")
    result = PeakMemory()
    if device.type != "cuda":
        result.method = "unavailable"
        yield result
        return
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    result.method = "cuda_max_allocated"
    result.start_mb = torch.cuda.memory_allocated(device) / MB
    try:
        yield result
    finally:
        torch.cuda.synchronize(device)
        result.peak_mb = torch.cuda.max_memory_allocated(device) / MB
