"""Write the quiz notebooks of ``notebooks/quizzes/`` from the seed banks.

    python notebooks/quizzes/make_notebooks.py          # rewrite them
    python notebooks/quizzes/make_notebooks.py --check  # exit 1 when one is stale (CI)

Each notebook: a short intro, a set-up cell (Colab and local), the quiz widget, and the static
Markdown version of the quiz for places where widgets cannot run. They are written without outputs
or widget state, so they diff cleanly and render on GitHub. Edit this script, not the notebooks.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from grader import Bank, load_bank, nbwriter  # noqa: E402
from grader.widgets import markdown_fallback  # noqa: E402
from grader.widgets.quiz import quiz_id_for  # noqa: E402
from course.colab import repository_url, setup_cell_source  # noqa: E402

# The Colab set-up cell: generated from pyproject.toml's repository URL (course/colab.py), the same
# generator as the lessons'; the `widgets` extra brings the quiz engine's Markdown renderer, and the
# cell's constraint keeps Colab's own ipywidgets 7.7.1.
SETUP = setup_cell_source(url=repository_url(), extra="widgets")

HOW_TO = """\
## The quiz

Pick an answer and press **Check**. A wrong answer tells you what your choice missed and leaves
you another try (**Attempts: N left**); the explanation and common mistakes appear once you get it
right or run out of tries. **Hint** helps when a question has one. **Finish** shows your score,
whether you passed and a table of every question.{shuffled}

Your progress (best score, attempts) is saved next to this notebook in `{quiz_id}.progress.json`,
so rerunning the cell keeps your best score. To hand answers in, run `quiz.export_answers()`: it
writes an answer file that `python -m grader grade` reads. Self-checking is for learning: graded
work is always scored by `grader grade`.
"""

DECK_HOW_TO = """\
## The deck

**Flip card** shows the back; **Got it** and **Again** become active once you have seen it. Cards
marked again come back at the end of the deck, and **Finish** shows how the deck went. Flashcards
are for recall, never scored. Your marks are saved next to this notebook in `{quiz_id}.progress.json`.
"""

SHUFFLED = " Options are shuffled for you, the same way on every rerun (the bank asks for it)."


def how_to(bank: Bank, quiz_id: str) -> str:
    """The how-to cell: the deck's for a notebook of flashcards only, the quiz's otherwise; it says
    options are shuffled only when the bank shuffles them (the widget follows the bank)."""
    if all(q.type == "flashcard" for q in bank.questions):
        return DECK_HOW_TO.format(quiz_id=quiz_id)
    return HOW_TO.format(quiz_id=quiz_id, shuffled=SHUFFLED if bank.shuffle_options else "")


@dataclass(frozen=True)
class QuizNotebook:
    name: str
    bank_id: str
    intro: str
    call: str
    types: tuple[str, ...] | None = None


NOTEBOOKS = [
    QuizNotebook("ibm-peft-graded-quiz", "ibm-peft-graded-quiz",
                 "Five questions on why parameter-efficient fine-tuning works: frozen weights, adapters, "
                 "LoRA's low-rank update and QLoRA's quantization.",
                 'quiz = Quiz("ibm-peft-graded-quiz")'),
    QuizNotebook("day48-lora-qlora", "day48-lora-qlora",
                 "Ten questions on LoRA and QLoRA: rank and alpha, NF4, double quantization, target "
                 "modules, paged optimizers and what matters in production.",
                 'quiz = Quiz("day48-lora-qlora")'),
    QuizNotebook("coursera-peft-graded-quiz", "coursera-peft-graded-quiz",
                 "Five questions, one with code options and one with the shapes of LoRA's matrices. "
                 "Pass at 80 %; your highest attempt is kept.",
                 'quiz = Quiz("coursera-peft-graded-quiz")'),
    QuizNotebook("lora-qlora-challenges", "lora-qlora-challenges",
                 "Five timed challenges (a countdown per question, two tries each, a badge for a perfect "
                 "run) and five practice problems with step-by-step solutions.",
                 'quiz = Quiz("lora-qlora-challenges")'),
    QuizNotebook("lora-qlora-flashcards-practice", "lora-qlora-flashcards-practice",
                 "Review questions, two explain-it-yourself answers checked against a concept checklist, "
                 "and practice problems. The flashcards of this bank have their own deck notebook.",
                 'quiz = Quiz("lora-qlora-flashcards-practice", types=["single_choice", "code_output", "free_response"])',
                 ("single_choice", "code_output", "free_response")),
    QuizNotebook("flashcards-deck", "lora-qlora-flashcards-practice",
                 "Five flashcards. Read the front, answer in your head, **Flip card**, then say honestly "
                 "whether you **Got it** or want to see it **Again**: cards marked again come back at "
                 "the end of the deck, and **Finish** shows how the deck went.",
                 'quiz = Quiz("lora-qlora-flashcards-practice", types=["flashcard"])', ("flashcard",)),
]


def build(spec: QuizNotebook) -> dict:
    full = load_bank(ROOT / "quizzes" / f"{spec.bank_id}.yaml")
    bank = full.of_types(spec.types)
    quiz_id = quiz_id_for(full, bank)
    cells = [
        nbwriter.markdown_cell(f"# {bank.title}\n\n{spec.intro}\n\n"
                               f"*Quiz bank: `quizzes/{spec.bank_id}.yaml` (source: `{bank.source}`).*"),
        nbwriter.code_cell(SETUP),
        nbwriter.markdown_cell(how_to(bank, quiz_id)),
        nbwriter.code_cell(f"from grader.widgets import Quiz\n\n{spec.call}\nquiz"),
        nbwriter.markdown_cell(markdown_fallback(bank, heading_level=2)),
    ]
    return nbwriter.notebook(cells, id_prefix=spec.name)  # stable ids: regenerating changes nothing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook differs from what would be written")
    args = parser.parse_args(argv)
    stale = []
    for spec in NOTEBOOKS:
        path = HERE / f"{spec.name}.ipynb"
        text = nbwriter.dumps(build(spec))
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"stale: {', '.join(stale)}; run python notebooks/quizzes/make_notebooks.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
