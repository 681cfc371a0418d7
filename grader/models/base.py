"""Shared model configuration and small field types.

Every model forbids unknown keys so that a typo (``explantion:``) is an error, not silently dropped.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic_core import PydanticCustomError

Slug = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", min_length=1, max_length=80)]
NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
KeyHash = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{8,64}$")]
"""A salted key hash of a student copy (see grader/models/keyhash.py)."""


class StrictModel(BaseModel):
    """Base for bank models: unknown fields forbidden, numbers finite (no ``.inf``/``.nan``), assignment
    validated, docs in the schema."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, str_strip_whitespace=False,
                              use_attribute_docstrings=True, frozen=False, allow_inf_nan=False)


LOCATED = "located"
"""The pydantic error type of :func:`located`."""


def located(subpath: tuple[str | int, ...], message: str) -> PydanticCustomError:
    """A validator error that points below the field being validated.

    pydantic locates a field validator's error at the field itself (``questions``); for a duplicate
    id we want ``questions[4].id``, so ``subpath`` is ``(4, "id")``. It travels in the error's context
    (``ctx["subpath"]``) and the loader appends it to the location, so the author is sent to the exact line.
    """
    return PydanticCustomError(LOCATED, "{message}", {"subpath": subpath, "message": message})


def repeated(ids: Iterable[object]) -> list[tuple[int, int]]:
    """``(index, first)`` for every id equal to the one at the earlier index ``first``; ``None`` ids are skipped.

    The check behind every "duplicate … id" error (questions, options, concepts, probes)."""
    seen: dict[object, int] = {}
    found = []
    for index, key in enumerate(ids):
        if key is None:
            continue
        if key in seen:
            found.append((index, seen[key]))
        else:
            seen[key] = index
    return found
