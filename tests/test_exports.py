"""`grader export`: the command, the loss report beside every file, and the refusals that protect an
instructor (a student copy has no keys; a refused export leaves no half-written file)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from paths import FIXTURES, ROOT

from grader.cli import main
from grader.exports.export import FORMATS, export_bank, report_path
from grader.keys import write_student_copy
from grader.loader import load_bank

EVERY_KIND = FIXTURES / "banks" / "every_kind.yaml"
SEEDS = sorted(p for p in (ROOT / "quizzes").glob("*.yaml"))

pytest.importorskip("text2qti")


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_the_command_writes_the_file_and_its_loss_report(fmt: str, tmp_path: Path, capsys) -> None:
    assert main(["export", "--format", fmt, str(EVERY_KIND), "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    path = tmp_path / f"every-kind{FORMATS[fmt].suffix}"
    report = report_path(path)
    assert path.stat().st_size > 0 and report.exists()
    text = report.read_text(encoding="utf-8")
    assert text in out  # printed and written: the same report
    # quiz settings an LMS must be given by hand
    for setting in ("3 attempts at the whole quiz", "time limit of 900 s", "pass mark 70 %"):
        assert setting in text
    # what no LMS item holds, per question, from the kinds
    assert "| `code` | sandboxed autograding (2 probes" in text
    assert "| `free` | automatic concept checklist" in text
    assert "| `multiple-coverage` | partial-credit mode 'coverage'" in text
    assert f"wrote {path}" in out


def test_every_question_with_a_loss_is_in_the_report_in_bank_order(tmp_path: Path) -> None:
    bank = load_bank(EVERY_KIND)
    report = export_bank(bank, "gift", tmp_path / "x.gift")
    ids = [loss.question for loss in report.losses if loss.question is not None]
    order = [q.id for q in bank.questions]
    assert ids == sorted(ids, key=order.index)
    assert {"hint"} & {loss.what.split(" ")[0] for loss in report.losses if loss.question == "single"}


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem)
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_seed_bank_exports_in_every_format(path: Path, fmt: str, tmp_path: Path) -> None:
    report = export_bank(load_bank(path), fmt, tmp_path)
    assert report.questions == len(load_bank(path).questions)
    assert report.path.exists() and report_path(report.path).exists()


def test_a_trailing_slash_names_a_new_folder(tmp_path: Path) -> None:
    report = export_bank(load_bank(EVERY_KIND), "moodle-xml", f"{tmp_path}/new/")
    assert report.path == tmp_path / "new" / "every-kind.xml" and report.path.is_file()


def test_a_student_copy_is_refused_and_nothing_is_written(tmp_path: Path, capsys) -> None:
    student = write_student_copy(load_bank(ROOT / "quizzes" / "day48-lora-qlora.yaml"), tmp_path / "student.yaml")
    out = tmp_path / "lms"
    assert main(["export", "--format", "moodle-xml", str(student), "-o", str(out / "x.xml")]) == 2
    assert "student copy" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_a_refused_canvas_export_leaves_no_partial_file(tmp_path: Path, capsys) -> None:
    """text2qti refuses two identical options in one question; the error names the bank, the target
    stays absent and no temporary file is left beside it."""
    data = json.loads(json.dumps({"id": "dup", "title": "Dup", "source": "original", "questions": [
        {"id": "q", "type": "single_choice", "prompt": "Pick", "options": [
            {"id": "A", "text": "same", "correct": True}, {"id": "B", "text": "same"}]}]}))
    bank_file = tmp_path / "dup.yaml"
    bank_file.write_text(json.dumps(data), encoding="utf-8")
    code = main(["export", "--format", "canvas-qti", str(bank_file), "-o", str(tmp_path / "out.zip")])
    err = capsys.readouterr().err
    assert code == 2 and "text2qti refused bank 'dup'" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dup.yaml"]


def test_an_unknown_format_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--format", "blackboard", str(EVERY_KIND), "-o", "x"])
    assert exit_info.value.code == 2
    assert "moodle-xml" in capsys.readouterr().err
