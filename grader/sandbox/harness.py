"""What runs inside the sandbox: the student's code, then the probes, each value sent as plain data.

The only channel back to the grader is one pipe carrying JSON lines, one per probe, written as
soon as each probe is evaluated (so ``os._exit`` in a later probe keeps the earlier values).
Values are encoded to JSON-safe data here; the parent decodes and compares them itself, so an
object whose ``__eq__`` always says True is sent as ``{"$object": "Liar"}`` and cannot pass.

Student code shares this process, so it *can* tamper with anything here: that is fine, because the
best it can do is emit values, and only the correct values score. Functions the harness needs are
bound before student code runs, so monkeypatched builtins do not break the reporting.
"""
from __future__ import annotations

import json
import math
import os
import traceback
from typing import Any

MAX_ELEMENTS = 200_000
"""Largest tensor/array a probe may return (probes should reduce big results)."""
MAX_DEPTH = 12


def encode(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-safe data, trusting no method the value's own class could override."""
    if depth > MAX_DEPTH:
        return {"$object": "nested too deeply"}
    kind = type(value)
    if value is None or kind is bool:
        return value
    if isinstance(value, bool):
        return bool.__bool__(value)  # pragma: no cover - bool cannot be subclassed
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        number = float.__float__(value)
        return number if math.isfinite(number) else {"$float": repr(number)}
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (list, tuple)):
        base = list if isinstance(value, list) else tuple
        if base.__len__(value) > MAX_ELEMENTS:
            return {"$object": f"sequence of {base.__len__(value)} items (too long)"}
        return [encode(item, depth + 1) for item in base.__iter__(value)]
    if isinstance(value, dict):
        return {"$dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in dict.items(value)]}
    if isinstance(value, (set, frozenset)):
        items = [encode(item, depth + 1) for item in value]
        return {"$set": sorted(items, key=lambda item: json.dumps(item, sort_keys=True))}
    return _encode_array_like(value, depth)


def _encode_array_like(value: Any, depth: int) -> Any:
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        if isinstance(value, torch.Tensor):
            tensor = torch.Tensor.detach(value).to("cpu")
            if tensor.numel() > MAX_ELEMENTS:
                return {"$object": f"tensor of {tensor.numel()} elements (too large)"}
            dtype = str(tensor.dtype)
            if tensor.is_floating_point():
                data = torch.Tensor.tolist(tensor.to(torch.float64))
            elif tensor.is_complex():
                return {"$object": "complex tensor"}
            else:
                data = torch.Tensor.tolist(tensor)
            return {"$tensor": {"shape": list(tensor.shape), "dtype": dtype, "data": _flatten(data)}}
        if isinstance(value, torch.dtype):
            return {"$dtype": str(value)}
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        if value.size > MAX_ELEMENTS:
            return {"$object": f"array of {value.size} elements (too large)"}
        if value.dtype.kind in "fiub":
            array = numpy.asarray(value, dtype=numpy.float64 if value.dtype.kind == "f" else value.dtype)
            return {"$tensor": {"shape": list(array.shape), "dtype": str(value.dtype), "data": _flatten(array.tolist())}}
    if numpy is not None and isinstance(value, numpy.generic):
        return encode(value.item(), depth + 1)
    return {"$object": type(value).__qualname__}


def _flatten(data: Any) -> list:
    if not isinstance(data, list):
        return [_json_number(data)]
    out: list = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            out.append(_json_number(item))
    return out


def _json_number(number: Any) -> Any:
    if isinstance(number, float) and not math.isfinite(number):
        return {"$float": repr(number)}
    return number


def short_error(exc: BaseException, filename: str) -> str:
    """``Type: message`` plus the line of ``filename`` (the student's cell) where it happened."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    where = f" (line {frames[-1].lineno} of your cell)" if frames else ""
    message = str(exc) if not isinstance(exc, SystemExit) else f"exit status {exc.code!r}"
    text = f"{type(exc).__name__}: {message}"
    return (text[:300] + "…" if len(text) > 300 else text) + where


def run(out_fd: int, code: str, setup: str, probes: list[list[str]]) -> None:
    """Execute ``code`` then ``setup`` in one namespace, then every probe; write one JSON line each."""
    write, dumps, encode_value = os.write, json.dumps, encode

    def emit(record: dict) -> None:
        data = (dumps(record, allow_nan=False) + "\n").encode()
        while data:
            data = data[write(out_fd, data):]

    namespace: dict[str, Any] = {"__name__": "__main__"}
    try:
        exec(compile(code, "<your answer>", "exec"), namespace)  # noqa: S102 - the sandbox's purpose
    except BaseException as exc:  # SystemExit and KeyboardInterrupt too: definitions made so far stay
        emit({"event": "code_error", "error": short_error(exc, "<your answer>")})
    try:
        exec(compile(setup, "<probe setup>", "exec"), namespace)  # noqa: S102
    except BaseException as exc:
        emit({"event": "setup_error", "error": short_error(exc, "<your answer>")})
    for probe_id, expr in probes:
        try:
            value = eval(compile(expr, f"<probe {probe_id}>", "eval"), namespace)  # noqa: S307
            emit({"probe": probe_id, "value": encode_value(value)})
        except BaseException as exc:
            emit({"probe": probe_id, "error": short_error(exc, "<your answer>")})
    emit({"event": "done"})
