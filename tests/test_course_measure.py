"""course.measure: parameter counts (plain and peft), tensor bytes, disk size, peak memory."""
from __future__ import annotations

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import BertConfig, BertForSequenceClassification

from course.measure import (
    ParamCount,
    SavedActivations,
    TrainingMemory,
    count_parameters,
    dir_size_mb,
    gradient_bytes,
    model_memory_mb,
    optimizer_state_bytes,
    tensor_bytes,
    track_peak_memory,
)

HIDDEN, LAYERS, VOCAB = 32, 2, 100


@pytest.fixture
def tiny_bert():
    torch.manual_seed(0)
    config = BertConfig(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=32,
                        num_labels=2)
    return BertForSequenceClassification(config)


def test_count_parameters_plain_module():
    layer = torch.nn.Linear(10, 4)
    layer.bias.requires_grad_(False)
    count = count_parameters(layer)
    assert count == ParamCount(trainable=40, total=44)
    assert count.percent == pytest.approx(100 * 40 / 44)
    assert str(count) == "trainable params: 40 || all params: 44 || trainable: 90.9091%"


@pytest.mark.parametrize(("rank", "targets"),
                         [(4, ["query", "value"]), (1, ["query"]), (8, ["query", "key", "value", "dense"])])
def test_count_parameters_on_lora_model(tiny_bert, rank, targets):
    base_total = count_parameters(tiny_bert).total
    # every targeted linear gets A (r x in) and B (out x r); all are HIDDEN wide except the
    # feed-forward "dense" layers (HIDDEN -> 64 -> HIDDEN)
    lora = sum(rank * (m.in_features + m.out_features) for name, m in tiny_bert.named_modules()
               if isinstance(m, torch.nn.Linear) and name.split(".")[-1] in targets)
    model = get_peft_model(tiny_bert, LoraConfig(r=rank, lora_alpha=8, target_modules=targets,
                                                 task_type="SEQ_CLS"))
    head = HIDDEN * 2 + 2  # peft trains a copy of the classifier for SEQ_CLS
    count = count_parameters(model)
    assert count.trainable == lora + head
    assert count.total == base_total + lora + head
    assert (count.trainable, count.total) == model.get_nb_trainable_parameters()


def test_tensor_bytes_groupings():
    layer = torch.nn.Linear(10, 4)
    layer.bias.requires_grad_(False)
    layer.register_buffer("steps", torch.zeros(3, dtype=torch.int64))
    assert tensor_bytes(layer) == {"float32": 44 * 4, "int64": 3 * 8}
    assert tensor_bytes(layer, by="kind") == {"parameters": 176, "buffers": 24}
    assert tensor_bytes(layer, by="trainable") == {"trainable": 160, "frozen": 16 + 24}
    assert model_memory_mb(layer) == pytest.approx(200 / 2**20)
    with pytest.raises(ValueError, match="by must be"):
        tensor_bytes(layer, by="layer")


def test_half_precision_halves_model_memory(tiny_bert):
    full = model_memory_mb(tiny_bert)
    assert model_memory_mb(tiny_bert.half()) == pytest.approx(full / 2, rel=0.01)


def test_dir_size_mb(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.bin").write_bytes(b"x" * 2**20)
    (tmp_path / "sub" / "b.bin").write_bytes(b"x" * 2**19)
    assert dir_size_mb(tmp_path) == pytest.approx(1.5)
    assert dir_size_mb(tmp_path / "a.bin") == pytest.approx(1.0)
    with pytest.raises(FileNotFoundError):
        dir_size_mb(tmp_path / "missing")


def test_saved_activations_counts_what_backward_needs_and_not_the_weights():
    layer = torch.nn.Linear(10, 4)
    x = torch.randn(8, 10)
    with SavedActivations(exclude=layer.parameters()) as saved:
        out = torch.relu(layer(x))
    # linear saves its input (8x10 floats) and its weight (excluded); relu saves its output (8x4)
    assert saved.bytes == 8 * 10 * 4 + 8 * 4 * 4
    out.sum().backward()  # the hooks returned the tensors unchanged: backward still works
    assert layer.weight.grad is not None
    with torch.no_grad(), SavedActivations(exclude=layer.parameters()) as nothing:
        layer(x)
    assert nothing.bytes == 0


def test_saved_activations_counts_a_shared_storage_once():
    x = torch.randn(16, 16, requires_grad=True)
    with SavedActivations() as saved:
        (x * x).sum()  # mul saves both operands: the same tensor
    assert saved.bytes == 16 * 16 * 4


def test_gradient_and_optimizer_state_bytes():
    layer = torch.nn.Linear(10, 4)  # 44 parameters
    optimizer = torch.optim.AdamW(layer.parameters(), lr=1e-3)
    assert gradient_bytes(layer.parameters()) == 0 and optimizer_state_bytes(optimizer) == 0
    layer(torch.randn(2, 10)).sum().backward()
    assert gradient_bytes(layer.parameters()) == 44 * 4
    optimizer.step()
    # AdamW: exp_avg and exp_avg_sq per parameter, plus one scalar step counter per tensor
    steps = sum(state["step"].numel() * state["step"].element_size() for state in optimizer.state.values())
    assert optimizer_state_bytes(optimizer) == 2 * 44 * 4 + steps


def test_training_memory_parts_and_total():
    memory = TrainingMemory(weights=3 * 2**20, gradients=2**20, optimizer_state=2 * 2**20, activations=2**19)
    parts = memory.to_mb()
    assert parts == {"weights": 3.0, "gradients": 1.0, "optimizer state": 2.0, "activations": 0.5, "total": 6.5}
    assert "total 6.5 MiB" in str(memory)


def test_track_peak_memory_is_cuda_only():
    with track_peak_memory("cpu") as peak:
        torch.ones(1000)
    assert peak.method == "unavailable"
