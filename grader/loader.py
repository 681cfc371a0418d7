"""Load a bank file: read → parse YAML with positions → validate → located errors.

Every problem found in one pass is reported, each as ``file:line: field.path: message``.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .bank import Badge, Bank, LatePenalty, duplicate_question_ids
from .errors import BankError, BankIssue
from .kinds import KINDS, QUESTION_TYPES, Concept, Probe
from .models import Option, QuestionBase
from .models.base import LOCATED
from .yaml_source import SourceMap, format_loc, parse_yaml_text, read_text

def _allowed_fields(data: Any, loc: tuple[Any, ...]) -> list[str]:
    """Field names valid at the model that holds ``loc``'s last key (for 'did you mean' hints)."""
    parent = loc[:-1]
    if parent == ():
        return list(Bank.model_fields)
    if len(parent) == 2 and parent[0] == "questions":
        qtype = data["questions"][parent[1]].get("type") if isinstance(data, dict) else None
        kind = KINDS.get(qtype) if isinstance(qtype, str) else None
        return list((kind.model if kind else QuestionBase).model_fields)
    if parent and parent[0] == "badge":
        return list(Badge.model_fields)
    if parent == ("late_penalty",):
        return list(LatePenalty.model_fields)
    if len(parent) == 4 and parent[2] == "options":
        return list(Option.model_fields)
    if len(parent) == 4 and parent[2] == "concepts":
        return list(Concept.model_fields)
    if len(parent) == 4 and parent[2] == "checks":
        return list(Probe.model_fields)
    return []


def _friendly(error: dict[str, Any], data: Any, loc: tuple[Any, ...]) -> str:
    """Turn one pydantic error into wording a bank author understands."""
    kind = error["type"]
    if kind == "extra_forbidden":
        name = loc[-1]
        close = difflib.get_close_matches(str(name), _allowed_fields(data, loc), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown field '{name}'{hint}"
    if kind == "missing":
        return f"required field '{loc[-1]}' is missing" if loc else "required field is missing"
    if kind == "union_tag_not_found":
        return f"missing `type`; one of: {', '.join(QUESTION_TYPES)}"
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag")
        close = difflib.get_close_matches(str(tag), QUESTION_TYPES, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown question type '{tag}'{hint}; one of: {', '.join(QUESTION_TYPES)}"
    if kind == "too_short" and loc and loc[-1] == "questions":
        return "a bank needs at least one question"
    if kind == "too_short" and loc and loc[-1] == "options":
        return "a choice question needs at least 2 options"
    message = error["msg"]
    return message.removeprefix("Value error, ")


def _issues_from_validation(exc: ValidationError, data: Any, source: SourceMap, path: str) -> list[BankIssue]:
    issues: list[BankIssue] = []
    for error in exc.errors(include_url=False):
        raw_loc = tuple(error["loc"])
        # drop the discriminator tag pydantic inserts after a question's index
        loc = tuple(p for i, p in enumerate(raw_loc)
                    if not (isinstance(p, str) and p in QUESTION_TYPES and i > 0 and isinstance(raw_loc[i - 1], int)))
        message = _friendly(error, data, loc)
        if error["type"] == "union_tag_invalid":
            loc = loc + ("type",)
        if error["type"] == LOCATED:  # a validator's error below its field (grader.models.base.located)
            loc = loc + tuple(error["ctx"]["subpath"])
        line, column, _ = source.locate(loc)
        issues.append(BankIssue(path, line, column, format_loc(loc), message))
    issues.sort(key=lambda i: (i.line or 0, i.column or 0))
    return issues


def parse_bank(text: str, path: str | Path = "<string>") -> Bank:
    """Validate bank YAML ``text``; ``path`` is only used in error messages."""
    return parse_bank_located(text, path)[0]


def parse_bank_located(text: str, path: str | Path = "<string>") -> tuple[Bank, SourceMap]:
    """Like :func:`parse_bank`, also returning where each field stood (for later checks' errors)."""
    path = str(path)
    if not text.strip():
        raise BankError.single(path, "the file is empty; a bank needs at least `id`, `title`, `source` and `questions`", line=1)
    data, source = parse_yaml_text(text, path)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        raise BankError.single(path, f"the top level must be a mapping (id:, title:, questions: …), found {kind}", line=1)
    try:
        return Bank.model_validate(data), source
    except ValidationError as exc:
        issues = _issues_from_validation(exc, data, source, path)
    # pydantic skips list-level checks when an item fails, so look for duplicate ids on the raw data
    known = {(i.field, i.message) for i in issues}
    issues += [i for i in _duplicate_id_issues(data, source, path) if (i.field, i.message) not in known]
    issues.sort(key=lambda i: (i.line or 0, i.column or 0))
    raise BankError(issues)


def _duplicate_id_issues(data: dict[str, Any], source: SourceMap, path: str) -> list[BankIssue]:
    questions = data.get("questions")
    if not isinstance(questions, list):
        return []
    issues = []
    for index, message in duplicate_question_ids([q.get("id") if isinstance(q, dict) else None for q in questions]):
        loc = ("questions", index, "id")
        line, column, _ = source.locate(loc)
        issues.append(BankIssue(path, line, column, format_loc(loc), message))
    return issues


def load_bank(path: str | Path) -> Bank:
    """Load and validate the bank at ``path``.

    Raises :class:`grader.BankError` listing every problem with its file, line and field.
    """
    path = Path(path)
    return parse_bank(read_text(path), path)


def bank_files(paths: list[str | Path]) -> list[Path]:
    """Expand files and folders into the bank files they name (``*.yaml``/``*.yml``), sorted."""
    out: list[Path] = []
    for item in paths:
        item = Path(item)
        if item.is_dir():
            out.extend(sorted(p for p in item.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file()))
        else:
            out.append(item)
    return out


def find_bank(bank_id: str, start: str | Path | None = None) -> Path:
    """The path of the bank file whose name is ``<bank_id>.yaml``.

    Looks in ``$GRADER_BANKS``, then ``quizzes/`` in the start folder (default: the current one) and
    each of its parents, so notebooks in ``notebooks/`` find ``../quizzes``, then the quizzes
    folder next to the installed package.
    """
    import os

    candidates: list[Path] = []
    if os.environ.get("GRADER_BANKS"):
        candidates += [Path(p) for p in os.environ["GRADER_BANKS"].split(os.pathsep) if p]
    here = Path(start or Path.cwd()).resolve()
    candidates += [d / "quizzes" for d in (here, *here.parents)]
    candidates.append(Path(__file__).resolve().parents[1] / "quizzes")
    for folder in candidates:
        for suffix in (".yaml", ".yml"):
            if (folder / f"{bank_id}{suffix}").is_file():
                return folder / f"{bank_id}{suffix}"
    raise FileNotFoundError(f"no bank '{bank_id}.yaml' in $GRADER_BANKS, ./quizzes or any parent's quizzes/ folder")
