"""Scoring a code answer from its probe outcomes.

Running the student's code happens elsewhere (a sandboxed child process); this function only turns
the trusted comparison of each probe into points, so the score never depends on anything the
student's process printed or returned except its probe values.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..models.questions import CodeQuestion
from .verdict import Verdict, status_for


@dataclass(frozen=True)
class ProbeOutcome:
    """The parent's verdict on one probe: passed or not, and a message for the student."""

    passed: bool
    detail: str = ""


def score_code(question: CodeQuestion, outcomes: Mapping[str, ProbeOutcome | bool] | None) -> Verdict:
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
