"""Student copies: the released notebook and bank carry no keys, references or hidden probes."""
from __future__ import annotations

import json
import subprocess
import sys

from grader import load_bank
from grader.kinds import CodeQuestion
from grader.nbwriter import source_text
from grader.submissions import read_submission

from paths import ROOT

BANK = ROOT / "quizzes" / "lora-assignment.yaml"


def test_release_writes_a_notebook_and_a_bank_without_secrets(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "grader", "release", str(BANK), "-o", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    bank = load_bank(BANK)
    released = "\n".join(p.read_text(encoding="utf-8") for p in tmp_path.iterdir())
    for question in bank.questions:
        if isinstance(question, CodeQuestion):
            assert question.reference.strip().splitlines()[-1].strip() not in released
            for probe in question.checks:
                if probe.hidden:
                    assert probe.expr not in released
    assert "correct: true" not in released
    assert subprocess.run([sys.executable, "-m", "grader", "validate", "--no-run", str(tmp_path)], cwd=ROOT,
                          capture_output=True, timeout=120).returncode == 0


def test_the_released_notebook_has_one_answer_cell_per_graded_question(tmp_path):
    from grader.release import release

    bank = load_bank(BANK)
    notebook, _ = release(bank=bank, out_dir=tmp_path)
    submission = read_submission(notebook, code_question_ids=frozenset(q.id for q in bank.questions if isinstance(q, CodeQuestion)))
    assert sorted(submission.answers) == sorted(q.id for q in bank.questions if q.points > 0)
    code_cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    assert all(source_text(c).startswith("# answer: ") for c in code_cells)


def test_the_committed_assignment_notebook_is_up_to_date():
    from grader.release import student_notebook

    committed = json.loads((ROOT / "notebooks" / "assignments" / "lora_assignment.ipynb").read_text(encoding="utf-8"))
    fresh = student_notebook(load_bank(BANK))
    assert [source_text(c) for c in committed["cells"]] == [source_text(c) for c in fresh["cells"]], \
        "regenerate: python -m grader release quizzes/lora-assignment.yaml -o notebooks/assignments"
