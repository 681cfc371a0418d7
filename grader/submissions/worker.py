"""Read submissions in worker processes with a memory cap and a deadline.

The parsers in this package already bound what they accept; the workers bound what a case nobody
thought of can cost. Each worker is a plain Python child (no sandbox needed: it runs only our own
parsing code, on data) with RLIMIT_AS set, answering one request per line; a file that makes it run
out of memory or time costs that file a reason row, the worker is replaced, and the grader, which
never parsed the file itself, carries on with the other students.
"""
from __future__ import annotations

import json
import os
import queue
import resource
import selectors
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..safetext import printable
from . import Submission, read_submission
from .limits import stem_name

MEMORY_MB = 1024
TIMEOUT_S = 30.0
MAX_REPLY = 64 * 1024 * 1024
PREFETCH_CHARS = 256 * 1024 * 1024
"""Answer characters :meth:`ParserPool.prefetch` may hold at once (about what 250 notebooks at the
code-cell limit would hold; a real class of thousands of notebooks holds a few megabytes)."""
_SERVE = "import sys; sys.path[:0] = [sys.argv[1]]; from grader.submissions.worker import serve; serve(int(sys.argv[2]))"


def serve(memory_mb: int) -> None:
    """The worker's loop: one JSON request per line on stdin, one JSON reply per line on stdout."""
    with open("/proc/self/status") as handle:
        size = next((int(line.split()[1]) * 1024 for line in handle if line.startswith("VmSize:")), 0)
    limit = size + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        request = json.loads(line)
        path = Path(request["path"])
        try:
            sub = read_submission(path, code_question_ids=frozenset(request["code_ids"]))
            reply = {"student": sub.student, "claimed": sub.claimed, "answers": sub.answers, "problems": sub.problems,
                     "unreadable": sub.unreadable}
        except MemoryError:
            reply = {"error": "the file needs more memory to read than a submission may use"}
        except Exception as exc:  # a parser bug: this file's reason, not the run's end
            reply = {"error": f"the file could not be read ({type(exc).__name__})"}
        out.write(json.dumps(reply).encode() + b"\n")
        out.flush()


class ParserWorker:
    """One worker process; :meth:`read` restarts it when it died or ran out of time."""

    def __init__(self, *, memory_mb: int = MEMORY_MB, timeout_s: float = TIMEOUT_S):
        self.memory_mb, self.timeout_s = memory_mb, timeout_s
        self._proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            root = str(Path(__file__).resolve().parents[2])
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
            self._proc = subprocess.Popen([sys.executable, "-I", "-c", _SERVE, root, str(self.memory_mb)],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                          env=env)
        return self._proc

    def read(self, path: Path, code_ids: frozenset[str]) -> Submission:
        proc = self._start()
        try:
            proc.stdin.write(json.dumps({"path": str(path), "code_ids": sorted(code_ids)}).encode() + b"\n")
            proc.stdin.flush()
            reply = json.loads(self._read_line(proc))
        except (OSError, ValueError, TimeoutError) as exc:
            self.close()
            why = "it took too long" if isinstance(exc, TimeoutError) else "it needed more memory than a submission may use"
            return _unreadable(path, f"the file could not be read within the grader's limits ({why})")
        if not isinstance(reply, dict) or "error" in reply:
            return _unreadable(path, str(reply.get("error") if isinstance(reply, dict) else "unreadable"))
        claimed = reply.get("claimed")
        return Submission(path=path, student=printable(str(reply["student"]), one_line=True) or stem_name(path),
                          answers=dict(reply["answers"]), problems=[printable(str(p)) for p in reply["problems"]],
                          unreadable=bool(reply["unreadable"]),
                          claimed=printable(claimed, one_line=True) if isinstance(claimed, str) else None)

    def _read_line(self, proc: subprocess.Popen) -> bytes:
        deadline = time.monotonic() + self.timeout_s
        chunks, size = [], 0
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise TimeoutError
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise OSError("the worker ended")
                chunks.append(chunk)
                size += len(chunk)
                if chunk.endswith(b"\n"):
                    return b"".join(chunks)
                if size > MAX_REPLY:
                    raise ValueError("reply too long")

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            for stream in (self._proc.stdin, self._proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            self._proc = None


class ParserPool:
    """Up to ``size`` workers shared by the grading threads (thread-safe). Use as a context manager.

    :meth:`prefetch` reads submissions ahead, in the background, while the caller waits for something
    else (the grader: the sandbox's zygote importing torch, seconds of one core): :meth:`read` then
    hands out what was read ahead instead of reading the file again.
    """

    def __init__(self, size: int, **worker_options):
        self._idle: queue.Queue[ParserWorker] = queue.Queue()
        self._all: list[ParserWorker] = []
        self._lock = threading.Lock()
        self.size, self._options = max(1, size), worker_options
        self._ahead: dict[tuple[Path, frozenset[str]], Submission] = {}
        self._ahead_chars = 0
        self._stop = threading.Event()
        self._prefetcher: threading.Thread | None = None

    def __enter__(self) -> "ParserPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, path: Path, code_ids: frozenset[str] = frozenset()) -> Submission:
        with self._lock:
            ahead = self._ahead.pop((path, frozenset(code_ids)), None)
            if ahead is not None:
                self._ahead_chars -= _size(ahead)
                return ahead
        return self._read(path, code_ids)

    def _read(self, path: Path, code_ids: frozenset[str]) -> Submission:
        with self._lock:
            if self._idle.empty() and len(self._all) < self.size:
                worker = ParserWorker(**self._options)
                self._all.append(worker)
                self._idle.put(worker)
        worker = self._idle.get()
        try:
            return worker.read(path, code_ids)
        finally:
            self._idle.put(worker)

    def prefetch(self, paths: list[Path], code_ids: frozenset[str] = frozenset(), *,
                 max_chars: int = PREFETCH_CHARS) -> None:
        """Start reading ``paths`` in order, one at a time in a background thread, until :meth:`stop_prefetch`
        or until the submissions read ahead hold ``max_chars`` characters of answers (a class of huge
        notebooks must not pile up in memory). One at a time: the point is to use a core that would
        otherwise wait, not to take both from what is being waited for."""
        code_ids = frozenset(code_ids)
        self._stop.clear()

        def run() -> None:
            for path in paths:
                if self._stop.is_set() or self._ahead_chars >= max_chars:
                    return
                submission = self._read(path, code_ids)
                with self._lock:
                    self._ahead[(path, code_ids)] = submission
                    self._ahead_chars += _size(submission)

        self._prefetcher = threading.Thread(target=run, name="parser-prefetch", daemon=True)
        self._prefetcher.start()

    def wait_prefetch(self, timeout: float | None = None) -> None:
        """Wait until :meth:`prefetch` has read all it will (or ``timeout`` seconds)."""
        if self._prefetcher is not None:
            self._prefetcher.join(timeout)

    def stop_prefetch(self) -> None:
        """Read nothing more ahead; what was read stays for :meth:`read`. Does not wait for the file being
        read (a hostile one may take the worker's whole deadline): that one is kept too when it is done."""
        self._stop.set()

    def close(self) -> None:
        self._stop.set()
        for worker in self._all:  # a read in progress (the prefetcher's too) fails at once
            worker.close()
        if self._prefetcher is not None:
            self._prefetcher.join()
            self._prefetcher = None
            for worker in self._all:  # one the prefetcher may have started again in between
                worker.close()
        self._ahead.clear()


def _size(submission: Submission) -> int:
    """Roughly what a read submission holds in memory: the characters of its answers and problems."""
    return sum(len(str(v)) for v in submission.answers.values()) + sum(len(p) for p in submission.problems) + 1


def _unreadable(path: Path, reason: str) -> Submission:
    return Submission(path=path, student=stem_name(path), problems=[reason], unreadable=True)
