"""The building blocks of bank models: shared field types, options, key hashes and the fields every
question has. The kinds (``grader.kinds``) and the bank (``grader.bank``) are built on top of them;
the field names are a contract (``quizzes/README.md``)."""
from .base import KeyHash, NonEmptyStr, Slug, StrictModel
from .options import Option
from .question import ChoiceFields, QuestionBase

__all__ = ["KeyHash", "NonEmptyStr", "Slug", "StrictModel", "Option", "ChoiceFields", "QuestionBase"]
