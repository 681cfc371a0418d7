"""course.measure: parameter counts (plain and peft), tensor bytes, disk size, peak memory."""
from __future__ import annotations

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import BertConfig, BertForSequenceClassification

from course.measure import (
    ParamCount,
    count_parameters,
    dir_size_mb,
    model_memory_mb,
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


def test_track_peak_memory_on_cpu_sees_a_temporary_allocation():
    with track_peak_memory("cpu") as small:
        pass
    with track_peak_memory("cpu") as big:
        block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched so it is resident
        assert block.sum().item() > 0
        del block
    assert big.method == small.method == "rss_growth"
    assert big.peak_mb >= 50
    assert small.peak_mb < 50
