"""Shared fixtures: the repository root and a helper to write small banks.

Also puts the helpers in tests/fixtures (``hostile``, ``synthetic``) on ``sys.path`` once for every
test module, which imports them by name.
"""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from paths import FIXTURES, ROOT

sys.path[:0] = [str(FIXTURES), str(FIXTURES / "submissions")]


def pytest_configure(config) -> None:
    """Tests never use a warm sandbox server the developer started (``python -m grader serve``): every
    run of the suite looks for one in a folder of its own, empty unless a test starts one there."""
    import os
    import tempfile

    os.environ["GRADER_SERVER_DIR"] = tempfile.mkdtemp(prefix="grader-test-servers-")


def pytest_unconfigure(config) -> None:
    import os
    import shutil

    shutil.rmtree(os.environ.get("GRADER_SERVER_DIR", ""), ignore_errors=True)


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def write_bank(tmp_path):
    """Write YAML text (dedented) to a file in tmp_path and return its path."""

    def _write(text: str, name: str = "bank.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@pytest.fixture(scope="session")
def sandbox_layers():
    """The isolation layers this machine gives the sandbox (``grader doctor``'s report).

    Tests of the sandbox's walls skip where an essential layer is missing (an unprivileged laptop
    without user namespaces or a delegated cgroup), except in CI, which sets REQUIRE_SANDBOX=1: there
    every layer must be present and the tests must run.
    """
    import os

    from grader.doctor import diagnose

    report = diagnose()
    if report.missing_essential:
        message = "sandbox layers missing here: " + ", ".join(report.missing_essential) + "\n" + report.to_text()
        if os.environ.get("REQUIRE_SANDBOX") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return report
