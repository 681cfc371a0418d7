"""A warm sandbox server kept between ``grade`` runs: ``python -m grader serve``.

Why: every ``grade`` run starts a zygote that imports torch, transformers and peft before the first
sandbox can fork (8.4 s of one core on the project's 2-core machine, 5 s of it ``import peft``):
that import, not grading, is most of the wait before the first student is graded, and it is paid
again on every run of an instructor who grades batches as they arrive. ``serve`` starts one pool
(:class:`~.client.SandboxPool`: the same zygote, supervisor, jails and cgroups as a run's own) and
keeps it; ``grade`` finds it and sends its sandboxes there, so a run starts grading at once.

Nothing about a sandbox changes: each one is still forked fresh from a zygote that never read a
request, with the same layers and limits, so scores are the same (``grade`` checks the layers on
every run, as always). What is shared is only what a run's own zygote would hold.

Trust and discovery. The server writes ``server.json`` in a folder of its user's own
(:func:`server_folder`: 0700, owned by the user, never a link); ``grade`` uses a server only if the
record is there, its process is alive (pid and start time), and it runs this very grader (the
:func:`~grader.fingerprint.fingerprint` of its source, the same Python and preload): otherwise it
starts its own zygote and says why. A run holds a shared ``flock`` on ``lease`` while it uses the
server; the server stops when no run has held it for ``idle`` seconds (taking the lock exclusively,
so no run can start on a server that is going away), on SIGTERM/SIGINT, or with ``serve --stop``.
Its zygote dies with it (its standard input is a pipe from the server), and the zygote removes
every sandbox, cgroup and folder of its pool, as when a run's grader dies.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import stat
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from ..errors import UserError
from ..fingerprint import fingerprint
from .cgroups import owner_alive, process_start_time

DEFAULT_IDLE_S = 1800.0
"""A server nobody has used for this long stops by itself (30 minutes): a forgotten one goes away."""
FOLDER_ENV = "GRADER_SERVER_DIR"


def server_folder() -> Path:
    """Where this user's server keeps its record: ``$GRADER_SERVER_DIR`` or ``<tmp>/grader-server-<uid>``."""
    configured = os.environ.get(FOLDER_ENV)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / f"grader-server-{os.geteuid()}"


def _private(folder: Path, *, create: bool) -> bool:
    """Whether ``folder`` is a real folder of ours that nobody else can write (made 0700 when ``create``)."""
    if create:
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700, parents=True)
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077


@dataclass(frozen=True)
class ServerRecord:
    """What a running server says about itself in ``server.json``."""

    pid: int
    start: int
    """The server process's start time (clock ticks since boot): a reused pid is not mistaken for it."""
    started_at: str
    socket: str
    fingerprint: dict
    python: str
    preload: list
    cgroup: str

    @classmethod
    def read(cls, path: Path) -> ServerRecord | None:
        """The record at ``path``; None when missing, unreadable, or not a regular file of ours."""
        try:
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_size > 1 << 16:
                return None
            data = json.loads(path.read_text(encoding="utf-8"))
            record = cls(**{name: data[name] for name in cls.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError):
            return None
        types = {"pid": int, "start": int, "started_at": str, "socket": str, "fingerprint": dict, "python": str,
                 "preload": list, "cgroup": str}
        if not all(type(getattr(record, name)) is kind for name, kind in types.items()):
            return None
        return record

    def alive(self) -> bool:
        """The server process still runs (a zombie its parent has not reaped yet does not)."""
        if not owner_alive(self.pid, self.start):
            return False
        try:
            with open(f"/proc/{self.pid}/stat", encoding="ascii", errors="replace") as handle:
                return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except (OSError, IndexError):
            return False

    def describe(self) -> str:
        return f"pid {self.pid}, started {self.started_at}"


def _sandbox_socket_ok(path: str) -> bool:
    """The zygote's socket sits in a pool folder only its user can enter (SandboxPool makes it 0700)."""
    socket_path = Path(path)
    return socket_path.is_absolute() and _private(socket_path.parent, create=False)


@dataclass
class Lease:
    """A run's hold on a server: while held, the server does not stop for being idle."""

    record: ServerRecord
    _handle: object

    @property
    def socket(self) -> str:
        return self.record.socket

    def release(self) -> None:
        """Mark the server used now (its idle clock restarts) and let go."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        with contextlib.suppress(OSError):
            os.utime(handle.fileno())
        handle.close()  # drops the flock


def attach(*, preload: tuple[str, ...], python: str) -> tuple[Lease | None, str]:
    """A lease on this user's running server when it runs this grader; else None and why not ('' when
    no server runs). Never raises: a run without a server simply starts its own zygote."""
    record = running()
    if record is None:
        return None, ""
    mine = fingerprint()
    if record.fingerprint != mine:
        return None, (f"the sandbox server ({record.describe()}) runs another grader (source "
                      f"{record.fingerprint.get('code')}, this run {mine['code']}); restart it: "
                      "`python -m grader serve --stop`, then `python -m grader serve`")
    if record.python != os.path.realpath(python) or record.preload != list(preload):
        return None, f"the sandbox server ({record.describe()}) runs another Python or preload than this run"
    if not _sandbox_socket_ok(record.socket):
        return None, f"the sandbox server's socket ({record.socket}) is not in a private folder: not used"
    folder = server_folder()
    try:
        handle = open(folder / "lease", "a+b")  # noqa: SIM115 - held for the run, closed by Lease.release
    except OSError as exc:
        return None, f"the sandbox server's lease could not be taken ({exc})"
    fcntl.flock(handle.fileno(), fcntl.LOCK_SH)  # waits only while a server that is stopping finishes
    again = ServerRecord.read(_record_path(folder))
    if again != record or not record.alive():
        handle.close()
        return None, ""
    return Lease(record, handle), ""


def _record_path(folder: Path) -> Path:
    return folder / "server.json"


def running() -> ServerRecord | None:
    """This user's live server, if any (whatever grader it runs)."""
    folder = server_folder()
    if not _private(folder, create=False):
        return None
    record = ServerRecord.read(_record_path(folder))
    return record if record is not None and record.alive() else None


def stop(timeout_s: float = 30.0) -> ServerRecord | None:
    """Ask this user's server to stop (SIGTERM) and wait until it has; the record of the one stopped, or None."""
    record = running()
    if record is None:
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while record.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if record.alive():
        raise UserError(f"the sandbox server ({record.describe()}) did not stop within {timeout_s:.0f} s")
    return record


class Server:
    """The ``serve`` process: one warm pool, its record, the idle clock. Use :meth:`run`."""

    def __init__(self, *, idle_s: float = DEFAULT_IDLE_S, check_s: float = 1.0, python: str = sys.executable):
        self.idle_s, self.check_s, self.python = idle_s, check_s, python
        self.folder = server_folder()
        self._stopping = threading.Event()

    def run(self, announce=print) -> None:
        """Start the pool, publish the record, serve until idle or told to stop; always cleans up."""
        from .client import SandboxPool  # the client module imports this one

        if not _private(self.folder, create=True):
            raise UserError(f"{self.folder} is not a private folder of this user (mode 0700, not a link): "
                            f"remove it or set {FOLDER_ENV}")
        guard = open(self.folder / "serve.lock", "a+b")  # noqa: SIM115 - held for the server's life
        try:
            fcntl.flock(guard.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            guard.close()
            other = running()
            raise UserError("a sandbox server is already running" + (f" ({other.describe()})" if other else "")
                            + "; `python -m grader serve --stop` stops it") from None
        lease = open(self.folder / "lease", "a+b")  # noqa: SIM115
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, lambda *_: self._stopping.set())
        pool = SandboxPool(python=self.python)
        try:
            try:
                pool.start()
            except RuntimeError as exc:  # the zygote's own words (its log's tail), not a traceback of ours
                raise UserError(str(exc)) from None
            record = ServerRecord(pid=os.getpid(), start=process_start_time(os.getpid()) or 0,
                                  started_at=datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
                                  socket=pool.socket_path, fingerprint=fingerprint(),
                                  python=os.path.realpath(self.python), preload=list(pool.preload),
                                  cgroup=pool.cgroup_backend)
            _write_record(_record_path(self.folder), record)
            os.utime(lease.fileno())
            announce(f"sandbox server ready ({record.describe()}; sandboxes: {record.socket}); `grade` runs on this "
                     f"machine use it. It stops after {self.idle_s / 60:g} idle minute(s), on Ctrl-C, or with "
                     "`python -m grader serve --stop`.")
            self._serve(pool, lease)
        finally:
            with contextlib.suppress(OSError):  # runs that attach from here on wait, then find no record
                fcntl.flock(lease.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            with contextlib.suppress(OSError):
                _record_path(self.folder).unlink()
            pool.close()
            lease.close()
            guard.close()
            announce("sandbox server stopped")

    def _serve(self, pool, lease) -> None:
        """Until stopped: restart a zygote that died (an OOM kill, say); stop once idle long enough.

        Stopped by a signal while runs use it, it goes at once: their sandboxes in flight fail to answer and
        each run retries them in a zygote of its own (:meth:`~.client.SandboxPool.run`)."""
        while not self._stopping.wait(self.check_s):
            if not pool.alive():
                pool.start()  # a new pool folder and socket: the record must name them, not the old ones
                record = ServerRecord.read(_record_path(self.folder))
                if record is not None and record.socket != pool.socket_path:
                    _write_record(_record_path(self.folder), replace(record, socket=pool.socket_path))
            try:
                fcntl.flock(lease.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a run holds it: in use right now
                os.utime(lease.fileno())
                continue
            if time.time() - os.fstat(lease.fileno()).st_mtime >= self.idle_s:
                return  # still holding the lock: no run can attach while run() removes the record
            fcntl.flock(lease.fileno(), fcntl.LOCK_UN)


def _write_record(path: Path, record: ServerRecord) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(record), handle)
    os.replace(tmp, path)
