"""Hostile answer files and notebooks (issue 10, root cause 6): parsed with limits, never trusted.

A 571-byte YAML alias bomb used to kill the whole run and lose the rows of students graded before it;
huge list literals, 5000-digit integers, 5000-deep nesting and odd notebook metadata reached "internal
error". Every file here gets its own row with the points it earned and a reason, every honest student
keeps theirs, the run exits 0, and it stays inside a memory ceiling. The parsing happens in
memory-limited worker processes with a deadline, so even a case not thought of here costs one row.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from grader import load_bank
from grader.sandbox.housekeeping import remove_folder

from hostile import ROOT, assignment_class, run_grader
from synthetic import correct_answers, filled_notebook

QUESTIONS = ["lora-principle", "qlora-techniques", "total-params", "count-params"]
DEEP_FOLDERS = 1500
LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


def _notebook_with(bank, cell_bodies: dict[str, str]) -> dict:
    return filled_notebook(bank, {**correct_answers(bank), **cell_bodies})


def _cases(bank) -> dict[str, tuple[bytes, float | None, str]]:
    """file name → (bytes, expected score or None for 'no answers read', a word the reason must contain)."""
    key = {"lora-principle": "B", "qlora-techniques": ["B"], "total-params": 294912}
    good_json = json.dumps({"answers": key}).encode()
    full = bank.max_score - bank.question("count-params").points  # answer files leave the code question out
    full_nb = bank.max_score  # notebooks answer it too, with the reference
    deep = "[" * 5000 + "]" * 5000
    nb = lambda cells: json.dumps(_notebook_with(bank, cells)).encode()  # noqa: E731
    v3 = {"nbformat": 3, "metadata": {"grader": None}, "worksheets": [
        None, {"cells": "not a list"}, {"cells": [{"cell_type": "code", "input": {"not": "text"}},
                                                  {"cell_type": "code", "input": ["# answer: lora-principle\n", "answer = 'B'"]},
                                                  {"cell_type": "code", "input": ["# answer: total-params\n", 7, "answer = 3"]}]}]}
    weird = _notebook_with(bank, {})
    weird["metadata"] = {"grader": None}
    weird["cells"] += [None, 7, {"cell_type": "code", "source": {"x": 1}}, {"source": "# answer: lora-principle\nanswer = 'A'"}]
    listy = _notebook_with(bank, {})
    listy["metadata"] = ["not", "a", "dict"]
    named = _notebook_with(bank, {})
    named["metadata"]["grader"] = {"student": {"nested": "object"}}
    return {
        # answer files
        "alias_bomb.yaml": ((LAUGHS + "answers: {lora-principle: *i}\n").encode(), None, "alias"),
        "alias_answer.yaml": (b"x: &x B\nanswers:\n  lora-principle: *x\n", None, "alias"),
        "deep.yaml": (("answers: {lora-principle: " + deep + "}\n").encode(), None, "nested"),
        "big_int.yaml": (("answers: {lora-principle: B, total-params: " + "9" * 5000 + "}\n").encode(), None, "digits"),
        "big_int_4000.yaml": (("answers: {lora-principle: B, total-params: " + "9" * 4000 + "}\n").encode(), 1.0, "digits"),
        "python_tag.yaml": (b"answers: !!python/object/apply:os.system ['touch /tmp/pwned']\n", None, "YAML"),
        "date.yaml": (b"answers: {lora-principle: B, total-params: 2024-01-01}\n", 1.0, "total-params"),
        "deep.json": (('{"answers": {"lora-principle": ' + deep + "}}").encode(), None, "nested"),
        "big_int.json": (('{"answers": {"lora-principle": "B", "total-params": ' + "9" * 5000 + "}}").encode(), None, "digits"),
        "long_list.json": (json.dumps({"answers": {"lora-principle": "B", "qlora-techniques": ["B"] * 150_000}}).encode(),
                           1.0, "qlora-techniques"),
        "many_answers.json": (json.dumps({"answers": {f"q{i}": "A" for i in range(50_000)}}).encode(), None, "answers"),
        "student_huge_int.yaml": (("student: " + "7" * 4200 + "\nanswers: {lora-principle: B}\n").encode(), 1.0, "student"),
        "honest.json": (good_json, full, ""),
        # notebooks
        "huge_literal.ipynb": (nb({"qlora-techniques": "answer = [" + "1," * 2_000_000 + "]"}), full_nb - 1, "qlora-techniques"),
        "big_int_literal.ipynb": (nb({"total-params": "answer = " + "9" * 5000}), full_nb - 1, "total-params"),
        "hex_literal.ipynb": (nb({"total-params": "answer = 0x" + "f" * 20000}), full_nb - 1, "total-params"),
        "deep_literal.ipynb": (nb({"lora-principle": "answer = " + deep}), full_nb - 1, "lora-principle"),
        "bytes_literal.ipynb": (nb({"lora-principle": "answer = b'B'"}), full_nb - 1, "lora-principle"),
        "grader_null.ipynb": (json.dumps(weird).encode(), full_nb, ""),
        "metadata_list.ipynb": (json.dumps(listy).encode(), full_nb, ""),
        "student_object.ipynb": (json.dumps(named).encode(), full_nb, ""),
        "nbformat3.ipynb": (json.dumps(v3).encode(), 1.0, ""),
        "deep_json.ipynb": (b'{"cells": [], "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", None, "nested"),
        "container_bomb.ipynb": (b'{"cells": [], "x": [' + b"[]," * 3_000_000 + b"[]]}", None, "notebook"),
        "huge_code_cell.ipynb": (nb({"count-params": "x = 1\n" * 400_000}), full_nb - 4, "count-params"),
        "many_cells.ipynb": (json.dumps({"cells": [{"cell_type": "code", "source": f"# answer: q{i}\nanswer = 1"}
                                                   for i in range(60_000)]}).encode(), None, ""),
        # 1900 literal cells of 20 KB each: every one under the limits, together 30 s of ast.parse in the worker
        "slow_literals.ipynb": (json.dumps({**_notebook_with(bank, {}), "cells": _notebook_with(bank, {})["cells"] + [
            {"cell_type": "code", "source": f"# answer: q{i}\nanswer = [" + "1," * 9999 + "1]"} for i in range(1900)]}).encode(),
                                full_nb, "characters"),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory, sandbox_layers):
    bank, _, bank_path, subs, out = assignment_class(tmp_path_factory, "hostile-files", QUESTIONS)
    cases = _cases(bank)
    for name, (raw, _, _) in cases.items():
        (subs / name).write_bytes(raw)
    (subs / "zz_copycat.ipynb").symlink_to(subs / "grader_null.ipynb")  # someone else's work, by a link
    (subs / "zz_zero.json").symlink_to("/dev/zero")
    os.mkfifo(subs / "zz_pipe.json")
    deep = subs / "zz_unzipped"  # a folder tree as deep as a path allows (an uploaded archive, unpacked)
    deep.mkdir()
    fd = os.open(deep, os.O_RDONLY)
    for _ in range(DEEP_FOLDERS):
        os.mkdir("a", dir_fd=fd)
        inner = os.open("a", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    with open(os.open("zz_deep.json", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as handle:
        handle.write(json.dumps({"answers": {"lora-principle": "B"}}).encode())
    os.close(fd)
    proc = run_grader("grade", "--bank", str(bank_path), "--out", str(out), "--jobs", "2", "--no-progress", str(subs),
                      memory_mb=2560, timeout=900)
    rows = {Path(r["file"]).name: r for r in csv.DictReader((out / "attempts.csv").open())} if (out / "attempts.csv").exists() else {}
    yield bank, cases, proc, rows
    remove_folder(deep)  # pytest removes old temporary folders with shutil.rmtree, which recurses once per level


def test_the_run_finishes_with_a_row_for_every_file(graded):
    _, cases, proc, rows = graded
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert set(cases) <= set(rows), set(cases) - set(rows)
    assert not any("internal error" in r["reason"] for r in rows.values()), {n: r["reason"] for n, r in rows.items()}
    if proc.memory_peak is not None:
        assert not proc.ceiling_hit


def test_honest_students_keep_their_points(graded):
    bank, _, _, rows = graded
    assert float(rows["honest.json"]["score"]) == bank.max_score - bank.question("count-params").points


@pytest.mark.parametrize("name", sorted(_cases(load_bank(ROOT / "quizzes" / "lora-assignment.yaml").subset(QUESTIONS))))
def test_each_file_gets_its_points_and_a_reason(graded, name):
    _, cases, _, rows = graded
    _, expected, word = cases[name]
    row = rows[name]
    score = float(row["score"])
    if expected is None:
        assert score == 0, row
    else:
        assert score == expected, row["reason"]
    assert word.lower() in row["reason"].lower(), row["reason"]


def test_a_folder_tree_deeper_than_pythons_recursion_limit_is_searched(graded):
    _, _, _, rows = graded
    assert rows["zz_deep.json"]["score"] == "1", rows["zz_deep.json"]["reason"]


def test_links_and_special_files_are_refused_not_followed(graded):
    _, _, _, rows = graded
    assert "link" in rows["zz_copycat.ipynb"]["reason"] and rows["zz_copycat.ipynb"]["score"] == "0"
    assert "link" in rows["zz_zero.json"]["reason"]
    assert "regular file" in rows["zz_pipe.json"]["reason"]
