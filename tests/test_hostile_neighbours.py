"""Sandboxes as neighbours: what one sandbox can take from, or leave for, the others (issue 10, red team).

Each sandbox already has its own files, processes, uid and limits; these attacks go through what
they still share: the machine's memory as a whole (a bank may raise one question's limit), the
CPU (processes that leave their session get a scheduling group each), and the kernel's keyrings,
which belong to a uid and outlive the processes that filled them (uids are reused run after run).

The CPU share and the system-call filter are not essential layers: where ``doctor`` reports one
absent, its tests skip, except in CI (REQUIRE_SANDBOX=1), whose machines have both.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from grader.sandbox import Limits, SandboxPool
from grader.sandbox.cgroups import POOL_MEMORY_SHARE, machine_memory

pytestmark = pytest.mark.usefixtures("sandbox_layers")


def _needs(layer: str, report) -> None:
    if not report.held.get(layer) and os.environ.get("REQUIRE_SANDBOX") != "1":
        pytest.skip(f"no {layer} layer on this machine (grader doctor)")


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


def test_a_cpu_hog_cannot_starve_a_student_graded_at_the_same_time(sandbox_layers):
    """100 spinning processes in their own sessions against one honest computation (about 0.5 s of CPU):
    the honest sandbox still gets its share of the machine and finishes well within its limit."""
    _needs("cgroup_cpu", sandbox_layers)
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


LEAVE_KEY = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
made = []
for ring in (-4, -5):  # the uid's user keyring and user session keyring: they outlive this process
    key = libc.syscall({add_key}, b"user", b"note-from-ana%d" % -ring, b"the answer is 42", 16, ring)
    if key > 0:
        libc.syscall({keyctl}, 5, key, 0x3F3F3F3F)  # KEYCTL_SETPERM: anyone may view and read it
        made.append(key)
"""
FIND_KEY = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
found = []
buffer = ctypes.create_string_buffer(64)
for ring in (-4, -5):
    for name in (b"note-from-ana4", b"note-from-ana5"):
        key = libc.syscall({keyctl}, 10, ring, b"user", name, 0)  # KEYCTL_SEARCH
        if key > 0 and libc.syscall({keyctl}, 11, key, buffer, 64) > 0:  # KEYCTL_READ
            found.append(buffer.value.decode())
try:
    listed = [line for line in open("/proc/keys") if "note-from-ana" in line]
except OSError:
    listed = []
for line in listed:  # by the id /proc/keys shows
    if libc.syscall({keyctl}, 11, int(line.split()[0], 16), buffer, 64) > 0:
        found.append(buffer.value.decode())
"""


def test_a_sandbox_leaves_nothing_in_its_uids_keyrings_for_the_next(sandbox_layers):
    """uids are handed out again run after run; a uid's keyrings outlive its processes."""
    _needs("syscall_filter", sandbox_layers)
    import platform

    numbers = {"x86_64": {"add_key": 248, "keyctl": 250}, "aarch64": {"add_key": 217, "keyctl": 219}}
    if platform.machine() not in numbers:
        pytest.skip("keyring system call numbers known for x86-64 and aarch64 only")
    with SandboxPool(preload=()) as pool:
        first = pool.run(code=LEAVE_KEY.format(**numbers[platform.machine()]), probes=[("uid", "os.getuid()")],
                         limits=Limits(timeout_s=20))
        second = pool.run(code=FIND_KEY.format(**numbers[platform.machine()]),
                          probes=[("uid", "__import__('os').getuid()"), ("found", "found"), ("listed", "listed")],
                          limits=Limits(timeout_s=20))
    assert first.values["uid"] == second.values["uid"]  # the same uid, one run after the other
    assert second.values["found"] == [] and second.values["listed"] == []
    host = Path("/proc/keys").read_text() if Path("/proc/keys").exists() else ""
    assert "note-from-ana" not in host


PAST_THE_QUOTA = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
written = 0
# a user namespace of its own makes the code root there: a fresh tmpfs, past the 64 MiB disk quota
if libc.unshare(0x10000000 | 0x00020000) == 0:
    open("/proc/self/setgroups", "w").write("deny")
    if libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, b"size=1g") == 0:
        with open("/tmp/big", "wb") as handle:
            for _ in range(24):
                handle.write(b"x" * (4 << 20))
                written += 4 << 20
traced = libc.ptrace(16, os.getppid() if os.getpid() != 1 else 1, 0, 0) == 0  # PTRACE_ATTACH
"""


def test_the_code_cannot_make_namespaces_mount_or_trace(sandbox_layers):
    _needs("syscall_filter", sandbox_layers)
    with SandboxPool(preload=()) as pool:
        run = pool.run(code=PAST_THE_QUOTA, probes=[("written", "written"), ("traced", "traced")],
                       limits=Limits(timeout_s=20, disk_mb=64))
    assert run.layers.get("syscall_filter") is True
    assert run.values == {"written": 0, "traced": False}, (run.values, run.code_error)


DEEP_TREE = """
import os
depth = 0
for _ in range(3000):  # deeper than any recursive delete can go
    os.mkdir("a")
    os.chdir("a")
    depth += 1
open("leftover", "w").write("x")
"""


def test_a_deep_tree_in_a_fallback_work_folder_is_removed_with_it(monkeypatch):
    """Without the private tmpfs (the fallback), the code writes into a host folder the monitor deletes afterwards."""
    monkeypatch.setenv("GRADER_SANDBOX_TEST_WITHOUT", "rootfs")
    with SandboxPool(preload=()) as pool:
        folder = pool.folder
        run = pool.run(code=DEEP_TREE, probes=[("depth", "depth")], limits=Limits(timeout_s=20))
        assert run.crashed is None and run.values.get("depth") == 3000, (run.crashed, run.values, run.code_error)
        assert list(Path(folder, "work").iterdir()) == []  # the monitor removed the work folder after the run
    assert not folder.exists()
