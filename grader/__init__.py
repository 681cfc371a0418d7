"""grader: a quiz engine for the course.

Load YAML quiz banks into validated models, score answers with pure functions, and grade answer
files from the command line (``python -m grader --help``).

>>> from grader import load_bank, score_answers
>>> bank = load_bank("quizzes/day48-lora-qlora.yaml")          # doctest: +SKIP
>>> score_answers(bank, {"q1": "B"}).percent                   # doctest: +SKIP
"""
from .errors import BankError, BankIssue, UserError
from .loader import bank_files, find_bank, load_bank, parse_bank
from .models import Bank, Option, Question
from .scoring import QuestionResult, QuizResult, score_answers, score_question
from .scoring.attempts import AttemptSummary, summarize_attempts

__all__ = ["BankError", "BankIssue", "UserError", "load_bank", "parse_bank", "bank_files", "find_bank",
           "Bank", "Option", "Question", "score_answers", "score_question", "QuizResult", "QuestionResult",
           "summarize_attempts", "AttemptSummary"]
__version__ = "0.1.0"
