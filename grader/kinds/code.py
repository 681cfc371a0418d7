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
from ..scoring.result import points_label, score_label
from ..scoring.verdict import Verdict, one_line, status_for, unanswered
from .common import code_block, common_losses, general_feedback, points_call
from .records import InputSpec, LmsItem, NbCell
from .registry import Kind, NbgraderContext, conceal_key


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
    """Points for each probe that passed; feedback lists every check with its points, and for a failed
    one its message and what differed (hidden checks by name and message only, never their values).

    No outcomes at all (an empty mapping) means nothing ran: the question is unanswered. When every
    failed check failed for one reason that is not about values (the code was not run, it timed out),
    that reason is the verdict's, said once rather than on every check.
    """
    if outcomes is None:
        return Verdict(0.0, "pending", reason="code questions are scored by `python -m grader grade`, which runs them in a sandbox")
    if not outcomes:
        return unanswered()
    total = sum(p.points for p in question.checks) or 1.0
    earned = 0.0
    failed: list[tuple[Probe, ProbeOutcome]] = []
    for probe in question.checks:
        outcome = outcomes.get(probe.id, ProbeOutcome(False, "not run"))
        if isinstance(outcome, bool):
            outcome = ProbeOutcome(outcome)
        if outcome.passed:
            earned += probe.points
        else:
            failed.append((probe, outcome))
    details = {outcome.detail for _, outcome in failed}
    shared = details.pop() if len(details) == 1 and failed and len(failed) == len(question.checks) else ""
    common = shared if shared.startswith("not run") else ""
    lines = [_check_line(probe, outcomes, failed, common) for probe in question.checks]
    fraction = earned / total
    reason = one_line(common) or (f"{len(failed)} of {len(question.checks)} checks failed" if failed else "")
    return Verdict(fraction, status_for(fraction), reason=reason, note="\n".join(f"- {line}" for line in lines))


def _check_line(probe: Probe, outcomes: Mapping[str, Any], failed: list[tuple[Probe, ProbeOutcome]], common: str) -> str:
    """'✓ name: 1/1 point' or '✗ name (hidden check): 0/2 points — message — what differed'."""
    outcome = next((o for p, o in failed if p is probe), None)
    if outcome is None:
        return f"✓ {probe.name}: {score_label(probe.points, probe.points)}"
    label = f"✗ {probe.name}" + (" (hidden check)" if probe.hidden else "") + f": {score_label(0, probe.points)}"
    detail = "" if probe.hidden or outcome.detail == common else one_line(outcome.detail)
    return " — ".join(x for x in (label, (probe.message or "").strip(), detail) if x)


REFERENCE_FREE_DETAILS = ("raised ", "not run", "the sandbox sent", "no answer")
"""How the details of a probe that failed without being compared begin (grader/sandbox/evaluate.py,
grader/grading.py): they describe the student's run only. Every other detail came from comparing with
the reference ('expected 294912, got 3') and is hidden with the key: an allowlist, so a new kind of
detail stays hidden until it is added here."""


def conceal(question: CodeQuestion, verdict: Verdict, outcomes: Mapping[str, ProbeOutcome | bool] | None) -> Verdict:
    """The verdict re-scored with each failed check's name and message kept but the details that come
    from the reference (expected values, shapes, lengths) dropped; hidden checks show none anyway."""
    if not outcomes or verdict.note != score(question, verdict.answer, outcomes).note:
        return conceal_key(question, verdict, outcomes)  # not the probes' verdict (e.g. no answer cell)
    kept = {probe_id: (outcome if isinstance(outcome, bool) or outcome.detail.startswith(REFERENCE_FREE_DETAILS)
                       else ProbeOutcome(outcome.passed))
            for probe_id, outcome in outcomes.items()}
    return conceal_key(question, score(question, verdict.answer, kept), outcomes)


def static_lines(question: CodeQuestion) -> list[str]:
    """The names of the checks (hidden ones too: their names are public, not their tests)."""
    checks = [f"- {p.name} ({points_label(p.points)}" + (", hidden check)" if p.hidden else ")") for p in question.checks]
    return ["Checked by:", *checks, ""]


def nbgrader_cells(question: CodeQuestion, context: NbgraderContext) -> list[NbCell]:
    """The reference as the solution, the setup, then one test cell worth the question's points.

    The test runs every probe in order through the export's helper ``_probe`` (our encoder and
    comparer against the reference's value, computed in our sandbox; hidden probes inside
    ``### BEGIN/END HIDDEN TESTS``), then ``_points`` scores the recorded outcomes with :func:`score`:
    one cell and one rounding per question, as in ``grader``, where per-probe cells with rounded
    shares of the points made partial totals differ in the fourth decimal."""
    cells = [NbCell(question.reference.rstrip(), f"{question.id}-answer", solution=True)]
    if question.setup.strip():
        cells.append(NbCell(question.setup.rstrip(), f"{question.id}-setup"))
    lines: list[tuple[str, bool]] = []
    for probe in question.checks:
        expected = json.dumps(context.reference_values[question.id][probe.id])
        name = probe.name + (" (hidden check)" if probe.hidden else "")
        call = (f"_probe({question.id!r}, {probe.id!r}, {name!r}, lambda: (\n{probe.expr}\n), {expected!r}, "
                f"{probe.tolerance!r}, {probe.compare!r}, hidden={probe.hidden!r})")
        lines.append((call, probe.hidden))
    # the reference never reaches students: nbgrader's feedback shows the hidden tests
    lines.append((points_call(question, f"_OUTCOMES.get({question.id!r})", reference="# not shipped"), True))
    cells.append(NbCell(_hidden_regions(lines), f"{question.id}-checks", points=question.points,
                        title=f"Checks of `{question.id}`"))
    return cells


def _hidden_regions(lines: list[tuple[str, bool]]) -> str:
    """The lines in order, each run of hidden ones inside one ``### BEGIN/END HIDDEN TESTS`` region."""
    out: list[str] = []
    hidden_before = False
    for text, hidden in lines:
        if hidden and not hidden_before:
            out.append("### BEGIN HIDDEN TESTS")
        elif hidden_before and not hidden:
            out.append("### END HIDDEN TESTS")
        out.append(text)
        hidden_before = hidden
    return "\n".join(out + (["### END HIDDEN TESTS"] if hidden_before else []))


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
            static_lines=static_lines, lms_item=lms_item, nbgrader_cells=nbgrader_cells, conceal=conceal)
