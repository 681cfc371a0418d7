"""The trusted side of the result pipe: bytes the sandbox wrote → records the grader can rely on.

Each line is one of the records of :mod:`.protocol`; :data:`HANDLERS` holds one handler per event.

Everything on the pipe is written by a process the student controls, so every record is checked
against the shapes :mod:`.encoding` produces, with limits on size, depth and count, *before* any of
it is used. A malformed value (a bad ``$float``, a tensor whose data does not fit its shape, JSON
nested 5000 deep, a ``NaN`` token) fails the probe it claims to be for, with a reason; a line that
is not a record at all is ignored; nothing here raises, so one hostile submission costs its own
points and nothing else. Strings are checked too: JSON's ``"\\ud800"`` escapes decode to lone
surrogates, which no report can write, so a string value holding one is malformed, and texts shown
in feedback (error messages, type names) come out as printable, valid Unicode.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..safetext import has_lone_surrogate, printable
from .protocol import Event, event_of

MAX_LINE = 16 * 1024 * 1024
"""Longest record accepted (a 200 000-element tensor is about 5 MB)."""
MAX_CONTAINERS = 100_000
"""'[' and '{' bytes a record may hold: bounds the memory json.loads can be made to use."""
MAX_DEPTH = 32
MAX_STR = 1_000_000
MAX_ELEMENTS = 200_000
MAX_DIMS = 16
MAX_TEXT = 400
"""Error texts (shown in feedback) are cut to this many characters."""
MAX_RECORDS = 10_000
"""Lines looked at, at most: a run writes a few per probe; millions of tiny lines would only cost CPU."""
FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class Malformed(ValueError):
    """A value that is not one of the shapes the encoder produces."""


def _no_constants(name: str) -> Any:
    raise Malformed(f"JSON constant {name} is not allowed")


def loads(line: bytes) -> Any:
    """json.loads with the limits above; raises Malformed."""
    if len(line) > MAX_LINE:
        raise Malformed(f"a record of {len(line):,} bytes")
    if line.count(b"[") + line.count(b"{") > MAX_CONTAINERS:
        raise Malformed("too many nested values")
    try:
        return json.loads(line, parse_constant=_no_constants)
    except Malformed:
        raise
    except (ValueError, RecursionError, UnicodeDecodeError, MemoryError) as exc:
        raise Malformed(f"not JSON ({type(exc).__name__})") from None


def _text(value: Any) -> str:
    text = value if type(value) is str else repr(type(value).__name__)
    return printable(text[:MAX_TEXT])


def check_value(value: Any, depth: int = 0) -> Any:
    """``value`` itself when it is well formed (raises Malformed otherwise). Returns plain data only."""
    if depth > MAX_DEPTH:
        raise Malformed("nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, int):
        return value
    if kind is float:
        if not math.isfinite(value):
            raise Malformed("a non-finite float outside $float")
        return value
    if kind is str:
        if len(value) > MAX_STR:
            raise Malformed("a string that is too long")
        if has_lone_surrogate(value):
            raise Malformed("a string that is not valid Unicode (a lone surrogate)")
        return value
    if kind is list:
        if len(value) > MAX_ELEMENTS:
            raise Malformed("a list that is too long")
        return [check_value(item, depth + 1) for item in value]
    if kind is not dict or len(value) != 1:
        raise Malformed(f"an unexpected {kind.__name__}")
    ((tag, body),) = value.items()
    if tag == "$float":
        if body not in FLOATS:
            raise Malformed(f"$float must be one of {sorted(FLOATS)}")
        return value
    if tag in ("$object", "$dtype"):
        if type(body) is not str or len(body) > 200:
            raise Malformed(f"{tag} must be a short string")
        return {tag: printable(body, one_line=True)}  # a type's name, shown in feedback
    if tag == "$set":
        if type(body) is not list:
            raise Malformed("$set must hold a list")
        return {"$set": check_value(body, depth + 1)}
    if tag == "$dict":
        if type(body) is not list or any(type(pair) is not list or len(pair) != 2 for pair in body):
            raise Malformed("$dict must hold [key, value] pairs")
        return {"$dict": [[check_value(k, depth + 2), check_value(v, depth + 2)] for k, v in body]}
    if tag == "$tensor":
        return {"$tensor": _check_tensor(body)}
    raise Malformed(f"unknown tag {tag[:40]!r}")


def _check_tensor(body: Any) -> dict:
    if type(body) is not dict or set(body) != {"shape", "dtype", "data"}:
        raise Malformed("$tensor needs exactly shape, dtype and data")
    shape, dtype, data = body["shape"], body["dtype"], body["data"]
    if type(shape) is not list or len(shape) > MAX_DIMS or any(type(n) is not int or n < 0 for n in shape):
        raise Malformed("a tensor shape must be a short list of non-negative ints")
    if type(dtype) is not str or len(dtype) > 40:
        raise Malformed("a tensor dtype must be a short string")
    dtype = printable(dtype, one_line=True)
    count = math.prod(shape) if shape else 1
    if count > MAX_ELEMENTS or type(data) is not list or len(data) != count:
        raise Malformed(f"tensor data does not match its shape {tuple(shape)}")
    for item in data:
        kind = type(item)
        if kind is bool or kind is int or (kind is float and math.isfinite(item)):
            continue
        if kind is dict and len(item) == 1 and item.get("$float") in FLOATS:
            continue
        raise Malformed("tensor data must be numbers")
    return {"shape": shape, "dtype": dtype, "data": data}


@dataclass
class Records:
    """What one sandbox run reported, every field checked."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    """Probe id → the exception the probe raised (as the harness wrote it)."""
    malformed: dict[str, str] = field(default_factory=dict)
    """Probe id → why the value sent for it was refused."""
    code_error: str | None = None
    code_error_at: tuple[str, int] | None = None
    """(chunk file name, line) of the code error, when the harness could tell."""
    setup_error: str | None = None
    layers: dict[str, bool] = field(default_factory=dict)
    identity: str = ""
    refused: list[str] = field(default_factory=list)
    done: bool = False


def _location(record: dict) -> tuple[str, int] | None:
    chunk, line = record.get("chunk"), record.get("line")
    if type(chunk) is str and type(line) is int and len(chunk) <= 200:
        return chunk, line
    return None


def _probe(out: Records, record: dict, probe_ids: frozenset[str] | None) -> None:
    probe = record["probe"]
    if (probe_ids is not None and probe not in probe_ids) or probe in out.values or probe in out.errors \
            or probe in out.malformed:
        return
    if "value" in record:
        try:
            out.values[probe] = check_value(record["value"])
        except Malformed as exc:
            out.malformed[probe] = str(exc)[:MAX_TEXT]
    else:
        out.errors[probe] = _text(record.get("error"))


def _isolation(out: Records, record: dict, _probe_ids: frozenset[str] | None) -> None:
    if out.layers or type(record.get("layers")) is not dict:
        return
    out.layers = {_text(k)[:60]: v for k, v in record["layers"].items() if type(v) is bool}
    out.identity = _text(record.get("identity", ""))
    refused = record.get("refused")
    out.refused = [_text(x)[:60] for x in refused] if type(refused) is list else []


def _code_error(out: Records, record: dict, _probe_ids: frozenset[str] | None) -> None:
    if out.code_error is None:
        out.code_error, out.code_error_at = _text(record.get("error")), _location(record)


def _setup_error(out: Records, record: dict, _probe_ids: frozenset[str] | None) -> None:
    if out.setup_error is None:
        out.setup_error = _text(record.get("error"))


def _done(out: Records, _record: dict, _probe_ids: frozenset[str] | None) -> None:
    out.done = True


HANDLERS: dict[Event, Callable[[Records, dict, frozenset[str] | None], None]] = {
    Event.ISOLATION: _isolation, Event.CODE_ERROR: _code_error, Event.SETUP_ERROR: _setup_error, Event.PROBE: _probe,
    Event.DONE: _done}
"""One handler per :class:`~.protocol.Event` (tests/test_sandbox_protocol.py checks none is missing)."""


def decode_records(raw: bytes, probe_ids: frozenset[str] | None = None) -> Records:
    """Decode the pipe's bytes. The first record for each probe wins, well formed or not."""
    out = Records()
    for line in raw.split(b"\n", MAX_RECORDS)[:MAX_RECORDS]:
        if not line.strip():
            continue
        try:
            record = loads(line)
        except Malformed:
            continue
        if type(record) is not dict:
            continue
        handler = HANDLERS.get(event_of(record))
        if handler is not None:  # None: not a record of the protocol
            handler(out, record, probe_ids)
    return out
