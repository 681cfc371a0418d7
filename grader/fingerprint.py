"""Which grader this is: Python version, grader version and a hash of the grader's source.

Two processes that must score alike compare fingerprints before one trusts the other's work: a Dask
worker and its client (:mod:`grader.cluster.versions`), a warm sandbox server and the ``grade`` run
that would use it (:mod:`grader.sandbox.server`). A server started before the grader was updated
would otherwise run last week's sandbox code without any error.
"""
from __future__ import annotations

import hashlib
import platform
from pathlib import Path


def fingerprint() -> dict[str, str]:
    """Python version, grader version and a hash of the grader's source files (module paths and bytes)."""
    from . import __version__

    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return {"python": platform.python_version(), "grader": __version__, "code": digest.hexdigest()[:16]}
