"""Where a lesson runs: device, precision, seeding and the size profile.

Every lesson runs in three settings — Colab on a GPU, a laptop CPU, and CI in smoke mode — and
this module is the one place that decides how big the work is in each, so lessons never repeat
``if torch.cuda.is_available()`` branches or hard-code subset sizes.
"""
from __future__ import annotations

import importlib.util
import os
import platform
import random
from dataclasses import asdict, dataclass
from importlib import metadata

import numpy as np
import torch

__all__ = [
    "PROFILES",
    "Profile",
    "bf16_supported",
    "compute_dtype",
    "describe_environment",
    "get_device",
    "get_profile",
    "is_colab",
    "is_smoke",
    "seed_everything",
]


def is_colab() -> bool:
    """True inside Google Colab (its ``google.colab`` module is importable only there)."""
    try:
        return importlib.util.find_spec("google.colab") is not None
    except (ModuleNotFoundError, ValueError):
        # ``find_spec`` imports the parent package ``google``; a missing or odd one means "no".
        return False


def is_smoke() -> bool:
    """True when ``COURSE_SMOKE=1``: CI runs every lesson on tiny subsets to check it executes."""
    return os.environ.get("COURSE_SMOKE", "").strip().lower() in {"1", "true", "yes", "on"}


def get_device() -> torch.device:
    """The GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def bf16_supported() -> bool:
    """True on GPUs with native bfloat16 (Ampere and newer: A100, L4, H100…), False elsewhere."""
    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False))


def compute_dtype() -> torch.dtype:
    """The dtype for mixed-precision compute on this machine.

    * bfloat16 on GPUs that support it: same exponent range as float32, so no loss scaling.
    * float16 on older GPUs such as Colab's T4, which has no bfloat16 units. float16 has a narrow
      exponent range: small gradients underflow to zero, so training in fp16 needs a
      ``torch.amp.GradScaler`` that multiplies the loss before ``backward`` and unscales after
      (``course.training`` does this for you).
    * float32 on the CPU: CPU autocast gains little for a small encoder and fp16 on CPU is slow.
    """
    if not torch.cuda.is_available():
        return torch.float32
    return torch.bfloat16 if bf16_supported() else torch.float16


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and every GPU) so a run can be repeated.

    Also asks cuDNN for deterministic kernels, which is cheap for the small models used here.
    Fully deterministic GPU training would additionally need ``torch.use_deterministic_algorithms``,
    which slows some ops and errors on others, so it is left off on purpose.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


@dataclass(frozen=True)
class Profile:
    """How much work a lesson does. ``None`` sizes mean "the whole split".

    ``max_steps`` caps the number of optimizer steps (``None``: run ``epochs`` full epochs).
    """

    name: str
    train_size: int | None
    eval_size: int | None
    max_length: int
    batch_size: int
    epochs: int
    max_steps: int | None
    eval_batch_size: int

    def to_dict(self) -> dict:
        """Plain dict, for printing in a lesson's first cell."""
        return asdict(self)


#: The three built-in profiles. ``smoke`` keeps a training run to a few seconds on 2 CPU cores;
#: ``cpu`` keeps a whole lesson to about ten minutes on a laptop; ``gpu`` uses the full data.
PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", train_size=256, eval_size=128, max_length=48, batch_size=16,
                     epochs=1, max_steps=8, eval_batch_size=64),
    "cpu": Profile("cpu", train_size=2000, eval_size=500, max_length=64, batch_size=32,
                   epochs=1, max_steps=None, eval_batch_size=128),
    "gpu": Profile("gpu", train_size=None, eval_size=None, max_length=128, batch_size=32,
                   epochs=3, max_steps=None, eval_batch_size=256),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile to use: ``name`` → env ``COURSE_PROFILE`` → ``smoke`` if ``COURSE_SMOKE=1`` →
    ``gpu`` if CUDA is available → ``cpu``.

    An explicit choice wins over the automatic one so a student on a GPU can still try the quick
    ``cpu`` profile, and CI can force ``smoke``.
    """
    chosen = name or os.environ.get("COURSE_PROFILE", "").strip() or None
    if chosen is None:
        chosen = "smoke" if is_smoke() else ("gpu" if torch.cuda.is_available() else "cpu")
    try:
        return PROFILES[chosen.lower()]
    except KeyError:
        raise ValueError(
            f"unknown course profile {chosen!r}; choose one of {sorted(PROFILES)} "
            "(argument or COURSE_PROFILE environment variable)"
        ) from None


def _version(dist: str) -> str | None:
    """Installed version of a distribution, or None when it is not installed."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def describe_environment() -> dict:
    """What this lesson runs on, for its first cell: versions, device, precision and profile.

    Printing this first makes a student's bug report self-explaining ("it fails on T4 with
    bitsandbytes None").
    """
    device = get_device()
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        device_name = f"{props.name} ({props.total_memory / 2**30:.0f} GiB)"
    else:
        device_name = f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": _version("transformers"),
        "peft": _version("peft"),
        "bitsandbytes": _version("bitsandbytes"),
        "device": device_name,
        "bf16": bf16_supported(),
        "compute_dtype": str(compute_dtype()).replace("torch.", ""),
        "colab": is_colab(),
        "profile": get_profile().name,
    }
