"""Hostile values on the result channel and values that lie about their type (issue 10, causes 5 and 9).

The first half writes malformed records straight onto the result pipe before the harness does (a bad
``$float``, a tensor whose data does not fit its shape, JSON nested thousands deep, a 20 MB line,
NaN tokens, bytes that are not UTF-8): each must fail only the probe it names, with a reason, and
never become an internal error or cost another student anything. The second half returns values
whose own methods lie (an ``int`` subclass that is really a float, a class named ``int``, tensor
and container subclasses): types are read with ``type()`` and encoded through base-class functions,
so none passes for what it is not.
"""
from __future__ import annotations

import csv

import numpy
import pytest
import torch

from grader.sandbox import compare_values, parse_output
from grader.sandbox.decode import check_value, decode_records
from grader.sandbox.encoding import encode

from hostile import assignment_class, output_text, run_grader
from synthetic import correct_answers, filled_notebook, write

REF = "def count_lora_params(d, k, r):\n    return r * (d + k)\n"
FORGE = '''
import os
def _forge(*lines):
    for fd in range(3, 256):
        try:
            os.fstat(fd)
        except OSError:
            continue
        for line in lines:
            try:
                os.write(fd, line if isinstance(line, bytes) else line.encode())
            except OSError:
                break
'''
DEEP = "[" * 40 + "]" * 40
METACLASS_INT = """
class Meta(type):
    @property
    def __name__(cls):
        return "int"
class Sneaky(int, metaclass=Meta):
    pass
"""

# name → (count-params cell, deserved points out of 4, probes that must fail as malformed)
CASES: dict[str, tuple[str, float, tuple[str, ...]]] = {
    "bad_float": (REF + FORGE + "_forge('{\"probe\": \"tiny\", \"value\": {\"$float\": \"1e999999\"}}\\n')\n", 3, ("tiny",)),
    "bad_tensor_shape": (REF + FORGE + "_forge('{\"probe\": \"bert\", \"value\": {\"$tensor\": {\"shape\": [-1, 2], "
                         "\"dtype\": \"x\", \"data\": [1]}}}\\n')\n", 3, ("bert",)),
    "tensor_data_too_short": (REF + FORGE + "_forge('{\"probe\": \"bert\", \"value\": {\"$tensor\": {\"shape\": [1000, 1000], "
                              "\"dtype\": \"x\", \"data\": [1]}}}\\n')\n", 3, ("bert",)),
    "deep_value": (REF + FORGE + f"_forge('{{\"probe\": \"bert\", \"value\": {DEEP}}}\\n')\n", 3, ("bert",)),
    "unknown_tag": (REF + FORGE + "_forge('{\"probe\": \"tiny\", \"value\": {\"$pickle\": \"gASV\"}}\\n')\n", 3, ("tiny",)),
    "bad_dict_pairs": (REF + FORGE + "_forge('{\"probe\": \"bert\", \"value\": {\"$dict\": [[1]]}}\\n')\n", 3, ("bert",)),
    # lines that are not records at all are ignored: the real values still count
    "deep_json_line": (REF + FORGE + "_forge('[' * 200000 + ']' * 200000 + '\\n', '{' * 5000 + '\\n')\n", 4, ()),
    "nan_tokens": (REF + FORGE + "_forge('{\"probe\": \"tiny\", \"value\": NaN}\\n', '{\"probe\": \"bert\", \"value\": Infinity}\\n')\n",
                   4, ()),
    "huge_line": (REF + FORGE + "_forge('{\"probe\": \"tiny\", \"value\": \"' + 'x' * 20_000_000 + '\"}\\n')\n", 4, ()),
    "not_utf8": (REF + FORGE + "_forge(b'\\xff\\xfe{\"probe\": \"tiny\"\\n', b'{\"probe\": \"tiny\", \"value\": \"\\xff\"}\\n')\n", 4, ()),
    "huge_int": (REF + FORGE + "_forge('{\"probe\": \"tiny\", \"value\": ' + '9' * 5000 + '}\\n')\n", 4, ()),
    "fake_isolation_and_done": (REF + FORGE + "_forge('{\"event\": \"isolation\", \"layers\": {}}\\n', '{\"event\": \"done\"}\\n')\n",
                                4, ()),
    # a flood of tiny records only buries the student's own values (the grader reads a bounded number of lines)
    "record_flood": (REF + FORGE + "_forge(b'{}\\n' * 5_000_000)\n", 0, ()),
    "probe_id_not_a_string": (REF + FORGE + "_forge('{\"probe\": [\"tiny\"], \"value\": 14}\\n', '{\"probe\": \"nope\", \"value\": 1}\\n')\n",
                              4, ()),
    # values that lie about their type
    "int_subclass_really_float": ("""
class Fake(int):
    def __new__(cls, value):
        obj = int.__new__(cls, int(value))
        obj.real = value
        return obj
    def __repr__(self):
        return repr(self.real)
    def __float__(self):
        return self.real
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__
def count_lora_params(d, k, r):
    return Fake(r * (d + k) + 0.4)
""", 0, ()),
    "class_named_int": ("""
class int(int):
    pass
def count_lora_params(d, k, r):
    return int(r * (d + k))
""", 0, ()),
    # not a subclass at all: a class of its own that is merely *called* int, checked by compare: type
    "plain_class_named_int": ("class int:\n    pass\ndef count_lora_params(d, k, r):\n    return int()\n", 0, ()),
    "float_for_int": ("def count_lora_params(d, k, r):\n    return float(r * (d + k))\n", 3, ()),
    "metaclass_named_int": (METACLASS_INT + "def count_lora_params(d, k, r):\n    return Sneaky(r * (d + k))\n", 0, ()),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, sandbox_layers):
    bank, _, bank_path, subs, out = assignment_class(tmp_path_factory, "hostile-results", ["lora-principle", "count-params"])
    good = correct_answers(bank)
    for name, (cell, _, _) in CASES.items():
        write(filled_notebook(bank, {**good, "count-params": cell}), subs / f"{name}.ipynb")
    write(filled_notebook(bank, good), subs / "zz_honest.ipynb")
    proc = run_grader("grade", "--bank", str(bank_path), "--out", str(out), "--jobs", "2", "--no-progress", str(subs),
                      memory_mb=3072)
    rows = {r["student"]: r for r in csv.DictReader((out / "grades.csv").open())} if (out / "grades.csv").exists() else {}
    return bank, proc, rows, out


def test_the_run_finishes_with_every_row(graded):
    bank, proc, rows, _ = graded
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert set(rows) == set(CASES) | {"zz_honest"}
    assert float(rows["zz_honest"]["score"]) == bank.max_score
    assert not any("internal error" in r["reason"] for r in rows.values())


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_scores_what_it_deserves(graded, name):
    bank, _, rows, out = graded
    row = rows[name]
    assert float(row["q:count-params"]) == CASES[name][1], row["reason"]
    assert float(row["q:lora-principle"]) == 1
    feedback = (out / "feedback" / name / "attempt-1.md").read_text()
    names = {p.id: p.name for p in bank.question("count-params").checks}
    for probe in CASES[name][2]:
        line = next(line for line in feedback.splitlines() if f"✗ {names[probe]}" in line)
        assert "malformed value" in line, feedback


def test_an_int_subclass_is_not_an_int():
    class Fake(int):
        def __eq__(self, other):
            return True

        __hash__ = int.__hash__

    got = encode(Fake(14))
    assert got == {"$object": "Fake (a subclass of int)"}
    assert not compare_values(14, got)[0]
    assert not compare_values(14, got, mode="type")[0]
    assert compare_values(14, encode(7), mode="type") == (True, "")
    assert compare_values(14, encode(7.0), mode="type") == (False, "expected a value of type int, got float")


def test_a_lying_metaclass_cannot_rename_the_type():
    namespace: dict = {}
    exec(METACLASS_INT, namespace)  # noqa: S102 - the class the notebook case above defines
    Sneaky = namespace["Sneaky"]
    assert Sneaky.__name__ == "int"
    assert encode(Sneaky(3)) == {"$object": "Sneaky (a subclass of int)"}


def test_a_tensor_subclass_whose_methods_lie_is_not_a_tensor():
    class Liar(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            with torch._C.DisableTorchFunctionSubclass():
                name = getattr(func, "__name__", "")
                if name == "tolist":  # claim to be all zeros, whatever the data
                    rows, cols = args[0].shape
                    return [[0.0] * cols for _ in range(rows)]
                if name in ("detach", "to", "cpu"):
                    return args[0]
                return func(*args, **(kwargs or {}))

    liar = torch.ones(2, 3).as_subclass(Liar)
    got = encode(liar)
    assert got == {"$object": "Liar (a subclass of torch.Tensor)"}
    assert not compare_values(encode(torch.zeros(2, 3)), got)[0]
    assert encode(torch.nn.Parameter(torch.zeros(2)))["$tensor"]["data"] == [0.0, 0.0]  # a real Parameter still is one


@pytest.mark.parametrize("value, name", [
    (type("Floaty", (float,), {})(1.5), "Floaty (a subclass of float)"),
    (type("Stringy", (str,), {"__str__": lambda self: "B"})("A"), "Stringy (a subclass of str)"),
    (type("Listy", (list,), {"__iter__": lambda self: iter([14])})([1]), "Listy (a subclass of list)"),
    (type("Dicty", (dict,), {"items": lambda self: [("a", 1)]})(), "Dicty (a subclass of dict)"),
    (numpy.arange(3).view(type("Arrayish", (numpy.ndarray,), {})), "Arrayish"),
])
def test_container_and_number_subclasses_are_objects(value, name):
    assert encode(value) == {"$object": name}


def test_exact_numpy_and_torch_values_still_encode():
    assert encode(numpy.int64(5)) == 5 and type(encode(numpy.int64(5))) is int
    assert encode(numpy.arange(4).reshape(2, 2))["$tensor"]["shape"] == [2, 2]
    assert encode(torch.Size([2, 3])) == [2, 3]
    assert encode(torch.bfloat16) == {"$dtype": "torch.bfloat16"}


@pytest.mark.parametrize("value", [
    {"$float": "1e999"}, {"$tensor": {"shape": [-1], "dtype": "x", "data": []}},
    {"$tensor": {"shape": [2, 2], "dtype": "x", "data": [1, 2, 3]}}, {"$tensor": {"shape": [1], "dtype": "x", "data": ["a"]}},
    {"$tensor": {"shape": [1], "dtype": "x", "data": [1], "extra": 1}}, {"$dict": [[1, 2, 3]]}, {"$dict": "x"},
    {"$set": {"a": 1}}, {"$object": 1}, {"$object": "x" * 1000}, {"$nope": 1}, {"a": 1, "b": 2},
    eval("[" * 60 + "]" * 60), "x" * 2_000_000,
])
def test_the_decoder_refuses_every_malformed_shape(value):
    with pytest.raises(ValueError):
        check_value(value)


def test_parse_output_never_raises_on_garbage():
    garbage = (b"\xff\xfe\n" + b"[" * 300000 + b"\n" + b'{"probe": "p", "value": {"$float": "x"}}\n'
               + b'{"probe": "q", "value": 1}\n' + b"{" * 10 + b"\n" + b'{"event": "done"}\n')
    run = parse_output({"timed_out": False, "exit": 0}, garbage, probe_ids=frozenset({"p", "q"}))
    assert run.values == {"q": 1} and "$float" in run.malformed["p"] and run.crashed is None
    assert decode_records(b"", frozenset()).values == {}
    assert parse_output("not a dict", b"").crashed  # a garbled header is a crash, not an exception


def test_no_internal_error_text_in_feedback(graded):
    _, _, _, out = graded
    assert "Traceback" not in output_text(out)
