"""Sandboxes as neighbours: what one sandbox can take from, or leave for, the others (issue 10, red team).

Each sandbox already has its own files, processes, uid and limits; these attacks go through what
they still share: the machine's memory as a whole (a bank may raise one question's limit), the
CPU (processes that leave their session get a scheduling group each), and the kernel's keyrings,
which belong to a uid and outlive the processes that filled them (uids are reused run after run).
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from grader.sandbox import Limits, SandboxPool
from grader.sandbox.cgroups import POOL_MEMORY_SHARE, machine_memory

pytestmark = pytest.mark.usefixtures("sandbox_layers")


def test_all_sandboxes_together_stay_under_a_share_of_the_machine():
    """A bank may give a question 16 GiB and grade with many jobs: the pool's own limit still holds them all."""
    with SandboxPool(preload=()) as pool:
        group = pool._cgroup
        assert group is not None and "memory" in group.limits
        if group.version == "v1":
            limit = int(Path(group.dirs["memory"], "memory.limit_in_bytes").read_text())
        else:
            limit = int(Path(group.dirs["unified"], "memory.max").read_text())
    assert 0 < limit <= machine_memory() * POOL_MEMORY_SHARE
