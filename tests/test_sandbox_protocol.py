"""The result pipe's protocol: every event the sandbox side can write is one the decoder handles.

The events live in one place (:mod:`grader.sandbox.protocol`); the harness and the jail write records
only through its builders, and the decoder holds one handler per event. These tests need no sandbox:
the harness runs in this process, writing to a pipe.
"""
from __future__ import annotations

import ast
import json
import os
from pathlib import Path

from grader.sandbox import decode, harness, jail, protocol
from grader.sandbox.protocol import Event, event_of

WRITERS = [Path(harness.__file__), Path(jail.__file__)]
"""The modules that write on the result pipe, inside the sandbox."""


def _protocol_names(path: Path) -> set[str]:
    """Names a module reads from ``protocol`` (``protocol.x``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "protocol"}


def _handwritten_records(path: Path) -> list[int]:
    """Lines of dict literals with an ``event`` or ``probe`` key: records built around the protocol."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Dict)
            and any(isinstance(k, ast.Constant) and k.value in ("event", "probe") for k in node.keys)]


def test_every_event_has_builders_and_a_handler():
    assert set(protocol.BUILDERS) == set(Event)
    assert set(decode.HANDLERS) == set(Event)


def test_the_sandbox_side_writes_every_event_and_only_through_the_protocol():
    builder_event = {builder.__name__: event for event, builders in protocol.BUILDERS.items() for builder in builders}
    written = {builder_event[name] for path in WRITERS for name in _protocol_names(path) if name in builder_event}
    assert written == set(decode.HANDLERS)
    assert {path.name: _handwritten_records(path) for path in WRITERS} == {path.name: [] for path in WRITERS}


def _harness_lines(chunks, setup, probes) -> list[dict]:
    read_fd, write_fd = os.pipe()
    try:
        harness.run(write_fd, chunks, setup, probes)
    finally:
        os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        return [json.loads(line) for line in pipe.read().splitlines()]


def test_a_run_through_the_harness_writes_records_the_decoder_reads_back():
    chunks = [["<your answer>", "your cell", "def f(x):\n    return x + 1\nraise ValueError('late')\n"]]
    lines = _harness_lines(chunks, "y = undefined_name", [["ok", "f(1)"], ["bad", "1 / 0"]])
    isolation = protocol.isolation({"pid_namespace": True}, "uid 1500000", ["seccomp"])
    lines = [isolation, *lines]
    assert {event_of(line) for line in lines} == set(Event)
    records = decode.decode_records(b"".join(json.dumps(line).encode() + b"\n" for line in lines), frozenset({"ok", "bad"}))
    assert records.layers == {"pid_namespace": True} and records.identity == "uid 1500000"
    assert records.refused == ["seccomp"]
    assert records.code_error == "ValueError: late (line 3 of your cell)"
    assert records.code_error_at == ("<your answer>", 3)
    assert records.setup_error == "NameError: name 'undefined_name' is not defined (line 1 of the probe setup)"
    assert records.values == {"ok": 2}
    assert records.errors == {"bad": "ZeroDivisionError: division by zero"}
    assert records.done


def test_lines_outside_the_protocol_are_ignored():
    raw = b'{"event": "nonsense"}\n{"event": 3}\n{"probe": 4, "value": 1}\n[1]\n{"event": "done"}\n'
    records = decode.decode_records(raw)
    assert records.done and not records.values and not records.errors
