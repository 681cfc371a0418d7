"""Pathological banks (issue 10, root cause 8): a located error in bounded time and memory, never a traceback.

Very deep nesting, integers of thousands of digits, alias bombs, ``.inf``/``.nan`` where a number
belongs and regular expressions that backtrack catastrophically used to give tracebacks, minutes of
CPU or gigabytes in ``validate``/``release``/``grade``. Each command runs under a memory ceiling here.
Bank regexes also run against student text with a time limit, so a pattern that slipped past
``validate`` costs one answer a reason, not the run.
"""
from __future__ import annotations

import csv
import json
import time

import pytest

from hostile import run_grader

HEAD = "id: bad\ntitle: Bad\nsource: original\n"
NUMERIC = "questions:\n  - {id: q, type: numeric, prompt: x, answer: 1}\n"
LAUGHS = "".join([f"  {c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefghi", "bcdefghij")])


BANKS: dict[str, tuple[str, str]] = {
    # name → (bank text, a word the error line must contain)
    "deep_flow": (HEAD + "description: " + "[" * 5000 + "]" * 5000 + "\n" + NUMERIC, "deep"),
    "deep_mapping": (HEAD + "description: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n" + NUMERIC, "deep"),
    "deep_block": (HEAD + "x:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 400)) + NUMERIC, "deep"),
    "huge_int": (HEAD + "questions:\n  - {id: q, type: numeric, prompt: x, answer: " + "9" * 5000 + "}\n", "digits"),
    "huge_int_points": (HEAD + "questions:\n  - {id: q, type: numeric, prompt: x, answer: 1, points: " + "9" * 4000 + "}\n",
                        "digits"),
    "alias_bomb": (HEAD + "extra:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + LAUGHS + NUMERIC, "alias"),
    "merge_bomb": (HEAD + "x:\n  a: &a {k0: 1, k1: 1, k2: 1}\n" + "".join(
        f"  {c}: &{c} {{<<: *{p}, z{c}: [{', '.join(['*' + p] * 8)}]}}\n" for p, c in zip("abcdefg", "bcdefgh")) + NUMERIC, "alias"),
    "inf_answer": (HEAD + "questions:\n  - {id: q, type: numeric, prompt: x, answer: .inf}\n", "finite"),
    "nan_tolerance": (HEAD + "questions:\n  - {id: q, type: numeric, prompt: x, answer: 1, tolerance: .nan}\n", "finite"),
    "overflow_float": (HEAD + "questions:\n  - {id: q, type: numeric, prompt: x, answer: 1e999}\n", "finite"),
    "nan_key": (HEAD + "questions:\n  - {id: q, type: numeric, prompt: x, answer: 1, .nan: 3}\n", "key"),
    "inf_points": (HEAD + "questions:\n  - {id: q, type: numeric, prompt: x, answer: 1, points: .inf}\n", "finite"),
    "many_nodes": (HEAD + "extra: [" + ", ".join(["x"] * 300_000) + "]\n" + NUMERIC, "nodes"),
    "huge_file": (HEAD + "description: '" + "x" * 3_000_000 + "'\n" + NUMERIC, "bytes"),
    "redos_text": (HEAD + "questions:\n  - id: q\n    type: text\n    prompt: x\n    patterns: ['(a|aa)+']\n", "backtrack"),
    "redos_concept": (HEAD + "questions:\n  - id: q\n    type: free_response\n    prompt: x\n    concepts:\n"
                      "      - {id: c, label: C, patterns: ['(\\w+)*\\d$']}\n", "backtrack"),
    # patterns whose counted repeats the regex package expands while compiling: gigabytes before any match
    "regex_repeat_bomb": (HEAD + "questions:\n  - id: q\n    type: text\n    prompt: x\n    patterns: ['a{4294967294}']\n",
                          "repeat"),
    "regex_nested_repeats": (HEAD + "questions:\n  - id: q\n    type: text\n    prompt: x\n"
                             "    patterns: ['ok', '(?:(?:(?:a{1000}){1000}){1000}){1000}']\n", "repeat"),
    "regex_concept_repeats": (HEAD + "questions:\n  - id: q\n    type: free_response\n    prompt: x\n    concepts:\n"
                              "      - {id: c, label: C, patterns: ['(?:x{60000}){60000}']}\n", "repeat"),
    # probe expressions are compiled when the bank loads: the compiler recurses once per nested operator
    "probe_expr_nesting": (HEAD + "questions:\n  - {id: q, type: code, prompt: x, reference: 'x = 1', checks: [{id: p, name: p,"
                           " expr: '" + "1+" * 100_000 + "1'}]}\n", "expression"),
    "probe_expr_unary": (HEAD + "questions:\n  - {id: q, type: code, prompt: x, reference: 'x = 1', checks: [{id: p, name: p,"
                         " expr: '" + "-" * 200_000 + "1'}]}\n", "expression"),
    # text no notebook, student copy or page can hold (release wrote the notebook and died half way)
    "lone_surrogate": (HEAD + 'questions:\n  - {id: q, type: code, prompt: p, starter: "\\ud800", reference: "x = 1",'
                       ' checks: [{id: c, name: c, expr: x}]}\n', "surrogate"),
    # numbers that lift a limit or overflow a sum
    "memory_mb_lifts_the_limit": (HEAD + "questions:\n  - {id: q, type: code, prompt: x, reference: 'x = 1', memory_mb: 10000000,"
                                  " checks: [{id: p, name: p, expr: x}]}\n", "less than or equal"),
    "points_overflow": (HEAD + "questions:\n  - {id: q, type: numeric, prompt: x, answer: 1, points: 1.0e+308}\n"
                        "  - {id: r, type: numeric, prompt: x, answer: 1, points: 1.0e+308}\n", "less than or equal"),
    "probe_points_overflow": (HEAD + "questions:\n  - {id: q, type: code, prompt: x, reference: 'x = 1',"
                              " checks: [{id: p, name: p, expr: x, points: 1.0e+308}]}\n", "less than or equal"),
    "regex_nested_groups": (HEAD + "questions:\n  - id: q\n    type: text\n    prompt: x\n    patterns: ['"
                            + "(?:" * 1000 + "a" + ")" * 1000 + "']\n", "nested"),
    "regex_huge_pattern": (HEAD + "questions:\n  - id: q\n    type: text\n    prompt: x\n    patterns: ['"
                           + "(?:ab|cd)" * 200_000 + "']\n", "characters"),
}


@pytest.mark.parametrize("name", sorted(BANKS))
def test_validate_gives_a_located_error_quickly(tmp_path, name):
    text, word = BANKS[name]
    bank = tmp_path / f"{name}.yaml"
    bank.write_text(text)
    started = time.monotonic()
    proc = run_grader("validate", str(bank), memory_mb=1024, timeout=120)
    assert time.monotonic() - started < 60
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith(f"{bank}:") and first.split(":")[1].isdigit(), first  # file:line
    assert word in first.lower(), first


@pytest.mark.parametrize("name", ["alias_bomb", "deep_flow", "huge_int", "inf_answer", "regex_repeat_bomb", "lone_surrogate"])
def test_release_and_grade_refuse_them_too(tmp_path, name):
    bank = tmp_path / f"{name}.yaml"
    bank.write_text(BANKS[name][0])
    answers = tmp_path / "a.json"
    answers.write_text('{"answers": {}}')
    for command in (["release", str(bank), "-o", str(tmp_path / "rel")],
                    ["grade", "--bank", str(bank), "--out", str(tmp_path / "out"), str(answers)]):
        proc = run_grader(*command, memory_mb=1024, timeout=120)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert f"{bank}:" in proc.stderr


def test_a_backtracking_pattern_costs_one_answer_not_the_run(tmp_path):
    """A bank that skipped validate: its pattern runs with a time limit against each student's text."""
    bank = tmp_path / "bank.yaml"
    bank.write_text(HEAD + "questions:\n  - {id: q, type: text, prompt: x, patterns: ['(a|aa)+']}\n"
                    "  - {id: n, type: numeric, prompt: y, answer: 2}\n")
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "evil.json").write_text(json.dumps({"answers": {"q": "a" * 60 + "!", "n": 2}}))
    (subs / "good.json").write_text(json.dumps({"answers": {"q": "aaa", "n": 2}}))
    started = time.monotonic()
    proc = run_grader("grade", "--bank", str(bank), "--out", str(tmp_path / "out"), "--no-progress", str(subs), timeout=120)
    assert time.monotonic() - started < 60 and proc.returncode == 0, proc.stderr
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "out" / "grades.csv").open())}
    assert rows["good"]["score"] == "2"
    assert rows["evil"]["score"] == "1" and rows["evil"]["q:n"] == "1"
    feedback = (tmp_path / "out" / "feedback" / "evil" / "attempt-1.md").read_text()
    assert "too long" in feedback


def test_a_bank_that_is_a_pipe_or_a_device_is_refused_not_read_forever(tmp_path):
    """A course folder may hold a link to /dev/zero or a FIFO under a bank's name: read, it never ends."""
    import os

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    for bank in (fifo, zero):
        started = time.monotonic()
        proc = run_grader("validate", str(bank), memory_mb=1024, timeout=60)
        assert time.monotonic() - started < 30
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert proc.stderr.startswith(f"{bank}:"), proc.stderr
        proc = run_grader("grade", "--bank", str(bank), "--out", str(tmp_path / "out"), str(tmp_path), memory_mb=1024,
                          timeout=60)
        assert proc.returncode == 2 and f"{bank}:" in proc.stderr, proc.stderr[-2000:]
