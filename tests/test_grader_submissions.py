"""Reading answers from notebooks: `# answer: <id>` cells, read by answer_value (literals and arithmetic on numbers), never executed."""
from __future__ import annotations

import json

from grader.submissions import expand_submissions, read_submission


def notebook(cells: list[str], **metadata) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata,
                       "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                                  "source": c.splitlines(keepends=True)} for c in cells]})


def test_answer_cells_are_read_in_any_order(tmp_path):
    path = tmp_path / "ana.ipynb"
    path.write_text(notebook(["import torch", "# answer: q2\nanswer = ['A', 'C']", "\n# Answer: q1\nanswer = 'B'  # my pick",
                              "# answer: q3\nanswer = 252"]))
    sub = read_submission(path)
    assert sub.student == "ana" and sub.answers == {"q1": "B", "q2": ["A", "C"], "q3": 252}


def test_duplicated_cell_takes_the_last_and_says_so(tmp_path):
    path = tmp_path / "n.ipynb"
    path.write_text(notebook(["# answer: q1\nanswer = 'A'", "# answer: q1\nanswer = 'C'"]))
    sub = read_submission(path)
    assert sub.answers == {"q1": "C"} and "more than one cell" in sub.problems[0]


def test_code_in_a_choice_cell_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ipynb"
    path.write_text(notebook([f"# answer: q1\nanswer = __import__('pathlib').Path({str(marker)!r}).touch()",
                              "# answer: q2\nimport os\nos.system('touch x')\nanswer = 'B'"]))
    sub = read_submission(path)
    assert not marker.exists()
    assert "q1" not in sub.answers and "plain value" in sub.problems[0]
    assert sub.answers["q2"] == "B"  # the assignment is read; the other lines are never run


def test_code_questions_keep_their_source(tmp_path):
    path = tmp_path / "c.ipynb"
    path.write_text(notebook(["# answer: count-params\ndef count_lora_params(d, k, r):\n    return r * (d + k)"]))
    sub = read_submission(path, code_question_ids=frozenset({"count-params"}))
    assert "return r * (d + k)" in sub.answers["count-params"]


def test_broken_notebooks_get_a_reason(tmp_path):
    (tmp_path / "empty.ipynb").write_text("")
    (tmp_path / "cut.ipynb").write_text(notebook(["# answer: q1\nanswer='A'"])[:40])
    (tmp_path / "list.ipynb").write_text("[1, 2]")
    for name, reason in [("empty", "empty"), ("cut", "invalid JSON"), ("list", "no list of cells")]:
        sub = read_submission(tmp_path / f"{name}.ipynb")
        assert sub.unreadable and reason in sub.problems[-1]


def test_student_name_from_metadata_and_no_answers(tmp_path):
    path = tmp_path / "x.ipynb"
    path.write_text(notebook(["print(1)"], grader={"student": "zoe"}))
    sub = read_submission(path)
    assert sub.student == "zoe" and sub.answers == {} and "no `# answer" in sub.problems[0]


def test_expand_skips_checkpoints(tmp_path):
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text("{}")
    (tmp_path / "notes.txt").write_text("")
    assert [p.name for p in expand_submissions([tmp_path])] == ["a.json"]
