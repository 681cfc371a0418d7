"""course.env: profile selection, precision choice, seeding, environment description."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from course.env import PROFILES, compute_dtype, describe_environment, get_profile, is_smoke, seed_everything


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in ("COURSE_PROFILE", "COURSE_SMOKE"):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.parametrize(
    ("env", "arg", "expected"),
    [
        ({"COURSE_SMOKE": "1"}, None, "smoke"),
        ({"COURSE_SMOKE": "1", "COURSE_PROFILE": "cpu"}, None, "cpu"),  # explicit env wins
        ({"COURSE_SMOKE": "1", "COURSE_PROFILE": "cpu"}, "gpu", "gpu"),  # argument wins
        ({"COURSE_SMOKE": "0"}, None, "gpu" if torch.cuda.is_available() else "cpu"),
        ({}, "SMOKE", "smoke"),
    ],
)
def test_profile_precedence(monkeypatch, env, arg, expected):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert get_profile(arg).name == expected


def test_unknown_profile_names_the_choices(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "laptop")
    with pytest.raises(ValueError, match=r"unknown course profile 'laptop'.*cpu.*gpu.*smoke"):
        get_profile()


def test_smoke_profile_is_smaller_than_cpu_profile():
    smoke, cpu = PROFILES["smoke"], PROFILES["cpu"]
    assert smoke.train_size < cpu.train_size and smoke.eval_size < cpu.eval_size
    assert smoke.max_steps is not None and smoke.max_steps <= 20
    assert PROFILES["gpu"].train_size is None  # the full split


def test_is_smoke_reads_env(monkeypatch):
    assert not is_smoke()
    monkeypatch.setenv("COURSE_SMOKE", "1")
    assert is_smoke()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU choice")
def test_compute_dtype_is_float32_on_cpu():
    assert compute_dtype() is torch.float32


def test_seed_everything_repeats_all_generators():
    def draw():
        return random.random(), float(np.random.rand()), torch.rand(3).tolist()

    seed_everything(123)
    first = draw()
    seed_everything(123)
    assert draw() == first
    seed_everything(124)
    assert draw() != first


def test_describe_environment_reports_versions_and_profile(monkeypatch):
    monkeypatch.setenv("COURSE_SMOKE", "1")
    info = describe_environment()
    assert info["torch"] == torch.__version__
    assert info["profile"] == "smoke"
    assert {"python", "transformers", "peft", "bitsandbytes", "device", "bf16", "colab"} <= set(info)


def test_pick_chooses_the_value_meant_for_the_profile():
    ranks = dict(cpu=[1, 4, 16, 64], gpu=[1, 2, 4, 8, 16, 32, 64], smoke=[1, 64])
    assert PROFILES["cpu"].pick(**ranks) == [1, 4, 16, 64]
    assert PROFILES["gpu"].pick(**ranks) == [1, 2, 4, 8, 16, 32, 64]
    assert PROFILES["smoke"].pick(**ranks) == [1, 64]
    assert PROFILES["gpu"].pick(cpu=30) == 30 and PROFILES["smoke"].pick(cpu=30, smoke=3) == 3


def test_comparisons_repeat_with_three_seeds_except_in_smoke_mode():
    assert PROFILES["cpu"].seeds == PROFILES["gpu"].seeds == (0, 1, 2)
    assert PROFILES["smoke"].seeds == (0,)


def test_start_lesson_prints_the_environment_and_returns_profile_and_device(monkeypatch, capsys):
    from course.env import start_lesson

    monkeypatch.setenv("COURSE_SMOKE", "1")
    profile, device = start_lesson(seed=3)
    printed = capsys.readouterr().out
    assert profile.name == "smoke" and device.type in {"cpu", "cuda"}
    assert "profile: smoke" in printed and "seeds=(0,)" in printed and "torch:" in printed
    first = torch.rand(2).tolist()
    seed_everything(3)
    assert torch.rand(2).tolist() == first  # start_lesson seeded everything
