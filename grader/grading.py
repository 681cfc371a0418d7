"""Grade answer files and notebooks against a bank: the workflow behind ``python -m grader grade``.

The collector (:mod:`grader.submissions.collect`) first decides whose each file is, from where it
lies (a file named after the student, a folder per student, nbgrader's ``submitted/`` tree, an LMS
bulk download) and an optional roster; files that match no one or two people are reported and not
graded. Choice, numeric and text answers are scored by the pure scorers. Code answers run in the
sandbox (:mod:`grader.sandbox`): reference values are computed first in a pool of their own, then a
warm zygote forks one jailed child per (submission, code question) and the parent compares the
plain probe data. Submissions are graded ``jobs`` at a time; each finished one is recorded at once
in the gradebook (SQLite, the source of truth) with its feedback, and ``grades.csv`` /
``attempts.csv`` are rewritten whole from it (:mod:`grader.class_grades`), so a crash loses nothing
and ``resume=True`` skips what the gradebook already holds.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from tqdm.auto import tqdm

from .bank import Bank
from .class_grades import write_atomic, write_views
from .errors import UserError
from .gradebook import Gradebook
from .kinds import CodeQuestion
from .meaning import JudgeSource
from .outlock import FolderLock
from .reports import append_run_metadata, reason_text
from .sandbox import SandboxPool
from .sandbox.evaluate import ReferenceValues, compute_references, student_outcomes
from .sandbox.layers import ESSENTIAL, missing_essential
from .sandbox.reference_cache import ReferenceCache
from .scorer import score_answers
from .scoring import QuizResult
from .scoring.late import lateness
from .scoring.result import id_list
from .submissions import Submission
from .submissions.collect import Collected, Collection, collect
from .submissions.worker import ParserPool

VIEWS_EVERY_S = 2.0
"""How often grades.csv and attempts.csv are rewritten during a run (and always at its end): each
rewrite reads the whole gradebook, so once per submission would cost a large class quadratic time."""
VIEWS_SHARE = 20
"""…and never sooner than this many times the last rewrite took: a rewrite grows with the class (about
0.1 s at 120 students, ten times that at 1,000), and must stay a small share of the grading."""


@dataclass
class Graded:
    """One graded submission: what was read, its score (None when it could not be graded) and why."""

    submission: Submission
    sha256: str
    result: QuizResult | None
    reason: str
    """The grades.csv reason: the problems found, or why it could not be graded."""
    internal_error: bool = False
    """A bug in the grader (not the submission) cost this submission its score or its reports."""
    hidden_result: QuizResult | None = None
    """The same score with keys and explanations left out: what the student sees while the bank's
    ``show_key`` policy keeps them back."""
    collected: Collected | None = None
    """Where the file came from and when it was handed in (None only for internal callers)."""
    attempt: int = 0
    """Its number among the student's attempts, once recorded."""
    key_shown: bool = True

    @property
    def student(self) -> str:
        return self.submission.student


@dataclass
class GradeRun:
    """What a grading run did: one entry per graded submission, in the order they finished."""

    out_dir: Path
    graded: list[Graded] = field(default_factory=list)
    failures: int = 0
    """Submissions that could not get a row because of an internal error."""
    skipped: int = 0
    """Submissions skipped by ``resume`` because the gradebook already had them."""
    collection: Collection | None = None
    """Whose each file is, and the files that were not graded (no one's, or two people's)."""
    sandbox: dict | None = None
    """What the sandbox had (as in grades.meta.json), with the warm server used, if any; None when no code ran."""

    @property
    def unassigned(self) -> int:
        """Files left ungraded because they match no student or several."""
        return 0 if self.collection is None else len(self.collection.unmatched) + len(self.collection.ambiguous)


def grade_submissions(*, bank: Bank, submissions: list[str | Path], out_dir: str | Path, reveal_key: bool = True,
                      progress: bool = True, jobs: int | None = None, resume: bool = False,
                      bank_path: str | Path | None = None, unsafe_sandbox: bool = False,
                      roster: str | Path | None = None, layout: str = "auto", pattern: str | None = None,
                      now: datetime | None = None, cluster: str | None = None, use_server: bool = True) -> GradeRun:
    """Score every submission; record it in ``gradebook.sqlite``; write feedback and the grade views.

    ``roster`` (CSV: id, name, email) names the class; ``layout``/``pattern`` say how files are
    collected (:func:`grader.submissions.collect.collect`). ``reveal_key=False`` keeps keys and
    explanations out of all feedback whatever the bank's ``show_key`` says; ``now`` is the time
    the key policy and the due date are judged at (default: the clock).

    ``jobs`` submissions are graded at once (default: the machine's cores). ``cluster``, the address of a
    Dask scheduler (``tcp://host:8786``), grades on its workers instead (:mod:`grader.cluster`; ``jobs``
    is then the submissions in flight, default twice the workers' threads); this process still writes
    everything. Locally, ``use_server`` sends the sandboxes to this user's warm sandbox server
    (``python -m grader serve``, :mod:`grader.sandbox.server`) when one runs this grader, instead of
    starting a zygote (and importing torch) for this run. A broken, empty or hostile file gets a row with the points it earned and the reason;
    it never stops the run.
    Code questions run only when the sandbox has every essential isolation layer
    (:data:`grader.sandbox.layers.ESSENTIAL`; ``python -m grader doctor`` lists them), unless
    ``unsafe_sandbox``; either way ``grades.meta.json`` records what the sandbox had. Only one run
    at a time may write to ``out_dir`` (:class:`grader.outlock.FolderLock`).
    """
    from .submissions.collect import load_roster

    out_dir = Path(out_dir)
    class_list = load_roster(roster) if roster is not None else None
    collection = collect([Path(p) for p in submissions], roster=class_list, layout=layout, pattern=pattern)
    run = GradeRun(out_dir, collection=collection)
    with FolderLock(out_dir):
        gradebook = Gradebook(out_dir / "gradebook.sqlite")
        finished = False
        try:
            if class_list is not None:
                gradebook.set_roster((e.id, e.name, e.email) for e in class_list.entries)
            todo = [item for item in collection.items
                    if not (resume and gradebook.has(bank.id, item.student, item.sha256))]
            run.skipped = len(collection.items) - len(todo)
            _check_against_gradebook(collection, gradebook, bank)
            write_atomic(out_dir / "collection.md", collection.report_markdown())
            _grade_all(run, todo, bank=bank, out_dir=out_dir, gradebook=gradebook, reveal_key=reveal_key,
                       progress=progress, jobs=jobs, resume=resume, bank_path=bank_path,
                       unsafe_sandbox=unsafe_sandbox, now=now, cluster=cluster, use_server=use_server)
            finished = True
        finally:
            try:
                if finished or run.graded:  # a run refused before grading anything writes no table
                    write_views(gradebook, bank, out_dir)
            finally:
                gradebook.close()
    return run


def _check_against_gradebook(collection: Collection, gradebook: Gradebook, bank: Bank) -> None:
    """Complete what one run's files cannot show: roster students are missing only when the gradebook
    has nothing of theirs either, and a file identical to one already graded for someone else is flagged."""
    from .safetext import path_text

    collection.missing = [e for e in collection.missing if not gradebook.percents(bank.id, e.id)]
    for item in collection.items:
        others = [s for s in gradebook.students_with(bank.id, item.sha256) if s != item.student] if item.sha256 else []
        if others:
            collection.warnings.append(f"{path_text(item.path)} ({item.student}) is identical to a file already graded "
                                       f"for {', '.join(others[:5])}" + (", …" if len(others) > 5 else ""))


def _grade_all(run: GradeRun, todo: list[Collected], *, bank: Bank, out_dir: Path, gradebook: Gradebook,
               reveal_key: bool, progress: bool, jobs: int | None, resume: bool, bank_path: str | Path | None,
               unsafe_sandbox: bool, now: datetime | None, cluster: str | None = None, use_server: bool = True) -> None:
    """Grade ``todo`` through a backend (this machine, or a Dask cluster) and record each one as it finishes.

    Whatever grades, this process stays the only writer of the gradebook, the feedback and the
    views, so crash safety and ``--resume`` are the same everywhere.
    """
    backend = _backend(bank, jobs=jobs, unsafe_sandbox=unsafe_sandbox, cluster=cluster, use_server=use_server)
    try:
        sandbox = run.sandbox = backend.prepare(todo)  # the sandbox is checked and the references run before anything is written
        (out_dir / "feedback").mkdir(parents=True, exist_ok=True)
        append_run_metadata(out_dir, bank=bank, bank_path=bank_path, submissions=len(todo), sandbox=sandbox,
                            append=True)
        last_views, views_took = time.monotonic(), 0.0
        for graded in tqdm(backend.results(todo), total=len(todo), desc="grading", unit="submission",
                           disable=not progress):
            try:
                _write(graded, bank, out_dir, gradebook, reveal_key, now)
            except Exception:  # a bug writing one student's reports must not cost the others their rows
                graded.internal_error = True
            run.failures += graded.internal_error
            run.graded.append(graded)
            if time.monotonic() - last_views >= max(VIEWS_EVERY_S, VIEWS_SHARE * views_took):
                started = time.monotonic()
                write_views(gradebook, bank, out_dir)
                last_views = time.monotonic()
                views_took = last_views - started
    finally:  # also on Ctrl-C: stop the sandboxes now rather than wait for them to finish
        backend.close()


class GradingBackend(Protocol):
    """Where submissions are graded: this machine (:class:`LocalBackend`) or a Dask cluster
    (:class:`grader.cluster.DaskBackend`). :func:`_grade_all` drives both the same way."""

    def prepare(self, todo: list[Collected]) -> dict | None:
        """Check the sandbox and compute the reference values; raise UserError to refuse the run.
        Returns what the sandbox had, for grades.meta.json (None when no code runs)."""

    def results(self, todo: list[Collected]) -> Iterator[Graded]:
        """Each submission of ``todo`` graded once, with ``collected`` set, in the order they finish."""

    def close(self) -> None:
        """Stop everything started (idempotent); also called on Ctrl-C, in the middle of :meth:`results`."""


def _backend(bank: Bank, *, jobs: int | None, unsafe_sandbox: bool, cluster: str | None,
             use_server: bool = True) -> GradingBackend:
    if cluster is None:
        return LocalBackend(bank, jobs=max(1, jobs or os.cpu_count() or 1), unsafe_sandbox=unsafe_sandbox,
                            use_server=use_server)
    from .cluster import DaskBackend  # Dask is optional: imported only for --cluster

    return DaskBackend(bank, address=cluster, jobs=jobs, unsafe_sandbox=unsafe_sandbox)


class LocalBackend:
    """Grade on this machine: one warm sandbox pool and ``jobs`` threads, each grading one submission."""

    def __init__(self, bank: Bank, *, jobs: int, unsafe_sandbox: bool, use_server: bool = True):
        self.bank, self.jobs, self.unsafe_sandbox, self.use_server = bank, jobs, unsafe_sandbox, use_server
        self.code_questions = [q for q in bank.questions if isinstance(q, CodeQuestion)]
        self.code_ids = frozenset(q.id for q in self.code_questions)
        self.references = ReferenceValues({})
        self.require: tuple[str, ...] = ()
        self.pool: SandboxPool | None = None
        self.sandbox: dict | None = None
        self.parser: ParserPool | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.judges = JudgeSource()
        """Free responses judged by meaning: the model is loaded once per run, on the first one."""

    def prepare(self, todo: list[Collected]) -> dict | None:
        sandbox = None
        self.pool = SandboxPool(use_server=self.use_server) if self.code_questions and todo else None
        self.parser = ParserPool(self.jobs)
        self.parser.prefetch([item.path for item in todo], self.code_ids)  # on the core the zygote's imports leave idle
        try:
            if self.pool is not None:
                self.pool.start()
                sandbox = _check_isolation(self.pool, self.unsafe_sandbox)
                server = self.pool.server
                sandbox["server"] = server.describe() if server is not None else None
                if self.pool.server_note:
                    sandbox["server_note"] = self.pool.server_note
                self.sandbox = sandbox
                self.require = () if self.unsafe_sandbox else ESSENTIAL
                self.references = compute_references(self.code_questions, self.pool, require=self.require,
                                                     cache=ReferenceCache.default(), layers=sandbox["layers"])
        except BaseException:
            if self.pool is not None:
                self.pool.close()
            raise
        self.parser.stop_prefetch()
        return sandbox

    def results(self, todo: list[Collected]) -> Iterator[Graded]:
        self._executor = ThreadPoolExecutor(max_workers=self.jobs)
        futures = [self._executor.submit(self._work, item) for item in todo]
        for future in as_completed(futures):
            yield future.result()
        self._executor.shutdown()

    def _work(self, item: Collected) -> Graded:
        graded = _grade_one(self.bank, item, self.code_ids, self.code_questions, self.references, self.pool,
                            self.parser, self.require, self.judges)
        graded.collected = item
        return graded

    def close(self) -> None:
        if self._executor is not None:  # cancel what has not started; what runs fails fast once the pool is closed
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self.pool is not None:
            if self.sandbox is not None and self.pool.server_note:  # the server may have stopped answering midway
                self.sandbox["server_note"] = self.pool.server_note
            self.pool.close()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self.parser is not None:  # after the threads: one still reading would start a new parser process
            self.parser.close()


def _check_isolation(pool: SandboxPool, unsafe: bool) -> dict:
    """Which layers an empty sandbox has here; refuse (UserError) when an essential one is missing, unless ``unsafe``."""
    probe = pool.isolation()
    missing = missing_essential(probe.layers)
    if missing and not unsafe:
        raise UserError("the sandbox for code questions lacks essential isolation layer(s): " + ", ".join(missing)
                        + ". Run `python -m grader doctor` to see what each means; grade on a machine that has them"
                        " (root, or user namespaces and a delegated cgroup), or pass --unsafe-sandbox to grade anyway"
                        " (recorded in grades.meta.json)")
    return {"layers": probe.layers, "identity_example": probe.identity, "missing_essential": missing,
            "unsafe_sandbox": bool(unsafe)}


def _grade_one(bank: Bank, item: Collected, code_ids: frozenset[str], code_questions: list[CodeQuestion],
               references: ReferenceValues, pool: SandboxPool | None, parser: ParserPool,
               require: tuple[str, ...], judges: JudgeSource | None = None) -> Graded:
    """Read, run and score one submission; never raises (a bug becomes that submission's reason).

    ``judges`` judges free responses by meaning (one model per run, loaded on the first free response);
    without it they are checked by keywords and their feedback says so."""
    path, sha = item.path, item.sha256
    submission = Submission(path=path, student=item.student)
    try:
        submission = _check_claim(parser.read(path, code_ids), item)
        if submission.unreadable:
            return Graded(submission, sha, None, reason_text(submission.problems[-1:]))
        # SandboxRefused (not the student's fault) becomes an internal error below: no row of points, exit 1
        outcomes, found = student_outcomes(code_questions, submission.answers, references, pool, require=require)
        submission.problems.extend(found)
        answers = {k: v for k, v in submission.answers.items() if k not in code_ids}
        answers.update({q.id: "(code)" for q in code_questions if q.id in submission.answers})
        where = {"problems": submission.problems, "missing": "no `# answer: {id}` cell in the notebook"
                 if path.suffix == ".ipynb" else "no answer for `{id}` in the file"}
        if judges is not None:  # free responses: concept checks by meaning, computed once for both views
            outcomes = {**outcomes, **judges.outcomes(bank, answers)}
        result = score_answers(bank, answers, reveal_key=True, code_outcomes=outcomes, **where)
        hidden = score_answers(bank, answers, reveal_key=False, code_outcomes=outcomes, **where)
        reasons = list(submission.problems)
        if result.unknown_ids:
            reasons.append(f"unknown question ids: {id_list(result.unknown_ids)}")
        return Graded(submission, sha, result, reason_text(reasons), hidden_result=hidden)
    except Exception as exc:  # a bug must not cost the other students their grades
        return Graded(submission, sha, None, f"internal error while grading: {type(exc).__name__}: {exc}", True)


def _check_claim(submission: Submission, item: Collected) -> Submission:
    """The collector, not the file, says whose a submission is; a file that names someone else is warned about.

    A name inside a file (an answer file's ``student``, a notebook's ``metadata.grader.student``) is a
    claim nobody checked: it once let ``mallory.json`` saying ``"student": "bob"`` take bob's row,
    use up his attempts or, under ``keep: latest``, replace his grade. Now it never decides; a
    mismatch is kept as a warning in the submission's problems (a copied notebook often carries a
    classmate's name).
    """
    claimed = submission.claimed
    submission.student = item.student
    if claimed is not None and claimed.casefold() not in {item.student.casefold(), item.key.casefold()}:
        submission.problems.append(f"warning: the file names its student '{claimed}', but it was handed in as "
                                   f"'{item.student}' ({item.layout}); graded as '{item.student}'")
    return submission


def _write(graded: Graded, bank: Bank, out_dir: Path, gradebook: Gradebook, reveal_key: bool,
           now: datetime | None) -> None:
    """Record the attempt in the gradebook, then write its feedback (``feedback/<student>/attempt-N``) with
    the instructor's overrides of this file, if any: :mod:`grader.attempt_feedback`, which a review
    sheet's import (:mod:`grader.review`) uses again to rewrite it from what is recorded here."""
    from .attempt_feedback import FeedbackInputs, write_feedback

    sub = graded.submission
    item = graded.collected
    submitted_at = item.submitted_at if item is not None else None
    late = lateness(bank, submitted_at)
    inputs = FeedbackInputs.of(bank=bank, submission=sub, hidden=graded.hidden_result, late=late,
                               lms_late=item is not None and item.lms_late and not late.late_by, reveal_key=reveal_key)
    reason = graded.reason
    if late.refused:
        reason = reason_text([late.message] + ([reason] if reason else []))
    summary = gradebook.record(bank=bank, student=sub.student, sha256=graded.sha256, file=_file_text(sub.path),
                               result=graded.result, reason=reason, submitted_at=submitted_at,
                               time_source=item.time_source if item is not None else "",
                               late_penalty_percent=late.penalty_percent,
                               late_note=late.message if (inputs.late_message or inputs.lms_late) else "",
                               refused=late.refused, feedback=inputs.to_json())
    graded.attempt = gradebook.attempt_number(bank.id, sub.student, graded.sha256)
    graded.key_shown = write_feedback(bank=bank, out_dir=out_dir, submission=sub, attempt=graded.attempt,
                                      result=graded.result, hidden=graded.hidden_result, reason=reason,
                                      summary=summary, inputs=inputs,
                                      overrides=gradebook.overrides(bank.id, sub.student, graded.sha256), now=now)


def _file_text(path: Path) -> str:
    from .safetext import path_text

    return path_text(path)
