"""The JSON Schema of a bank, generated from the pydantic models (never written by hand)."""
from __future__ import annotations

import json
from typing import Any

from .bank import Bank


def bank_json_schema() -> dict[str, Any]:
    schema = Bank.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Quiz bank"
    schema["description"] = "A quiz bank of the PEFT course (see quizzes/README.md)."
    return schema


def bank_json_schema_text() -> str:
    return json.dumps(bank_json_schema(), indent=2, ensure_ascii=False) + "\n"
