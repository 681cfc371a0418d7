"""What runs on a Dask worker: the references (once per run) and one submission per task.

Tasks find the run's pools, bank and references in the worker's plugins (:mod:`.plugin`) by the
run's names, so each task ships only the submission: its :class:`~grader.submissions.collect.Collected`
record and its bytes, read by the client within the same bounds as locally. Workers need not share
the client's disk. The worker writes the bytes to a private temporary file in its Dask scratch folder
(removed when the task ends) and grades it exactly as the local backend does (:func:`grader.grading._grade_one`); the
result, a :class:`grader.grading.Graded`, is plain data and travels back pickled.
"""
from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..sandbox.evaluate import ReferenceValues, compute_references
from ..submissions import SUBMISSION_SUFFIXES
from ..submissions.collect import Collected


class WorkerNotReady(RuntimeError):
    """This worker could not set up the run (its plugin failed, or it never got it): the grader's
    problem, not the student's, so the submission becomes an internal error, not a row of zeros."""


def _plugins(name: str, references: str | None = None) -> tuple[Any, Any]:
    from distributed import get_worker

    worker = get_worker()
    plugin = worker.plugins.get(name)
    if plugin is None:
        raise WorkerNotReady(f"Dask worker {worker.address} did not receive the run's plugin")
    try:
        plugin.wait()  # a worker that joined during the run may still be starting its sandbox
    except UserError as exc:
        raise WorkerNotReady(str(exc)) from None
    refs = worker.plugins.get(references) if references is not None else None
    if references is not None and refs is None:
        raise WorkerNotReady(f"Dask worker {worker.address} has not received the reference values")
    return plugin, refs


def references_task(name: str) -> ReferenceValues:
    """Run every reference once in this worker's sandbox; a failing reference raises UserError (a bank bug).

    As locally, values signed by an earlier run on this worker (:mod:`grader.sandbox.reference_cache`,
    keyed by the bank's code, the grader, the machine and its isolation layers) are used when valid."""
    from ..sandbox.reference_cache import ReferenceCache

    plugin, _ = _plugins(name)
    if plugin.pool is None:
        return ReferenceValues({})
    return compute_references(plugin.code_questions, plugin.pool, require=plugin.require,
                              cache=ReferenceCache.default(), layers=plugin.sandbox["layers"])


def grade_task(name: str, references: str, item: Collected, raw: bytes) -> Any:
    """Grade one submission from its bytes; returns a :class:`grader.grading.Graded` (never raises for
    anything the submission does: that becomes its reason, as locally)."""
    from ..grading import _grade_one

    plugin, refs = _plugins(name, references)
    suffix = item.path.suffix if item.path.suffix in SUBMISSION_SUFFIXES else ".json"
    with tempfile.TemporaryDirectory(prefix="grader-submission-", dir=plugin.scratch) as folder:
        # a fixed name: whose it is comes from the collector's record, never from the file's name here
        path = Path(folder) / f"submission{suffix}"
        path.write_bytes(raw)
        graded = _grade_one(plugin.bank, dataclasses.replace(item, path=path), plugin.code_ids, plugin.code_questions,
                            refs.references, plugin.pool, plugin.parser, plugin.require, judges=plugin.judges)
    graded.submission.path = item.path
    return graded
