"""HTML for what the student sees after Check, on a hint, and at the end of the quiz.

Pure functions from results (computed by ``grader.scoring``) to HTML fragments: no widgets, no
scoring. Explanations, common mistakes and the key are held back while tries remain, so a wrong
first try teaches without giving the answer away.
"""
from __future__ import annotations

import html

from ..models import QuestionBase
from ..scoring import QuestionResult
from ..scoring.result import STATUS_MARK, number_text, points_label
from ..markup import inline_html, markdown_html
from .session import DeckSummary, FinishOutcome
from .style import STATUS_COLOURS

HEADLINES = {"correct": "Correct!", "partial": "Partly correct", "incorrect": "Not quite",
             "invalid": "Answer not understood", "unanswered": "Not answered", "ungraded": "Checked",
             "pending": "Waiting for the grader"}


def box(body: str, status: str = "info", head: str | None = None) -> str:
    colour = STATUS_COLOURS.get(status, STATUS_COLOURS["info"])
    heading = f'<div class="gq-head">{head}</div>' if head else ""
    return f'<div class="gq-box gq-{status}" style="--gq-colour:{colour}">{heading}{body}</div>'


def tries_text(left: int | None, used: int) -> str:
    if left is None:
        return f"Tries: {used} (unlimited)" if used else ""
    return f"Attempts: {left} left"


def message_html(text: str, status: str = "info") -> str:
    return box(f"<p>{html.escape(text)}</p>", status)


def hint_html(hint: str) -> str:
    return box(markdown_html(hint), "info", "Hint")


def _concepts_html(result: QuestionResult) -> str:
    items = [f"<li>✓ {html.escape(c)}</li>" for c in result.found_concepts]
    items += [f"<li>✗ {html.escape(c)} <i>(not mentioned yet)</i></li>" for c in result.missed_concepts]
    total = result.concepts_total
    return f"<p><b>You got {result.concepts_found}/{total} concepts.</b></p><ul>{''.join(items)}</ul>"


def result_html(question: QuestionBase, result: QuestionResult, *, final: bool, tries_left: int | None) -> str:
    """Verdict, the chosen option's feedback, and (once final) key, explanation and common mistakes."""
    status = result.status
    head = f"{STATUS_MARK.get(status, '')} {HEADLINES.get(status, status)}"
    if question.graded and status in ("correct", "partial", "incorrect"):
        head += f" ({number_text(result.points)}/{points_label(result.max_points)})"
    parts: list[str] = []
    if result.reason and status not in ("correct", "ungraded"):
        parts.append(f"<p>{html.escape(result.reason[0].upper() + result.reason[1:])}.</p>")
    if result.concepts_total:  # a concept checklist was applied (free responses)
        parts.append(_concepts_html(result))
        if not question.graded:
            parts.append('<p class="gq-muted">A self-check: keyword matching cannot judge an explanation, '
                         "so this does not change your score.</p>")
    for line in result.option_feedback:
        parts.append(markdown_html(line))
    if not final and status not in ("correct", "ungraded"):
        more = "" if tries_left is None else f" ({tries_left} {'try' if tries_left == 1 else 'tries'} left)"
        parts.append(f"<p><b>Try again{more}.</b> Use the hint if you are stuck.</p>" if question.hint
                     else f"<p><b>Try again{more}.</b></p>")
    if final:
        if status != "correct" and result.correct_answer not in (None, ""):
            parts.append(f"<p><b>Answer:</b> {inline_html(str(result.correct_answer))}</p>")
        if question.explanation:
            parts.append(markdown_html(question.explanation))
        if question.common_mistakes:
            items = "".join(f"<li>{inline_html(m)}</li>" for m in question.common_mistakes)
            parts.append(f"<p><b>Common mistakes</b></p><ul>{items}</ul>")
        if question.solution:
            steps = "".join(f"<li>{inline_html(s)}</li>" for s in question.solution)
            parts.append(f"<details><summary>Step-by-step solution</summary><ol>{steps}</ol></details>")
    return box("".join(parts), status, head)


def summary_html(outcome: FinishOutcome, titles: dict[str, str], deck: DeckSummary | None = None) -> str:
    """The end-of-quiz table (question, result, points, your answer), pass message, badge, attempts."""
    result, summary = outcome.result, outcome.summary
    rows = []
    for number, q in enumerate(result.questions, 1):
        if q.max_points == 0 and q.status in ("unanswered", "ungraded"):
            continue
        answer = "" if q.answer is None else str(q.answer)
        answer = answer if len(answer) <= 60 else answer[:57] + "…"
        colour = STATUS_COLOURS.get(q.status, "inherit")
        rows.append(f"<tr><td>{number}</td><td>{inline_html(titles.get(q.id, q.id))}</td>"
                    f'<td style="color:{colour}">{STATUS_MARK.get(q.status, "")} {q.status}</td>'
                    f"<td>{q.points:g}/{q.max_points:g}</td><td>{html.escape(answer)}</td></tr>")
    table = ('<table class="gq-summary"><tr><th>#</th><th>Question</th><th>Result</th><th>Points</th>'
             f"<th>Your answer</th></tr>{''.join(rows)}</table>") if rows else ""
    parts = [f"<p><b>Your score: {result.score:g}/{result.max_score:g} ({result.percent:.0f}%)</b></p>"] if result.max_score else []
    if result.max_score:
        if result.passed:
            parts.append(f"<p>🎉 <b>Passed!</b> The pass mark is {result.pass_percent:g}%.</p>")
        else:
            parts.append(f"<p><b>Not passed yet:</b> you need at least {result.pass_percent:g}% to pass.</p>")
    parts.append(table)
    if result.badge:
        parts.append(f'<p class="gq-badge">🎖️ Badge earned: {html.escape(result.badge)}</p>')
    if deck is not None and (deck.got_it or deck.again or deck.unseen):
        parts.append(f"<p>🃏 {html.escape(deck.text)}</p>")
    if result.max_score:
        best = " (a new best!)" if outcome.new_best and len(outcome.summary.adjusted_percents) > 1 else ""
        parts.append(f"<p>{html.escape(summary.message)} Best so far: {outcome.best_percent:.0f}%{best}.</p>")
    status = "correct" if result.passed or not result.max_score else "incorrect"
    return box("".join(parts), status, "Summary")
