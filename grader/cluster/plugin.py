"""The worker plugin: one warm sandbox pool per Dask worker for one grading run.

Registered by the client under a name unique to the run, kept by the scheduler, and so set up on
every worker: those running now and any that join or restart during the run (a worker killed
mid-run comes back with a fresh pool). Setup starts the pools in the background; the client waits
for them on every worker (:func:`wait_ready`) and tasks on a worker that joined later wait for
theirs. The start checks, on that worker, what ``grade`` checks locally:
the same grader as the client (:mod:`.versions`) and, when the bank has code questions, a sandbox
with every essential isolation layer (unless ``--unsafe-sandbox``); a refusal names the worker.
Teardown (the client unregisters the plugin at the end of the run, also after Ctrl-C) closes the
pool, which kills its sandboxes and removes its folder and cgroups. If the worker itself dies, its
zygote sees its standard input close and cleans up the same way.

The plugin also carries the run's bank to the workers, and :class:`ReferencePlugin` the reference
values once they are known: plugins, unlike scattered data, are kept by the scheduler and given to
workers that join later, so a worker restarted after a crash still has them.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any

from distributed import WorkerPlugin

from ..bank import Bank
from ..errors import UserError
from ..kinds import CodeQuestion
from ..sandbox import SandboxPool
from ..sandbox.evaluate import ReferenceValues
from ..sandbox.layers import ESSENTIAL
from ..submissions.worker import ParserPool
from .versions import differences, fingerprint, mismatch_message

START_TIMEOUT_S = 600.0
"""How long a task (or the client) waits for a worker's pools to start before giving up on that worker."""
_LOCAL = ("pool", "parser", "judges", "_started", "_thread")
"""What belongs to one worker's process and never travels with the plugin."""


class GradingPlugin(WorkerPlugin):
    """A worker's sandbox pool, parser pool and bank for one run. :meth:`wait` returns once the pools
    are up, or raises UserError saying why they are not (the tasks then refuse with it)."""

    def __init__(self, *, name: str, bank: Bank, client_versions: dict[str, str], sandbox: bool, unsafe: bool):
        self.name = name
        self.bank = bank
        self.client_versions = client_versions
        self.needs_sandbox = sandbox
        self.unsafe = unsafe
        self.code_questions = [q for q in bank.questions if isinstance(q, CodeQuestion)]
        self.code_ids = frozenset(q.id for q in self.code_questions)
        self.require: tuple[str, ...] = () if unsafe else ESSENTIAL
        self.address = ""
        self.scratch: str | None = None
        """The worker's own scratch folder (Dask removes a dead worker's on its next start): submissions'
        bytes are written there for the parser, so a worker killed mid-task leaves nothing in /tmp."""
        self.pool: SandboxPool | None = None
        self.parser: ParserPool | None = None
        self.judges: Any = None
        """Free responses judged by meaning (:class:`grader.meaning.JudgeSource`): the model is loaded once
        per worker, on its first free response, as locally once per run."""
        self.sandbox: dict[str, Any] | None = None
        """What :func:`grader.grading._check_isolation` found on this worker (for grades.meta.json)."""
        self.ready = False
        self.error = ""
        self._started: threading.Event | None = None
        self._thread: threading.Thread | None = None

    def __getstate__(self) -> dict[str, Any]:  # what travels: the settings, never a running pool
        return {k: v for k, v in self.__dict__.items() if k not in _LOCAL} | dict.fromkeys(_LOCAL)

    def setup(self, worker: Any) -> None:
        """Start the pools in a thread and return at once. The zygote imports torch (seconds, many more
        on a busy machine): a setup that waited for it would hold up the worker's start, and a nanny
        kills a worker whose start takes longer than ``--death-timeout``. Tasks wait instead."""
        self.address = worker.address
        self.scratch = worker.local_directory
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._start, args=(max(1, worker.state.nthreads),),
                                        name=f"{self.name}-start", daemon=True)
        self._thread.start()

    def _start(self, threads: int) -> None:
        from ..grading import _check_isolation
        from ..meaning import JudgeSource

        try:
            found = differences(self.client_versions, fingerprint())
            if found:
                raise UserError(mismatch_message(f"Dask worker {self.address}", found))
            self.parser = ParserPool(threads)
            self.judges = JudgeSource()
            if self.needs_sandbox:
                self.pool = SandboxPool()
                self.pool.start()
                try:
                    self.sandbox = _check_isolation(self.pool, self.unsafe)
                except UserError as exc:
                    raise UserError(f"Dask worker {self.address}: {exc}") from None
            self.ready = True
        except Exception as exc:  # noqa: BLE001 - reported by wait(), to the client and to every task here
            self.error = str(exc) if isinstance(exc, UserError) else \
                f"Dask worker {self.address} could not start its sandbox ({type(exc).__name__}: {exc})"
            self.close()
        finally:
            self._started.set()

    def wait(self, timeout: float = START_TIMEOUT_S) -> None:
        """Block until the pools are up; UserError (naming this worker) when they could not start."""
        if self._started is None or not self._started.wait(timeout):
            raise UserError(f"Dask worker {self.address}: the sandbox did not start within {timeout:g} s")
        if not self.ready:
            raise UserError(self.error or f"Dask worker {self.address} is not set up for this run")

    async def teardown(self, worker: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._stop)

    def _stop(self) -> None:
        if self._thread is not None:  # a start in progress finishes first; then what it started is closed
            self._thread.join()
        self.close()

    def close(self) -> None:
        self.ready = False
        if self.parser is not None:
            self.parser.close()
            self.parser = None
        if self.pool is not None:
            self.pool.close()
            self.pool = None


async def wait_ready(dask_worker: Any, name: str) -> dict[str, Any] | None:
    """(Run by ``client.run`` on each worker.) Wait for the run's pools there; return its isolation report."""
    plugin = dask_worker.plugins.get(name)
    if plugin is None:
        raise UserError(f"Dask worker {dask_worker.address} did not receive the run's plugin")
    await asyncio.get_running_loop().run_in_executor(None, plugin.wait)
    return plugin.sandbox


class ReferencePlugin(WorkerPlugin):
    """The run's reference values, computed once on one worker and given to every worker."""

    def __init__(self, *, name: str, references: ReferenceValues):
        self.name = name
        self.references = references
