"""Trusted comparison of probe values, done in the grader's own process on data it decoded itself.

Both sides arrive as the plain data :func:`grader.sandbox.encoding.encode` produces (and
:mod:`grader.sandbox.decode` checked): numbers, strings, lists, ``{"$tensor": …}``, ``{"$dict": …}``,
``{"$object": "TypeName"}``. Nothing here calls a method of a student object, so no ``__eq__`` can
lie. A subclass is never its base: the encoder sends an int subclass as an object, so it fails
where a number is expected, and a probe that checks only the type (``compare: type``) sees its real
type. Messages say what differs, in words a student can use.
"""
from __future__ import annotations

import math
from typing import Any

REL_TOL = 1e-5


def compare_values(expected: Any, got: Any, tolerance: float = 1e-6, mode: str = "value") -> tuple[bool, str]:
    """(equal, why not): numbers within ``tolerance`` (absolute) or a 1e-5 relative margin.

    ``mode="type"`` compares only the values' exact types (:func:`type_name`).
    """
    try:
        if mode == "type":
            want, have = type_name(expected), type_name(got)
            return (want == have, "" if want == have else f"expected a value of type {want}, got {have}")
        return _compare(expected, got, tolerance, "")
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError, RecursionError):
        return False, "the value could not be compared"


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        if "$tensor" in value:
            return f"a tensor of shape {tuple(value['$tensor']['shape'])}"
        if "$object" in value:
            return f"a {value['$object']} object"
        if "$dict" in value:
            return "a dict"
        if "$set" in value:
            return "a set"
        if "$float" in value:
            return value["$float"]
        if "$dtype" in value:
            return value["$dtype"]
    if isinstance(value, list):
        return f"a list of {len(value)}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict) and "$float" in value:
        return float(value["$float"])
    return None


def _close(a: float, b: float, tolerance: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return False
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=tolerance)


_DATA_TYPES = {"$float": "float", "$dict": "dict", "$set": "set", "$tensor": "tensor", "$dtype": "dtype"}
_PLAIN_TYPES = {bool: "bool", int: "int", float: "float", str: "str", list: "list", type(None): "None"}
_RESERVED = frozenset(_DATA_TYPES.values()) | frozenset(_PLAIN_TYPES.values()) | {"object"}


def type_name(value: Any) -> str:
    """The exact type of an encoded value, as a student would name it: int, float, str, list, tensor, …

    An opaque object is named by its class, but never by a name the built-in types use: a class of
    the student's own that is merely *called* ``int`` is not an int.
    """
    if isinstance(value, dict) and len(value) == 1:
        tag, body = next(iter(value.items()))
        if tag == "$object":
            name = str(body)
            return f"{name} (a class of its own, not the built-in {name})" if name in _RESERVED else name
        return _DATA_TYPES.get(tag, "object")
    return _PLAIN_TYPES.get(type(value), "object")


def _compare(expected: Any, got: Any, tol: float, where: str) -> tuple[bool, str]:
    at = f" at {where}" if where else ""
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        if type(got) is type(expected) and got == expected:
            return True, ""
        return False, f"expected {_describe(expected)}{at}, got {_describe(got)}"
    a, b = _number(expected), _number(got)
    if a is not None:
        if b is None:
            return False, f"expected a number{at}, got {_describe(got)}"
        if type(expected) is int and type(got) is int:
            return (expected == got, "" if expected == got else f"expected {expected}{at}, got {got}")
        return (True, "") if _close(a, b, tol) else (False, f"expected {a:.6g}{at}, got {b:.6g}")
    if isinstance(expected, list):
        if not isinstance(got, list):
            return False, f"expected {_describe(expected)}{at}, got {_describe(got)}"
        if len(got) != len(expected):
            return False, f"expected {len(expected)} items{at}, got {len(got)}"
        for index, (e, g) in enumerate(zip(expected, got)):
            ok, why = _compare(e, g, tol, f"{where}[{index}]")
            if not ok:
                return False, why
        return True, ""
    if isinstance(expected, dict) and "$tensor" in expected:
        return _compare_tensor(expected["$tensor"], got, tol, at)
    if isinstance(expected, dict) and ("$dict" in expected or "$set" in expected):
        key = "$dict" if "$dict" in expected else "$set"
        if not (isinstance(got, dict) and key in got):
            return False, f"expected {_describe(expected)}{at}, got {_describe(got)}"
        return _compare(expected[key], got[key], tol, where)
    if isinstance(expected, dict) and "$dtype" in expected:
        ok = isinstance(got, dict) and got.get("$dtype") == expected["$dtype"]
        return ok, "" if ok else f"expected {expected['$dtype']}{at}, got {_describe(got)}"
    # an opaque object: equal only when both are the same kind of opaque object
    ok = isinstance(got, dict) and got == expected
    return ok, "" if ok else f"expected {_describe(expected)}{at}, got {_describe(got)}"


def _compare_tensor(expected: dict, got: Any, tol: float, at: str) -> tuple[bool, str]:
    if not (isinstance(got, dict) and isinstance(got.get("$tensor"), dict)):
        return False, f"expected a tensor of shape {tuple(expected['shape'])}{at}, got {_describe(got)}"
    tensor = got["$tensor"]
    if list(tensor.get("shape", [])) != list(expected["shape"]):
        return False, f"expected shape {tuple(expected['shape'])}{at}, got {tuple(tensor.get('shape', []))}"
    data = tensor.get("data")
    if not isinstance(data, list) or len(data) != len(expected["data"]):
        return False, f"malformed tensor data{at}"
    worst, worst_index = 0.0, -1
    for index, (e, g) in enumerate(zip(expected["data"], data)):
        a, b = _number(e), _number(g)
        if a is None or b is None:
            if e != g:
                return False, f"values differ{at}"
            continue
        if not _close(a, b, tol):
            diff = abs(a - b) if not (math.isnan(a) or math.isnan(b)) else math.inf
            if diff >= worst:
                worst, worst_index = diff, index
    if worst_index >= 0:
        return False, f"values differ{at} (largest difference {worst:.3g}, tolerance {tol:g})"
    return True, ""
