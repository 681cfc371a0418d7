"""The result pipe's records: what the sandboxed process may write, in one place for both ends.

One JSON object per line. Inside the sandbox, :mod:`.jail` writes ``isolation`` and :mod:`.harness`
writes the rest, each record built by the function of its event below; on the trusted side
:mod:`.decode` finds a line's :class:`Event` with :func:`event_of` and hands it to the handler its
table holds for that event (tests/test_sandbox_protocol.py checks that both ends name every event).

The types describe what an honest sandbox writes; the decoder trusts none of it, since student code
shares the writing process. A probe record has no ``event`` key (its ``probe`` key says what it is),
as it always had.

This module runs inside the sandbox: the zygote imports it (zygote → monitor → jail → harness)
before it forks, so a sandbox never reads it from disk, and it must stay standard-library only.
"""
from __future__ import annotations

from enum import Enum
from typing import Any, TypedDict


class Event(str, Enum):
    """Every kind of record on the pipe, in the order a run writes them."""

    ISOLATION = "isolation"
    """Which isolation layers held (the jail, before any code runs); ``refused`` when a required one did not."""
    CODE_ERROR = "code_error"
    """The first chunk of code that raised (later chunks still run)."""
    SETUP_ERROR = "setup_error"
    """The question's probe ``setup`` raised."""
    PROBE = "probe"
    """One probe's value, or the exception it raised."""
    DONE = "done"
    """Every probe was evaluated; a run without it ended early."""


class IsolationRecord(TypedDict, total=False):
    event: str
    layers: dict[str, bool]
    identity: str
    refused: list[str]


class ErrorRecord(TypedDict):
    """``code_error`` and ``setup_error``: ``Type: message (line N of <where>)``, and where, when known."""

    event: str
    error: str
    chunk: str | None
    line: int | None


class ProbeRecord(TypedDict, total=False):
    """``value`` (encoded by :mod:`.encoding`) or ``error``, never both."""

    probe: str
    value: Any
    error: str


class DoneRecord(TypedDict):
    event: str


Record = IsolationRecord | ErrorRecord | ProbeRecord | DoneRecord

_ISOLATION, _CODE_ERROR, _SETUP_ERROR, _DONE = (Event.ISOLATION.value, Event.CODE_ERROR.value, Event.SETUP_ERROR.value,
                                                Event.DONE.value)


def isolation(layers: dict[str, bool], identity: str, refused: list[str]) -> IsolationRecord:
    record: IsolationRecord = {"event": _ISOLATION, "layers": layers, "identity": identity}
    if refused:
        record["refused"] = refused
    return record


def code_error(error: str, chunk: str | None, line: int | None) -> ErrorRecord:
    return {"event": _CODE_ERROR, "error": error, "chunk": chunk, "line": line}


def setup_error(error: str, chunk: str | None, line: int | None) -> ErrorRecord:
    return {"event": _SETUP_ERROR, "error": error, "chunk": chunk, "line": line}


def probe_value(probe_id: str, value: Any) -> ProbeRecord:
    return {"probe": probe_id, "value": value}


def probe_error(probe_id: str, error: str) -> ProbeRecord:
    return {"probe": probe_id, "error": error}


def done() -> DoneRecord:
    return {"event": _DONE}


BUILDERS = {Event.ISOLATION: (isolation,), Event.CODE_ERROR: (code_error,), Event.SETUP_ERROR: (setup_error,),
            Event.PROBE: (probe_value, probe_error), Event.DONE: (done,)}
"""Event → the functions that build its records (the sandbox side writes records only through these)."""

_BY_NAME = {event.value: event for event in Event}


def event_of(record: dict) -> Event | None:
    """Which event a decoded line is: a ``probe`` record, else its ``event``; None for anything else."""
    if type(record.get("probe")) is str:
        return Event.PROBE
    name = record.get("event")
    return _BY_NAME.get(name) if type(name) is str else None
