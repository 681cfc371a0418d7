"""``python -m grader doctor``: which isolation layers this machine gives the sandbox, checked from inside.

A layer's own report ("the mount namespace was created") is not taken on trust: the doctor plants
canaries on the host (a file beside the repository, a variable in its own environment, a listening
loopback port) and runs sandboxes that try to reach them, count the processes they can see, write
to ``/dev/shm``, start a ``setsid()`` child, make a user namespace, and compare uids with a sandbox
running at the same time.
A layer is present only when its report and its check agree.
"""
from __future__ import annotations

import os
import secrets
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .sandbox import Limits, SandboxPool
from .sandbox.layers import LAYERS, missing_essential

CANARY_ENV = "GRADER_DOCTOR_CANARY"

PROBE_CODE = """
import os, socket, subprocess, time
def visible(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False
def connects(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False
def environ_leaks(name, value):
    try:
        raw = open("/proc/self/environ", "rb").read().decode(errors="replace") + open("/proc/1/environ", "rb").read().decode(errors="replace")
    except OSError:
        raw = ""
    return name in os.environ or value in raw
def makes_user_namespace():
    import ctypes
    return ctypes.CDLL(None, use_errno=True).unshare(0x10000000) == 0
if os.fork() == 0:  # a child that tries to outlive the sandbox
    os.setsid()
    time.sleep(60)
    os._exit(0)
open("/dev/shm/{canary}", "w").write("x")
"""


@dataclass
class DoctorReport:
    """Per layer: held (report and check agree), and the check's note when they do not."""

    held: dict[str, bool] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    cgroup: str = ""
    identity: str = ""

    @property
    def missing_essential(self) -> list[str]:
        return missing_essential(self.held)

    def to_text(self) -> str:
        lines = [f"{'layer':<52} {'status':<8} meaning", "-" * 100]
        for layer in LAYERS:
            ok = self.held.get(layer.name, False)
            status = "ok" if ok else ("MISSING" if layer.essential else "absent")
            meaning = layer.stops if ok else layer.missing
            note = f" [{self.notes[layer.name]}]" if layer.name in self.notes else ""
            lines.append(f"{layer.title:<52} {status:<8} {meaning}{note}")
        lines += ["", f"cgroup backend: {self.cgroup or 'none (fallback: per-process rlimits only)'}",
                  f"sandbox identity: {self.identity or 'unknown'}"]
        if self.missing_essential:
            lines.append("essential layers missing: " + ", ".join(self.missing_essential)
                         + " -> `grade` refuses code questions here unless --unsafe-sandbox")
        else:
            lines.append("all essential layers present: `grade` runs code questions")
        return "\n".join(lines)


def _checks(pool: SandboxPool, *, repo: Path, canary_file: Path, canary: str, port: int) -> tuple[dict, dict, list[str]]:
    probes = [("repo", " or ".join(f"visible({str(repo / name)!r})" for name in (".git", "grader", "quizzes", "README.md"))),
              ("canary", f"visible({str(canary_file)!r})"),
              ("procs", "len([p for p in os.listdir('/proc') if p.isdigit()])"),
              ("network", f"connects({port})"),
              ("env", f"environ_leaks({CANARY_ENV!r}, {canary!r})"),
              ("uid", "os.getuid()"), ("root", "os.geteuid() == 0"),
              ("quota", "os.statvfs('/tmp').f_blocks * os.statvfs('/tmp').f_frsize"),
              ("userns", "makes_user_namespace()")]
    results: list = [None, None]

    def one(index: int) -> None:
        results[index] = pool.run(code=PROBE_CODE.replace("{canary}", canary) + "time.sleep(0.5)\n", probes=probes,
                                  limits=Limits(timeout_s=20, disk_mb=64))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first, second = results
    return first.layers, {"first": first, "second": second}, [first.identity, second.identity]


def _leftover_processes(uids: set[int]) -> list[int]:
    """Live host processes running as one of ``uids`` (there should be none once those sandboxes ended)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as handle:
                    status = handle.read()
                uid = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("Uid:"))
            except (OSError, StopIteration, ValueError):
                continue
            if uid in uids and "\nState:\tZ" not in status:
                found.append(int(entry))
    return found


def diagnose() -> DoctorReport:
    """Start a light sandbox pool, run the checks, and say which layers hold here."""
    report = DoctorReport()
    repo = Path(__file__).resolve().parents[1]
    canary = secrets.token_hex(8)
    os.environ[CANARY_ENV] = canary  # the zygote must not inherit it
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    try:
        with tempfile.TemporaryDirectory(prefix="grader-doctor-") as host_dir:
            canary_file = Path(host_dir) / "bank.yaml"
            canary_file.write_text("reference: secret\n")
            os.chmod(host_dir, 0o755)
            os.chmod(canary_file, 0o644)
            with SandboxPool(preload=()) as pool:
                layers, runs, identities = _checks(pool, repo=repo, canary_file=canary_file, canary=canary,
                                                   port=listener.getsockname()[1])
                report.cgroup = pool.cgroup_backend
            leftovers = _leftover_processes({r.values.get("uid") for r in runs.values()} - {None, 0})
            shm_leak = Path("/dev/shm", canary).exists()
            if shm_leak:  # our own canary, written where the sandbox should not have reached: tidy it away
                Path("/dev/shm", canary).unlink()
    finally:
        listener.close()
        os.environ.pop(CANARY_ENV, None)
    first = runs["first"]
    values = first.values
    report.identity = ", ".join(i for i in identities if i)
    checks = {
        "filesystem_allowlist": (values.get("repo") is False and values.get("canary") is False,
                                 "the repository or a host file is visible"),
        "private_proc": (isinstance(values.get("procs"), int) and values["procs"] <= 4, "host processes are visible"),
        "network_namespace": (values.get("network") is False, "a loopback connection to the host succeeded"),
        "ipc_namespace": (not shm_leak, "a /dev/shm file reached the host"),
        "own_identity": (len({r.values.get("uid") for r in runs.values()}) == 2, "two sandboxes shared a uid"),
        "unprivileged": (values.get("root") is False, "the code ran as root"),
        "pid_namespace": (not leftovers, f"processes outlived the sandbox: {leftovers[:5]}"),
        "disk_quota": (isinstance(values.get("quota"), int) and values["quota"] <= 64 * 1024 * 1024,
                       "/tmp is not the size-limited tmpfs"),
    }
    checks["clean_environment"] = (values.get("env") is False, "the grader's environment reached the sandbox")
    checks["syscall_filter"] = (values.get("userns") is False, "the code could create a user namespace")
    for layer in LAYERS:
        held = bool(layers.get(layer.name))
        check = checks.get(layer.name)
        if not first.values and first.crashed:
            report.notes[layer.name] = first.crashed
        if held and check is not None and not check[0]:
            held = False
            report.notes[layer.name] = f"reported, but the check failed: {check[1]}"
        report.held[layer.name] = held
    return report

