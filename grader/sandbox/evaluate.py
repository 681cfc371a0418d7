"""From a bank's code questions to trusted probe verdicts.

Reference values are computed once per bank, each in a sandbox of its own (author code runs under
the same walls and limits as student code; the zygote never reads a request, so no later fork
inherits a reference); the values live only in the grader's process, and in the grader's signed
cache for the next run of the same bank (:mod:`.reference_cache`). Student runs get only the
student's code, the question's ``setup`` and the probe expressions.

Code runs as chunks (required answers first, then the question's own: :func:`with_requirements`,
for students and references alike), each under its own name, so an error says "line 3 of your cell"
or "line 2 of the reference of lora-layer".
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import UserError
from ..kinds import CodeQuestion
from ..scoring.code import ProbeOutcome
from .client import ANSWER, SandboxPool, SandboxRun
from .compare import compare_values
from .isolate import Limits
from .layers import missing_essential
from .reference_cache import ReferenceCache, reference_key

Chunk = tuple[str, str, str]
"""(file name, description, code)."""
REFERENCE = ("<reference>", "the reference")
REFERENCE_DATA_BYTES = 32 * 1024 * 1024
"""Probe data all of a bank's references may send together. The grader keeps every reference value for
the whole run, and decoded values take several times their bytes: without a total, a bank of many
questions each sending its per-run maximum held gigabytes in validate, grade and nbgrader-export."""


def question_limits(question: CodeQuestion) -> Limits:
    """Limits for one question: its ``timeout_s`` and ``memory_mb``; CPU time a little above the wall time."""
    return Limits(timeout_s=question.timeout_s, cpu_s=int(question.timeout_s) + 5, memory_mb=question.memory_mb)


@dataclass(frozen=True)
class Side:
    """Whose code a run holds, and the names its chunks get (errors say "line 3 of <description>")."""

    own: tuple[str, str]
    """(file name, description) of the question's own code."""
    required: tuple[str, str]
    """(file name, description) of a required question's code, ``{}`` standing for that question's id."""

    def required_chunk(self, question_id: str, code: str) -> Chunk:
        filename, description = self.required
        return filename.format(question_id), description.format(question_id), code

    def required_id(self, filename: str) -> str | None:
        """The question a required chunk's file name stands for (None for any other file name)."""
        prefix, suffix = self.required[0].split("{}")
        if filename.startswith(prefix) and filename.endswith(suffix) and len(filename) > len(prefix) + len(suffix):
            return filename[len(prefix):len(filename) - len(suffix)]
        return None


STUDENT = Side(ANSWER, ("<your answer to {}>", "your answer to {}"))
AUTHOR = Side(REFERENCE, ("<reference of {}>", "the reference of {}"))


def with_requirements(question: CodeQuestion, own: str, codes: Mapping[str, Any], side: Side) -> list[Chunk]:
    """The ``requires`` rule, for students and references alike: the code of each question that
    ``question.requires``, in that order, each a chunk named for its question, then ``own``.

    ``codes`` maps question ids to code (a submission's answers, or the references). A required
    question without code there is left out (the names it would have defined are then missing, and
    the probes say so). Not transitive: a required question's own requirements do not run.
    """
    required = [side.required_chunk(r, codes[r]) for r in question.requires if isinstance(codes.get(r), str)]
    return required + [(*side.own, own)]


def student_chunks(question: CodeQuestion, answers: Mapping[str, Any]) -> list[Chunk] | None:
    """The student's required answers, then their answer to ``question`` (None when it is unanswered)."""
    own = answers.get(question.id)
    if not isinstance(own, str) or not own.strip():
        return None
    return with_requirements(question, own, answers, STUDENT)


def reference_chunks(question: CodeQuestion, by_id: Mapping[str, CodeQuestion]) -> list[Chunk]:
    """The references ``question`` requires, then its own. Raises UserError for an unknown requirement."""
    missing = [r for r in question.requires if r not in by_id]
    if missing:
        raise UserError(f"code question '{question.id}' requires unknown code question(s): {', '.join(missing)}")
    return with_requirements(question, question.reference, {r: by_id[r].reference for r in question.requires}, AUTHOR)


def chunk_question(filename: str, question_id: str) -> str:
    """Which question's code a chunk file name stands for (``<reference of q>`` → q; the own chunk → ``question_id``)."""
    return next((found for side in (AUTHOR, STUDENT) if (found := side.required_id(filename))), question_id)


def run_chunks(pool: SandboxPool, question: CodeQuestion, chunks: list[Chunk], *,
               require: tuple[str, ...] = ()) -> SandboxRun:
    return pool.run(chunks=chunks, setup=question.setup, probes=[(p.id, p.expr) for p in question.checks],
                    limits=question_limits(question), require=require)


@dataclass(frozen=True)
class ReferenceValues:
    """Question id → probe id → the reference's encoded value. Lives only in the grader's process."""

    values: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class ReferenceProblem:
    """A bank bug found by running a reference: where, and what went wrong."""

    question_id: str
    message: str
    probe_id: str | None = None
    at: tuple[str, int] | None = None
    """(question id whose code raised, line in that code), when known."""


def check_references(questions: Iterable[CodeQuestion], pool: SandboxPool, *,
                     require: tuple[str, ...] = ()) -> tuple[ReferenceValues, list[ReferenceProblem]]:
    """Run every reference (after the references it requires) and report every problem found."""
    questions = list(questions)
    by_id = {q.id: q for q in questions}
    values: dict[str, dict[str, Any]] = {}
    problems: list[ReferenceProblem] = []
    total = 0
    for question in questions:
        if total > REFERENCE_DATA_BYTES:  # reported once, at the question that went over; the rest are not run
            values[question.id] = {}
            continue
        try:
            chunks = reference_chunks(question, by_id)
        except UserError as exc:
            problems.append(ReferenceProblem(question.id, str(exc).split(": ", 1)[-1]))
            continue
        run = run_chunks(pool, question, chunks, require=require)
        total += run.data_bytes
        if total > REFERENCE_DATA_BYTES:
            problems.append(ReferenceProblem(
                question.id, f"the references' probe values add up to more than {REFERENCE_DATA_BYTES >> 20} MB "
                "(the grader keeps them all for the whole run); make the probes reduce big results, e.g. a sum "
                "or a few elements (later questions' references were not run)"))
            values[question.id] = {}
            continue
        if run.timed_out or run.crashed:
            problems.append(ReferenceProblem(question.id, "the reference timed out" if run.timed_out else run.crashed))
        if run.code_error:
            at = (chunk_question(run.code_error_at[0], question.id), run.code_error_at[1]) if run.code_error_at else None
            problems.append(ReferenceProblem(question.id, f"the reference raised {run.code_error}", at=at))
        if run.setup_error:
            problems.append(ReferenceProblem(question.id, f"the setup raised {run.setup_error}"))
        for probe in question.checks:
            if probe.id in run.errors:
                problems.append(ReferenceProblem(question.id, f"probe {probe.id} raised {run.errors[probe.id]}", probe.id))
            elif probe.id in run.malformed:
                problems.append(ReferenceProblem(question.id, f"probe {probe.id}: malformed value ({run.malformed[probe.id]})",
                                                 probe.id))
            elif probe.id not in run.values and not (run.timed_out or run.crashed):
                problems.append(ReferenceProblem(question.id, f"probe {probe.id} returned nothing", probe.id))
        values[question.id] = dict(run.values)
    return ReferenceValues(values), problems


def compute_references(questions: Iterable[CodeQuestion], pool: SandboxPool, *, require: tuple[str, ...] = (),
                       cache: ReferenceCache | None = None, layers: Mapping[str, bool] | None = None
                       ) -> ReferenceValues:
    """Reference values for grading; a reference that fails is a bank bug (UserError naming each problem).

    With a ``cache`` (and the ``layers`` the sandbox has here, part of the entry's key) values signed
    there by an earlier run for exactly these questions, preload and environment are used instead of
    running the references; new values are stored (:mod:`.reference_cache`). Failures are never cached,
    and a sandbox that lacks an essential layer (``--unsafe-sandbox``) neither reads nor writes the
    cache: without the filesystem allowlist or a uid of its own, student code could reach the folder.
    """
    questions = list(questions)
    key = None
    if cache is not None and layers is not None and not missing_essential(dict(layers)):
        key = reference_key(questions, preload=pool.preload, layers=layers)
        found = cache.load(key)
        if found is not None and all(set(found.get(q.id, {})) == {p.id for p in q.checks} for q in questions):
            return ReferenceValues(found)
    values, problems = check_references(questions, pool, require=require)
    if problems:
        by_question: dict[str, list[str]] = {}
        for problem in problems:
            by_question.setdefault(problem.question_id, []).append(problem.message)
        raise UserError("; ".join(f"code question '{qid}': " + "; ".join(messages)
                                  for qid, messages in by_question.items()))
    if key is not None:
        cache.store(key, values.values)
    return values


def timeout_text(question: CodeQuestion) -> str:
    """What a student reads when their code for ``question`` ran out of time."""
    return f"your code timed out (the {question.timeout_s:g} s time limit) and was stopped"


def probe_outcomes(question: CodeQuestion, reference: dict[str, Any], run: SandboxRun, *,
                   unanswered: Sequence[str] = ()) -> tuple[dict[str, ProbeOutcome], str]:
    """The parent's verdict on each probe, and one sentence about the run as a whole (or '').

    An error in a required question's code is said to come from that question, and ``unanswered``
    (required questions the student left without an answer) is named, so a student whose probes fail
    with NameErrors learns which answer they are missing.
    """
    outcomes: dict[str, ProbeOutcome] = {}
    for probe in question.checks:
        if probe.id in run.values:
            ok, why = compare_values(reference[probe.id], run.values[probe.id], probe.tolerance, probe.compare)
            outcomes[probe.id] = ProbeOutcome(ok, why)
        elif probe.id in run.errors:
            outcomes[probe.id] = ProbeOutcome(False, f"raised {run.errors[probe.id]}")
        elif probe.id in run.malformed:
            outcomes[probe.id] = ProbeOutcome(False, f"the sandbox sent a malformed value ({run.malformed[probe.id]})")
        elif run.timed_out:
            outcomes[probe.id] = ProbeOutcome(False, f"not run: {timeout_text(question)}")
        else:
            outcomes[probe.id] = ProbeOutcome(False, "not run: " + (run.crashed or "no result"))
    notes = []
    if run.code_error:
        required = STUDENT.required_id(run.code_error_at[0]) if run.code_error_at else None
        notes.append(f"your answer to `{required}`, which this question builds on, raised {run.code_error}" if required
                     else f"your cell raised {run.code_error}")
    if run.setup_error:  # the probes' NameErrors that follow would not say why
        notes.append(f"the question's setup failed: {run.setup_error}")
    if run.timed_out:
        notes.append(timeout_text(question))
    elif run.crashed:
        notes.append(run.crashed)
    if unanswered and any(not o.passed for o in outcomes.values()):
        names = ", ".join(f"`{r}`" for r in unanswered)
        notes.append(f"{names}, which this question builds on, {'has' if len(unanswered) == 1 else 'have'} no answer, "
                     "so what it defines is missing here")
    return outcomes, "; ".join(notes)


class SandboxRefused(RuntimeError):
    """The sandbox would not run a student's code (an isolation layer went missing): the grader's
    problem, never the student's, so it must not become a row of zeros."""


def student_outcomes(questions: Sequence[CodeQuestion], answers: Mapping[str, Any], references: ReferenceValues,
                     pool: SandboxPool | None, *, require: tuple[str, ...] = ()
                     ) -> tuple[dict[str, dict[str, ProbeOutcome]], list[str]]:
    """Run one submission's code answers in bank order: each question's probe verdicts, and the problems
    found (``"<question id>: <what>"``, the form :func:`grader.scorer.question_problems` reads).

    An unanswered question gets no outcomes (the scorer says it has no answer). A question whose
    required question timed out is not run: the required code would hang it too, and the timeout
    would be blamed on the wrong question; it says which question it builds on timed out instead.
    Raises :class:`SandboxRefused` when the sandbox refuses to run code.
    """
    outcomes: dict[str, dict[str, ProbeOutcome]] = {}
    problems: list[str] = []
    timed_out: set[str] = set()
    for question in questions:
        chunks = student_chunks(question, answers)
        if chunks is None:
            outcomes[question.id] = {}
            continue
        blocker = next((r for r in question.requires if r in timed_out), None)
        if blocker is not None:
            why = f"not run: `{blocker}`, which this question builds on, timed out"
            outcomes[question.id] = {p.id: ProbeOutcome(False, why) for p in question.checks}
            problems.append(f"{question.id}: {why}")
            continue
        if pool is None:
            raise ValueError("code answers need a sandbox pool to run in")
        run = run_chunks(pool, question, chunks, require=require)
        if run.crashed and run.crashed.startswith("the sandbox refused"):
            raise SandboxRefused(run.crashed)
        if run.timed_out:
            timed_out.add(question.id)
        unanswered = [r for r in question.requires if not isinstance(answers.get(r), str) or not answers[r].strip()]
        outcomes[question.id], note = probe_outcomes(question, references.values[question.id], run, unanswered=unanswered)
        if note:
            problems.append(f"{question.id}: {note}")
    return outcomes, problems
