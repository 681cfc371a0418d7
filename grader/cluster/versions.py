"""The same grader everywhere: the client and every worker must run the same Python and grader code.

Results travel between them pickled, and a worker scores with its own copy of the grader; a worker
with an older grader would give different scores without any error, and one with another Python
minor version may not unpickle what the client sends. So the client compares a fingerprint of each
worker with its own before it sends any work (and every worker compares again when its plugin
starts, for workers that join later), and refuses with the differences spelled out.
"""
from __future__ import annotations

from ..fingerprint import fingerprint
from .availability import INSTALL

__all__ = ["differences", "fingerprint", "mismatch_message"]


def differences(client: dict[str, str], worker: dict[str, str]) -> list[str]:
    """What differs between two fingerprints, in words ([] when they match). Python must match in its
    major.minor version; the grader in its version and its source."""
    found = []
    if client.get("python", "").split(".")[:2] != worker.get("python", "").split(".")[:2]:
        found.append(f"Python {worker.get('python')} (the client runs {client.get('python')})")
    if client.get("grader") != worker.get("grader") or client.get("code") != worker.get("code"):
        found.append(f"grader {worker.get('grader')}, source {worker.get('code')} "
                     f"(the client runs {client.get('grader')}, source {client.get('code')})")
    return found


def mismatch_message(who: str, found: list[str]) -> str:
    """``who`` ("Dask worker tcp://…", "the Dask scheduler at tcp://…") runs what ``found`` says, and what to do."""
    return (f"{who} runs {' and '.join(found)}: install the same Python and grader on the scheduler and "
            f"every worker as on the machine running `grade` (`{INSTALL}` from the same release or checkout), "
            "then restart them")
