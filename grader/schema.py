"""The JSON Schema authors' editors check a bank against, generated from the pydantic models (never by hand).

The schema is standard JSON Schema (draft 2020-12), so any validator and any editor that speaks the
YAML language server understands it, and it agrees with ``grader validate``: it never rejects a bank
``validate`` accepts, and it flags every mistake it can express (a missing or unknown field, a
wrong type, a number out of range). What only ``validate`` can check (exactly one correct option,
regular expressions that compile, unique ids) is listed in ``tests/test_schema_agreement.py``.

Three things differ from pydantic's own ``model_json_schema``:

* **The question union** is ``allOf`` of ``if {type: const} then {$ref: kind}``, one per registered
  kind, with ``type`` an ``enum`` of the kinds' names: a validator checks a question against its own
  kind only, so an author reads "'answer' is a required property" instead of "not valid under any of
  the given schemas" (pydantic's ``oneOf`` plus the non-standard ``discriminator`` keyword).
* **Fields authors never write** (:data:`MACHINE_FIELDS`: the hashes of student copies, the level the
  loader keeps) move from ``properties`` to ``patternProperties``: still accepted, so a student copy
  passes, but editors do not offer them, since completion lists ``properties`` only.
* **Nullable plain types** are ``type: [number, "null"]`` rather than ``anyOf`` (better messages).
* **Fields the loader fills in** (:data:`FILLED_BY_LOADER`, option ids A, B, C…) are not required,
  and date-times and difficulty words are described as the loader reads them.

It uses no keyword newer than draft 7 except ``$defs`` (reached by plain JSON pointers), because
yaml-language-server implements draft 7.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from .bank import bank_model
from .errors import UserError
from .kinds import KINDS, Registry
from .models import Option
from .models.question import DIFFICULTY_SCHEMA, DIFFICULTY_WORDS

DRAFT = "https://json-schema.org/draft/2020-12/schema"

MACHINE_FIELDS: dict[str, str] = {
    "key_salt": "written by `grader release` into student copies: the salt of their key hashes",
    "key_hash": "written by `grader release` into student copies: an option's hashed key",
    "answer_hash": "written by `grader release` into student copies: the hashed key",
    "answer_hashes": "written by `grader release` into student copies: the hashed accepted answers",
    "level": "kept by the loader: the seed's own difficulty word when `difficulty` was given as one",
}
"""Fields that are valid in a bank file but that an author never writes, and who writes them."""

FILLED_BY_LOADER: dict[type[BaseModel], tuple[str, ...]] = {Option: ("id",)}
"""Required fields of a model that the loader fills in before validation when a bank leaves them out
(option ids default to A, B, C… by position: grader.models.options.default_option_ids)."""

DATETIME_PATTERN = (r"^\s*\d{4}-?\d{2}-?\d{2}[Tt ].*([Zz]|[+-]\d{2}(:?\d{2}(:?\d{2}(\.\d{1,6})?)?)?)\s*$")
"""A date, a time and a time zone, as grader.bank reads them (``2026-12-01T23:59:00+01:00``; a space may
stand for the ``T``). Loose on purpose: the schema may accept a date-time ``validate`` refuses, never
the reverse."""


def _any_case(word: str) -> str:
    """``word`` as a regular expression matching it in any letter case (JSON Schema patterns have no flags)."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


def difficulty_schema() -> dict[str, Any]:
    """The difficulty words as the loader accepts them: any letter case, surrounding spaces ignored.

    The ``enum`` branch is what editors offer for completion; the pattern accepts ``Beginner`` too."""
    words = "|".join(_any_case(word) for word in DIFFICULTY_WORDS)
    return {"anyOf": [{"enum": list(DIFFICULTY_WORDS)}, {"type": "string", "pattern": rf"^\s*({words})\s*$"},
                      {"type": "null"}]}


class AuthorSchema(GenerateJsonSchema):
    """pydantic's JSON Schema generator with standard keywords only and no auto-generated field titles."""

    def tagged_union_schema(self, schema: core_schema.TaggedUnionSchema) -> JsonSchemaValue:
        """``if type == X then X's schema`` for each kind, instead of ``oneOf`` plus ``discriminator``."""
        tag = schema["discriminator"]
        if not isinstance(tag, str):  # a callable discriminator: nothing to key on, keep pydantic's form
            return super().tagged_union_schema(schema)
        names = [str(name) for name in schema["choices"]]
        branches = [{"if": {"properties": {tag: {"const": name}}, "required": [tag]},
                     "then": self.generate_inner(schema["choices"][name])} for name in names]
        return {"type": "object", "required": [tag],
                "properties": {tag: {"enum": names, "description": "The question's kind: " + ", ".join(names)}},
                "allOf": branches}

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        """``{type: [number, "null"]}`` rather than ``anyOf`` of the two, where the inner schema is one plain
        type: the same values, and a validator then says "'4' is not of type 'number', 'null'" instead of
        "not valid under any of the given schemas" (the other keywords apply to their own type only)."""
        inner = self.generate_inner(schema["schema"])
        if isinstance(inner.get("type"), str) and not {"$ref", "anyOf", "oneOf", "allOf", "enum", "const"} & set(inner):
            return {**inner, "type": [inner["type"], "null"]}
        return super().nullable_schema(schema)

    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> JsonSchemaValue:
        return {"type": "string", "pattern": DATETIME_PATTERN,
                "examples": ["2026-12-01T23:59:00+01:00"]}

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # "Id", "Prompt"…: the descriptions say more


def bank_json_schema(registry: Registry = KINDS) -> dict[str, Any]:
    """The authors' JSON Schema of a bank whose questions are the kinds of ``registry``."""
    schema = bank_model(registry).model_json_schema(schema_generator=AuthorSchema, mode="validation")
    definitions = schema.get("$defs", {})
    for model, names in FILLED_BY_LOADER.items():
        entry = definitions.get(model.__name__)
        if entry is not None and "required" in entry:
            entry["required"] = [n for n in entry["required"] if n not in names]
    for entry in [schema, *definitions.values()]:
        _hide_machine_fields(entry)
    _widen_difficulty(schema)
    schema = {"$schema": DRAFT, "title": "Quiz bank",
              "description": "A quiz bank of the PEFT course: see quizzes/README.md for every field.", **schema}
    schema["title"] = "Quiz bank"
    return schema


def _hide_machine_fields(entry: dict[str, Any]) -> None:
    """Move :data:`MACHINE_FIELDS` of one object schema to ``patternProperties`` (accepted, not offered)."""
    properties = entry.get("properties", {})
    for name in [n for n in properties if n in MACHINE_FIELDS]:
        hidden = dict(properties.pop(name))
        hidden["description"] = f"Not written by authors ({MACHINE_FIELDS[name]})."
        entry.setdefault("patternProperties", {})[f"^{re.escape(name)}$"] = hidden
        if name in entry.get("required", []):
            entry["required"].remove(name)


def _widen_difficulty(node: Any) -> None:
    """Give every ``difficulty`` sub-schema (recognised by the model's own ``DIFFICULTY_SCHEMA``) the
    branches of :func:`difficulty_schema`, in place; its description and default stay."""
    if isinstance(node, dict):
        if node.get("anyOf") == DIFFICULTY_SCHEMA.json_schema["anyOf"]:
            node["anyOf"] = difficulty_schema()["anyOf"]
        for value in node.values():
            _widen_difficulty(value)
    elif isinstance(node, list):
        for value in node:
            _widen_difficulty(value)


def bank_json_schema_text(registry: Registry = KINDS) -> str:
    """:func:`bank_json_schema` as the JSON text ``grader schema`` prints and writes."""
    return json.dumps(bank_json_schema(registry), indent=2, ensure_ascii=False) + "\n"


def write_bank_schema(path: str | Path, registry: Registry = KINDS) -> Path:
    """Write the schema to ``path`` (its folder created) for an editor to use; UserError when it cannot be written."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(bank_json_schema_text(registry), encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write the schema to {path}: {exc.strerror or exc}") from None
    return path
