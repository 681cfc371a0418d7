"""``python -m grader grade`` on notebooks with code questions, run as an instructor would."""
from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from grader import load_bank

from paths import ROOT
from synthetic import BROKEN, PARTLY_WRONG, correct_answers, filled_notebook, write

BANK = ROOT / "quizzes" / "lora-assignment.yaml"


def grade(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", "grade", "--bank", str(BANK), "--no-progress", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def rows(out: Path) -> dict[str, dict[str, str]]:
    return {r["student"]: r for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    bank = load_bank(BANK)
    base = tmp_path_factory.mktemp("autograde")
    subs = base / "subs"
    subs.mkdir()
    good = correct_answers(bank)
    write(filled_notebook(bank, good), subs / "ana.ipynb")
    write(filled_notebook(bank, {**good, **PARTLY_WRONG}), subs / "ben.ipynb")
    write(filled_notebook(bank, {**good, **BROKEN}), subs / "cat.ipynb")
    colab = filled_notebook(bank, good, student="dee")  # Colab: sources as line lists, cells shuffled, metadata dropped
    for cell in colab["cells"]:
        cell["metadata"] = {}
        cell["source"] = cell["source"].splitlines(keepends=True)
    colab["cells"].reverse()
    colab["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 3,
                           "source": "# answer: count-params\ndef count_lora_params(d, k, r):\n    return d * k\n"})
    write(colab, subs / "dee-colab.ipynb")
    (subs / "eve.ipynb").write_text('{"cells": [', encoding="utf-8")
    (subs / "fay.ipynb").write_text("", encoding="utf-8")
    out = base / "out"
    proc = grade("--out", str(out), "--jobs", "2", str(subs))
    return bank, base, subs, out, proc


def test_every_submission_gets_the_points_it_deserves(first_run):
    bank, _, _, out, proc = first_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = rows(out)
    assert set(got) == {"ana", "ben", "cat", "dee-colab", "eve", "fay"}  # the file's name decides, not its metadata
    assert float(got["ana"]["score"]) == bank.max_score
    assert float(got["ben"]["q:count-params"]) == 3 and float(got["ben"]["q:qlora-quantization"]) == 0
    assert float(got["ben"]["q:lora-layer"]) == pytest.approx(6 * 4 / 7, abs=1e-3)
    assert float(got["cat"]["q:count-params"]) == 0 and float(got["cat"]["q:lora-layer"]) == 0
    assert float(got["cat"]["q:nf4-config"]) == 4  # one broken cell costs only its own question
    assert "SyntaxError" in got["cat"]["reason"] and "I give up" in got["cat"]["reason"]
    # dee duplicated count-params with a wrong answer last: the last cell counts, and the reason says so
    assert float(got["dee-colab"]["q:count-params"]) == 1 and "more than one cell" in got["dee-colab"]["reason"]
    assert float(got["dee-colab"]["q:lora-layer"]) == 6
    assert got["eve"]["score"] == "0" and "invalid JSON" in got["eve"]["reason"]
    assert "empty" in got["fay"]["reason"]


def test_feedback_names_hidden_probes_but_never_shows_them(first_run):
    bank, _, _, out, _ = first_run
    text = (out / "feedback" / "ben" / "attempt-1.md").read_text(encoding="utf-8")
    page = (out / "feedback" / "ben" / "attempt-1.html").read_text(encoding="utf-8")
    assert "rectangular weights and other ranks (hidden check)" in text
    assert "(4096, 11008, 16)" not in text and "expected" not in text.split("rectangular weights")[1].split("\n")[0]
    assert "forward equals (alpha/rank)" in text and "0/2 points — compute (alpha / rank)" in text  # checks say why
    assert "values differ" not in text  # comparisons with the reference wait for the key (attempt 1 of 3)
    assert '<h2 id="lora-layer">lora-layer</h2>' in page and "&lt;" not in bank.title
    assert "class LoRALayer(torch.nn.Module):" in text.split("\n## lora-layer\n")[1]  # the student's code, shown


def test_resume_skips_done_work_and_the_gradebook_keeps_attempts(first_run):
    bank, base, subs, out, _ = first_run
    before = rows(out)
    retry = base / "retry"
    retry.mkdir()
    write(filled_notebook(bank, {**correct_answers(bank), **PARTLY_WRONG}), retry / "cat.ipynb")
    proc = grade("--out", str(out), "--resume", str(subs), str(retry))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "6 already graded" in proc.stdout
    after = rows(out)
    assert set(after) == set(before) and all(after[s] == before[s] for s in before if s != "cat")
    assert after["cat"]["attempts"] == "2"
    attempts = [r for r in csv.DictReader((out / "attempts.csv").open(encoding="utf-8")) if r["student"] == "cat"]
    assert [r["attempt"] for r in attempts] == ["1", "2"]
    assert float(after["cat"]["percent"]) == max(float(r["percent"]) for r in attempts)  # the bank keeps the highest
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        count = db.execute("SELECT COUNT(*) FROM attempts WHERE student = 'cat'").fetchone()[0]
    assert count == 2
    assert "Attempts left: 1." in (out / "feedback" / "cat" / "attempt-2.md").read_text(encoding="utf-8")
