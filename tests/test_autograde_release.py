"""Student copies: the released notebook (and, for practice banks only, the student bank) carry no keys,
references or hidden probes; a graded bank's release gives students nothing that reveals an answer."""
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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lora_assignment.ipynb"], "a graded bank: the notebook only"
    for question in bank.questions:  # nothing that states a key: explanations, option feedback, final answers
        for text in (question.explanation, question.final_answer, question.errata,
                     *(o.feedback for o in question.choices)):
            for line in (text or "").splitlines():
                assert len(line.strip()) < 25 or line.strip() not in released, (question.id, line)


def test_the_released_notebook_has_one_answer_cell_per_graded_question(tmp_path):
    from grader.release import release

    bank = load_bank(BANK)
    (notebook,) = release(bank=bank, out_dir=tmp_path)
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


def test_a_practice_bank_keeps_its_hashed_student_bank(tmp_path):
    from grader.release import release, withheld_student_bank

    bank = load_bank(ROOT / "quizzes" / "day48-lora-qlora.yaml")
    assert withheld_student_bank(bank) is None
    _notebook, student_bank = release(bank=bank, out_dir=tmp_path)
    assert student_bank.name == "day48-lora-qlora.student.yaml"
    copy = load_bank(student_bank)
    assert copy.show_key == "after_each_attempt" and copy.key_salt
    assert "correct: true" not in student_bank.read_text(encoding="utf-8")
    assert subprocess.run([sys.executable, "-m", "grader", "validate", "--no-run", str(student_bank)], cwd=ROOT,
                          capture_output=True, timeout=120).returncode == 0


def test_releasing_a_graded_bank_says_why_and_removes_an_earlier_student_bank(tmp_path):
    from grader.keys import write_student_copy
    from grader.release import release, withheld_student_bank

    bank = load_bank(BANK)
    reason = withheld_student_bank(bank)
    assert reason and "graded (show_key: after_last_attempt)" in reason and "notebook only" in reason
    practice = bank.model_copy(update={"show_key": "after_each_attempt"})
    stale = write_student_copy(practice, tmp_path / "lora-assignment.student.yaml")  # what an old release left
    mine = tmp_path / "notes.yaml"
    mine.write_text("# the instructor's own file\n", encoding="utf-8")
    written = release(bank=bank, out_dir=tmp_path)
    assert [p.name for p in written] == ["lora_assignment.ipynb"]
    assert not stale.exists(), "the keys an earlier release handed out must not stay beside the new notebook"
    assert mine.exists(), "only our own student copies are removed"
