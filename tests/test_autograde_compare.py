"""The trusted side of the boundary: encoding probe values and comparing plain data (no sandbox needed)."""
from __future__ import annotations

import pytest
import torch

from grader.sandbox import compare_values, parse_output
from grader.sandbox.encoding import encode


class Liar:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class SneakyInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


@pytest.mark.parametrize("expected, got, ok, message", [
    (14, 14, True, ""),
    (14, 15, False, "expected 14, got 15"),
    (0.5, 0.5 + 1e-9, True, ""),
    ("int", "float", False, "expected 'int', got 'float'"),
    ([1, 2], [1, 2, 3], False, "expected 2 items, got 3"),
    (True, 1, False, "expected True"),
])
def test_plain_values(expected, got, ok, message):
    equal, why = compare_values(encode(expected), encode(got))
    assert equal is ok and message in why


def test_a_lying_eq_cannot_pass():
    assert encode(Liar()) == {"$object": "Liar"}
    assert compare_values(encode(14), encode(Liar())) == (False, "expected a number, got a Liar object")
    # an int subclass is not an int (its methods could say anything): it fails where an int is expected
    assert encode(SneakyInt(3)) == {"$object": "SneakyInt (a subclass of int)"}
    assert compare_values(encode(3), encode(SneakyInt(3))) == (False, "expected a number, got a SneakyInt (a subclass of int) object")


def test_tensors_compare_by_shape_then_values():
    a = torch.arange(6.0).reshape(2, 3)
    assert compare_values(encode(a), encode(a.clone())) == (True, "")
    ok, why = compare_values(encode(a), encode(a.T))
    assert not ok and "expected shape (2, 3)" in why and "(3, 2)" in why
    ok, why = compare_values(encode(a), encode(a + 0.5))
    assert not ok and "largest difference 0.5" in why
    assert compare_values(encode(a), encode(a + 0.5), tolerance=0.6)[0]


def test_nan_never_equals():
    assert not compare_values(encode(torch.tensor([float("nan")])), encode(torch.tensor([float("nan")])))[0]


def test_parse_output_keeps_the_first_record_and_ignores_garbage():
    raw = (b'{"event": "isolation", "layers": {"network_namespace": true}}\n'
           b'{"probe": "p", "value": 1}\nnot json\n{"probe": "p", "value": 2}\n{"event": "done"}\n')
    run = parse_output({"timed_out": False, "exit": 0}, raw)
    assert run.values == {"p": 1} and run.crashed is None and run.layers == {"network_namespace": True}


def test_parse_output_reports_a_run_that_stopped_early():
    run = parse_output({"timed_out": False, "exit": -9}, b'{"probe": "p", "value": 1}\n')
    assert run.values == {"p": 1} and "signal 9" in run.crashed
