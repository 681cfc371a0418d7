"""Load a bank file: read → parse YAML with positions → validate → located errors.

Every problem found in one pass is reported, each as ``file:line: field.path: message``.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .bank import Badge, Bank, LatePenalty, duplicate_question_ids
from .errors import BankError, BankIssue
from .kinds import KINDS, QUESTION_TYPES, Concept, Probe, Question
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
        # drop the discriminator tag pydantic inserts after a question's index (only there: `text` is a kind
        # and also an option's field, so options[0].text must keep its last part)
        tagged = len(raw_loc) > 2 and raw_loc[0] == "questions" and raw_loc[2] in QUESTION_TYPES
        loc = raw_loc[:2] + raw_loc[3:] if tagged else raw_loc
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
    parsed = parse_bank_parts(text, path)
    if parsed.bank is None or parsed.source is None:
        raise BankError(parsed.issues)
    return parsed.bank, parsed.source


@dataclass(frozen=True)
class BankParts:
    """What one bank file parsed into, whether or not it is valid: ``validate``'s one pass needs the
    questions that parsed even when others did not, to run their author code too."""

    bank: Bank | None
    """The bank, when the file is valid (``issues`` is then empty)."""
    source: SourceMap | None
    """Where each field stood (None when the file is not even YAML of a mapping)."""
    issues: list[BankIssue] = field(default_factory=list)
    """Every problem found, sorted by line."""
    questions: list[Question | None] = field(default_factory=list)
    """Each entry of ``questions:`` validated on its own (None where it failed), in the file's order."""


def parse_bank_parts(text: str, path: str | Path = "<string>") -> BankParts:
    """Parse bank YAML ``text`` into a :class:`BankParts`; never raises :class:`BankError`.

    Validation is strict: a YAML string is not taken for a number or a boolean (``answer: "42"`` is a
    mistake the JSON Schema flags in the editor, so ``validate`` must flag it too)."""
    path = str(path)
    if not text.strip():
        return BankParts(None, None, [BankIssue(path, 1, None, "", "the file is empty; a bank needs at least `id`, "
                                                                   "`title`, `source` and `questions`")])
    try:
        data, source = parse_yaml_text(text, path)
    except BankError as exc:
        return BankParts(None, None, exc.issues)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        return BankParts(None, source, [BankIssue(path, 1, None, "", "the top level must be a mapping (id:, title:, "
                                                                     f"questions: …), found {kind}")])
    try:
        bank = Bank.model_validate(data, strict=True)
    except ValidationError as exc:
        issues = _issues_from_validation(exc, data, source, path)
    else:
        return BankParts(bank, source, [], list(bank.questions))
    # pydantic skips list-level checks when an item fails, so look for duplicate ids on the raw data
    known = {(i.field, i.message) for i in issues}
    issues += [i for i in _duplicate_id_issues(data, source, path) if (i.field, i.message) not in known]
    issues.sort(key=lambda i: (i.line or 0, i.column or 0))
    return BankParts(None, source, issues, _questions_on_their_own(data))


_QUESTION = TypeAdapter(Question)


def _questions_on_their_own(data: dict[str, Any]) -> list[Question | None]:
    """Each question of an invalid bank validated alone (None where it fails), with the bank's ``key_salt``
    handed down as :class:`Bank` would, so a student copy's hashed keys can still be checked."""
    raw = data.get("questions")
    if not isinstance(raw, list):
        return []
    salt = data.get("key_salt")
    out: list[Question | None] = []
    for item in raw:
        try:
            question = _QUESTION.validate_python(item, strict=True)
        except ValidationError:
            out.append(None)
            continue
        if question.hashed_keys and not (isinstance(salt, str) and len(salt) >= 8):
            out.append(None)  # its keys cannot be checked without the salt (reported by the bank's validation)
            continue
        question._key_salt = salt if isinstance(salt, str) else None
        out.append(question)
    return out


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


#: Entry-point group through which an installed distribution offers a folder of banks: each entry's value is
#: a package whose folder holds ``<id>.yaml`` files (the course's pyproject.toml names
#: ``peft_course_data.quizzes``), so ``grader`` finds an installed course's banks without importing it.
BANK_ENTRY_POINTS = "grader.banks"


def installed_bank_dirs() -> list[Path]:
    """The bank folders that installed distributions offer through the ``grader.banks`` entry points.

    Located with ``importlib.util.find_spec`` (the package is not executed); an entry whose package is
    missing, broken or not a plain folder is skipped, so one bad installation cannot stop a lookup.
    """
    import importlib.util
    from importlib.metadata import entry_points

    folders: list[Path] = []
    for entry in sorted(entry_points(group=BANK_ENTRY_POINTS), key=lambda e: (e.name, e.value)):
        try:
            spec = importlib.util.find_spec(entry.module)
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec else []:
            if Path(location).is_dir() and Path(location) not in folders:
                folders.append(Path(location))
    return folders


def find_bank(bank_id: str, start: str | Path | None = None) -> Path:
    """The path of the bank file whose name is ``<bank_id>.yaml``.

    Looks in ``$GRADER_BANKS``, then ``quizzes/`` in the start folder (default: the current one) and
    each of its parents, so notebooks in ``notebooks/`` find ``../quizzes``, then the bank folders of
    installed distributions (``installed_bank_dirs``: a pip-installed course, as on Colab), then the
    quizzes folder next to the ``grader`` package (a checkout on ``sys.path``).
    """
    import os

    candidates: list[Path] = []
    if os.environ.get("GRADER_BANKS"):
        candidates += [Path(p) for p in os.environ["GRADER_BANKS"].split(os.pathsep) if p]
    here = Path(start or Path.cwd()).resolve()
    candidates += [d / "quizzes" for d in (here, *here.parents)]
    candidates += installed_bank_dirs()
    candidates.append(Path(__file__).resolve().parents[1] / "quizzes")
    for folder in candidates:
        for suffix in (".yaml", ".yml"):
            if (folder / f"{bank_id}{suffix}").is_file():
                return folder / f"{bank_id}{suffix}"
    raise FileNotFoundError(f"no bank '{bank_id}.yaml' in $GRADER_BANKS, ./quizzes, any parent's quizzes/ folder "
                            "or an installed course's banks")
