"""Grading on a Dask cluster: the same ``grade`` run, its submissions graded on Dask workers.

    python -m grader grade --bank BANK --out DIR --cluster tcp://scheduler:8786 SUBMISSION...

Who does what (each module has one job):

- :mod:`.availability` imports ``dask.distributed`` on demand: local grading never needs it, and
  ``--cluster`` without it says which extra to install.
- :mod:`.versions` refuses workers whose Python or grader differs from the client's (a result
  pickled by one grader and read by another, or scored by other code, would be wrong silently).
- :mod:`.plugin` is the worker plugin: one warm sandbox pool per worker for the run, its isolation
  checked there (a worker without the essential layers refuses, naming itself), closed at the end.
  It also carries the bank, and later the reference values, to every worker, including workers
  that join or restart during the run.
- :mod:`.tasks` holds what runs on a worker: the references once, then one submission per task
  (its bytes shipped by the client; workers need not see the client's disk).
- :mod:`.backend` is the client side (:class:`DaskBackend`, a :class:`grader.grading.GradingBackend`):
  connect, check, register, keep ``jobs`` submissions in flight, stream results back with
  ``as_completed``. The client stays the only writer of the gradebook, grades.csv and feedback.

Failures: a worker that dies mid-submission makes Dask run that task again elsewhere; a submission
that kills ``allowed-failures + 1`` workers (the scheduler's ``distributed.scheduler.allowed-failures``,
3 by default) comes back as ``KilledWorker`` and gets its row with that reason, and the run goes on.
"""
from __future__ import annotations

from .backend import DaskBackend

__all__ = ["DaskBackend"]
