"""What an answer cell says: its question id, and the value of its ``answer = ...`` line.

One rule, used by every grader that reads a notebook: ``python -m grader grade`` (through
:mod:`.notebook`) and the hidden tests of the nbgrader export (:mod:`grader.nbgrader_autograde`),
which judge the *text* of the answer cell with this same function instead of the value the kernel
computed. So a cell is read, never run, and both graders give the same points for it.

The rule (:data:`ALLOWED`): the value is a Python literal — text, a number, ``True``/``False``/``None``,
or lists, tuples, sets and dicts of them — or simple arithmetic on number literals (``+ - * / // % **``,
unary ``+``/``-``, parentheses), also inside a list. Nothing else is evaluated: names, calls,
attributes, comprehensions, f-strings and arithmetic on text are refused with a reason that says
what is allowed. Arithmetic is bounded before it is done (operators per cell, nesting, the size of an
exponent, digits and magnitude of every intermediate result), so ``9**9**9`` or ``10**100000`` is
refused at once instead of taking the grader's time or memory.
"""
from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..safetext import printable
from .limits import LIMITS, ParseLimits, Refused, plain_answer

ANSWER_MARK = re.compile(r"^\s*#\s*answer\s*:\s*(?P<id>[A-Za-z0-9][A-Za-z0-9_.-]{0,99})\s*$", re.IGNORECASE)
"""The first non-blank line of an answer cell. A question id has at most 80 characters (bank.py);
a longer "id" marks no answer cell."""

ALLOWED = ("a plain value such as \"B\", [\"A\", \"C\"] or 252, or arithmetic on numbers such as "
           "8 * (768 + 768) * 24 (+ - * / // % ** and parentheses); names, calls and other code are not "
           "evaluated, because the cell is read, never run")
"""The rule in words: the how-to text of the student notebooks and every refusal quote it."""

PLACEHOLDER = "answer = None  # replace None with your answer, e.g. \"B\", [\"A\", \"C\"] or 42"
"""The line an unanswered choice, number or text cell holds in every student notebook (``release``
and the nbgrader export): it reads as no answer."""


@dataclass(frozen=True)
class ArithmeticBounds:
    """How much arithmetic one answer may ask for; each bound is checked before the step it guards."""

    operators: int = 100
    """Arithmetic operators in one answer (``1+1+…`` a hundred times is already odd for an answer)."""
    depth: int = 100
    """Nesting of operators and containers (the evaluator recurses once per level; ``1+2+…`` nests one
    level per ``+``)."""
    exponent: int = 1_000
    """The largest power an integer may be raised to (``2**1000`` has 302 digits: refused on size anyway)."""
    magnitude: float = 1e300
    """The largest absolute value of a float result; beyond it (or inf/nan) the answer is refused."""


BOUNDS = ArithmeticBounds()


class AnswerRefused(Refused):
    """The answer cell gives no value the grader accepts; the message says why, in words a student can use."""


def split_answer_cell(source: str) -> tuple[str, str] | None:
    """``(question id, body)`` when the cell's first non-blank line is ``# answer: <id>``, else None.
    The body is the rest of the cell: a literal (choice, number and text questions) or code."""
    lines = source.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    mark = ANSWER_MARK.match(lines[first]) if first is not None else None
    return (mark.group("id"), "\n".join(lines[first + 1:])) if mark else None


def answer_value(body: str, limits: ParseLimits = LIMITS, bounds: ArithmeticBounds = BOUNDS) -> Any:
    """The value of the last ``answer = ...`` in ``body`` (an answer cell without its mark line), as
    plain data; :class:`AnswerRefused` with the reason when there is none the rule allows. Never runs code."""
    if len(body) > limits.literal_cell_chars:
        raise AnswerRefused(f"the answer cell has {len(body):,} characters; a plain answer may have at most "
                            f"{limits.literal_cell_chars:,}")
    try:
        tree = ast.parse(body)
    except (SyntaxError, ValueError) as exc:  # ValueError: a literal over the interpreter's digit limit
        line = getattr(exc, "lineno", None)
        message = printable(getattr(exc, "msg", None) or str(exc), one_line=True)
        raise AnswerRefused(f"the answer cell is not valid Python ({f'line {line}: ' if line else ''}{message[:120]})") from None
    except (MemoryError, RecursionError):
        raise AnswerRefused("the answer cell is too large or too deeply nested") from None
    assigned = [node for node in tree.body if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "answer" for t in node.targets)]
    if not assigned:
        raise AnswerRefused("no `answer = ...` line in the answer cell")
    try:
        value = _Evaluator(bounds, limits).value(assigned[-1].value, 0)
    except RecursionError:
        raise AnswerRefused(f"`answer` is nested too deeply; it must be {ALLOWED}") from None
    except TypeError:  # a list as a dict key or set item: unhashable
        raise AnswerRefused("`answer` holds a list or dict where only text and numbers may go (a dict key, a set item)") from None
    try:
        return plain_answer(value, limits)
    except Refused as exc:
        raise AnswerRefused(f"`answer` is not a plain value the grader accepts: {exc}") from None


_BINARY: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add), ast.Sub: ("-", operator.sub), ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv), ast.FloorDiv: ("//", operator.floordiv), ast.Mod: ("%", operator.mod),
    ast.Pow: ("**", operator.pow)}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)  # bool is an int subclass, but True + 1 is no answer


class _Evaluator:
    """Evaluates the literal-or-arithmetic subset of Python expressions, counting as it goes."""

    def __init__(self, bounds: ArithmeticBounds, limits: ParseLimits) -> None:
        self.bounds = bounds
        self.int_bits = limits.int_digits * 3.33  # what plain_answer allows: refuse bigger ints before making more
        self.int_digits = limits.int_digits
        self.operators = 0

    def refuse(self, why: str) -> AnswerRefused:
        return AnswerRefused(f"`answer` cannot be read ({why}): it must be {ALLOWED}")

    def value(self, node: ast.AST, depth: int) -> Any:
        if depth > self.bounds.depth:
            raise self.refuse(f"nested more than {self.bounds.depth} levels")
        if isinstance(node, ast.Constant):
            if type(node.value) in (str, int, float, bool) or node.value is None:
                return node.value
            raise self.refuse(f"a {type(node.value).__name__} literal is not a plain value")
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items = [self.value(item, depth + 1) for item in node.elts]
            return tuple(items) if isinstance(node, ast.Tuple) else set(items) if isinstance(node, ast.Set) else items
        if isinstance(node, ast.Dict):
            if any(key is None for key in node.keys):
                raise self.refuse("`**` unpacking in a dict")
            return {self.value(k, depth + 1): self.value(v, depth + 1) for k, v in zip(node.keys, node.values)}
        if isinstance(node, (ast.UnaryOp, ast.BinOp)):
            self.operators += 1
            if self.operators > self.bounds.operators:
                raise self.refuse(f"more than {self.bounds.operators} arithmetic operators")
            return self.unary(node, depth) if isinstance(node, ast.UnaryOp) else self.binary(node, depth)
        raise self.refuse(f"found {_describe(node)}")

    def unary(self, node: ast.UnaryOp, depth: int) -> Any:
        apply = _UNARY.get(type(node.op))
        if apply is None:
            raise self.refuse(f"the operator `{_source(node)}` is not arithmetic on numbers")
        operand = self.value(node.operand, depth + 1)
        if not _is_number(operand):
            raise self.refuse(f"unary minus or plus on {type(operand).__name__}")
        return apply(operand)

    def binary(self, node: ast.BinOp, depth: int) -> Any:
        symbol, apply = _BINARY.get(type(node.op), (None, None))
        if apply is None:
            raise self.refuse(f"the operator in `{_source(node)}` is not one of + - * / // % **")
        left, right = self.value(node.left, depth + 1), self.value(node.right, depth + 1)
        if not (_is_number(left) and _is_number(right)):
            raise self.refuse(f"`{symbol}` on {type(left).__name__} and {type(right).__name__}: arithmetic is "
                              "for numbers only")
        if symbol == "**":
            self.check_power(left, right)
        try:
            result = apply(left, right)
        except ZeroDivisionError:
            raise self.refuse("division by zero") from None
        except (OverflowError, ValueError, MemoryError):
            raise self.refuse("the result is too large") from None
        return self.checked(result)

    def check_power(self, base: float, exponent: float) -> None:
        """Refuse a power whose result would be huge *before* computing it (``9**9**9`` would take minutes)."""
        if (type(base) is int and type(exponent) is int and abs(base) > 1
                and (exponent > self.bounds.exponent or math.log2(abs(base)) * exponent > self.int_bits)):
            raise self.refuse("the power has too many digits")
        if abs(exponent) > 1e6 and abs(base) not in (0, 1):
            raise self.refuse("the exponent is too large")

    def checked(self, result: Any) -> int | float:
        """Refuse results that are not finite real numbers of bounded size (complex roots, inf, huge ints)."""
        if type(result) is int:
            if result.bit_length() > self.int_bits:
                raise self.refuse(f"the result has more than {self.int_digits} digits")
            return result
        if type(result) is not float:
            raise self.refuse("the result is not a real number")
        if not math.isfinite(result) or abs(result) > self.bounds.magnitude:
            raise self.refuse("the result is too large")
        return result


def _source(node: ast.AST) -> str:
    try:
        return printable(ast.unparse(node), one_line=True)[:60]
    except (ValueError, RecursionError):
        return type(node).__name__


def _describe(node: ast.AST) -> str:
    """What a refused expression is, in words: ``a name (x)``, ``a call (sorted(...))``."""
    kinds = {ast.Name: "a name", ast.Call: "a call", ast.Attribute: "an attribute", ast.Subscript: "an index",
             ast.JoinedStr: "an f-string", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
             ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator", ast.Lambda: "a lambda",
             ast.Compare: "a comparison", ast.BoolOp: "`and`/`or`", ast.IfExp: "a conditional expression",
             ast.Starred: "`*` unpacking", ast.NamedExpr: "`:=`"}
    what = next((word for cls, word in kinds.items() if isinstance(node, cls)), "an expression")
    return f"{what} `{_source(node)}`"
