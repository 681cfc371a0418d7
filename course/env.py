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
from typing import Any

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
    "start_lesson",
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


_UNSET: Any = object()


@dataclass(frozen=True)
class Profile:
    """How much work a lesson does: the one budget every lesson and every training run reads.

    ``None`` sizes mean "the whole split". ``max_steps`` is the number of optimizer steps of one
    training run (``None``: run ``epochs`` full epochs). ``seeds`` are the seeds every comparison is
    repeated with, so each number comes with its spread. What a lesson sweeps (which ranks, which
    alphas) is chosen per profile with :meth:`pick`, so a lesson never keeps its own budget table.
    """

    name: str
    train_size: int | None
    eval_size: int | None
    max_length: int
    batch_size: int
    epochs: int
    max_steps: int | None
    eval_batch_size: int
    seeds: tuple[int, ...] = (0,)

    def pick(self, cpu: Any, *, gpu: Any = _UNSET, smoke: Any = _UNSET) -> Any:
        """The value meant for this profile: ``pick(cpu=[1, 4, 16, 64], gpu=[1, 2, 4, 8, 16, 32, 64])``.

        ``gpu`` and ``smoke`` default to the ``cpu`` value, so a lesson names only what differs:
        typically a GPU sweeps more points and smoke mode fewer.
        """
        chosen = {"gpu": gpu, "smoke": smoke}.get(self.name, _UNSET)
        return cpu if chosen is _UNSET else chosen

    def to_dict(self) -> dict:
        """Plain dict, for printing in a lesson's first cell."""
        return asdict(self)


#: The three built-in profiles. ``smoke`` keeps a training run to a few seconds on 2 CPU cores and
#: only proves that every cell runs; ``cpu`` keeps a lesson within 15 minutes on a 2-core laptop (one
#: epoch over 2,000 reviews: 63 steps of 32); ``gpu`` trains on the full data. Every comparison is
#: repeated with each of ``seeds`` (one seed in smoke mode, whose numbers are noise anyway).
PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", train_size=256, eval_size=64, max_length=48, batch_size=16,
                     epochs=1, max_steps=4, eval_batch_size=64, seeds=(0,)),
    "cpu": Profile("cpu", train_size=2000, eval_size=300, max_length=64, batch_size=32,
                   epochs=1, max_steps=None, eval_batch_size=128, seeds=(0, 1, 2)),
    "gpu": Profile("gpu", train_size=None, eval_size=None, max_length=128, batch_size=32,
                   epochs=2, max_steps=None, eval_batch_size=256, seeds=(0, 1, 2)),
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


def start_lesson(seed: int = 0, *, quiet: bool = True) -> tuple[Profile, torch.device]:
    """The set-up every lesson runs first: print where it runs, seed everything, quiet the libraries.

    Returns ``(profile, device)``. With ``quiet`` the transformers load report ("some weights were
    newly initialised": we know, the head is new) and its progress bars are switched off, and two
    messages that peft and bitsandbytes emit on every run but that change nothing here are
    filtered, so a lesson's outputs show its results rather than library chatter.
    """
    if quiet:
        import logging  # noqa: PLC0415
        import warnings  # noqa: PLC0415

        from transformers.utils import logging as hf_logging  # noqa: PLC0415 — heavy, lessons only

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        # peft reads transformers' deprecated ``is_gradient_checkpointing`` (a FutureWarning in transformers 5).
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
        # On a CPU without the optional ``kernels`` package bitsandbytes logs at import that it falls back
        # to its built-in 4-bit matmul; lesson 4 explains what that costs.
        logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    profile, device = get_profile(), get_device()
    seed_everything(seed)
    for key, value in describe_environment().items():
        print(f"{key:>14}: {value}")
    print(f"{'sizes':>14}: {', '.join(f'{k}={v}' for k, v in profile.to_dict().items() if k != 'name')}")
    return profile, device
