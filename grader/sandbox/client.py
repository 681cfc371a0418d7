"""The grader's side of the sandbox: start a warm zygote, send it code, get probe data back.

:class:`SandboxPool` is thread-safe: each :meth:`SandboxPool.run` opens its own connection, and
the zygote forks one monitor per connection, so ``--jobs`` threads run that many sandboxes at once.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .isolate import Limits
from .zygote import recv_frame, send_frame

START_TIMEOUT_S = 180.0


@dataclass
class SandboxRun:
    """What came back from one sandboxed run, decoded by the trusted parent."""

    values: dict[str, Any] = field(default_factory=dict)
    """Probe id → encoded value (plain data) for probes that returned."""
    errors: dict[str, str] = field(default_factory=dict)
    """Probe id → the exception the probe raised."""
    code_error: str | None = None
    """The exception the student's code raised while it ran (definitions made before it stay)."""
    timed_out: bool = False
    crashed: str | None = None
    """Why the sandbox ended without finishing (killed, exited early, garbled output)."""
    layers: dict[str, bool] = field(default_factory=dict)
    """Which isolation layers held (reported by the jail before student code ran)."""
    elapsed_s: float = 0.0


def parse_output(header: dict, raw: bytes) -> SandboxRun:
    """Turn the monitor's header and the pipe's raw bytes into a :class:`SandboxRun`.

    The first record for each probe wins; lines that are not JSON objects are ignored; a run that
    never wrote its ``done`` record is reported as crashed (or timed out).
    """
    run = SandboxRun(timed_out=bool(header.get("timed_out")), elapsed_s=float(header.get("elapsed_s", 0.0)))
    if "monitor_error" in header:
        run.crashed = f"the sandbox failed to start ({header['monitor_error']})"
        return run
    done = False
    for line in raw.split(b"\n"):
        try:
            record = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            continue
        if not isinstance(record, dict):
            continue
        event = record.get("event")
        if event == "isolation" and not run.layers and isinstance(record.get("layers"), dict):
            run.layers = {str(k): bool(v) for k, v in record["layers"].items()}
        elif event == "code_error" and run.code_error is None:
            run.code_error = str(record.get("error"))[:400]
        elif event == "done":
            done = True
        elif isinstance(record.get("probe"), str):
            probe = record["probe"]
            if probe in run.values or probe in run.errors:
                continue
            if "value" in record:
                run.values[probe] = record["value"]
            else:
                run.errors[probe] = str(record.get("error"))[:400]
    if not done and not run.timed_out:
        status = header.get("exit")
        if header.get("truncated"):
            run.crashed = "the probes returned more data than the grader accepts"
        elif isinstance(status, int) and status < 0:
            run.crashed = f"the process was killed by signal {-status} (memory or CPU limit, or the code killed itself)"
        else:
            run.crashed = f"the process ended before all checks ran (exit status {status}; os._exit or sys.exit in a check?)"
    return run


class SandboxPool:
    """A warm zygote process plus the scratch folder its sandboxes work in. Use as a context manager."""

    def __init__(self, *, hide_paths: list[str | Path] = (), python: str = sys.executable):
        self.hide_paths = [str(Path(p).resolve()) for p in hide_paths]
        self.python = python
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="grader-sandbox-"))
        os.chmod(self._dir, 0o711)  # the sandbox user may enter its own folder but list nothing
        self.scratch = self._dir / "work"
        self.scratch.mkdir(mode=0o711)
        os.chmod(self.scratch, 0o711)

    def __enter__(self) -> "SandboxPool":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def socket_path(self) -> str:
        return str(self._dir / "zygote.sock")

    def start(self) -> None:
        """Start the zygote (imports torch once) unless it is already running."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            if os.path.exists(self.socket_path):
                os.unlink(self.socket_path)
            env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1",
                       MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", PYTHONDONTWRITEBYTECODE="1")
            root = str(Path(__file__).resolve().parents[2])
            env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
            log = (self._dir / "zygote.log").open("ab")
            self._proc = subprocess.Popen([self.python, "-m", "grader.sandbox", self.socket_path],
                                          stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=env,
                                          cwd=str(self._dir))
            log.close()
            line = self._proc.stdout.readline()
            if line.strip() != b"ready":
                self._proc.kill()
                tail = (self._dir / "zygote.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the sandbox zygote did not start:\n{tail}")

    def run(self, *, code: str, setup: str, probes: list[tuple[str, str]], limits: Limits) -> SandboxRun:
        """Run ``code`` then ``setup`` in a fresh sandbox and evaluate ``probes`` (id, expression)."""
        request = {"code": code, "setup": setup, "probes": [list(p) for p in probes], "limits": asdict(limits),
                   "hide_paths": self.hide_paths, "scratch_dir": str(self.scratch)}
        for attempt in (1, 2):
            try:
                return self._exchange(request, limits)
            except (ConnectionError, FileNotFoundError, OSError) as exc:
                if attempt == 2:
                    return SandboxRun(crashed=f"the sandbox could not be reached ({type(exc).__name__}: {exc})")
                self.start()  # the zygote died (or was killed): start a new one and retry once
        raise AssertionError("unreachable")

    def _exchange(self, request: dict, limits: Limits) -> SandboxRun:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(limits.timeout_s + 60)
            conn.connect(self.socket_path)
            send_frame(conn, json.dumps(request).encode())
            header = json.loads(recv_frame(conn, limit=1 << 20))
            raw = recv_frame(conn, limit=1 << 26)
        return parse_output(header, raw)

    def close(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
            if self._proc is not None and self._proc.stdout:
                self._proc.stdout.close()
            self._proc = None
        shutil.rmtree(self._dir, ignore_errors=True)
