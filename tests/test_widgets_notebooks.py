"""The quiz notebooks: one per seed bank plus a flashcard deck, up to date, clean, and runnable."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from course.colab import repository_url, setup_cell_source
from grader import load_bank
from grader.widgets import markdown_fallback

from paths import ROOT

FOLDER = ROOT / "notebooks" / "quizzes"
SEED_BANKS = sorted(p for p in (ROOT / "quizzes").glob("*.yaml") if load_bank(p).source.endswith(".txt"))
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _notebook(name: str) -> dict:
    return json.loads((FOLDER / f"{name}.ipynb").read_text(encoding="utf-8"))


def test_every_seed_bank_has_a_notebook_and_there_is_a_deck():
    names = {p.stem for p in FOLDER.glob("*.ipynb")}
    assert {p.stem for p in SEED_BANKS} <= names and "flashcards-deck" in names


def test_notebooks_are_up_to_date_with_the_banks():
    pytest.importorskip("nbformat")
    proc = subprocess.run([sys.executable, str(FOLDER / "make_notebooks.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.ipynb")), ids=lambda p: p.stem)
def test_committed_clean_with_setup_widget_and_keyless_fallback(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code), "commit without outputs"
    assert "widgets" not in nb["metadata"], "commit without widget state"
    setup = "".join(code[0]["source"])  # the lessons' generator (its own tests: no torch, keeps ipywidgets)
    assert setup.strip() == setup_cell_source(url=repository_url(), extra="widgets").strip()
    assert "from grader.widgets import Quiz" in "".join(code[1]["source"])
    fallback = "".join(nb["cells"][-1]["source"])
    bank_file = "".join(nb["cells"][0]["source"]).split("Quiz bank: `")[1].split("`")[0]
    bank = load_bank(ROOT / bank_file)
    revealing = [q.explanation for q in bank.questions] + [q.final_answer for q in bank.questions]
    revealing += [o.feedback for q in bank.questions for o in getattr(q, "options", None) or []]
    revealing += [getattr(q, "back", None) for q in bank.questions]
    assert "static version" in fallback
    for text in filter(None, revealing):
        assert text.strip().splitlines()[0] not in fallback, "the static version must not give keys away"


def test_fallback_lists_every_question_without_keys():
    bank = load_bank(ROOT / "quizzes" / "day48-lora-qlora.yaml")
    text = markdown_fallback(bank)
    for number, question in enumerate(bank.questions, 1):
        assert f"**{number}. (choose one)**" in text and question.prompt.strip().splitlines()[0] in text
        for option in question.options:
            assert f"- **{option.id}.** {option.text.strip()}" in text
        assert question.explanation.strip().splitlines()[0] not in text


@pytest.mark.parametrize("name", ["day48-lora-qlora", "flashcards-deck"])
def test_notebook_runs_and_shows_the_widget(name, tmp_path):
    """Execute the notebook in a real kernel (from a scratch folder, as a student's copy would run)."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("ipykernel")
    shutil.copy(FOLDER / f"{name}.ipynb", tmp_path / "quiz.ipynb")
    nb = nbformat.read(tmp_path / "quiz.ipynb", as_version=4)
    env_before = os.environ.get("GRADER_BANKS")
    os.environ["GRADER_BANKS"] = str(ROOT / "quizzes")
    try:
        nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        if env_before is None:
            os.environ.pop("GRADER_BANKS", None)
        else:
            os.environ["GRADER_BANKS"] = env_before
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    shown = [o["data"] for o in outputs if WIDGET_MIME in o.get("data", {})]
    assert shown, "the quiz cell displays a widget"
    assert {"text/plain", "text/markdown", "text/html"} <= set(shown[0]), "and its static version beside it"
    assert not shown[0]["text/plain"].startswith("VBox(")


def test_how_to_cells_say_what_each_notebook_does():
    """The deck explains flipping (no Check there); shuffling is promised only where the bank shuffles."""
    for path in sorted(FOLDER.glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        how_to = "".join(nb["cells"][2]["source"])
        bank = load_bank(ROOT / "".join(nb["cells"][0]["source"]).split("Quiz bank: `")[1].split("`")[0])
        if path.stem == "flashcards-deck":
            assert "Flip card" in how_to and "Check" not in how_to
        else:
            assert ("shuffled" in how_to) == bank.shuffle_options, path.stem


def test_practice_bank_text_matches_its_notebooks():
    """The practice notebook leaves the flashcards out, so the bank's description (shown in its
    widget header) must say where they are rather than promise them."""
    bank = load_bank(ROOT / "quizzes" / "lora-qlora-flashcards-practice.yaml")
    practice = "".join(_notebook("lora-qlora-flashcards-practice")["cells"][3]["source"])
    assert '"flashcard"' not in practice, "the practice notebook has no flashcards"
    assert "flashcards-deck" in bank.description and (FOLDER / "flashcards-deck.ipynb").exists()
    assert "Start with five flashcards" not in bank.description
