"""Student copies of a bank: the same quiz, with every key replaced by a salted hash.

The quiz widget needs the keys to say "right" or "wrong" inside a student's notebook, but a bank
file that says ``correct: true`` gives the answers away at a glance. :func:`student_copy` writes a
bank in which

* every choice option carries ``key_hash`` (right and wrong options alike) instead of ``correct``;
* numeric, text and ``code_output`` keys become ``answer_hash`` / ``answer_hashes``;
* ``final_answer`` and ``errata`` (which name the key) are left out, and so are ``code`` questions,
  whose references and hidden checks must never leave the instructor (the student notebook carries
  their prompt and starter; ``grader grade`` runs them);
* ``key_salt`` holds the random salt the hashes were made with.

Only practice banks (``show_key: after_each_attempt``) get a copy: a graded bank's keys must not
reach students before its ``show_key`` allows, and a hash of "option B is right" gives the key away
to anyone who tries the four options (below), so :func:`student_copy` refuses a graded bank.

This is obfuscation, not security: the hash of "option B is right" can be recomputed by anyone who
reads this module, so a determined student can test the four options of a question in seconds.
Self-checking is for learning; graded work is always scored by ``python -m grader grade`` against
the instructor's bank.
"""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import yaml

from .bank import Bank
from .kinds import KINDS

__all__ = ["GradedBankError", "is_practice", "is_student_copy_file", "new_salt", "student_copy", "student_copy_yaml",
           "write_student_copy"]

#: Fields that state or discuss the key in words; a student copy leaves them out.
KEY_REVEALING_FIELDS = ("final_answer", "errata")


class GradedBankError(ValueError):
    """A student copy was asked of a graded bank (``show_key`` other than ``after_each_attempt``)."""


def is_practice(bank: Bank) -> bool:
    """Whether ``bank`` is a practice (self-check) bank: its key may be shown after every attempt."""
    return bank.show_key == "after_each_attempt"


def graded_reason(bank: Bank) -> str:
    """Why a graded bank gets no student copy, in one sentence naming the setting that decides it."""
    return (f"bank '{bank.id}' is graded (show_key: {bank.show_key}): a student copy would let students check "
            "graded answers before the key may be shown; only practice banks (show_key: after_each_attempt) "
            "get one")


def new_salt() -> str:
    """A fresh random salt (64 bits, hex): each release gets its own."""
    return secrets.token_hex(8)


def _hash_question(data: dict[str, Any], question, salt: str) -> None:
    """Replace the readable key of one question's data (``data``) by salted hashes, in place (the kind
    knows how its key is written)."""
    for name in KEY_REVEALING_FIELDS:
        data.pop(name, None)
    KINDS.of(question).hash_key(data, question, salt)


def student_copy(bank: Bank, *, salt: str | None = None) -> dict[str, Any]:
    """The data of a student copy of ``bank`` (a plain dict, ready for YAML), keys hashed with ``salt``.

    ``salt`` defaults to a fresh random one; pass one to make a release reproducible. The copy is
    validated before it is returned, and scoring it gives the same points as scoring ``bank`` for
    every choice, text and ``code_output`` answer (numeric answers agree to within one tenth of
    the tolerance at its edges). Raises :class:`GradedBankError` for a graded bank (see
    :func:`is_practice`), ValueError for a bank that is already a student copy or holds nothing but
    ``code`` questions.
    """
    if not is_practice(bank):
        raise GradedBankError(graded_reason(bank))
    if bank.key_salt is not None:
        raise ValueError(f"bank '{bank.id}' is already a student copy (it has a key_salt)")
    salt = salt if salt is not None else new_salt()
    if len(salt) < 8:
        raise ValueError("the salt must have at least 8 characters")
    kept = [q for q in bank.questions if KINDS.of(q).hash_key is not None]
    if not kept:
        raise ValueError(f"bank '{bank.id}' has only questions whose keys cannot be hidden (code); "
                         "a student copy would be empty")
    data = bank.model_dump(mode="json", exclude_defaults=True, exclude={"questions"})
    data.pop("errata", None)
    data["key_salt"] = salt
    data["questions"] = []
    for question in kept:
        dumped = question.model_dump(mode="json", exclude_defaults=True)
        question_data = {"id": question.id, "type": question.type, **dumped}  # id and type first, as authors write them
        _hash_question(question_data, question, salt)
        data["questions"].append(question_data)
    Bank.model_validate(data)  # never hand out a copy the loader would reject
    return data


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings as ``|`` blocks so the copy stays readable and diffable."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_representer)


def _header(bank_id: str) -> str:
    return f"# Student copy of bank '{bank_id}': keys are salted hashes, for self-checking in the quiz widget.\n"


def student_copy_yaml(bank: Bank, *, salt: str | None = None) -> str:
    """:func:`student_copy` as YAML text, with a header saying what the file is."""
    data = student_copy(bank, salt=salt)
    header = _header(bank.id) + "# Graded work is scored by `python -m grader grade` against the instructor's bank.\n"
    return header + yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)


def is_student_copy_file(path: str | Path, bank_id: str) -> bool:
    """Whether ``path`` is a regular file written by :func:`write_student_copy` for bank ``bank_id``
    (its first line is our header; a symlink or anything else is never taken for one)."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        return False
    with path.open("rb") as handle:
        first = handle.readline(1000)
    return first.decode("utf-8", "replace") == _header(bank_id)


def write_student_copy(bank: Bank, path: str | Path, *, salt: str | None = None) -> Path:
    """Write :func:`student_copy_yaml` to ``path`` (folders created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(student_copy_yaml(bank, salt=salt), encoding="utf-8")
    return path
