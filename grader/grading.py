"""Grade answer files and notebooks against a bank: the workflow behind ``python -m grader grade``.

Choice, numeric and text answers are scored by the pure scorers. Code answers run in the sandbox
(:mod:`grader.sandbox`): reference values are computed first in a pool of their own, then a warm
zygote forks one jailed child per (submission, code question) and the parent compares the plain
probe data. Submissions are graded ``jobs`` at a time; each finished one is written at once
(``grades.csv`` row, Markdown and HTML feedback, gradebook attempt), so a crash loses nothing and
``resume=True`` skips what is already in ``grades.csv``.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from .errors import UserError
from .gradebook import Gradebook
from .bank import Bank
from .kinds import CodeQuestion
from .reports import (GradesWriter, append_run_metadata, done_rows, feedback_html, feedback_markdown, file_cell,
                      grade_columns, reason_text, safe_name)
from .safetext import path_text
from .sandbox import SandboxPool
from .sandbox.evaluate import ReferenceValues, compute_references, probe_outcomes, run_chunks, student_chunks
from .sandbox.layers import ESSENTIAL, missing_essential
from .scorer import score_answers
from .scoring import ProbeOutcome, QuizResult
from .scoring.result import id_list
from .submissions import Submission, expand_submissions
from .submissions.limits import file_sha256, stem_name
from .submissions.worker import ParserPool


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
    """Submissions skipped by ``resume`` because ``grades.csv`` already had them."""


def grade_submissions(*, bank: Bank, submissions: list[str | Path], out_dir: str | Path, reveal_key: bool = True,
                      progress: bool = True, jobs: int | None = None, resume: bool = False,
                      bank_path: str | Path | None = None, unsafe_sandbox: bool = False) -> GradeRun:
    """Score every submission, writing ``grades.csv``, ``feedback/<student>.md|.html`` and ``gradebook.sqlite``.

    ``jobs`` submissions are graded at once (default: the machine's cores). A broken, empty or
    hostile file gets a row with the points it earned and the reason; it never stops the run.
    Code questions run only when the sandbox has every essential isolation layer
    (:data:`grader.sandbox.layers.ESSENTIAL`; ``python -m grader doctor`` lists them), unless
    ``unsafe_sandbox``; either way ``grades.meta.json`` records what the sandbox had.
    """
    out_dir = Path(out_dir)
    jobs = max(1, jobs or os.cpu_count() or 1)
    files = expand_submissions(submissions)
    run = GradeRun(out_dir)
    done = done_rows(out_dir / "grades.csv", grade_columns(bank)) if resume else set()
    todo = [(path, file_sha256(path)) for path in files]
    todo = [(path, sha) for path, sha in todo if (file_cell(path), sha) not in done]
    run.skipped = len(files) - len(todo)
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
    writer = GradesWriter(out_dir, bank, append=resume)
    gradebook = Gradebook(out_dir / "gradebook.sqlite")
    used_names: set[str] = set()
    owned = {stem_name(path) for path, _ in todo}
    parser = ParserPool(jobs)
    try:
        append_run_metadata(out_dir, bank=bank, bank_path=bank_path, submissions=len(todo), sandbox=sandbox,
                            append=resume)

        def work(item: tuple[Path, str]) -> Graded:
            path, sha = item
            return _grade_one(bank, path, sha, code_ids, code_questions, references, pool, parser, reveal_key, require,
                              owned)

        with ThreadPoolExecutor(max_workers=jobs) as executor:
            futures = [executor.submit(work, item) for item in todo]
            try:
                for future in tqdm(as_completed(futures), total=len(futures), desc="grading", unit="submission",
                                   disable=not progress):
                    graded = future.result()
                    try:
                        _write(graded, bank, out_dir, writer, gradebook, used_names)
                    except Exception:  # a bug writing one student's reports must not cost the others their rows
                        graded.internal_error = True
                    run.failures += graded.internal_error
                    run.graded.append(graded)
            except BaseException:  # Ctrl-C: stop the sandboxes now rather than wait for them to finish
                executor.shutdown(wait=False, cancel_futures=True)
                if pool is not None:
                    pool.close()
                raise
    finally:
        writer.close()
        gradebook.close()
        parser.close()
        if pool is not None:
            pool.close()
    return run


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


def _grade_one(bank: Bank, path: Path, sha: str, code_ids: frozenset[str], code_questions: list[CodeQuestion],
               references: ReferenceValues, pool: SandboxPool | None, parser: ParserPool, reveal_key: bool,
               require: tuple[str, ...], owned: set[str] = frozenset()) -> Graded:
    """Read, run and score one submission; never raises (a bug becomes that submission's reason)."""
    submission = Submission(path=path, student=stem_name(path))
    try:
        submission = _check_claim(parser.read(path, code_ids), owned)
        if submission.unreadable:
            return Graded(submission, sha, None, reason_text(submission.problems[-1:]))
        outcomes: dict[str, dict[str, ProbeOutcome]] = {}
        for question in code_questions:
            chunks = student_chunks(question, submission.answers)
            if chunks is None:
                outcomes[question.id] = {p.id: ProbeOutcome(False, "no answer") for p in question.checks}
                submission.problems.append(f"{question.id}: no `# answer: {question.id}` cell (or it is empty)")
                continue
            sandbox_run = run_chunks(pool, question, chunks, require=require)
            if sandbox_run.crashed and sandbox_run.crashed.startswith("the sandbox refused"):
                raise RuntimeError(sandbox_run.crashed)  # not the student's fault: no row of points, exit 1
            outcomes[question.id], note = probe_outcomes(question, references.values[question.id], sandbox_run)
            if note:
                submission.problems.append(f"{question.id}: {note}")
        answers = {k: v for k, v in submission.answers.items() if k not in code_ids}
        answers.update({q.id: "(code)" for q in code_questions if q.id in submission.answers})
        result = score_answers(bank, answers, reveal_key=reveal_key, code_outcomes=outcomes)
        reasons = list(submission.problems)
        if result.unknown_ids:
            reasons.append(f"unknown question ids: {id_list(result.unknown_ids)}")
        return Graded(submission, sha, result, reason_text(reasons))
    except Exception as exc:  # a bug must not cost the other students their grades
        return Graded(submission, sha, None, f"internal error while grading: {type(exc).__name__}: {exc}", True)


def _check_claim(submission: Submission, owned: set[str]) -> Submission:
    """A file may name its student, but not one who hands in a file under their own name in this run.

    Names inside a file are claims nobody checked: without this, a file saying ``"student": "bob"``
    would take bob's row, use up his attempts and, under ``keep: latest``, replace his grade. ``owned``
    holds the names this run's file names give. A later run may still add an attempt for bob under
    another file name (a retry, ``--resume``): docs/autograding.md ("Whose submission it is") states
    the rule and that limit.
    """
    stem = stem_name(submission.path)
    claimed = submission.claimed
    if claimed is not None and claimed != stem and claimed in owned:
        submission.student = stem
        submission.problems.append(f"the file says it is the work of '{claimed}', who handed in a file of their own; "
                                   f"graded as '{stem}'")
    return submission


def _write(graded: Graded, bank: Bank, out_dir: Path, writer: GradesWriter, gradebook: Gradebook,
           used_names: set[str]) -> None:
    sub = graded.submission
    row_written = False
    try:
        summary = gradebook.record(bank=bank, student=sub.student, sha256=graded.sha256, file=path_text(sub.path),
                                   result=graded.result, reason=graded.reason)
        attempt = gradebook.attempt_number(bank.id, sub.student, graded.sha256)
        markdown = feedback_markdown(bank, sub, graded.result, graded.reason, summary)
        page = feedback_html(bank, sub, graded.result, graded.reason, summary)
        writer.write(sub, graded.result, graded.reason, sha256=graded.sha256, summary=summary, attempt=attempt)
        row_written = True
        name = base = safe_name(sub.student)
        while name.casefold() in used_names:  # one file on a case-insensitive disk; the same content twice
            suffix = graded.sha256[:8] or str(len(used_names))
            name = f"{base}-{suffix}" if name == base else f"{base}-{suffix}-{len(used_names)}"
        used_names.add(name.casefold())
        (out_dir / "feedback" / f"{name}.md").write_text(markdown, encoding="utf-8")
        (out_dir / "feedback" / f"{name}.html").write_text(page, encoding="utf-8")
    except Exception as exc:
        if not row_written:  # every submission gets its row, if only to say what went wrong
            writer.write(sub, None, f"internal error while writing the results: {type(exc).__name__}", sha256=graded.sha256)
        raise
