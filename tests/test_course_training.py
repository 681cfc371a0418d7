"""course.training: a tiny run of the real loop on a tiny BERT, results and tables."""
from __future__ import annotations

import math

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from course.data import Example, SentimentData, load_sentiment
from course.env import PROFILES
from course.models import load_classifier, load_tokenizer
from course.training import TrainResult, evaluate, predict, results_table, train_classifier, train_seeds

SMOKE = PROFILES["smoke"]
HIDDEN = 64


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A 2-layer, 64-wide BERT with the course tokenizer, saved like a hub checkpoint.

    No dropout and a wide initialisation, so that a random model separates 16 easy reviews
    within the smoke profile's 8 steps (at BERT's 0.02 the signal barely reaches the head).
    """
    tokenizer = load_tokenizer()
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=HIDDEN, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=2 * HIDDEN,
                        max_position_embeddings=64, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0, initializer_range=0.2)
    path = tmp_path_factory.mktemp("tiny-bert")
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def easy_data():
    """Plain one-clause reviews without negation: words alone decide, so a tiny model can fit them."""
    negations = ("not", "n't", "never", "hardly", "far from", "anything but", "by no means",
                 "could", "neither", "only", "better", "worse")
    pool = load_sentiment(profile=PROFILES["gpu"]).train
    easy = [ex for ex in pool if ex.kind == "single" and not any(w in ex.text.lower() for w in negations)]
    by_label = {y: [ex for ex in easy if ex.label == y][:8] for y in (0, 1)}
    train = [ex for pair in zip(by_label[0], by_label[1]) for ex in pair]
    return SentimentData(train=train, validation=train, test=train, name="easy")


def test_smoke_run_returns_a_well_formed_result(monkeypatch, tiny_model_dir, easy_data):
    monkeypatch.setenv("COURSE_SMOKE", "1")
    tokenizer = load_tokenizer(tiny_model_dir)
    # transformers' own [CLS]+pooler class: this randomly initialised 2-layer encoder fits the 16 reviews within
    # smoke mode's 4 steps that way; the course's mean-pooling default needs the pretrained encoder (the lessons).
    model = load_classifier(tiny_model_dir, device="cpu", seed=0, pooling="cls")
    before = evaluate(model, tokenizer, easy_data.validation)
    result = train_classifier(model, tokenizer, easy_data, lr=2e-3, max_steps=50, eval_every=2,
                              label="tiny", progress=False, extra={"rank": 0})
    assert isinstance(result, TrainResult)
    assert result.steps == SMOKE.max_steps == len(result.train_losses)  # smoke caps the run
    assert all(math.isfinite(x) for x in result.train_losses)
    assert result.train_losses[-1] < 0.5 * result.train_losses[0]
    assert result.eval_loss < before["loss"]
    assert result.accuracy >= 0.9 and result.test_accuracy >= 0.9
    assert [step for step, _, _ in result.eval_history] == [2, 4]
    assert result.trainable_params == result.total_params > 0
    assert result.trainable_percent == 100.0
    assert result.wall_time_s > 0 and result.examples_per_s > 0
    # memory is counted, not sampled: full fine-tuning keeps one gradient and two AdamW moments per weight
    weights_mb = result.total_params * 4 / 2**20
    assert result.memory["gradients"] == pytest.approx(weights_mb)
    assert result.memory["optimizer state"] == pytest.approx(2 * weights_mb, rel=0.01)
    assert result.memory["activations"] > 0
    assert result.peak_memory_mb == pytest.approx(result.memory["total"])
    assert result.extra["memory_method"] == "counted"
    row = result.to_dict()
    assert row["rank"] == 0 and row["label"] == "tiny" and row["steps"] == SMOKE.max_steps
    assert "train_losses" not in row
    assert "<table>" in result._repr_html_()


def test_frozen_parameters_stay_frozen(tiny_model_dir, easy_data):
    tokenizer = load_tokenizer(tiny_model_dir)
    model = load_classifier(tiny_model_dir, device="cpu", seed=0)
    for name, param in model.named_parameters():
        param.requires_grad_(name.startswith("classifier"))
    frozen_before = model.bert.encoder.layer[0].attention.self.query.weight.clone()
    head_before = model.classifier.weight.clone()
    result = train_classifier(model, tokenizer, easy_data, lr=1e-2, max_steps=3, progress=False,
                              profile=SMOKE)
    assert torch.equal(model.bert.encoder.layer[0].attention.self.query.weight, frozen_before)
    assert not torch.equal(model.classifier.weight, head_before)
    assert result.trainable_params == HIDDEN * 2 + 2


def test_training_is_reproducible_and_accepts_an_optimizer_factory(tiny_model_dir, easy_data):
    tokenizer = load_tokenizer(tiny_model_dir)
    runs = []
    for optimizer in ("adamw", "adamw", torch.optim.SGD):
        model = load_classifier(tiny_model_dir, device="cpu", seed=0)
        runs.append(train_classifier(model, tokenizer, easy_data, lr=1e-3, max_steps=3,
                                     optimizer=optimizer, progress=False, profile=SMOKE, seed=1))
    assert runs[0].train_losses == runs[1].train_losses
    assert runs[2].train_losses != runs[0].train_losses
    assert runs[2].extra["optimizer"] == "SGD"
    with pytest.raises(ValueError, match="unknown optimizer 'adam'"):
        train_classifier(model, tokenizer, easy_data, lr=1e-3, optimizer="adam", progress=False)


def test_lora_memory_is_the_adapters_not_the_model(tiny_model_dir, easy_data):
    from peft import LoraConfig, get_peft_model

    tokenizer = load_tokenizer(tiny_model_dir)
    full = train_classifier(load_classifier(tiny_model_dir, device="cpu", seed=0), tokenizer, easy_data,
                            lr=1e-3, max_steps=2, progress=False, profile=SMOKE)
    lora_model = get_peft_model(load_classifier(tiny_model_dir, device="cpu", seed=0),
                                LoraConfig(r=2, target_modules=["query", "value"], task_type="SEQ_CLS"))
    lora = train_classifier(lora_model, tokenizer, easy_data, lr=1e-3, max_steps=2, progress=False, profile=SMOKE)
    trainable_mb = lora.trainable_params * 4 / 2**20
    assert lora.memory["gradients"] == pytest.approx(trainable_mb)
    assert lora.memory["gradients"] < full.memory["gradients"] / 10
    assert lora.memory["weights"] >= full.memory["weights"]  # the frozen base is still held in full


def test_train_seeds_repeats_a_setting_and_keeps_chosen_models(tiny_model_dir, easy_data):
    tokenizer = load_tokenizer(tiny_model_dir)
    results = train_seeds(lambda seed: load_classifier(tiny_model_dir, device="cpu", seed=seed), tokenizer,
                          easy_data, seeds=(0, 1), lr=1e-3, max_steps=2, progress=False, profile=SMOKE,
                          label="full", extra={"method": "full"}, keep=lambda seed: seed == 1)
    assert [r.extra["seed"] for r in results] == [0, 1]
    assert results[0].train_losses != results[1].train_losses  # different heads and batch order
    assert results[0].model is None and results[1].model is not None
    assert {"method", "seed"} <= set(results[0].to_dict()) and "model" not in results[0].to_dict()


def test_predict_and_results_table(tiny_model_dir, easy_data):
    tokenizer = load_tokenizer(tiny_model_dir)
    model = load_classifier(tiny_model_dir, device="cpu", seed=0)
    preds = predict(model, tokenizer, [ex.text for ex in easy_data.test])
    assert len(preds) == len(easy_data.test) and set(preds) <= {0, 1}
    single = predict(model, tokenizer, "A single review.")
    assert single == predict(model, tokenizer, ["A single review."]) and len(single) == 1
    results = [train_classifier(load_classifier(tiny_model_dir, device="cpu", seed=s), tokenizer,
                                easy_data, lr=1e-3, max_steps=2, progress=False, profile=SMOKE,
                                label=f"seed {s}", extra={"seed": s}) for s in (0, 1)]
    table = results_table(results)
    assert list(table["label"]) == ["seed 0", "seed 1"]
    assert {"accuracy", "test_accuracy", "trainable_params", "steps", "seed"} <= set(table.columns)


def test_empty_inputs_are_rejected(tiny_model_dir):
    tokenizer = load_tokenizer(tiny_model_dir)
    model = load_classifier(tiny_model_dir, device="cpu")
    empty = SentimentData(train=[], validation=[Example("x", 0)], test=[Example("x", 0)])
    with pytest.raises(ValueError, match="data.train is empty"):
        train_classifier(model, tokenizer, empty, lr=1e-3, progress=False)
    with pytest.raises(ValueError, match="at least one example"):
        evaluate(model, tokenizer, [])
