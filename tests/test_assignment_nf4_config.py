"""The assignment's `nf4-config` question accepts what lesson 4 teaches and rejects what quantizes the pooler.

Why: transformers 5 matches `llm_int8_skip_modules` entries as a prefix, a suffix or a regular
expression over the full module name, so `["classifier", "pooler"]` leaves `bert.pooler.dense`
quantized. The question's hidden check asks the installed transformers which modules a student's list
keeps, instead of comparing the list with one spelling, so every list that keeps the right modules
earns the points.
"""
from __future__ import annotations

import csv

import pytest

from grader import load_bank
from grader.grading import grade_submissions

from paths import ROOT
from synthetic import filled_notebook, write

BODY = ("import torch\nfrom transformers import BitsAndBytesConfig\n\ndef make_bnb_config():\n"
        "    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type='nf4', bnb_4bit_use_double_quant=True,\n"
        "                              bnb_4bit_compute_dtype=torch.bfloat16, llm_int8_skip_modules={skip!r})\n")
LISTS = {  # name: (skip list, keeps classifier and bert.pooler.dense with transformers 5)
    "lesson_04_list": (["classifier", "pooler", ".*pooler"], True),
    "full_module_name": (["classifier", "bert.pooler.dense"], True),
    "prefix": (["classifier", "bert.pooler"], True),
    "plain_pooler": (["classifier", "pooler"], False),
    "head_only": (["classifier"], False),
    "everything_kept": (["classifier", "bert"], False),  # leaves the encoder unquantized too
}


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    import transformers

    if int(transformers.__version__.split(".")[0]) < 5:
        pytest.skip("the expected verdicts below are those of transformers 5's matching rule")
    bank = load_bank(ROOT / "quizzes" / "lora-assignment.yaml").subset(["nf4-config"])
    subs = tmp_path_factory.mktemp("nf4") / "subs"
    subs.mkdir()
    for name, (skip, _) in LISTS.items():
        write(filled_notebook(bank, {"nf4-config": BODY.format(skip=skip)}), subs / f"{name}.ipynb")
    out = subs.parent / "out"
    grade_submissions(bank=bank, submissions=[subs], out_dir=out, progress=False, jobs=1,
                      bank_path=ROOT / "quizzes" / "lora-assignment.yaml")
    return {row["student"]: row for row in csv.DictReader((out / "grades.csv").open())}


@pytest.mark.parametrize("name", sorted(LISTS))
def test_skip_check_follows_what_transformers_keeps(rows, name):
    bank = load_bank(ROOT / "quizzes" / "lora-assignment.yaml")
    question = bank.question("nf4-config")
    skip_share = question.points / len(question.checks)
    expected = question.points if LISTS[name][1] else question.points - skip_share
    assert float(rows[name]["q:nf4-config"]) == pytest.approx(expected), rows[name]["reason"]
