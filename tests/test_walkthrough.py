"""docs/autograding.md's "A class, step by step", run as written: roster, per-student folders, a late
submission graded into the same folder, the LMS grade file (issue 11, "Done when")."""
from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader import load_bank

from paths import ROOT
from synthetic import BROKEN, PARTLY_WRONG, correct_answers, filled_notebook, write

DUE = datetime(2030, 1, 15, 23, 59, tzinfo=timezone.utc)


def documented_script() -> str:
    doc = (ROOT / "docs" / "autograding.md").read_text(encoding="utf-8")
    block = doc.split("<!-- walkthrough:start -->", 1)[1].split("<!-- walkthrough:end -->", 1)[0]
    return block.split("```bash\n", 1)[1].split("```", 1)[0]


def hand_in(base: Path, folder: str, notebook: dict, when: datetime) -> None:
    path = base / folder / "lora_assignment.ipynb"
    path.parent.mkdir(parents=True)
    write(notebook, path)
    os.utime(path, (when.timestamp(), when.timestamp()))


def phrases(text: str, size: int = 6) -> list[re.Pattern]:
    """Runs of ``size`` words of a bank text, as patterns that survive Markdown and HTML escaping between words."""
    words = re.findall(r"[A-Za-z]{3,}", text)
    return [re.compile(r"\W+".join(words[i:i + size])) for i in range(0, max(0, len(words) - size + 1), size)]


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    base = tmp_path_factory.mktemp("walkthrough")
    (base / "quizzes").symlink_to(ROOT / "quizzes")
    bank = load_bank(ROOT / "quizzes" / "lora-assignment.yaml")
    good = correct_answers(bank)
    hand_in(base, "submissions/ana", filled_notebook(bank, good), DUE - timedelta(days=2))
    hand_in(base, "submissions/ben", filled_notebook(bank, {**good, **PARTLY_WRONG}), DUE - timedelta(days=1))
    hand_in(base, "submissions/cy", filled_notebook(bank, {**good, **BROKEN}), DUE - timedelta(hours=3))
    hand_in(base, "submissions/dee", filled_notebook(bank, good, student="ana"), DUE - timedelta(hours=1))
    hand_in(base, "late/eve", filled_notebook(bank, good), DUE + timedelta(days=1, hours=3))  # 2 started days
    hand_in(base, "late/ben", filled_notebook(bank, good), DUE + timedelta(hours=5))  # 1 started day
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run(["bash", "-e", "-c", documented_script()], cwd=base, env=env, capture_output=True, text=True,
                          timeout=1200)
    return bank, base, proc


def grades(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def test_the_walkthrough_runs_as_documented(walked):
    _, base, proc = walked
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert (base / "release" / "lora_assignment.ipynb").is_file()
    assert not list((base / "release").glob("*.yaml")), "a graded bank's release hands out no key-bearing bank"


def test_every_student_gets_the_score_that_stands(walked):
    bank, base, _ = walked
    got = grades(base / "graded" / "grades.csv")
    assert set(got) == {"ana", "ben", "cy", "dee", "eve"}
    full = bank.max_score
    assert float(got["ana"]["score"]) == full and got["ana"]["late_penalty_percent"] == "0"
    assert float(got["dee"]["score"]) == full and "names its student 'ana'" in got["dee"]["reason"]
    assert float(got["eve"]["percent"]) == 80 and got["eve"]["late_penalty_percent"] == "20"
    attempts = [r for r in csv.DictReader((base / "graded" / "attempts.csv").open(encoding="utf-8"))
                if r["student"] == "ben"]
    assert [(r["attempt"], r["late_penalty_percent"]) for r in attempts] == [("1", "0"), ("2", "10")]
    assert float(attempts[1]["percent"]) == 90
    assert float(got["ben"]["percent"]) == max(90, float(attempts[0]["percent"]))  # keep: highest, after penalties
    assert float(got["cy"]["score"]) < full and got["cy"]["reason"]
    assert "after the due date" in (base / "graded" / "feedback" / "eve" / "attempt-1.md").read_text(encoding="utf-8")


def test_the_lms_file_has_the_counted_points_of_every_student_who_handed_in(walked):
    bank, base, _ = walked
    got = grades(base / "graded" / "grades.csv")
    with (base / "graded" / "grades-canvas.csv").open(newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    assert table[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert table[1][0] == "Points Possible" and float(table[1][-1]) == bank.max_score
    imported = {row[2]: float(row[-1]) for row in table[2:]}
    assert imported == {s: pytest.approx(float(r["score"])) for s, r in got.items()}
    assert {row[2]: row[0] for row in table[2:]}["eve"] == "Eve Laurent"


def test_no_key_or_explanation_is_shown_before_it_should_be(walked):
    bank, base, _ = walked
    texts = {p: p.read_text(encoding="utf-8").replace("\\", "") for p in (base / "graded" / "feedback").rglob("*.*")}
    assert len(texts) == 2 * 6  # six attempts, Markdown and HTML each
    secrets = [pattern for q in bank.questions for text in [getattr(q, "explanation", None) or ""]
               for pattern in phrases(text)]
    assert secrets, "the bank's explanations are what must stay hidden"
    for path, text in texts.items():
        leaked = [p.pattern for p in secrets if p.search(text)]
        assert not leaked, (path.name, leaked[:3])
        assert "after your last attempt" in text or "after the due date" in text, path
