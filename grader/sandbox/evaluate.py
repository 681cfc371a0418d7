"""From a bank's code questions to trusted probe verdicts.

Reference values are computed once per bank, each in a forked child of its own (the zygote never
reads a request, so no later fork inherits a reference); the values live only in the grader's
process. Student runs get only the student's code, the question's ``setup`` and the probe expressions.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import UserError
from ..models.questions import CodeQuestion
from ..scoring.code import ProbeOutcome
from .client import SandboxPool, SandboxRun
from .compare import compare_values
from .isolate import Limits


def question_limits(question: CodeQuestion) -> Limits:
    """Limits for one question: its ``timeout_s`` and ``memory_mb``; CPU time a little above the wall time."""
    return Limits(timeout_s=question.timeout_s, cpu_s=int(question.timeout_s) + 5, memory_mb=question.memory_mb)


def run_question(pool: SandboxPool, question: CodeQuestion, code: str) -> SandboxRun:
    return pool.run(code=code, setup=question.setup, probes=[(p.id, p.expr) for p in question.checks],
                    limits=question_limits(question))


@dataclass(frozen=True)
class ReferenceValues:
    """Question id → probe id → the reference's encoded value. Lives only in the grader's process."""

    values: dict[str, dict[str, Any]]


def compute_references(questions: Iterable[CodeQuestion], pool: SandboxPool) -> ReferenceValues:
    """Run each reference solution in its own sandbox; a reference whose probe fails is a bank bug."""
    values: dict[str, dict[str, Any]] = {}
    for question in questions:
        run = run_question(pool, question, question.reference)
        problems = [f"probe {pid}: {err}" for pid, err in run.errors.items()]
        if run.code_error:
            problems.insert(0, f"the reference raised {run.code_error}")
        if run.timed_out or run.crashed:
            problems.insert(0, "the reference timed out" if run.timed_out else run.crashed)
        if problems:
            raise UserError(f"code question '{question.id}': " + "; ".join(problems))
        values[question.id] = dict(run.values)
    return ReferenceValues(values)


def probe_outcomes(question: CodeQuestion, reference: dict[str, Any], run: SandboxRun) -> tuple[dict[str, ProbeOutcome], str]:
    """The parent's verdict on each probe, and one sentence about the run as a whole (or '')."""
    outcomes: dict[str, ProbeOutcome] = {}
    for probe in question.checks:
        if probe.id in run.values:
            ok, why = compare_values(reference[probe.id], run.values[probe.id], probe.tolerance)
            outcomes[probe.id] = ProbeOutcome(ok, why)
        elif probe.id in run.errors:
            outcomes[probe.id] = ProbeOutcome(False, f"raised {run.errors[probe.id]}")
        elif run.timed_out:
            outcomes[probe.id] = ProbeOutcome(False, f"not run: the {question.timeout_s:g} s time limit was reached")
        else:
            outcomes[probe.id] = ProbeOutcome(False, "not run: " + (run.crashed or "no result"))
    note = ""
    if run.timed_out:
        note = f"your code ran past the {question.timeout_s:g} s time limit and was stopped"
    elif run.crashed:
        note = run.crashed
    if run.code_error:
        note = "; ".join(x for x in (f"your cell raised {run.code_error}", note) if x)
    return outcomes, note
