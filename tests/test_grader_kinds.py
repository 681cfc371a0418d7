"""The kinds registry: one module is all a new kind takes, and the package's layering holds.

The toy kind below (``true_false``) is written the way a kind module is: a pydantic model and a
:class:`Kind` record of small pure functions. Registered in a registry of its own (the course's
``KINDS`` is left untouched), it validates in banks, scores, renders statically, yields nbgrader
cells and exports to every LMS format, with nothing edited elsewhere.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Literal

import pytest
from paths import ROOT

from grader.bank import Bank, bank_model
from grader.kinds import (
    KINDS,
    InputSpec,
    Kind,
    LmsAnswer,
    LmsItem,
    NbCell,
    NbgraderContext,
    question_markdown,
)
from grader.kinds.common import common_losses, general_feedback, is_blank
from grader.models.question import QuestionBase
from grader.scorer import describe_key, score_answers
from grader.scoring.verdict import Verdict, invalid, unanswered


# --- the toy kind: what a new module under grader/kinds/ would hold ---------------------------------
class TrueFalseQuestion(QuestionBase):
    """A statement that is true or false."""

    type: Literal["true_false"]
    answer: bool


def _score(question: TrueFalseQuestion, answer: Any, _outcomes: Any = None) -> Verdict:
    if is_blank(answer):
        return unanswered()
    words = {"true": True, "t": True, "false": False, "f": False}
    given = answer if isinstance(answer, bool) else words.get(str(answer).strip().casefold())
    if given is None:
        return invalid(answer, f"expected true or false, got {answer!r}")
    right = given == question.answer
    return Verdict(1.0 if right else 0.0, "correct" if right else "incorrect", answer=given,
                   correct_answer=str(question.answer).lower())


def _lms_item(question: TrueFalseQuestion) -> LmsItem:
    return LmsItem(question.id, "single", question.prompt.strip(), question.points,
                   answers=(LmsAnswer("true", float(question.answer)), LmsAnswer("false", float(not question.answer))),
                   general_feedback=general_feedback(question), losses=tuple(common_losses(question)))


def _nbgrader_cells(question: TrueFalseQuestion, _context: NbgraderContext) -> list[NbCell]:
    return [NbCell(f"answer = {question.answer!r}", f"{question.id}-answer", solution=True),
            NbCell(f"assert answer is {question.answer!r}", f"{question.id}-test", points=question.points, hidden=True)]


TRUE_FALSE = Kind(model=TrueFalseQuestion, how="true or false", score=_score,
                  key_text=lambda q: str(q.answer).lower(), answer_input=lambda _q: InputSpec("radio"),
                  static_lines=lambda _q: ["*True or false?*", ""], lms_item=_lms_item, nbgrader_cells=_nbgrader_cells)
# -----------------------------------------------------------------------------------------------------

TOY_BANK = {
    "id": "toy", "title": "Toy", "source": "original",
    "questions": [
        {"id": "tf", "type": "true_false", "prompt": "LoRA's B starts at **zero**.", "answer": True,
         "explanation": "So the model starts where pretraining left it."},
        {"id": "n", "type": "numeric", "prompt": "r?", "answer": 8},
    ],
}


@pytest.fixture
def registry():
    return KINDS.extended(TRUE_FALSE)


def test_a_registered_kind_validates_scores_and_renders(registry) -> None:
    bank = bank_model(registry).model_validate(TOY_BANK)
    assert registry.names[-1] == "true_false" and "true_false" not in KINDS.names
    result = score_answers(bank, {"tf": "True", "n": 8}, registry=registry)
    assert result.score == result.max_score == 2
    wrong = score_answers(bank, {"tf": False, "n": 8}, registry=registry)
    assert wrong.score == 1 and wrong.questions[0].correct_answer == "true"
    assert score_answers(bank, {"tf": "maybe"}, registry=registry).questions[0].status == "invalid"
    assert describe_key(bank.questions[0], registry) == "true"
    markdown = "\n".join(question_markdown(bank.questions[0], registry=registry))
    assert "LoRA's B starts at **zero**." in markdown and "*True or false?*" in markdown and "true" not in markdown.lower().split("?")[-1]
    cells = registry.of(bank.questions[0]).nbgrader_cells(bank.questions[0], NbgraderContext({}))
    assert [c.points for c in cells] == [None, 1]


def test_the_course_registry_refuses_the_unregistered_kind() -> None:
    with pytest.raises(Exception, match="true_false"):
        Bank.model_validate(TOY_BANK)


@pytest.mark.parametrize("fmt", ["moodle-xml", "gift", "canvas-qti"])
def test_a_registered_kind_exports_to_every_format(registry, fmt: str, tmp_path: Path) -> None:
    pytest.importorskip("text2qti")
    from grader.exports.export import export_bank

    bank = bank_model(registry).model_validate(TOY_BANK)
    report = export_bank(bank, fmt, tmp_path, registry=registry)
    assert report.path.exists() and report.questions == 2
    assert "LoRA" in report.path.read_bytes().decode("utf-8", "replace") or fmt == "canvas-qti"


def test_kinds_are_registered_once() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        KINDS.extended(KINDS.get("numeric"))


# --- layering ----------------------------------------------------------------------------------------
def _imports() -> dict[str, set[str]]:
    """grader module → the grader modules it imports at module level (TYPE_CHECKING blocks aside)."""
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / "grader").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if parts[-1] == "__init__" else module.rpartition(".")[0]
        found: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only: imports inside functions are deliberate and lazy
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            for sub in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) else ():
                if isinstance(sub, ast.ImportFrom):
                    if sub.level:
                        base = package.split(".")[: len(package.split(".")) - sub.level + 1]
                        target = ".".join(base + ([sub.module] if sub.module else []))
                    else:
                        target = sub.module or ""
                    if target.startswith("grader"):
                        found.add(target)
                        found.update(f"{target}.{a.name}" for a in sub.names)
                elif isinstance(sub, ast.Import):
                    found.update(a.name for a in sub.names if a.name.startswith("grader"))
        graph[module] = found
    return {m: {t for t in targets if t in graph and t != m} for m, targets in graph.items()}


def test_no_import_cycles_between_grader_modules() -> None:
    graph = _imports()
    # a package's __init__ re-exporting its own modules is not a cycle between layers
    edges = {m: {t for t in ts if not (m.startswith(t + ".") and t in graph)} for m, ts in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                raise AssertionError("import cycle: " + " → ".join(stack[stack.index(target):] + [target]))
            if target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)


@pytest.mark.parametrize(("layer", "forbidden"), [
    ("grader.scoring", ("grader.kinds", "grader.bank", "grader.widgets", "grader.sandbox", "grader.exports", "grader.cli")),
    ("grader.models", ("grader.kinds", "grader.bank", "grader.widgets", "grader.sandbox", "grader.exports", "grader.cli")),
    ("grader.kinds", ("grader.bank", "grader.widgets", "grader.sandbox", "grader.exports", "grader.cli", "grader.grading")),
    ("grader.exports", ("grader.widgets", "grader.sandbox", "grader.cli", "grader.grading")),
])
def test_lower_layers_never_import_upper_ones(layer: str, forbidden: tuple[str, ...]) -> None:
    bad = sorted((m, t) for m, targets in _imports().items() if m == layer or m.startswith(layer + ".")
                 for t in targets if t.startswith(forbidden))
    assert not bad, f"{layer} imports upper layers: {bad}"
