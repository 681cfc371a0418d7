"""The authors' JSON Schema and ``grader validate`` agree: a plain draft 2020-12 validator (what editors run)
and ``validate --no-run`` give every bank the same verdict, except the cases listed in
:data:`VALIDATE_ONLY`, which no JSON Schema can express; the schema never rejects a bank ``validate`` accepts.

Fixtures: ``tests/fixtures/banks/schema/{valid,invalid,validate_only}/``, one mistake per file, plus
every bank in ``quizzes/``, the other fixture banks and student copies of the practice banks.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from paths import FIXTURES, ROOT

jsonschema = pytest.importorskip("jsonschema")  # comes with nbformat (the dev extra)
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from grader import load_bank
from grader.bank import Bank
from grader.keys import student_copy
from grader.kinds import KINDS
from grader.models import Option
from grader.models.base import KeyHash
from grader.schema import MACHINE_FIELDS, bank_json_schema
from grader.validation import validate_paths
from grader.yaml_source import parse_yaml_text

CASES = FIXTURES / "banks" / "schema"

VALIDATE_ONLY: dict[str, str] = {
    "two_correct_options": "exactly one correct option: a count over the items' `correct` flags",
    "no_correct_option": "at least one correct option: the same kind of count",
    "duplicate_question_ids": "unique ids: uniqueItems compares whole items, not one field",
    "duplicate_option_ids": "option ids unique case-insensitively: the same, with case folding",
    "duplicate_probe_ids": "unique probe ids: the same",
    "invalid_regex": "a pattern that compiles (with the `regex` package, within size limits): a program's check",
    "numeric_without_answer": "`answer` or, in a student copy, `answer_hash`: the models say it in a validator",
    "text_without_answers": "at least one of `answers` and `patterns`: the same",
    "code_output_without_key": "`options` or `answer`: the same",
    "code_output_with_both_keys": "not both `options` and `answer`: the same",
    "code_output_one_option": "at least 2 options when `options` is given: the same",
    "antonym_pair_of_one_word": "an antonym pair's two sides differ (case-folded): compares two items",
    "flashcard_with_points": "flashcards' points are 0: the same",
    "probe_not_an_expression": "`expr` must compile as a Python expression: a program's check",
    "late_penalty_without_due": "`late_penalty` needs `due`: a cross-field validator",
    "cutoff_before_due": "`cutoff` not before `due`: compares two dates",
    "badge_unknown_question": "a badge's questions exist in the bank: a reference across the file",
    "hash_beside_correct": "a student copy's hashes replace every `correct` flag: a cross-field validator",
    "integer_written_with_a_point": "JSON Schema counts 30.0 as an integer; validate (strict) wants 30",
}
"""Schema accepts, ``validate`` rejects: the file's stem → why the schema cannot say it."""


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = bank_json_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def as_editor_sees(value: Any) -> Any:
    """YAML data as JSON: a YAML 1.2 editor reads an unquoted date-time as text, ruamel as a datetime."""
    if isinstance(value, dict):
        return {key: as_editor_sees(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_editor_sees(item) for item in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def schema_verdict(validator: Draft202012Validator, path: Path) -> tuple[bool, str]:
    """(valid, the message an author would read first) from the JSON Schema alone."""
    data, _ = parse_yaml_text(path.read_text(encoding="utf-8"), str(path))
    error = best_match(validator.iter_errors(as_editor_sees(data)))
    return error is None, "" if error is None else f"{error.json_path}: {error.message}"


def validate_verdict(path: Path) -> tuple[bool, str]:
    """(valid, its first problem) from ``grader validate --no-run`` (the function the command calls)."""
    report = validate_paths(paths=[path], run_snippets=False)
    return report.ok, "; ".join(str(issue) for issue in report.issues[:3])


def banks(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.yaml"))


ACCEPTED = [*banks(ROOT / "quizzes"), *banks(CASES / "valid"), FIXTURES / "banks" / "every_kind.yaml",
            FIXTURES / "banks" / "setup_uses_answer.yaml"]
REJECTED = [*banks(CASES / "invalid"), FIXTURES / "banks" / "many_errors.yaml"]


@pytest.mark.parametrize("path", ACCEPTED, ids=lambda p: p.name)
def test_both_accept(validator, path):
    assert validate_verdict(path) == (True, "")
    assert schema_verdict(validator, path) == (True, "")


@pytest.mark.parametrize("path", REJECTED, ids=lambda p: p.name)
def test_both_reject(validator, path):
    valid, message = validate_verdict(path)
    assert not valid
    valid, message = schema_verdict(validator, path)
    assert not valid
    # the editor's first message points into the bank, never just "not valid under any of the given schemas"
    assert "not valid under any of the given schemas" not in message, message


@pytest.mark.parametrize("path", banks(CASES / "validate_only"), ids=lambda p: p.name)
def test_schema_accepts_what_only_validate_can_reject(validator, path):
    assert path.stem in VALIDATE_ONLY, f"{path.name}: say in VALIDATE_ONLY why the schema cannot reject it"
    assert schema_verdict(validator, path) == (True, ""), "the schema now rejects it: move the file to invalid/"
    valid, message = validate_verdict(path)
    assert not valid and message


def test_every_listed_exception_has_its_fixture():
    assert set(VALIDATE_ONLY) == {path.stem for path in banks(CASES / "validate_only")}


@pytest.mark.parametrize("bank_id", ["lora-qlora-challenges", "lora-qlora-flashcards-practice"])
def test_student_copies_pass_both(validator, bank_id, tmp_path):
    """A student copy's hashes are accepted (not offered to authors, but never an error)."""
    copy = student_copy(load_bank(ROOT / "quizzes" / f"{bank_id}.yaml"), salt="0123456789abcdef")
    path = tmp_path / f"{bank_id}.yaml"
    path.write_text(yaml.safe_dump(copy, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert validate_verdict(path) == (True, "")
    assert schema_verdict(validator, path) == (True, "")


@pytest.mark.parametrize(("case", "where", "words"), [
    ("missing_prompt", "$.questions[0]", "'prompt' is a required property"),
    ("unknown_type", "$.questions[0].type", "'singel_choice' is not one of"),
    ("numeric_answer_as_string", "$.questions[0].answer", "'4' is not of type 'number'"),
    ("option_without_text", "$.questions[0].options[0]", "'text' is a required property"),
    ("unknown_field", "$.questions[0]", "'explantion'"),
    ("code_without_checks", "$.questions[0]", "'checks' is a required property"),
])
def test_schema_errors_name_the_field_of_the_right_kind(validator, case, where, words):
    """Each question is checked against its own kind only (if type then kind), so the message is precise."""
    _, message = schema_verdict(validator, CASES / "invalid" / f"{case}.yaml")
    assert message.startswith(f"{where}: ") and words in message, message


def _subschemas(node: Any):
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        yield from _subschemas(child)


def test_schema_is_standard_draft_2020_12_keyed_by_type():
    schema = bank_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert not any(isinstance(node, dict) and "discriminator" in node for node in _subschemas(schema))
    union = schema["properties"]["questions"]["items"]
    assert union["properties"]["type"]["enum"] == list(KINDS.names)
    assert [branch["if"]["properties"]["type"]["const"] for branch in union["allOf"]] == list(KINDS.names)
    assert "id" not in schema["$defs"]["Option"]["required"]  # defaults to A, B, C…


def test_authors_are_offered_no_machine_written_field():
    schema = bank_json_schema()
    offered = {name for node in _subschemas(schema) if isinstance(node, dict)
               for name in (node.get("properties") or {}) if isinstance(node.get("properties"), dict)}
    assert not offered & set(MACHINE_FIELDS)
    json.dumps(schema)  # plain JSON


def test_every_hashed_key_field_is_a_machine_field():
    """A kind added later with a hashed key of its own must not offer it to authors."""
    models = {kind.model for kind in KINDS.kinds}
    hashed = {name for model in (*models, Option, Bank) for name, info in model.model_fields.items()
              if KeyHash.__metadata__[0] in _metadata(info.annotation) or
              any(getattr(m, "pattern", None) == KeyHash.__metadata__[0].pattern for m in info.metadata)}
    assert hashed, "the KeyHash fields were not found: this test no longer looks at the right thing"
    assert hashed <= set(MACHINE_FIELDS)


def _metadata(annotation: Any) -> list[Any]:
    """Every ``Annotated`` metadata item inside ``annotation`` (through unions and lists)."""
    found = list(getattr(annotation, "__metadata__", ()))
    for arg in getattr(annotation, "__args__", ()) or ():
        found += _metadata(arg)
    return found


DRAFT_7_KEYWORDS = {
    "$schema", "$ref", "$comment", "title", "description", "default", "examples", "type", "enum", "const",
    "properties", "patternProperties", "additionalProperties", "required", "items", "minItems", "maxItems",
    "minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "anyOf", "oneOf", "allOf", "if", "then", "else", "format", "uniqueItems", "readOnly",
}


def test_schema_uses_only_keywords_draft_7_editors_know():
    """yaml-language-server implements draft 7: the schema says 2020-12 but uses nothing newer than
    ``$defs`` (reached through plain JSON pointers), so editors and validators of both drafts agree."""
    schema = bank_json_schema()
    used: set[str] = set()

    def walk(node: Any, in_names: bool = False) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if not in_names:
                    used.add(key)
                names = not in_names and key in {"properties", "patternProperties", "$defs"}
                if key in {"default", "examples", "enum", "const", "required"} and not in_names:
                    continue
                walk(value, names)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema)
    assert used - DRAFT_7_KEYWORDS == {"$defs"}
