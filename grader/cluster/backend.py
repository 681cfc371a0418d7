"""The client side of grading on Dask: connect, check the workers, keep submissions in flight, stream results.

:class:`DaskBackend` is a :class:`grader.grading.GradingBackend`, so ``_grade_all`` records what it
yields exactly as it records local results: this process alone writes the gradebook, grades.csv and
feedback, one submission at a time as each finishes, and ``--resume`` skips what the gradebook holds.

At most ``jobs`` submissions are in flight (default: twice the workers' threads, so a worker never
waits for the client); the client reads each file only when it sends it, with the same bounds as
the local parser, and sends its bytes with the task (not scattered: the scheduler keeps a task's
arguments, so it can run it again on another worker if the first dies; scattered data dies with
its worker). A file that is not a regular file within those bounds never leaves the client: it is
read (and refused) here, exactly as locally.
"""
from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Iterator
from typing import Any

from ..bank import Bank
from ..errors import UserError
from ..kinds import CodeQuestion
from ..sandbox.evaluate import ReferenceValues
from ..submissions import Submission
from ..submissions.collect import Collected
from ..submissions.limits import LIMITS, Refused, read_regular_file
from ..submissions.worker import ParserPool
from .availability import distributed
from .versions import differences, fingerprint, mismatch_message

WORKERS_TIMEOUT_S = 60.0


class DaskBackend:
    """Grade on the workers of the Dask scheduler at ``address`` (``tcp://host:8786``).

    ``connect_timeout_s`` defaults to Dask's ``distributed.comm.timeouts.connect`` (30 s; the
    ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT`` variable sets it).
    """

    def __init__(self, bank: Bank, *, address: str, jobs: int | None, unsafe_sandbox: bool,
                 connect_timeout_s: float | None = None, workers_timeout_s: float = WORKERS_TIMEOUT_S):
        self.bank, self.address, self.jobs, self.unsafe_sandbox = bank, address, jobs, unsafe_sandbox
        self.connect_timeout_s, self.workers_timeout_s = connect_timeout_s, workers_timeout_s
        self.code_questions = [q for q in bank.questions if isinstance(q, CodeQuestion)]
        self.code_ids = frozenset(q.id for q in self.code_questions)
        run = uuid.uuid4().hex[:12]
        self.plugin_name, self.references_name = f"grader-{run}", f"grader-references-{run}"
        self.client: Any = None
        self._registered: list[str] = []
        self._in_flight: dict[str, tuple[Any, Collected]] = {}
        self._parser: ParserPool | None = None

    # -- getting ready ---------------------------------------------------------------------------------
    def prepare(self, todo: list[Collected]) -> dict | None:
        if not todo:  # nothing to grade (--resume found everything): no need to reach the cluster
            return None
        dd = distributed()
        from .plugin import GradingPlugin, ReferencePlugin
        from .tasks import references_task

        self.client = self._connect(dd)
        threads = self._check_workers()
        self.jobs = max(1, self.jobs or 2 * threads)
        needs_sandbox = bool(self.code_questions)
        self._register(GradingPlugin(name=self.plugin_name, bank=self.bank, client_versions=fingerprint(),
                                     sandbox=needs_sandbox, unsafe=self.unsafe_sandbox))
        held = self._wait_ready()
        sandbox = None
        references = ReferenceValues({})
        if needs_sandbox:
            sandbox = dict(next(iter(held.values())))
            sandbox["cluster"] = {"scheduler": self.address,
                                  "workers": {a: {"missing_essential": r["missing_essential"]} for a, r in held.items()}}
            future = self.client.submit(references_task, self.plugin_name, pure=False,
                                        key=f"grader-references-{self.plugin_name}")
            references = self._result(future, "computing the reference values")
        self._register(ReferencePlugin(name=self.references_name, references=references))
        return sandbox

    def _connect(self, dd: Any) -> Any:
        try:
            timeout = {} if self.connect_timeout_s is None else {"timeout": self.connect_timeout_s}
            return dd.Client(self.address, set_as_default=False, **timeout)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot reach the Dask scheduler at {self.address} ({type(exc).__name__}: {exc}); "
                            "start one with `dask scheduler` and its workers with `dask worker ADDRESS` "
                            "(docs/autograding.md, \"Grading on a cluster\")") from None

    def _check_workers(self) -> int:
        """Wait for a worker; refuse a scheduler or workers that run another Python or grader (the scheduler
        unpickles every task, so it needs the grader too); return the workers' threads."""
        try:
            self.client.wait_for_workers(1, timeout=self.workers_timeout_s)
        except TimeoutError:
            raise UserError(f"no Dask worker joined the scheduler at {self.address} within "
                            f"{self.workers_timeout_s:g} s; start some with `dask worker {self.address}`") from None
        mine = fingerprint()
        problems = []
        try:
            theirs = self.client.run_on_scheduler(fingerprint)
        except Exception as exc:  # noqa: BLE001 - typically no grader (ModuleNotFoundError) on the scheduler
            problems.append(f"the Dask scheduler at {self.address} cannot run the grader ({type(exc).__name__}: "
                            f"{exc}); install the same peft-course[cluster] there")
        else:
            if found := differences(mine, theirs):
                problems.append(mismatch_message(f"the Dask scheduler at {self.address}", found))
        for address, theirs in sorted(self.client.run(fingerprint, on_error="return").items()):
            if isinstance(theirs, BaseException):
                problems.append(f"Dask worker {address} cannot run the grader ({type(theirs).__name__}: {theirs}); "
                                "install the same peft-course[cluster] there")
            elif found := differences(mine, theirs):
                problems.append(mismatch_message(f"Dask worker {address}", found))
        if problems:
            raise UserError("; ".join(problems))
        return sum(self.client.nthreads().values())

    def _wait_ready(self) -> dict[str, Any]:
        """Wait for every worker's pools; refuse (naming each worker and why) when one could not start them."""
        from .plugin import wait_ready

        reports = self.client.run(wait_ready, name=self.plugin_name, on_error="return")
        problems = [str(r) if isinstance(r, UserError) else f"Dask worker {a}: {type(r).__name__}: {r}"
                    for a, r in sorted(reports.items()) if isinstance(r, BaseException)]
        if problems:
            raise UserError("; ".join(problems))
        return reports

    def _register(self, plugin: Any) -> None:
        self._registered.append(plugin.name)  # before: a refusal on one worker leaves it registered on the others
        try:
            self.client.register_plugin(plugin)
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever a worker raised (unpicklable plugin, no grader there)
            raise UserError(f"the Dask workers could not set up the run ({type(exc).__name__}: {exc})") from None

    def _result(self, future: Any, doing: str) -> Any:
        try:
            return future.result()
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - a worker's error, shown in words instead of a remote traceback
            raise UserError(f"{doing} on the Dask cluster failed ({type(exc).__name__}: {exc})") from None

    # -- grading ----------------------------------------------------------------------------------------
    def results(self, todo: list[Collected]) -> Iterator[Any]:
        if not todo:
            return
        dd = distributed()
        from .tasks import grade_task

        waiting = iter(todo)
        finished = dd.as_completed(loop=self.client.loop)
        local: deque[Any] = deque()

        def send_next() -> None:
            """Send the next readable file; files refused on reading get their row here, without a worker."""
            for item in waiting:
                raw = _read(item)
                if raw is None:
                    local.append(self._grade_here(item))
                    continue
                future = self.client.submit(grade_task, self.plugin_name, self.references_name, item, raw,
                                            key=f"grade-{uuid.uuid4().hex}", pure=False)
                self._in_flight[future.key] = (future, item)
                finished.add(future)
                return

        for _ in range(self.jobs):
            send_next()
        while local or self._in_flight:
            while local:
                yield local.popleft()
            if not self._in_flight:
                break
            future = self._next(finished)
            _, item = self._in_flight.pop(future.key)
            graded = self._outcome(dd, future, item)
            future.release()
            send_next()
            yield graded

    def _next(self, finished: Any) -> Any:
        """The next finished future. Dask waits for workers forever; a run whose cluster has had no worker
        for ``workers_timeout_s`` stops instead (what was graded is in the gradebook)."""
        checked = alone_since = time.monotonic()
        while not finished.has_ready():
            time.sleep(0.02)
            now = time.monotonic()
            if now - checked >= 2.0:
                checked = now
                try:
                    workers = self.client.nthreads()
                except Exception:  # noqa: BLE001 - the scheduler is unreachable: as good as no worker
                    workers = {}
                if workers:
                    alone_since = now
                elif now - alone_since > self.workers_timeout_s:
                    raise UserError(f"the Dask scheduler at {self.address} has had no worker for "
                                    f"{self.workers_timeout_s:g} s; what was graded is in the gradebook: start "
                                    "workers and rerun with --resume to grade the rest")
        return next(finished)

    def _outcome(self, dd: Any, future: Any, item: Collected) -> Any:
        """The worker's Graded, or the row this submission gets when no worker could grade it."""
        from ..grading import Graded

        try:
            graded = future.result()
        except dd.KilledWorker as exc:
            graded = Graded(Submission(path=item.path, student=item.student), item.sha256, None,
                            f"the submission crashed {exc.allowed_failures + 1} grading workers (each died while "
                            "grading it), so it was not graded")
        except Exception as exc:  # noqa: BLE001 - one submission's failure must not cost the others their rows
            if self.client.status != "running":
                raise UserError(f"lost the Dask scheduler at {self.address} ({type(exc).__name__}: {exc}); what was "
                                "graded is in the gradebook: rerun with --resume to grade the rest") from None
            graded = Graded(Submission(path=item.path, student=item.student), item.sha256, None,
                            f"internal error while grading on the cluster: {type(exc).__name__}: {exc}", True)
        graded.collected = item
        return graded

    def _grade_here(self, item: Collected) -> Any:
        """A file the client could not read as a submission: the local reader says why (no code runs)."""
        from ..grading import _grade_one

        if self._parser is None:
            self._parser = ParserPool(1)
        graded = _grade_one(self.bank, item, self.code_ids, self.code_questions, ReferenceValues({}), None,
                            self._parser, ())
        graded.collected = item
        return graded

    def close(self) -> None:
        """Cancel what is in flight, take the run's plugins off the workers (closing their pools), disconnect."""
        try:
            if self.client is not None:
                if self._in_flight:
                    self.client.cancel([future for future, _ in self._in_flight.values()])
                    self._in_flight.clear()
                for name in reversed(self._registered):
                    try:
                        self.client.unregister_worker_plugin(name)
                    except Exception:  # noqa: BLE001, S110 - never registered (refused), or the scheduler is gone
                        pass
                self._registered.clear()
        finally:
            if self.client is not None:
                self.client.close()
                self.client = None
            if self._parser is not None:
                self._parser.close()
                self._parser = None


def _read(item: Collected) -> bytes | None:
    """The file's bytes within the local parser's bound for its kind, or None when the parser would refuse it."""
    bound = LIMITS.notebook_bytes if item.path.suffix == ".ipynb" else LIMITS.answer_file_bytes
    try:
        return read_regular_file(item.path, bound)
    except Refused:
        return None
