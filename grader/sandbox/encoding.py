"""Probe values as plain data, by their exact type, computed without calling any method of the value.

Runs inside the sandbox (and, copied verbatim, in nbgrader test cells; see grader/nbgrader_export.py).
``type(x)`` reads the object's real type (``__class__`` tricks do not fool it), and only exact
built-in, torch and numpy types are encoded as data, through their base classes' own functions,
captured before any student code runs. A subclass is not its base: an ``int`` subclass whose methods
say 14 while it behaves like 14.7 is sent as ``{"$object": "Fake (a subclass of int)"}`` and fails a
check that expects an ``int``; a tensor subclass with lying methods is not a tensor.

Shapes of the data (the trusted side, :mod:`.decode`, accepts nothing else)::

    None, bool, int, float (finite), str, [value, ...]
    {"$float": "nan" | "inf" | "-inf"}     {"$dict": [[key, value], ...]}    {"$set": [value, ...]}
    {"$tensor": {"shape": [...], "dtype": "torch.float32", "data": [number, ...]}}
    {"$dtype": "torch.bfloat16"}            {"$object": "TypeName"}
"""
from __future__ import annotations

import json
import math
import sys
from typing import Any

MAX_ELEMENTS = 200_000
"""Largest tensor/array/sequence a probe may return (probes should reduce big results)."""
MAX_DEPTH = 12
MAX_STR = 1_000_000
MAX_INT_BITS = 4096
_type, _len, _isfinite, _repr = type, len, math.isfinite, repr
_list_iter, _tuple_iter, _dict_items = list.__iter__, tuple.__iter__, dict.items
_NAME = type.__dict__["__name__"].__get__
_BUILTIN_BASES = (bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset)
_api: dict[str, Any] = {}


def capture_library_functions() -> None:
    """Bind torch's and numpy's own functions now (the zygote calls this before any student code runs)."""
    torch = sys.modules.get("torch")
    if torch is not None and "torch" not in _api:
        tensor = torch.Tensor
        _api["torch"] = {"tensor_types": (tensor, torch.nn.Parameter), "dtype": torch.dtype, "size": torch.Size,
                         "detach": tensor.detach, "to": tensor.to, "numel": tensor.numel, "shape": tensor.size,
                         "tolist": tensor.tolist, "is_floating": tensor.is_floating_point,
                         "is_complex": tensor.is_complex, "float64": torch.float64, "dtype_of": lambda t: t.dtype,
                         "no_torch_function": torch._C.DisableTorchFunctionSubclass}
    numpy = sys.modules.get("numpy")
    if numpy is not None and "numpy" not in _api:
        scalars = {t for t in numpy.sctypeDict.values() if isinstance(t, type) and issubclass(t, numpy.generic)}
        _api["numpy"] = {"ndarray": numpy.ndarray, "scalars": frozenset(scalars), "item": numpy.generic.item,
                         "tolist": numpy.ndarray.tolist, "size": numpy.ndarray.size.__get__,
                         "astype": numpy.ndarray.astype, "kind": lambda a: numpy.ndarray.dtype.__get__(a).kind,
                         "dtype": lambda a: str(numpy.ndarray.dtype.__get__(a)), "shape": numpy.ndarray.shape.__get__}


def _name(kind: type) -> str:
    name = _NAME(kind)  # the type's own name slot: a metaclass property cannot change it
    base = next((b.__name__ for b in _BUILTIN_BASES if issubclass(kind, b)), None)
    if base is None and "torch" in _api and issubclass(kind, _api["torch"]["tensor_types"][0]):
        base = "torch.Tensor"
    name = name[:80]
    return f"{name} (a subclass of {base})" if base is not None else name


def encode(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-safe data by its exact type (see the module docstring)."""
    if depth > MAX_DEPTH:
        return {"$object": "nested too deeply"}
    kind = _type(value)
    if value is None or kind is bool:
        return value
    if kind is int:
        return value if int.bit_length(value) <= MAX_INT_BITS else {"$object": "int (too large)"}
    if kind is float:
        return value if _isfinite(value) else {"$float": _repr(value)}
    if kind is str:
        return value if str.__len__(value) <= MAX_STR else {"$object": f"str of {str.__len__(value)} characters (too long)"}
    if kind is list or kind is tuple or ("torch" in _api and kind is _api["torch"]["size"]):
        size = list.__len__(value) if kind is list else tuple.__len__(value)
        if size > MAX_ELEMENTS:
            return {"$object": f"sequence of {size} items (too long)"}
        items = _list_iter(value) if kind is list else _tuple_iter(value)
        return [encode(item, depth + 1) for item in items]
    if kind is dict:
        return {"$dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in _dict_items(value)]}
    if kind is set or kind is frozenset:
        items = [encode(item, depth + 1) for item in (set.__iter__(value) if kind is set else frozenset.__iter__(value))]
        return {"$set": sorted(items, key=lambda item: json.dumps(item, sort_keys=True))}
    capture_library_functions()
    torch, numpy = _api.get("torch"), _api.get("numpy")
    if torch is not None and kind in torch["tensor_types"]:
        return _encode_tensor(value, torch)
    if torch is not None and kind is torch["dtype"]:
        return {"$dtype": str(value)}
    if numpy is not None and kind is numpy["ndarray"]:
        return _encode_array(value, numpy)
    if numpy is not None and kind in numpy["scalars"]:
        return encode(numpy["item"](value), depth + 1)
    return {"$object": _name(kind)}


def _encode_tensor(value: Any, torch: dict) -> Any:
    with torch["no_torch_function"]():
        tensor = torch["to"](torch["detach"](value), "cpu")
        count = torch["numel"](tensor)
        if count > MAX_ELEMENTS:
            return {"$object": f"tensor of {count} elements (too large)"}
        if torch["is_complex"](tensor):
            return {"$object": "complex tensor"}
        dtype = str(torch["dtype_of"](tensor))
        if torch["is_floating"](tensor):
            tensor = torch["to"](tensor, torch["float64"])
        shape = [int(n) for n in torch["shape"](tensor)]
        return {"$tensor": {"shape": shape, "dtype": dtype, "data": _flatten(torch["tolist"](tensor))}}


def _encode_array(value: Any, numpy: dict) -> Any:
    count = numpy["size"](value)
    if count > MAX_ELEMENTS:
        return {"$object": f"array of {count} elements (too large)"}
    kind = numpy["kind"](value)
    if kind not in "fiub":
        return {"$object": f"array of {numpy['dtype'](value)}"}
    data = numpy["tolist"](numpy["astype"](value, "float64") if kind == "f" else value)
    return {"$tensor": {"shape": [int(n) for n in numpy["shape"](value)], "dtype": numpy["dtype"](value),
                        "data": _flatten(data)}}


def _flatten(data: Any) -> list:
    if _type(data) is not list:
        return [_json_number(data)]
    out: list = []
    stack = [data]
    while stack:
        item = stack.pop()
        if _type(item) is list:
            stack.extend(reversed(item))
        else:
            out.append(_json_number(item))
    return out


def _json_number(number: Any) -> Any:
    if _type(number) is float and not _isfinite(number):
        return {"$float": _repr(number)}
    return number
