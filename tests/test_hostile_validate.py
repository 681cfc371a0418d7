"""``validate`` runs author code only in the sandbox (issue 10, root cause 7).

``code_output`` snippets used to run as whoever ran ``validate`` (root in CI): one could delete files,
open connections, leave processes running or print gigabytes. Now they run in the same sandbox as
student code, with the same limits, and ``validate`` also runs each ``code`` question's reference and
reports a broken one at its own line of the bank file.
"""
from __future__ import annotations

import os
import socket
import textwrap
import time

import pytest

from hostile import SECRET, processes_mentioning, run_grader, sandbox_processes, wait_until, world_readable

pytestmark = pytest.mark.usefixtures("sandbox_layers")
MARKER = "5151.75"


def snippet_bank(snippets: dict[str, str]) -> str:
    """A bank of code_output questions, each claiming its snippet prints 'ok'."""
    lines = ["id: hostile-snippets", "title: Hostile snippets", "source: original", "questions:"]
    for qid, code in snippets.items():
        lines += [f"  - id: {qid}", "    type: code_output", "    prompt: What is printed?", "    timeout_s: 8",
                  "    snippet: |", textwrap.indent(textwrap.dedent(code).strip("\n"), "      "), "    answer: ok"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile-validate")
    shared = base / "shared"
    shared.mkdir()
    sentinel = shared / "precious.txt"
    sentinel.write_text("keep me")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    snippets = {
        "delete-files": f"""
            import os, shutil
            for path in ({str(sentinel)!r}, {str(base)!r}):
                try:
                    os.remove(path)
                except OSError:
                    shutil.rmtree(path, ignore_errors=True)
            print("ok")
        """,
        "connect-out": f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
                print("connected")
            except OSError:
                print("ok")
        """,
        "leave-a-process": f"""
            import os
            if os.fork() == 0:
                os.setsid()
                os.execv("/bin/sleep", ["sleep", "{MARKER}"])
            print("ok")
        """,
        "print-gigabytes": """
            import sys
            chunk = "x" * (1 << 20)
            while True:
                sys.stdout.write(chunk)
        """,
        "echo-the-token": """
            import os
            print(" ".join(f"{k}={v}" for k, v in os.environ.items()) or "ok")
        """,
        "fill-tmp": """
            import os
            try:
                with open("/tmp/big", "wb") as handle:
                    for _ in range(1024):
                        handle.write(b"x" * (1 << 20))
            except OSError:
                pass
            print("ok")
        """,
    }
    bank = base / "snippets.yaml"
    bank.write_text(snippet_bank(snippets))
    for path in [base, *base.rglob("*")]:
        os.chmod(path, 0o777 if path.is_dir() else 0o666)  # writable by anyone: only the sandbox protects it
    started = time.monotonic()
    with world_readable(base):
        proc = run_grader("validate", str(bank), memory_mb=3072)
    elapsed = time.monotonic() - started
    try:
        connection = listener.accept()[0]
        connection.close()
        connected = True
    except BlockingIOError:
        connected = False
    listener.close()
    return {"proc": proc, "elapsed": elapsed, "sentinel": sentinel, "connected": connected, "bank": bank}


def test_snippets_cannot_touch_the_machine(validated):
    assert validated["sentinel"].read_text() == "keep me"
    assert not validated["connected"]
    assert wait_until(lambda: processes_mentioning(MARKER), timeout=10) == []
    assert wait_until(sandbox_processes, timeout=10) == []


def test_validate_reports_each_snippet_quickly_and_briefly(validated):
    proc = validated["proc"]
    assert proc.returncode == 1  # two snippets do not print 'ok'
    assert "Traceback" not in proc.stderr
    assert validated["elapsed"] < 120
    assert len(proc.stderr) < 20_000, len(proc.stderr)
    errors = [line for line in proc.stderr.splitlines() if ": questions[" in line]
    assert any("questions[3].snippet" in line and "more than" in line for line in errors), errors  # print-gigabytes
    assert any("questions[4].snippet" in line for line in errors), errors  # echo-the-token prints the sandbox's env
    assert not any(f"questions[{i}]" in line for line in errors for i in (0, 1, 2, 5)), errors


def test_no_token_in_what_validate_prints(validated):
    assert SECRET not in validated["proc"].stdout + validated["proc"].stderr


REFERENCES = """\
id: broken-references
title: Broken references
source: original
questions:
  - id: good
    type: code
    prompt: Write f.
    reference: |
      def f(x):
          return x + 1
    checks:
      - {id: one, name: f(1), expr: f(1)}
  - id: syntax
    type: code
    prompt: Write g.
    reference: |
      def g(x):
          return (x +
      y = 2
    checks:
      - {id: one, name: g(1), expr: g(1)}
  - id: raises
    type: code
    prompt: Write h.
    reference: |
      import math

      def h(x):
          return x
      h(undefined_name)
    checks:
      - {id: one, name: h(1), expr: h(1)}
  - id: bad-probe
    type: code
    prompt: Write k.
    reference: |
      def k(x):
          return x
    checks:
      - {id: fine, name: k(1), expr: k(1)}
      - {id: broken, name: k of nothing, expr: k(nothing)}
  - id: builds-on-raises
    type: code
    prompt: Use h.
    requires: [raises]
    reference: |
      def m():
          return 1
    checks:
      - {id: one, name: m(), expr: m()}
"""


def test_validate_runs_references_and_points_at_their_own_lines(tmp_path):
    bank = tmp_path / "refs.yaml"
    bank.write_text(REFERENCES)
    proc = run_grader("validate", str(bank), memory_mb=3072)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    text = bank.read_text().splitlines()
    syntax = next(line for line in lines if "questions[1].reference" in line)
    assert "SyntaxError" in syntax and "of the reference" in syntax and "<your answer>" not in syntax, syntax
    raises = next(line for line in lines if "questions[2].reference" in line)
    line_number = int(raises.split(":")[1])
    assert text[line_number - 1].strip() == "h(undefined_name)", raises  # the bank file's own line
    assert "NameError" in raises and "line 5 of the reference" in raises
    probe = next(line for line in lines if "questions[3].checks[1].expr" in line)
    assert "NameError" in probe and int(probe.split(":")[1]) == next(
        i + 1 for i, line in enumerate(text) if "k(nothing)" in line)
    assert any("questions[4]" in line and "of the reference of raises" in line for line in lines), lines
    assert not any("questions[0]" in line for line in lines)
    assert run_grader("validate", "--no-run", str(bank)).returncode == 0


def test_references_cannot_fill_the_graders_memory_with_their_values(tmp_path):
    """Each reference stays under the per-run data cap (two probes of ~14 MB of floats), but the grader keeps every
    reference's values for the whole run: a dozen such questions took validate to 2.7 GB (and grade with it)."""
    question = """  - id: q{i}
    type: code
    prompt: x
    reference: |
      data = [[0.5] * 100000 for _ in range(28)]
    checks:
      - {{id: p, name: p, expr: data}}
      - {{id: r, name: r, expr: data}}
"""
    bank = tmp_path / "big-references.yaml"
    bank.write_text("id: big-references\ntitle: t\nsource: original\nquestions:\n"
                    + "".join(question.format(i=i) for i in range(12)))
    started = time.monotonic()
    proc = run_grader("validate", str(bank), memory_mb=1024, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert not proc.ceiling_hit
    assert "probe values" in proc.stderr and f"{bank}:" in proc.stderr, proc.stderr
    assert time.monotonic() - started < 120
