"""code: write code, graded by probes that ``grader grade`` runs in a sandbox.

The kind never runs anything: the sandbox (``grader.sandbox``) produces trusted probe outcomes, and
:func:`score` only turns them into points, so the score never depends on what the student's process
printed or returned except its probe values.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from ..models.base import NonEmptyStr, Slug, StrictModel, located, repeated
from ..models.question import MAX_EXPR_CHARS, MAX_MEMORY_MB, MAX_POINTS, QuestionBase
from ..scoring.code import ProbeOutcome
from ..scoring.result import points_label
from ..scoring.verdict import Verdict, status_for
from .common import code_block, common_losses, general_feedback
from .records import InputSpec, LmsItem, NbCell
from .registry import Kind, NbgraderContext


class Probe(StrictModel):
    """One check of a code answer: an expression evaluated for the student and for the reference."""

    id: Slug
    name: NonEmptyStr
    """Shown in feedback, hidden probes included."""
    expr: NonEmptyStr
    """Python expression over the names the student's code defines."""
    points: float = Field(1, ge=0, le=MAX_POINTS)
    hidden: bool = False
    """Hidden probes are named in feedback; their expression and expected value never are."""
    message: str | None = None
    """What the student should look at when this probe fails."""
    tolerance: float = Field(1e-6, ge=0)
    """Absolute tolerance for numbers and tensors."""
    compare: Literal["value", "type"] = "value"
    """``value``: the values must match (numbers within ``tolerance``); ``type``: only the value's exact
    type counts (``int``, ``float``, ``str``, ``list``, ``tensor``…; a subclass is never its base).
    Use ``type`` for "returns an int" rather than ``type(x).__name__`` in ``expr``, which runs in the
    student's process and can be faked there."""


class CodeQuestion(QuestionBase):
    """Write code; graded by probes run in a sandboxed child process (``grader grade``)."""

    type: Literal["code"]
    starter: str = ""
    reference: NonEmptyStr
    """The trusted solution; never shipped to students."""
    setup: str = ""
    """Code run before the probes, in both namespaces (e.g. imports, seeds)."""
    checks: list[Probe] = Field(min_length=1)
    requires: list[Slug] = Field(default_factory=list)
    """Ids of earlier code questions whose answers run first (e.g. a class this answer builds on).

    Each code question runs in a sandbox of its own; the required answers (the student's for the
    student, the references for the reference) are executed before this one."""
    timeout_s: float = Field(20, gt=0, le=600)
    """Wall-clock seconds for the student's code and all probes together."""
    memory_mb: int = Field(2048, ge=64, le=MAX_MEMORY_MB)
    """Memory the sandbox as a whole may add on top of the preloaded libraries (at most 16 GiB: a bank
    cannot lift the limit that keeps a student's code from taking the grader's machine down)."""

    @field_validator("checks")
    @classmethod
    def _unique_probes(cls, checks: list[Probe]) -> list[Probe]:
        first_use = dict(repeated(p.id for p in checks))
        for index, probe in enumerate(checks):
            if index in first_use:
                raise located((index, "id"), f"duplicate probe id '{probe.id}' (also checks[{first_use[index]}])")
            if len(probe.expr) > MAX_EXPR_CHARS:
                raise located((index, "expr"), f"the expression has {len(probe.expr):,} characters, more than the "
                                               f"{MAX_EXPR_CHARS:,} a probe may have (put helpers in `setup`)")
            try:
                compile(probe.expr, f"<probe {probe.id}>", "eval")
            except SyntaxError as exc:
                raise located((index, "expr"), f"not a Python expression: {exc.msg}") from None
            except (RecursionError, MemoryError, ValueError) as exc:  # nesting the compiler cannot follow; NUL bytes
                raise located((index, "expr"), f"not a Python expression the compiler accepts ({type(exc).__name__}: "
                                               "nested too deeply or not text)") from None
        return checks

    @property
    def shown_code(self) -> str | None:
        """The starter: the code a student begins from."""
        return self.starter or None


def score(question: CodeQuestion, _answer: Any, outcomes: Mapping[str, ProbeOutcome | bool] | None) -> Verdict:
    """Points for each probe that passed; feedback names every failed probe (hidden ones by name only)."""
    if outcomes is None:
        return Verdict(0.0, "pending", reason="code questions are scored by `python -m grader grade`, which runs them in a sandbox")
    total = sum(p.points for p in question.checks) or 1.0
    earned = 0.0
    lines: list[str] = []
    for probe in question.checks:
        outcome = outcomes.get(probe.id, ProbeOutcome(False, "not run"))
        if isinstance(outcome, bool):
            outcome = ProbeOutcome(outcome)
        if outcome.passed:
            earned += probe.points
            lines.append(f"✓ {probe.name}")
            continue
        label = f"✗ {probe.name}" + (" (hidden check)" if probe.hidden else "")
        hint = probe.message or ""
        detail = "" if probe.hidden else outcome.detail
        lines.append(" — ".join(x for x in (label, hint, detail) if x))
    fraction = earned / total
    failed = sum(1 for line in lines if line.startswith("✗"))
    return Verdict(fraction, status_for(fraction), reason=f"{failed} of {len(question.checks)} checks failed" if failed else "",
                   note="\n".join(f"- {line}" for line in lines))


def static_lines(question: CodeQuestion) -> list[str]:
    """The names of the checks (hidden ones too: their names are public, not their tests)."""
    checks = [f"- {p.name} ({points_label(p.points)}" + (", hidden check)" if p.hidden else ")") for p in question.checks]
    return ["Checked by:", *checks, ""]


def apportion(points: float, weights: list[float], places: int = 4) -> list[float]:
    """``points`` split in proportion to ``weights``, each share rounded to ``places`` decimals, the
    shares summing to ``points`` exactly (largest remainder): nbgrader stores rounded points, and
    plain rounding made full marks 36.9996 of 37."""
    unit = 10 ** places
    total_weight = sum(weights) or 1.0
    exact = [points * unit * w / total_weight for w in weights]
    floors = [int(round(x, 6)) for x in exact]  # 0.3 * 10000 is 2999.9999999999995
    missing = round(points * unit) - sum(floors)
    for index in sorted(range(len(exact)), key=lambda i: exact[i] - floors[i], reverse=True)[:max(missing, 0)]:
        floors[index] += 1
    return [f / unit for f in floors]


def nbgrader_cells(question: CodeQuestion, context: NbgraderContext) -> list[NbCell]:
    """The reference as the solution, the setup, then one test cell per probe comparing its value with
    the reference's (computed in our sandbox) through the export's helper ``_check``."""
    cells = [NbCell(question.reference.rstrip(), f"{question.id}-answer", solution=True)]
    if question.setup.strip():
        cells.append(NbCell(question.setup.rstrip(), f"{question.id}-setup"))
    shares = apportion(question.points, [p.points for p in question.checks])
    for probe, share in zip(question.checks, shares):
        expected = json.dumps(context.reference_values[question.id][probe.id])
        cells.append(NbCell(f"_check({probe.expr}, {expected!r}, {probe.tolerance!r}, {probe.compare!r})",
                            f"{question.id}-{probe.id}", points=share,
                            hidden=probe.hidden, title=probe.name + (" (hidden test)" if probe.hidden else "")))
    return cells


def lms_item(question: CodeQuestion) -> LmsItem:
    """A hand-graded essay holding the prompt and starter; the reference goes to the marker."""
    prompt = "\n\n".join(x for x in (question.prompt.strip(), "\n".join(code_block(question.starter)).strip()) if x)
    checks = "\n".join(f"- {p.name}" for p in question.checks)
    info = f"Reference solution:\n\n```python\n{question.reference.rstrip()}\n```\n\nChecks:\n\n{checks}"
    losses = [*common_losses(question), f"sandboxed autograding ({len(question.checks)} probes, the reference run): "
                                        "exported as a hand-graded essay"]
    return LmsItem(question.id, "essay", prompt, question.points, general_feedback=general_feedback(question),
                   hint=question.hint, grader_info=info, tags=tuple(question.tags), losses=tuple(losses))


KIND = Kind(model=CodeQuestion, how="write code", score=score, key_text=lambda _q: None,
            answer_input=lambda q: InputSpec("elsewhere", note=f"Write your code in the cell that starts with "
                                             f"`# answer: {q.id}`; it is graded by `python -m grader grade` in a "
                                             "sandbox, not here."),
            static_lines=static_lines, lms_item=lms_item, nbgrader_cells=nbgrader_cells)
