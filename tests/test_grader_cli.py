"""The command line, run as a user would: through ``python -m grader`` in a subprocess."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from paths import ROOT

DAY48 = ROOT / "quizzes" / "day48-lora-qlora.yaml"
DAY48_KEY = {"q1": "B", "q2": "C", "q3": "B", "q4": "C", "q5": "B", "q6": "C", "q7": "C", "q8": "C", "q9": "B", "q10": "C"}


def grader(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_validate_all_seed_banks_passes():
    proc = grader("validate", "quizzes/")
    assert proc.returncode == 0, proc.stderr
    assert "5 of 5 bank(s) valid" in proc.stdout or "bank(s) valid" in proc.stdout


def test_validate_bad_bank_gives_located_messages_and_exit_1(root):
    proc = grader("validate", "fixtures/banks/many_errors.yaml", cwd=root / "tests")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    expected = (root / "tests/fixtures/banks/many_errors.expected").read_text().splitlines()
    assert proc.stderr.splitlines()[: len(expected)] == expected


def test_validate_catches_a_wrong_code_output_key(write_bank, tmp_path):
    write_bank("""
        id: wrong-key
        title: Wrong key
        source: original
        questions:
          - id: p3
            type: code_output
            prompt: What is printed?
            snippet: |
              print(int((1000 + 10) * 0.25))
            options:
              - {text: '252'}
              - {text: '250', correct: true}
    """)
    proc = grader("validate", str(tmp_path))
    assert proc.returncode == 1
    assert "bank.yaml:8: questions[0].snippet: the snippet prints '252' but the correct option says '250'" in proc.stderr
    assert grader("validate", "--no-run", str(tmp_path)).returncode == 0


def test_validate_reports_duplicate_bank_ids_across_files(write_bank, tmp_path):
    text = "id: same\ntitle: T\nsource: original\nquestions:\n  - {id: q, type: numeric, prompt: x, answer: 1}\n"
    write_bank(text, "one.yaml")
    write_bank(text, "two.yaml")
    proc = grader("validate", str(tmp_path))
    assert proc.returncode == 1 and "bank id 'same' is already used by" in proc.stderr


def test_validate_missing_path_is_a_clean_error(tmp_path):
    proc = grader("validate", str(tmp_path / "nope"))
    assert proc.returncode == 2 and proc.stderr.startswith("error: no such file") and "Traceback" not in proc.stderr


def test_validate_reports_schema_errors_and_wrong_keys_in_one_pass(root):
    """A wrong code_output key is found in the same run as a typo elsewhere in the bank; a code question
    that requires a broken one is not run (its reference would fail for the other's sake)."""
    proc = grader("validate", "fixtures/banks/schema_and_snippet_errors.yaml", cwd=root / "tests")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    expected = (root / "tests/fixtures/banks/schema_and_snippet_errors.expected").read_text().splitlines()
    assert proc.stderr.splitlines()[:-1] == expected


def test_schema_is_shipped_and_current():
    proc = grader("schema")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False and "questions" in schema["required"]
    shipped = json.loads((ROOT / "quizzes" / "bank.schema.json").read_text())
    assert shipped == schema, "quizzes/bank.schema.json is stale: run python -m grader schema --write quizzes/bank.schema.json"


@pytest.mark.parametrize("flag", ["--write", "--out"])
def test_schema_write_puts_the_schema_anywhere(flag, tmp_path):
    target = tmp_path / "editor" / "settings" / "bank.schema.json"
    proc = grader("schema", flag, str(target))
    assert proc.returncode == 0 and proc.stdout == f"wrote {target}\n"
    assert json.loads(target.read_text()) == json.loads(grader("schema").stdout)


def test_schema_write_to_an_unwritable_place_is_a_clean_error(tmp_path):
    (tmp_path / "file").write_text("")
    proc = grader("schema", "--write", str(tmp_path / "file" / "bank.schema.json"))
    assert proc.returncode == 2 and proc.stderr.startswith("error: cannot write the schema") and "Traceback" not in proc.stderr


def test_every_bank_points_editors_at_the_schema():
    for path in (ROOT / "quizzes").glob("*.yaml"):
        assert path.read_text().startswith("# yaml-language-server: $schema=./bank.schema.json"), path


def test_grade_folder_of_answer_files(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "ana.json").write_text(json.dumps({"student": "ana", "answers": DAY48_KEY}))
    half = {k: v for k, v in list(DAY48_KEY.items())[:5]}
    (subs / "ben.yaml").write_text("student: ben\nanswers:\n" + "".join(f"  {k}: {v}\n" for k, v in half.items()))
    (subs / "cut.json").write_text('{"student": "cut", "answers": {"q1": "B", "q2"')
    (subs / "empty.json").write_text("")
    (subs / "garbage.json").write_bytes(b"\x00\xff\xfe garbage")
    (subs / "extra.json").write_text(json.dumps({"answers": {"q1": "B", "q99": "A", "q2": "Z"}}))
    out = tmp_path / "out"
    proc = grader("grade", "--bank", str(DAY48), "--out", str(out), "--no-progress", str(subs))
    assert proc.returncode == 0, proc.stderr
    rows = {r["student"]: r for r in csv.DictReader((out / "grades.csv").open())}
    assert set(rows) == {"ana", "ben", "cut", "empty", "garbage", "extra"}
    assert list(rows["ana"])[:5] == ["student", "score", "max_score", "percent", "passed"]
    assert (rows["ana"]["score"], rows["ana"]["max_score"], rows["ana"]["passed"]) == ("10", "10", "true")
    assert (rows["ben"]["score"], rows["ben"]["percent"], rows["ben"]["passed"]) == ("5", "50.00", "false")
    assert rows["cut"]["score"] == "0" and "not valid JSON" in rows["cut"]["reason"]
    assert "empty" in rows["empty"]["reason"] and rows["garbage"]["score"] == "0"
    assert rows["extra"]["score"] == "1" and "q99" in rows["extra"]["reason"]
    assert rows["ana"]["q:q10"] == "1" and rows["ben"]["q:q10"] == "0"
    feedback = (out / "feedback" / "ben" / "attempt-1.md").read_text()
    assert "Score 5/10" in feedback and "Answer: C)" in feedback and "\n## q6\n" in feedback
    assert "not valid JSON" in (out / "feedback" / "cut" / "attempt-1.md").read_text()


@pytest.mark.parametrize("command", [
    ["grade", "--bank", "fixtures/banks/many_errors.yaml", "--out", "{out}", "{sub}"],
    ["release", "fixtures/banks/many_errors.yaml", "-o", "{out}"],
    ["nbgrader-export", "fixtures/banks/many_errors.yaml", "-o", "{out}"],
], ids=lambda command: command[0])
def test_a_bad_bank_exits_2_with_every_located_problem(command, tmp_path, root):
    """Every command that loads a bank reports it the way validate does (no ``error:`` prefix) and writes nothing."""
    sub = tmp_path / "a.json"
    sub.write_text('{"answers": {}}')
    out = tmp_path / "o"
    proc = grader(*(arg.format(out=out, sub=sub) for arg in command), cwd=root / "tests")
    expected = (root / "tests/fixtures/banks/many_errors.expected").read_text().splitlines()
    assert (proc.returncode, proc.stderr.splitlines(), proc.stdout) == (2, expected, "")
    assert not out.exists()


def test_grade_without_arguments_is_a_usage_error():
    proc = grader("grade")
    assert proc.returncode == 2 and "usage" in proc.stderr


def test_validate_checks_student_copies_against_their_hashed_keys(tmp_path):
    import yaml

    from grader import load_bank
    from grader.keys import student_copy

    for bank_id in ("lora-qlora-challenges", "lora-qlora-flashcards-practice"):
        copy = student_copy(load_bank(ROOT / "quizzes" / f"{bank_id}.yaml"))
        (tmp_path / f"{bank_id}.yaml").write_text(yaml.safe_dump(copy, allow_unicode=True, sort_keys=False))
    proc = grader("validate", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    broken = (tmp_path / "lora-qlora-challenges.yaml").read_text().replace("print(qlora_model_size)", "print(qlora_model_size + 1)")
    (tmp_path / "lora-qlora-challenges.yaml").write_text(broken)
    proc = grader("validate", str(tmp_path))
    assert proc.returncode == 1 and "does not match the hashed key" in proc.stderr
