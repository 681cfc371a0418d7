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
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tqdm.auto import tqdm

from .bank import Bank
from .class_grades import write_atomic, write_views
from .errors import UserError
from .gradebook import Gradebook
from .kinds import CodeQuestion
from .outlock import FolderLock
from .reports import append_run_metadata, reason_text, safe_name
from .sandbox import SandboxPool
from .sandbox.evaluate import ReferenceValues, compute_references, student_outcomes
from .sandbox.layers import ESSENTIAL, missing_essential
from .scorer import score_answers
from .scoring import QuizResult
from .scoring.disclosure import key_visibility
from .scoring.late import apply_late, lateness
from .scoring.result import id_list, number_text
from .submissions import Submission
from .submissions.collect import Collected, Collection, collect
from .submissions.worker import ParserPool

VIEWS_EVERY_S = 2.0
"""How often grades.csv and attempts.csv are rewritten during a run (and always at its end): each
rewrite reads the whole gradebook, so once per submission would cost a large class quadratic time."""


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

    @property
    def unassigned(self) -> int:
        """Files left ungraded because they match no student or several."""
        return 0 if self.collection is None else len(self.collection.unmatched) + len(self.collection.ambiguous)


def grade_submissions(*, bank: Bank, submissions: list[str | Path], out_dir: str | Path, reveal_key: bool = True,
                      progress: bool = True, jobs: int | None = None, resume: bool = False,
                      bank_path: str | Path | None = None, unsafe_sandbox: bool = False,
                      roster: str | Path | None = None, layout: str = "auto", pattern: str | None = None,
                      now: datetime | None = None) -> GradeRun:
    """Score every submission; record it in ``gradebook.sqlite``; write feedback and the grade views.

    ``roster`` (CSV: id, name, email) names the class; ``layout``/``pattern`` say how files are
    collected (:func:`grader.submissions.collect.collect`). ``reveal_key=False`` keeps keys and
    explanations out of all feedback whatever the bank's ``show_key`` says; ``now`` is the time
    the key policy and the due date are judged at (default: the clock).

    ``jobs`` submissions are graded at once (default: the machine's cores). A broken, empty or
    hostile file gets a row with the points it earned and the reason; it never stops the run.
    Code questions run only when the sandbox has every essential isolation layer
    (:data:`grader.sandbox.layers.ESSENTIAL`; ``python -m grader doctor`` lists them), unless
    ``unsafe_sandbox``; either way ``grades.meta.json`` records what the sandbox had. Only one run
    at a time may write to ``out_dir`` (:class:`grader.outlock.FolderLock`).
    """
    from .submissions.collect import load_roster

    out_dir = Path(out_dir)
    jobs = max(1, jobs or os.cpu_count() or 1)
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
                       unsafe_sandbox=unsafe_sandbox, now=now)
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
               reveal_key: bool, progress: bool, jobs: int, resume: bool, bank_path: str | Path | None,
               unsafe_sandbox: bool, now: datetime | None) -> None:
    code_questions = [q for q in bank.questions if isinstance(q, CodeQuestion)]
    code_ids = frozenset(q.id for q in code_questions)
    references = ReferenceValues({})
    pool = SandboxPool() if code_questions and todo else None
    require: tuple[str, ...] = ()
    sandbox = None
    try:  # the sandbox is checked and the references run before anything is written
        if pool is not None:
            pool.start()
            sandbox = _check_isolation(pool, unsafe_sandbox)
            require = () if unsafe_sandbox else ESSENTIAL
            references = compute_references(code_questions, pool, require=require)
    except BaseException:
        if pool is not None:
            pool.close()
        raise
    (out_dir / "feedback").mkdir(parents=True, exist_ok=True)
    parser = ParserPool(jobs)
    last_views = time.monotonic()
    try:
        append_run_metadata(out_dir, bank=bank, bank_path=bank_path, submissions=len(todo), sandbox=sandbox,
                            append=True)

        def work(item: Collected) -> Graded:
            graded = _grade_one(bank, item, code_ids, code_questions, references, pool, parser, require)
            graded.collected = item
            return graded

        with ThreadPoolExecutor(max_workers=jobs) as executor:
            futures = [executor.submit(work, item) for item in todo]
            try:
                for future in tqdm(as_completed(futures), total=len(futures), desc="grading", unit="submission",
                                   disable=not progress):
                    graded = future.result()
                    try:
                        _write(graded, bank, out_dir, gradebook, reveal_key, now)
                    except Exception:  # a bug writing one student's reports must not cost the others their rows
                        graded.internal_error = True
                    run.failures += graded.internal_error
                    run.graded.append(graded)
                    if time.monotonic() - last_views >= VIEWS_EVERY_S:
                        write_views(gradebook, bank, out_dir)
                        last_views = time.monotonic()
            except BaseException:  # Ctrl-C: stop the sandboxes now rather than wait for them to finish
                executor.shutdown(wait=False, cancel_futures=True)
                if pool is not None:
                    pool.close()
                raise
    finally:
        parser.close()
        if pool is not None:
            pool.close()


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
               require: tuple[str, ...]) -> Graded:
    """Read, run and score one submission; never raises (a bug becomes that submission's reason)."""
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


def feedback_folder(student: str) -> str:
    """The folder of a student's feedback files: their id when it is a plain lowercase name, else a safe
    name plus a hash of the id (two ids never share a folder, also on case-insensitive disks)."""
    import hashlib

    base = safe_name(student)
    if base == student and base == base.lower():
        return base
    return f"{base}-{hashlib.sha256(student.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def _write(graded: Graded, bank: Bank, out_dir: Path, gradebook: Gradebook, reveal_key: bool,
           now: datetime | None) -> None:
    """Record the attempt in the gradebook, then write its feedback (``feedback/<student>/attempt-N``)."""
    from .feedback import feedback_html, feedback_markdown

    sub = graded.submission
    item = graded.collected
    submitted_at = item.submitted_at if item is not None else None
    late = lateness(bank, submitted_at)
    notes = [late.message] if (late.late_by or late.refused) else []
    if graded.result is not None and late.penalty_percent and not late.refused:
        counts = apply_late(graded.result.percent, late)
        notes.append(f"After the late penalty this attempt counts {number_text(counts)}% "
                     f"({number_text(round(counts * graded.result.max_score / 100, 2))}/"
                     f"{number_text(graded.result.max_score)} points); the score below is before it.")
    if item is not None and item.lms_late and not late.late_by:
        notes.append("The LMS marked this submission late.")
    reason = graded.reason
    if late.refused:
        reason = reason_text([late.message] + ([reason] if reason else []))
    summary = gradebook.record(bank=bank, student=sub.student, sha256=graded.sha256, file=_file_text(sub.path),
                               result=graded.result, reason=reason, submitted_at=submitted_at,
                               time_source=item.time_source if item is not None else "",
                               late_penalty_percent=late.penalty_percent, late_note=late.message if notes else "",
                               refused=late.refused)
    graded.attempt = gradebook.attempt_number(bank.id, sub.student, graded.sha256)
    visibility = key_visibility(bank, summary, now or datetime.now(timezone.utc))
    graded.key_shown = reveal_key and visibility.show
    shown = graded.result if graded.key_shown else graded.hidden_result
    if not graded.key_shown:
        notes.append(visibility.note if reveal_key else "The answers are not shown in this feedback.")
    folder = out_dir / "feedback" / feedback_folder(sub.student)
    folder.mkdir(parents=True, exist_ok=True)
    markdown = feedback_markdown(bank, sub, shown, reason, summary, notes=notes)
    page = feedback_html(bank, sub, shown, reason, summary, notes=notes)
    write_atomic(folder / f"attempt-{graded.attempt}.md", markdown)
    write_atomic(folder / f"attempt-{graded.attempt}.html", page)


def _file_text(path: Path) -> str:
    from .safetext import path_text

    return path_text(path)
