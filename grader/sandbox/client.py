"""The grader's side of the sandbox: start a warm zygote, send it code, get checked probe data back.

:class:`SandboxPool` is thread-safe: each :meth:`SandboxPool.run` opens its own connection, and
the zygote's supervisor runs one monitor per connection (and the zygote forks one jail for each), so
``--jobs`` threads run that many sandboxes at once.
The pool owns one temporary folder and one cgroup pool; :meth:`SandboxPool.close` (or, if the grader
dies, the zygote itself) removes both, and the next pool to start removes any a dead grader left.
"""
from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import cgroups, housekeeping
from .decode import Records, decode_records
from .framing import recv_frame, send_frame
from .isolate import Limits, zygote_environment
from .server import Lease, ServerRecord, attach
from .zygote import PRELOAD, shutdown

START_TIMEOUT_S = 180.0
ANSWER = ("<your answer>", "your cell")
"""(file name, description) of a student's own answer cell, as errors name it."""


@dataclass
class SandboxRun(Records):
    """What came back from one sandboxed run: the checked records (values, errors, malformed values,
    the code's error, the layers that held) plus what the monitor saw."""

    timed_out: bool = False
    crashed: str | None = None
    """Why the sandbox ended without finishing (killed, a limit, exited early, refused to start)."""
    stdout: str | None = None
    """What the code printed, when asked for (``capture_stdout``), cut at the limit."""
    stdout_truncated: bool = False
    usage: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    data_bytes: int = 0
    """Bytes of probe data the sandbox sent (what the decoded values cost the grader, roughly)."""


def _crash_reason(header: dict, refused: list[str]) -> str:
    if refused:
        return f"the sandbox refused to run the code: missing isolation layer(s) {', '.join(refused)}"
    usage = header.get("usage") if isinstance(header.get("usage"), dict) else {}
    status = header.get("exit")
    if header.get("truncated"):
        return "the probes returned more data than the grader accepts"
    if usage.get("oom_kills"):
        return "the code used more memory than its limit allows and was stopped"
    if isinstance(status, int) and status < 0:
        return f"the process was killed by signal {-status} (memory or CPU limit, or the code killed itself)"
    return f"the process ended before all checks ran (exit status {status}; os._exit or sys.exit in a check?)"


def parse_output(header: dict, raw: bytes, printed: bytes | None = None,
                 probe_ids: frozenset[str] | None = None) -> SandboxRun:
    """Turn the monitor's header and the pipe's raw bytes into a :class:`SandboxRun`; never raises.

    The first record for each probe wins; lines that are not records are ignored; a malformed value
    fails its probe with a reason; a run that never wrote its ``done`` record is reported as crashed
    (or timed out).
    """
    header = header if isinstance(header, dict) else {}
    elapsed = header.get("elapsed_s")
    elapsed = float(elapsed) if isinstance(elapsed, (int, float)) else 0.0
    if "monitor_error" in header:
        return SandboxRun(crashed=f"the sandbox failed to start ({str(header['monitor_error'])[:300]})", elapsed_s=elapsed)
    records = decode_records(raw, probe_ids)
    run = SandboxRun(**vars(records), timed_out=header.get("timed_out") is True, elapsed_s=elapsed,
                     data_bytes=len(raw))
    cgroup = header.get("cgroup") if isinstance(header.get("cgroup"), dict) else {}
    run.layers = {**records.layers, **{k: v for k, v in cgroup.items() if isinstance(v, bool)}}
    run.usage = {k: v for k, v in (header.get("usage") or {}).items() if isinstance(v, int)} \
        if isinstance(header.get("usage"), dict) else {}
    refused = list(records.refused) + [str(x) for x in header.get("refused", []) if isinstance(header.get("refused"), list)]
    run.refused = refused
    if printed is not None:
        run.stdout = printed.decode("utf-8", errors="replace")
        run.stdout_truncated = header.get("stdout_truncated") is True
    if refused or (not records.done and not run.timed_out):
        run.crashed = _crash_reason(header, refused)
    return run


class SandboxPool:
    """A warm zygote process plus the folder and cgroup pool its sandboxes use. Use as a context manager.

    ``preload``: statements the zygote runs once before forking (default: import torch,
    transformers, peft, numpy); pass ``()`` for a light pool (``code_output`` snippets).
    The zygote runs with a fixed hash seed and fixed random seeds (:func:`.zygote.fix_random_state`):
    every run's sandboxes start alike, so set and dict orders, and unseeded random numbers, are the
    same for the reference and for every student, run after run.

    ``use_server``: send the sandboxes to this user's warm server (``python -m grader serve``,
    :mod:`.server`) when one runs this very grader, instead of starting a zygote; :attr:`server_note`
    says why one was not used. If the server stops answering, the pool starts its own zygote and
    retries there.
    """

    def __init__(self, *, preload: tuple[str, ...] | None = None, python: str = sys.executable,
                 use_server: bool = False):
        self.preload = tuple(PRELOAD if preload is None else preload)
        self.python = python
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._dir: Path | None = None
        self._cgroup: cgroups.Pool | None = None
        self._closed = False
        self._use_server = use_server
        self._lease: Lease | None = None
        self.server_note = ""
        """Why the warm server was not used, or stopped being used ('' when none runs, or it was used)."""

    def __enter__(self) -> "SandboxPool":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def folder(self) -> Path | None:
        """The pool's temporary folder (root-owned, 0700), None before :meth:`start`."""
        return self._dir

    @property
    def server(self) -> ServerRecord | None:
        """The warm server this pool's sandboxes run in (None: its own zygote)."""
        lease = self._lease
        return lease.record if lease is not None else None

    def alive(self) -> bool:
        """Whether this pool's own zygote runs."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def cgroup_backend(self) -> str:
        """Which cgroup backend limits this pool's sandboxes ('' for the fallback without one)."""
        lease = self._lease
        if lease is not None:
            return lease.record.cgroup
        if self._cgroup is None:
            return ""
        limits = ", ".join(self._cgroup.limits) or "no limits, kill only"
        return f"{self._cgroup.version} ({limits}; {', '.join(sorted(self._cgroup.dirs))})"

    @property
    def socket_path(self) -> str:
        lease = self._lease
        return lease.socket if lease is not None else str(self._dir / "zygote.sock")

    def _prepare(self) -> None:
        """First start: clean up after dead graders, then make our folder and cgroup pool."""
        housekeeping.remove_stale()
        self._dir = Path(tempfile.mkdtemp(prefix=housekeeping.DIR_PREFIX))
        os.chmod(self._dir, 0o700)
        (self._dir / "root").mkdir(mode=0o700)
        (self._dir / "work").mkdir(mode=0o711)  # fallback work folders, when no private tmpfs can be made
        self._cgroup = cgroups.open_pool()
        housekeeping.write_owner(self._dir, self._cgroup)

    def start(self) -> None:
        """Use the warm server (``use_server``) or start the zygote (imports torch once), unless done already."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            self._closed = False
            if self._lease is not None:
                return
            if self._use_server:
                self._use_server = False  # asked once per pool: a server found later does not change a run midway
                self._lease, self.server_note = attach(preload=self.preload, python=self.python)
                if self._lease is not None:
                    return
            if self._dir is None or not self._dir.is_dir():
                self._prepare()
            if os.path.exists(self.socket_path):
                os.unlink(self.socket_path)
            (self._dir / "config.json").write_text(json.dumps(
                {"preload": list(self.preload), "cgroup": self._cgroup.to_dict() if self._cgroup else None}))
            root = str(Path(__file__).resolve().parents[2])
            env = zygote_environment({"PYTHONPATH": root, "HOME": str(self._dir), "PYTHONHASHSEED": "0",
                                      **{k: os.environ[k] for k in (cgroups.SKIP_ENV,) if k in os.environ}})
            with (self._dir / "zygote.log").open("ab") as log:
                self._proc = subprocess.Popen([self.python, "-m", "grader.sandbox"], stdin=subprocess.PIPE,
                                              stdout=subprocess.PIPE, stderr=log, env=env, cwd=str(self._dir),
                                              start_new_session=True)
            housekeeping.write_owner(self._dir, self._cgroup, zygote=self._proc.pid)
            self._proc.stdin.write(os.fsencode(self._dir) + b"\n")  # not in argv: sandboxes inherit the zygote's cmdline
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
            if line.strip() != b"ready":
                self._proc.kill()
                tail = (self._dir / "zygote.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the sandbox zygote did not start:\n{tail}")

    def run(self, *, code: str | None = None, chunks: list[tuple[str, str, str]] | None = None, setup: str = "",
            probes: list[tuple[str, str]] = (), limits: Limits = Limits(), capture_stdout: bool = False,
            require: tuple[str, ...] = ()) -> SandboxRun:
        """Run the code, then ``setup``, in a fresh sandbox and evaluate ``probes`` (id, expression).

        ``code`` is one answer cell; ``chunks`` are several, each ``(file name, description, code)``
        (required answers first). ``require`` names isolation layers without which the code must not
        run at all (the run then comes back ``crashed`` with the reason).
        """
        chunks = list(chunks) if chunks is not None else [(*ANSWER, code or "")]
        request = {"chunks": [list(c) for c in chunks], "setup": setup, "probes": [list(p) for p in probes],
                   "limits": asdict(limits), "capture_stdout": capture_stdout, "require": list(require)}
        probe_ids = frozenset(p[0] for p in probes)
        for attempt in (1, 2):
            try:
                return self._exchange(request, limits, probe_ids)
            except (ConnectionError, FileNotFoundError, OSError) as exc:
                if attempt == 2 or self._closed:
                    return SandboxRun(crashed=f"the sandbox could not be reached ({type(exc).__name__}: {exc})")
                self._leave_server()
                self.start()  # the zygote (or the server) died or was killed: start a new one and retry once
        raise AssertionError("unreachable")

    def isolation(self) -> SandboxRun:
        """Run an empty sandbox and report which isolation layers held (``.layers``) on this machine."""
        return self.run(code="", limits=Limits(timeout_s=30))

    def _exchange(self, request: dict, limits: Limits, probe_ids: frozenset[str]) -> SandboxRun:
        with socket_connection(self.socket_path, limits.timeout_s + 60) as conn:
            send_frame(conn, json.dumps(request).encode())
            header_raw = recv_frame(conn, limit=1 << 20)
            raw = recv_frame(conn, limit=1 << 26)
            printed = recv_frame(conn, limit=max(1 << 20, limits.output_kb * 1024))
        try:
            header = json.loads(header_raw)
        except ValueError:
            header = {"monitor_error": "unreadable header"}
        return parse_output(header, raw, printed if request["capture_stdout"] else None, probe_ids)

    def _leave_server(self) -> None:
        """The server failed to answer: from now on this pool runs its own zygote."""
        with self._lock:
            lease, self._lease = self._lease, None
        if lease is not None:
            lease.release()
            self.server_note = (f"the sandbox server ({lease.record.describe()}) stopped answering during the run; "
                                "the rest ran in a zygote of its own")

    def close(self) -> None:
        """Stop the zygote (it kills its sandboxes) and remove the folder and cgroups, or let go of the
        server; idempotent."""
        with self._lock:
            self._closed = True
            lease, self._lease = self._lease, None
            if lease is not None:
                lease.release()
            proc, self._proc = self._proc, None
            if proc is not None:
                try:
                    proc.stdin.close()  # EOF: the zygote shuts its pool down and exits
                    proc.wait(10)
                except (OSError, subprocess.TimeoutExpired):
                    proc.kill()
                    proc.wait()
                if proc.stdout:
                    proc.stdout.close()
            if self._dir is not None:
                shutdown(str(self._dir), self._cgroup)
                self._dir, self._cgroup = None, None



def socket_connection(path: str, timeout: float) -> socket.socket:
    """A connected unix socket to the zygote's supervisor (a context manager, like every socket).

    The peer must be a process of this very user (``SO_PEERCRED``): a pool's folder can vanish while a
    run still uses its path (a server stopped or restarted mid-run), and another local user could then
    make a folder of the same name and listen there, to receive the bank's references and hidden probes
    and answer with any values. Refused, the run starts a zygote of its own (:meth:`SandboxPool.run`)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(timeout)
    try:
        conn.connect(path)
        _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                struct.calcsize("3i")))
        if uid != os.geteuid():
            raise ConnectionRefusedError(f"the sandbox socket {path} is served by uid {uid}, not by this user")
    except OSError:
        conn.close()
        raise
    return conn
