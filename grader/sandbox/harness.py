"""What runs inside the sandbox: the code, then the probes, each value sent as plain data.

The only channel back to the grader is one pipe carrying JSON lines, one per probe, written as
soon as each probe is evaluated (so ``os._exit`` in a later probe keeps the earlier values). Every
line is a record of :mod:`.protocol`, built by its functions.
Values are encoded by :mod:`.encoding` by their exact type; the parent decodes them strictly
(:mod:`.decode`) and compares them itself (:mod:`.compare`), so an object whose ``__eq__`` always
says True is sent as ``{"$object": "Liar"}`` and cannot pass.

The code runs as *chunks*, each compiled under its own name (a required answer, then the answer;
or a bank's references), so an error names the chunk and the line in it: "line 3 of your cell",
"line 2 of the reference".

Student code shares this process, so it *can* tamper with anything here: that is fine, because the
best it can do is emit values, and only the correct values score. Functions the harness needs are
bound before student code runs, so monkeypatched builtins do not break the reporting.
"""
from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

from . import protocol
from .encoding import encode

MAX_ERROR = 300


def short_error(exc: BaseException, chunks: dict[str, str]) -> tuple[str, str | None, int | None]:
    """(``Type: message (line N of <where>)``, the chunk's file name, N) for an exception of the code."""
    if isinstance(exc, SyntaxError) and exc.filename in chunks:
        text = f"SyntaxError: {exc.msg}"
        filename, line = exc.filename, exc.lineno
    else:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in chunks]
        filename, line = (frames[-1].filename, frames[-1].lineno) if frames else (None, None)
        message = str(exc) if not isinstance(exc, SystemExit) else f"exit status {exc.code!r}"
        text = f"{type(exc).__name__}: {message}"
    text = text[:MAX_ERROR] + "…" if len(text) > MAX_ERROR else text
    where = f" (line {line} of {chunks[filename]})" if filename is not None and line is not None else ""
    return text + where, filename, line


def run(out_fd: int, chunks: list[list[str]], setup: str, probes: list[list[str]], *, flush_stdout: bool = False) -> None:
    """Execute each chunk ``[filename, description, code]`` then ``setup`` in one namespace, then every probe.

    One JSON line per :class:`~.protocol.Event`: ``code_error`` (the first chunk that raised; later
    chunks still run, so definitions made before the error stay), ``setup_error``, one line per
    probe, ``done``.
    """
    write, dumps, encode_value, stdout = os.write, json.dumps, encode, sys.stdout
    code_error, setup_error, probe_value, probe_error, done = (protocol.code_error, protocol.setup_error,
                                                              protocol.probe_value, protocol.probe_error, protocol.done)
    names = {filename: where for filename, where, _ in chunks}

    def emit(record: protocol.Record) -> None:
        data = (dumps(record, allow_nan=False) + "\n").encode()
        while data:
            data = data[write(out_fd, data):]

    namespace: dict[str, Any] = {"__name__": "__main__"}
    failed = False
    for filename, _, code in chunks:
        try:
            exec(compile(code, filename, "exec"), namespace)  # noqa: S102 - the sandbox's purpose
        except BaseException as exc:  # SystemExit and KeyboardInterrupt too: definitions made so far stay
            if not failed:
                emit(code_error(*short_error(exc, names)))
            failed = True
    if flush_stdout:
        try:
            stdout.flush()
        except BaseException:
            pass
    try:
        exec(compile(setup, "<probe setup>", "exec"), namespace)  # noqa: S102
    except BaseException as exc:
        emit(setup_error(*short_error(exc, {**names, "<probe setup>": "the probe setup"})))
    for probe_id, expr in probes:
        try:
            value = eval(compile(expr, f"<probe {probe_id}>", "eval"), namespace)  # noqa: S307
            emit(probe_value(probe_id, encode_value(value)))
        except BaseException as exc:
            emit(probe_error(probe_id, short_error(exc, names)[0]))
    emit(done())
