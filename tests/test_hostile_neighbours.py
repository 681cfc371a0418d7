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


HOG = """
import os
for _ in range(100):  # each child leaves the session: without a CPU group per sandbox, each is a scheduling group of its own
    if os.fork() == 0:
        os.setsid()
        while True:
            pass
while True:
    pass
"""
WORK = "import time\nstarted = time.process_time()\nx = 0\nfor i in range(6_000_000):\n    x += i\n"


def test_a_cpu_hog_cannot_starve_a_student_graded_at_the_same_time():
    """100 spinning processes in their own sessions against one honest computation (about 0.5 s of CPU):
    the honest sandbox still gets its share of the machine and finishes well within its limit."""
    results = {}
    with SandboxPool(preload=()) as pool:
        def hog() -> None:
            results["hog"] = pool.run(code=HOG, limits=Limits(timeout_s=10))

        thread = threading.Thread(target=hog)
        thread.start()
        try:
            import time
            time.sleep(1.5)  # the hog's processes are running
            results["honest"] = pool.run(code=WORK, probes=[("x", "x")], limits=Limits(timeout_s=6))
        finally:
            thread.join()
    honest = results["honest"]
    assert not honest.timed_out and honest.values.get("x") == sum(range(6_000_000)), (honest.crashed, honest.elapsed_s)
    assert results["hog"].timed_out  # it really ran until its deadline
