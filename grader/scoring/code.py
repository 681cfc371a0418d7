"""The trusted verdict on one probe of a code answer.

Running the student's code happens in a sandboxed child process; the trusted parent compares each
probe's value with the reference's and records a :class:`ProbeOutcome`. The code kind
(``grader.kinds.code``) turns those outcomes into points.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProbeOutcome:
    """The parent's verdict on one probe: passed or not, and a message for the student."""

    passed: bool
    detail: str = ""
