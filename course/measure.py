"""Measuring what parameter-efficient fine-tuning saves: parameters, memory, bytes on disk.

The lessons make claims such as "LoRA trains 0.3 % of the weights" or "4-bit weights take an
eighth of the memory"; these functions produce the numbers behind those claims, counted the same
way in every lesson.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = [
    "ParamCount",
    "PeakMemory",
    "count_parameters",
    "dir_size_mb",
    "model_memory_mb",
    "tensor_bytes",
    "track_peak_memory",
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
    return sum(tensor_bytes(model, by="kind").values()) / MB


def dir_size_mb(path: str | Path) -> float:
    """MiB of all files under ``path`` (or of ``path`` itself if it is a file), e.g. a saved
    adapter versus a saved full model."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size / MB
    if not path.exists():
        raise FileNotFoundError(path)
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / MB


def _rss_bytes() -> int | None:
    """Resident set size of this process, from psutil or /proc; None where neither exists."""
    try:
        import psutil  # noqa: PLC0415 — optional dependency
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.Process(os.getpid()).memory_info().rss)
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _reset_rss_high_water_mark() -> bool:
    """Reset the kernel's peak-RSS counter (Linux: writing 5 to /proc/self/clear_refs); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _rss_high_water_bytes() -> int | None:
    """The kernel's peak RSS since the last reset (``VmHWM`` in /proc/self/status), or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


@dataclass
class PeakMemory:
    """Result of ``track_peak_memory``; fields are filled in when the ``with`` block exits.

    ``method`` says what was measured: ``"cuda_max_allocated"`` (peak bytes allocated by torch on
    the GPU during the block — weights included, so compare runs that start from the same model
    state) or ``"rss_growth"`` (CPU: highest resident memory of the process during the block
    minus its value at the start, from the kernel's high-water mark on Linux and sampled every few
    milliseconds elsewhere — weights loaded before the
    block are not counted, and allocator caching makes it approximate).
    """

    method: str = ""
    start_mb: float = 0.0
    peak_mb: float = float("nan")

    def __str__(self) -> str:
        return f"peak memory: {self.peak_mb:.1f} MiB ({self.method})"


@contextmanager
def track_peak_memory(device: torch.device | str | None = None,
                      interval_s: float = 0.01) -> Iterator[PeakMemory]:
    """Measure the peak memory of the code in the ``with`` block.

    On a CUDA ``device`` (default: CUDA when available) this is ``torch.cuda.max_memory_allocated``
    after resetting the peak counter. On the CPU it is the peak growth of the process's resident
    memory: on Linux the kernel's own high-water mark, reset at the start of the block, so even an
    allocation freed between two samples is counted; elsewhere a background thread samples it
    (``resource.getrusage`` would only give the high-water mark since the process started, which
    hides everything below an earlier, larger peak). Nested blocks reset the kernel's counter, so
    an outer block then relies on its samples for what came before the inner one.
    """
    device = torch.device(device) if device is not None else torch.device(
        "cuda" if torch.cuda.is_available() else "cpu")
    result = PeakMemory()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        result.method = "cuda_max_allocated"
        result.start_mb = torch.cuda.memory_allocated(device) / MB
        try:
            yield result
        finally:
            torch.cuda.synchronize(device)
            result.peak_mb = torch.cuda.max_memory_allocated(device) / MB
        return

    result.method = "rss_growth"
    start = _rss_bytes()
    if start is None:
        result.method = "unavailable"
        yield result
        return
    result.start_mb = start / MB
    peak = [start]
    kernel_mark = _reset_rss_high_water_mark()
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            rss = _rss_bytes()
            if rss is not None and rss > peak[0]:
                peak[0] = rss
            time.sleep(interval_s)

    sampler = threading.Thread(target=sample, name="course-peak-memory", daemon=True)
    sampler.start()
    try:
        yield result
    finally:
        stop.set()
        sampler.join()
        end = _rss_bytes()
        high_water = _rss_high_water_bytes() if kernel_mark else None
        peak[0] = max(peak[0], end or 0, high_water or 0)
        result.peak_mb = (peak[0] - start) / MB
