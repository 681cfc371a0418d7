"""How long "Check" takes in the kernel, from the click to the updated view.

    .venv/bin/python benchmarks/widget_latency.py            # in-process and inside a real kernel
    .venv/bin/python benchmarks/widget_latency.py --in-process

Times ``Quiz.check()``: what the button's click handler runs (scoring through grader.scoring,
feedback HTML, every widget update, the progress file write). Inside a kernel (run through
nbclient, which plays the frontend) each widget update is also serialised and sent as a comm
message, as in JupyterLab or Colab; the browser's own drawing is not included. Target: < 50 ms for
choice questions. Free responses are judged by meaning (a sentence-embedding model, grader/meaning):
the kernel's first one loads the model; later ones must stay under 200 ms at p95 on 2 cores, over
every answer of the labelled evaluation set (tests/fixtures/free_response_eval.yaml).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MEASURE = r'''
import json, statistics, tempfile, time
from pathlib import Path
from grader import load_bank
from grader.widgets import Quiz

def free_answers():
    """Every labelled answer of the evaluation set, short to 300 words: what students type."""
    from ruamel.yaml import YAML
    data = YAML(typ="safe").load((Path(ROOT) / "tests" / "fixtures" / "free_response_eval.yaml").read_text())
    return {qid: [item["answer"] for item in items] for qid, items in data["questions"].items()}

FREE_ANSWERS = free_answers()

def measure(repeats):
    timings = {}
    folder = Path(tempfile.mkdtemp(prefix="quiz-bench-"))
    for name in ("day48-lora-qlora", "coursera-peft-graded-quiz", "lora-qlora-flashcards-practice"):
        bank = load_bank(Path(ROOT) / "quizzes" / f"{name}.yaml")
        kinds = {"wrong answer (tries left)": [], "right answer (explanation shown)": [], "free response": [],
                 "free response, first check of the kernel (loads the model)": []}
        for _ in range(repeats):
            quiz = Quiz(bank, student="bench", tries=None, progress=folder / f"{name}.progress.json", autotick=False)
            for q in quiz.session.questions:
                quiz.go(q.id)
                if q.type == "free_response":
                    for n, text in enumerate(FREE_ANSWERS[q.id]):
                        quiz.select(text)
                        start = time.perf_counter(); quiz.check()
                        first = not kinds["free response, first check of the kernel (loads the model)"]
                        key = "free response, first check of the kernel (loads the model)" if first else "free response"
                        kinds[key].append(time.perf_counter() - start)
                    continue
                if getattr(q, "options", None) is None:
                    continue
                right = q.correct_ids
                wrong = [o.id for o in q.options if o.id not in right]
                quiz.select(wrong if q.type == "multiple_choice" else wrong[0])
                start = time.perf_counter(); quiz.check(); kinds["wrong answer (tries left)"].append(time.perf_counter() - start)
                quiz.select(right if q.type == "multiple_choice" else right[0])
                start = time.perf_counter(); quiz.check(); kinds["right answer (explanation shown)"].append(time.perf_counter() - start)
            quiz.close()
        for kind, values in kinds.items():
            timings.setdefault(kind, []).extend(values)
    out = {}
    for kind, values in timings.items():
        if not values:
            continue
        ms = sorted(v * 1000 for v in values)
        out[kind] = {"n": len(ms), "median": statistics.median(ms), "p95": ms[int(0.95 * (len(ms) - 1))], "max": ms[-1]}
    return out
'''


def in_process(repeats: int) -> dict:
    namespace: dict = {"ROOT": str(ROOT)}
    exec(MEASURE, namespace)  # the same code the kernel runs, here without a frontend
    return namespace["measure"](repeats)


def in_kernel(repeats: int) -> dict:
    import nbformat
    from nbclient import NotebookClient

    code = f"ROOT = {str(ROOT)!r}\n{MEASURE}\nprint('RESULT' + json.dumps(measure({repeats})))"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    with tempfile.TemporaryDirectory() as folder:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": folder}}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.output_type == "stream")
    return json.loads(text.split("RESULT", 1)[1])


def table(title: str, result: dict) -> str:
    lines = [f"**{title}**", "", "| check | n | median ms | p95 ms | max ms |", "|---|---|---|---|---|"]
    for kind, r in result.items():
        lines.append(f"| {kind} | {r['n']} | {r['median']:.2f} | {r['p95']:.2f} | {r['max']:.2f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="fresh quizzes per bank (default 5)")
    parser.add_argument("--in-process", action="store_true", help="skip the real-kernel measurement")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("GRADER_BANKS", str(ROOT / "quizzes"))
    import ipywidgets

    print(f"ipywidgets {ipywidgets.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    print(table("In process (no frontend)", in_process(args.repeats)))
    if not args.in_process:
        print()
        print(table("Inside a kernel (comm messages sent to nbclient)", in_kernel(args.repeats)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
