"""grader: a quiz engine for the course.

Load YAML quiz banks into validated models, score answers with pure functions, and grade answer
files from the command line (``python -m grader --help``).

>>> from grader import load_bank, score_answers
>>> bank = load_bank("quizzes/day48-lora-qlora.yaml")          # doctest: +SKIP
>>> score_answers(bank, {"q1": "B"}).percent                   # doctest: +SKIP

The public names are imported on first use (PEP 562), so a process that needs only one part — the
parser workers, the sandbox's zygote — does not pay for pydantic and every model.
"""
from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "BankError": ".errors", "BankIssue": ".errors", "UserError": ".errors",
    "load_bank": ".loader", "parse_bank": ".loader", "bank_files": ".loader", "find_bank": ".loader",
    "Bank": ".bank", "Option": ".models", "Question": ".kinds", "KINDS": ".kinds",
    "score_answers": ".scorer", "score_question": ".scorer", "QuizResult": ".scoring", "QuestionResult": ".scoring",
    "summarize_attempts": ".scoring.attempts", "AttemptSummary": ".scoring.attempts",
}
__all__ = list(_PUBLIC)
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'grader' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
