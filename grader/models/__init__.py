"""Pydantic models of a quiz bank. The field names are a contract (see shared DESIGN.md)."""
from .bank import Badge, Bank
from .options import Option
from .questions import (QUESTION_TYPES, CodeOutputQuestion, CodeQuestion, Concept, FlashcardQuestion,
                        FreeResponseQuestion, MultipleChoiceQuestion, NumericQuestion, Probe, Question,
                        SingleChoiceQuestion, TextQuestion)

__all__ = ["Badge", "Bank", "Option", "Question", "QUESTION_TYPES", "SingleChoiceQuestion",
           "MultipleChoiceQuestion", "NumericQuestion", "TextQuestion", "CodeOutputQuestion",
           "FreeResponseQuestion", "FlashcardQuestion", "CodeQuestion", "Concept", "Probe"]
