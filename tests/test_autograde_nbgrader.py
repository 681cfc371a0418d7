"""The nbgrader export, proven with real nbgrader: generate_assignment, then autograde synthetic and hostile
submissions, whose totals must equal `grader grade`'s."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import load_bank
from grader.kinds import KINDS

from paths import ROOT
from synthetic import BROKEN, PARTLY_WRONG, correct_answers

pytest.importorskip("nbgrader")

MARK = re.compile(r"^# answer: (\S+)")


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=900)


def fill(released: dict, bodies: dict[str, str]) -> dict:
    nb = json.loads(json.dumps(released))
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        match = MARK.match(source)
        if cell["cell_type"] == "code" and match and match[1] in bodies:
            cell["source"] = f"# answer: {match[1]}\n{bodies[match[1]]}"
    return nb


def test_each_code_question_is_one_test_cell_worth_its_points():
    """One graded cell per question, worth exactly its points: nbgrader's total is the grader's (per-probe
    cells with rounded shares made a partly right answer differ in the fourth decimal)."""
    from grader.kinds import NbgraderContext

    bank = load_bank(ROOT / "quizzes" / "lora-assignment.yaml")
    for question in bank.questions:
        context = NbgraderContext({question.id: {p.id: 1 for p in getattr(question, "checks", [])}})
        graded = [c for c in KINDS.of(question).nbgrader_cells(question, context) if c.points is not None]
        assert [c.points for c in graded] in ([], [question.points]), question.id
        assert all("_points(" in c.source for c in graded)
        if question.type == "code":
            assert question.reference.strip() not in graded[0].source  # nbgrader's feedback shows hidden tests


BANK_IDS = ["lora-principle", "qlora-quantization", "qlora-techniques", "total-params", "count-params", "lora-layer",
            "linear-with-lora"]


def hostile(released: dict, good: dict[str, str]) -> dict[str, dict]:
    """Edge cases, each a notebook built from nbgrader's released copy; the comment says what both graders do."""
    def edit(bodies: dict[str, str], *, drop: str = "", twice: tuple[str, str] = ("", ""), after: tuple[str, str] = ("", "")):
        nb = fill(released, bodies)
        cells = []
        for cell in nb["cells"]:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            match = MARK.match(source) if cell["cell_type"] == "code" else None
            qid = match[1] if match else None
            if qid and qid == drop:
                continue  # the answer cell deleted
            cells.append(cell)
            if qid and qid == twice[0]:  # the same question answered again, in a second cell
                cells.append({**cell, "source": f"# answer: {qid}\n{twice[1]}", "metadata": {}})
            if qid and qid == after[0]:  # a plain cell after the answer cell (no `# answer:` line)
                cells.append({**cell, "source": after[1], "metadata": {}})
        nb["cells"] = cells
        return nb

    return {
        "dee": edit({**good, **BROKEN}),  # syntax error, code that raises, `answer = B` (a name): 0 for each
        "eve": edit({**good, "total-params": "answer = 8 * (768 + 768) * 24",  # arithmetic: read, right
                     "lora-principle": 'answer = sorted(["B"])',  # a call: refused, 0
                     "qlora-techniques": 'answer = ["B", "A"]'},  # one right, one wrong: partial credit
                    after=("qlora-quantization", "answer = 'A'")),  # reassigned in a later cell: ignored
        "fay": edit({**good, "total-params": "answer = 'B'",  # wrong type for a number: 0
                     "qlora-techniques": "answer = sum(range(3))",  # computed: refused, 0
                     "count-params": "def count_lora_params(d, k, r):\n    raise ValueError('todo')\n"},
                    drop="lora-principle", twice=("qlora-quantization", "answer = 'A'")),  # deleted; last cell wrong
    }


@pytest.mark.slow  # about 3 minutes: nbgrader starts a kernel (and imports torch) per notebook
def test_nbgrader_and_grader_give_every_submission_the_same_total(tmp_path):
    """generate_assignment + autograde with real nbgrader, and `grader grade`, on the same six notebooks:
    synthetic students (right, partly wrong, one answer only) and hostile ones. Totals agree exactly."""
    from grader.grading import grade_submissions
    from grader.nbgrader_export import export

    bank = load_bank(ROOT / "quizzes" / "lora-assignment.yaml").subset(BANK_IDS)
    course = tmp_path / "course"
    source = export(bank=bank, course_dir=course)
    proc = nbgrader(course, "generate_assignment", bank.id, "--force")
    assert proc.returncode == 0, proc.stderr[-3000:]
    released_text = (course / "release" / bank.id / source.name).read_text()
    assert "BEGIN HIDDEN TESTS" not in released_text and "r * (d + k)" not in released_text
    assert "How to answer." in released_text and "arithmetic on numbers" in released_text
    released = json.loads(released_text)
    good = correct_answers(bank)
    # cy answers only lora-principle ("B") and leaves the others as released: qlora-quantization and
    # qlora-techniques, whose keys are "B" too, must score 0, not pass on cy's first answer
    notebooks = {"ana": fill(released, good), "ben": fill(released, {**good, **PARTLY_WRONG}),
                 "cy": fill(released, {"lora-principle": good["lora-principle"]}), **hostile(released, good)}
    flat = tmp_path / "subs"
    flat.mkdir()
    for student, nb in notebooks.items():
        folder = course / "submitted" / student / bank.id
        folder.mkdir(parents=True)
        (folder / source.name).write_text(json.dumps(nb))
        (flat / f"{student}.ipynb").write_text(json.dumps(nb))  # the same file, named for grader's collector
    proc = nbgrader(course, "autograde", bank.id, "--force")
    assert proc.returncode == 0, proc.stderr[-3000:]

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        by_nbgrader = {s: gradebook.find_submission(bank.id, s).score for s in notebooks}
        max_score = gradebook.find_assignment(bank.id).max_score
    run = grade_submissions(bank=bank, submissions=sorted(flat.iterdir()), out_dir=tmp_path / "out", progress=False)
    by_grader = {g.submission.student: g.result.score for g in run.graded}
    assert max_score == pytest.approx(bank.max_score, abs=1e-9)
    assert set(by_grader) == set(notebooks)
    for student in notebooks:
        assert by_nbgrader[student] == pytest.approx(by_grader[student], abs=1e-9), (student, by_nbgrader, by_grader)
    # and the totals are the ones the cases were built for, so agreeing is not agreeing on 0
    assert by_grader["ana"] == bank.max_score
    lost = 4 * 1 / 4 + 6 * 3 / 7 + 5 * 2 / 5 + 1  # ben: see PARTLY_WRONG
    assert by_grader["ben"] == pytest.approx(bank.max_score - lost, abs=1e-3)
    assert by_grader["cy"] == bank.question("lora-principle").points
    assert 0 < by_grader["eve"] < bank.max_score and 0 < by_grader["fay"] < by_grader["eve"]
    shutil.rmtree(course / "autograded", ignore_errors=True)


def test_headings_name_one_point_in_the_singular():
    """'(1 point)', not '(1 points)', in the nbgrader notebook's question headings."""
    from grader.nbgrader_export import ReferenceValues, source_notebook

    full = load_bank(ROOT / "quizzes" / "lora-assignment.yaml")
    bank = full.subset([q.id for q in full.questions if q.type != "code"])  # no references to compute
    text = json.dumps(source_notebook(bank, ReferenceValues({})))
    assert "(1 points)" not in text and "(1 point)" in text
