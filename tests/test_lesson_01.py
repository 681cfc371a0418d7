"""Lesson 1 (LoRA from scratch) runs top to bottom in smoke mode and shows what it claims.

Why these tests: the lesson's prose refers to numbers its cells print (zero output change at
initialisation, parity with PEFT, identical merged outputs, the parameter count formula). If a
library upgrade or an edit breaks one of those, the lesson would teach something false without
failing, so each tagged output is parsed and checked here. The Colab set-up cell and the
committed file are checked for every lesson in test_lessons_committed.py.
"""
from __future__ import annotations

import re

import pytest

from notebook_exec import ROOT, cells_tagged, execute_lesson, has_image, output_text, tagged_text, widget_views

NOTEBOOK = ROOT / "notebooks" / "01_lora_from_scratch.ipynb"
FLOAT = r"([0-9.]+(?:e[-+]?\d+)?)"


def number_after(text: str, label: str) -> float:
    """The first number printed after ``label`` (a literal string) in ``text``."""
    match = re.search(re.escape(label) + r"\s*" + FLOAT, text)
    assert match, f"{label!r} not found in output:\n{text}"
    return float(match.group(1))


@pytest.fixture(scope="module")
def executed():
    """The notebook executed once in smoke mode for every test of this module.

    The kernel starts in notebooks/, so the checkout's own ``course`` and ``grader`` packages are put
    on its path: the test checks this repository's code, not some installed copy.
    """
    return execute_lesson(NOTEBOOK)


# --- the executed lesson ----------------------------------------------------------------------

@pytest.mark.slow
def test_params_plot_uses_real_shapes(executed):
    cell = cells_tagged(executed, "params-plot")[0]
    assert has_image(cell)
    text = output_text(cell)
    # 384×384 query: r(d+k)/(dk) = 8·768/147456 and break-even rank 384·384/768.
    assert "MiniLM query 384×384 (this model): r=8 trains 4.17% of the layer; break-even rank r* = 192" in text
    assert "LLaMA-7B q_proj 4096×4096: r=8 trains 0.39% of the layer; break-even rank r* = 2048" in text


@pytest.mark.slow
def test_zero_init_leaves_output_unchanged_and_only_b_gets_gradient(executed):
    text = tagged_text(executed, "zero-init-check")
    assert number_after(text, "B = 0:      max |LinearWithLoRA(x) - query(x)| =") == 0.0
    assert number_after(text, "B random:   max |LinearWithLoRA(x) - query(x)| =") > 1e-2
    assert number_after(text, "|dL/dA| =") == 0.0
    assert number_after(text, "|dL/dB| =") > 0.0


@pytest.mark.slow
def test_alpha_over_r_decouples_progress_from_rank(executed):
    cell = cells_tagged(executed, "alpha-scaling")[0]
    assert has_image(cell)
    text = output_text(cell)
    spread_peft = number_after(text, "α/r (PEFT): most / least progress across ranks 1–64 =")
    spread_quiz = number_after(text, "α (quiz): most / least progress across ranks 1–64 =")
    spread_rs = number_after(text, "α/√r (rsLoRA): most / least progress across ranks 1–64 =")
    # The prose says: α/r is the flattest, α/√r lies between, the quiz's α grows the most.
    assert spread_peft < spread_rs < spread_quiz


@pytest.mark.slow
def test_trainable_parameter_count_matches_formula(executed):
    text = tagged_text(executed, "lora-params")
    # 12 wrapped layers × 8·(384+384) + classifier 384·2+2.
    assert "counted: 74,498 trainable of 22,787,714" in text
    assert "full fine-tuning" in text


@pytest.mark.slow
def test_training_table_has_both_runs(executed):
    text = tagged_text(executed, "lora-train")
    assert "head only" in text and "hand-written LoRA r=8 + head" in text


@pytest.mark.slow
def test_hand_written_layer_matches_peft(executed):
    text = tagged_text(executed, "peft-parity")
    assert number_after(text, "one layer, same hidden states:      max |ours - PEFT| =") < 1e-5
    assert re.search(r"whole model, \d+ sentences, logits: max \|ours - PEFT\| = ", text)
    assert float(re.search(r"logits: max \|ours - PEFT\| = " + FLOAT, text).group(1)) < 1e-5
    assert "same predictions: True" in text


@pytest.mark.slow
def test_merged_model_matches_and_has_no_lora_left(executed):
    text = tagged_text(executed, "merge-check")
    assert number_after(text, "max |merged - unmerged| logits =") < 1e-5
    assert "LoRA modules left in the merged model: 0" in text
    assert "parameters: 22,713,986 (the original model had 22,713,986)" in text


@pytest.mark.slow
def test_latency_is_reported(executed):
    assert "Measured here: unmerged LoRA takes" in tagged_text(executed, "latency-table")


@pytest.mark.slow
def test_self_check_shows_the_chosen_questions(executed):
    text = output_text([c for c in executed.cells if c.cell_type == "code"][-1])
    for bank in ("day48-lora-qlora", "ibm-peft-graded-quiz", "coursera-peft-graded-quiz"):
        assert bank in text
    for question in ("[q1]", "[q2]", "[q3]", "[q4]", "[q5]"):
        assert question in text
    assert widget_views([c for c in executed.cells if c.cell_type == "code"][-1]) == 3
