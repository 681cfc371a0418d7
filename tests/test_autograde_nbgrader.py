"""The nbgrader export, proven with real nbgrader: generate_assignment, then autograde two submissions."""
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
from synthetic import PARTLY_WRONG, correct_answers

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


@pytest.mark.parametrize(("points", "weights"), [(6, [1] * 7), (1, [1, 1, 1]), (6, [2, 1, 1, 3]), (0.3, [1, 2])])
def test_probe_cells_share_the_question_points_exactly(points, weights):
    """nbgrader stores each test cell's points rounded; the rounded shares must still add up to the
    question's points (plain rounding gave 36.9996 of 37 for full marks)."""
    from grader.kinds import CodeQuestion, NbgraderContext

    checks = [{"id": f"p{i}", "name": f"check {i}", "expr": "1", "points": w} for i, w in enumerate(weights)]
    question = CodeQuestion.model_validate({"id": "q", "type": "code", "prompt": "p", "reference": "x = 1",
                                            "points": points, "checks": checks})
    context = NbgraderContext({"q": {c["id"]: 1 for c in checks}})
    cells = [c for c in KINDS.of(question).nbgrader_cells(question, context) if c.points is not None]
    assert sum(c.points for c in cells) == pytest.approx(points, abs=1e-12)
    assert all(round(c.points, 4) == c.points for c in cells)
    shares = [points * w / sum(weights) for w in weights]
    assert all(abs(c.points - share) <= 1e-4 for c, share in zip(cells, shares))


@pytest.mark.slow  # about 2 minutes: nbgrader starts a kernel (and imports torch) per notebook
def test_generate_and_autograde_round_trip(tmp_path):
    full = load_bank(ROOT / "quizzes" / "lora-assignment.yaml")
    bank = full.subset(["lora-principle", "qlora-quantization", "qlora-techniques", "total-params", "count-params", "lora-layer", "linear-with-lora"])
    from grader.nbgrader_export import export

    course = tmp_path / "course"
    source = export(bank=bank, course_dir=course)
    proc = nbgrader(course, "generate_assignment", bank.id, "--force")
    assert proc.returncode == 0, proc.stderr[-3000:]
    released_path = course / "release" / bank.id / source.name
    released_text = released_path.read_text()
    assert "BEGIN HIDDEN TESTS" not in released_text and "r * (d + k)" not in released_text
    released = json.loads(released_text)
    good = correct_answers(bank)
    # cy answers only lora-principle ("B") and leaves the others as released: qlora-quantization and
    # qlora-techniques, whose keys are "B" too, must score 0, not pass their tests on cy's first answer
    only_one = {"lora-principle": good["lora-principle"]}
    for student, bodies in {"ana": good, "ben": {**good, **PARTLY_WRONG}, "cy": only_one}.items():
        folder = course / "submitted" / student / bank.id
        folder.mkdir(parents=True)
        (folder / source.name).write_text(json.dumps(fill(released, bodies)))
    proc = nbgrader(course, "autograde", bank.id, "--force")
    assert proc.returncode == 0, proc.stderr[-3000:]

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s: gradebook.find_submission(bank.id, s).score for s in ("ana", "ben", "cy")}
        max_score = gradebook.find_assignment(bank.id).max_score
    assert max_score == pytest.approx(bank.max_score, abs=1e-9)  # rounded probe shares still sum to the points
    assert scores["ana"] == pytest.approx(bank.max_score, abs=1e-9)
    # ben: count-params loses its hidden check (1 of 4), lora-layer forgets 1/rank (3 of its 7 probe points),
    # and linear-with-lora, built on that LoRALayer, fails its forward probe (2 of 5): the same as our grader
    lost = 4 * 1 / 4 + 6 * 3 / 7 + 5 * 2 / 5 + 1  # + qlora-quantization, answered with a wrong option
    assert scores["ben"] == pytest.approx(bank.max_score - lost, abs=1e-3)
    assert scores["cy"] == pytest.approx(bank.question("lora-principle").points)
    shutil.rmtree(course / "autograded", ignore_errors=True)


def test_headings_name_one_point_in_the_singular():
    """'(1 point)', not '(1 points)', in the nbgrader notebook's question headings."""
    from grader.nbgrader_export import ReferenceValues, source_notebook

    full = load_bank(ROOT / "quizzes" / "lora-assignment.yaml")
    bank = full.subset([q.id for q in full.questions if q.type != "code"])  # no references to compute
    text = json.dumps(source_notebook(bank, ReferenceValues({})))
    assert "(1 points)" not in text and "(1 point)" in text
