"""Grade answer files and notebooks against a bank: the workflow behind ``python -m grader grade``.

Code questions need the sandboxed runner; until it is wired in they are reported as pending.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from .models import Bank
from .models.questions import CodeQuestion
from .reports import GradesWriter, feedback_markdown, safe_name
from .scoring import QuizResult, score_answers
from .submissions import expand_submissions, read_submission


@dataclass
class GradeRun:
    """What a grading run did: one entry per submission, in input order."""

    out_dir: Path
    graded: list[tuple[str, QuizResult | None, str]] = field(default_factory=list)
    failures: int = 0
    """Submissions that could not get a row because of an internal error."""


def grade_submissions(*, bank: Bank, submissions: list[str | Path], out_dir: str | Path,
                      reveal_key: bool = True, progress: bool = True) -> GradeRun:
    """Score every submission, writing ``grades.csv`` and ``feedback/<student>.md`` under ``out_dir``.

    A broken, empty or hostile file gets a row scoring 0 with its reason; it never stops the run.
    """
    out_dir = Path(out_dir)
    (out_dir / "feedback").mkdir(parents=True, exist_ok=True)
    files = expand_submissions(submissions)
    code_ids = frozenset(q.id for q in bank.questions if isinstance(q, CodeQuestion))
    writer = GradesWriter(out_dir, bank)
    run = GradeRun(out_dir)
    used_names: Counter[str] = Counter()
    try:
        for path in tqdm(files, desc="grading", unit="submission", disable=not progress):
            submission = read_submission(path, code_question_ids=code_ids)
            try:
                if submission.unreadable:
                    result, reason = None, submission.problems[-1]
                else:
                    result = score_answers(bank, submission.answers, reveal_key=reveal_key)
                    reasons = list(submission.problems)
                    if result.unknown_ids:
                        reasons.append(f"unknown question ids: {', '.join(result.unknown_ids)}")
                    reason = "; ".join(reasons)
            except Exception as exc:  # a bug must not cost the other students their grades
                result, reason = None, f"internal error while scoring: {type(exc).__name__}: {exc}"
                run.failures += 1
            writer.write(submission, result, reason)
            name = safe_name(submission.student)
            used_names[name] += 1
            if used_names[name] > 1:
                name = f"{name}-{used_names[name]}"
            (out_dir / "feedback" / f"{name}.md").write_text(
                feedback_markdown(bank, submission, result, reason), encoding="utf-8")
            run.graded.append((submission.student, result, reason))
    finally:
        writer.close()
    return run
