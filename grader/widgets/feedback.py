"""HTML for what the student sees after Check, on a hint, and at the end of the quiz.

Pure functions from results (computed by ``grader.scoring``) to HTML fragments: no widgets, no
scoring. Explanations, common mistakes and the key are held back while tries remain, so a wrong
first try teaches without giving the answer away.

Scoring speaks in option ids ("you chose C"); the student sees letters by position (see
:class:`~grader.widgets.order.OptionLabels`), so :func:`relabel` rewrites a choice result's texts
in shown letters before any of them is drawn.
"""
from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping

from ..markup import inline_html, markdown_html
from ..models import QuestionBase
from ..scoring import QuestionResult
from ..scoring.result import STATUS_MARK, number_text, points_label
from .order import OptionLabels
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
    """The checklist: each concept found (quoting the student's sentence that carried it), contradicted
    (quoting it, with why) or missing; how it was judged when it was by keywords only."""
    items: list[str] = []
    checks = result.concepts
    if not checks:  # a result recorded before concept checks existed: labels only
        items = [f"<li>✓ {html.escape(c)}</li>" for c in result.found_concepts]
        items += [f"<li>✗ {html.escape(c)} <i>(not mentioned yet)</i></li>" for c in result.missed_concepts]
    for check in (c for c in checks if c.state == "found" and c.label):
        quote = f' — <span class="gq-muted">you wrote “{html.escape(_short(check.evidence))}”</span>' if check.evidence else ""
        items.append(f"<li>✓ {html.escape(check.label)}{quote}</li>")
    for check in (c for c in checks if c.state == "contradicted"):
        why = f"; {html.escape(check.why)}" if check.why else ""
        items.append(f"<li>⚠ <b>{html.escape(check.label)}</b> — this seems contradicted: you wrote "
                     f"“{html.escape(_short(check.evidence))}”{why}.</li>")
    for check in (c for c in checks if c.state == "missing" and c.label):
        items.append(f"<li>✗ {html.escape(check.label)} <i>(not mentioned yet)</i></li>")
    total = result.concepts_total
    note = ""
    if checks and checks[0].method == "keywords":
        note = ('<p class="gq-muted">Checked by keywords only (the meaning model was not available): '
                "paraphrases may be missed and contradictions are not detected.</p>")
    return f"<p><b>You got {result.concepts_found}/{total} concepts.</b></p><ul>{''.join(items)}</ul>{note}"


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown_answer(answer: object, labels: OptionLabels | None) -> str:
    """An answer as the student saw it: option ids as their shown letters, anything else as is."""
    if answer is None:
        return ""
    if labels is None or not labels.letters:
        return ", ".join(map(str, answer)) if isinstance(answer, list) else str(answer)
    return labels.text(answer) if isinstance(answer, list) else labels.letter(str(answer))


def relabel(question: QuestionBase, result: QuestionResult, labels: OptionLabels) -> QuestionResult:
    """``result`` with its option ids (reason, per-option feedback, key) replaced by the shown letters.

    Only a scored choice answer is rewritten (its ``answer`` holds the picked ids); an unreadable or
    missing answer keeps scoring's own words. ``answer`` itself keeps the ids: it is what is exported.
    """
    if not labels.letters or result.status not in ("correct", "partial", "incorrect") or result.answer is None:
        return result
    picked_ids = result.answer if isinstance(result.answer, list) else [result.answer]
    picked = [o for o in (question.option(str(i)) for i in picked_ids) if o is not None]
    right = [o for o in question.choices if question.is_correct(o)]
    if isinstance(result.answer, list):  # multi-select: which ticks were wrong, how many right ones missing
        wrong = [o.id for o in picked if o not in right]
        missed = sum(o not in picked for o in right)
        reasons = [f"{labels.text(wrong)} {'is' if len(wrong) == 1 else 'are'} not right"] if wrong else []
        if missed:
            reasons.append(f"{missed} right option{'s' if missed != 1 else ''} not ticked")
        reason = "; ".join(reasons)
        option_feedback = [f"{labels.letter(o.id)}: {o.feedback.strip()}" for o in picked if o.feedback]
        key = labels.text(o.id for o in right)
    else:
        reason = "" if result.status == "correct" else f"you chose {labels.letter(picked[0].id)}" if picked else result.reason
        option_feedback = result.option_feedback
        by_id = {o.id: o for o in right}
        key = ", ".join(labels.letter(oid) if "\n" in by_id[oid].text.strip() else f"{labels.letter(oid)}) {by_id[oid].text.strip()}"
                        for oid in labels.in_order(by_id))
    return dataclasses.replace(result, reason=reason, option_feedback=list(option_feedback),
                               correct_answer=key if result.correct_answer not in (None, "") else result.correct_answer)


def result_html(question: QuestionBase, result: QuestionResult, *, final: bool, tries_left: int | None,
                labels: OptionLabels | None = None) -> str:
    """Verdict, the chosen option's feedback, and (once final) key, explanation and common mistakes;
    option ids are shown as ``labels``' letters when given."""
    if labels is not None:
        result = relabel(question, result, labels)
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
            parts.append('<p class="gq-muted">A self-check: an automatic reading of your explanation, '
                         "so it does not change your score.</p>")
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


def summary_html(outcome: FinishOutcome, titles: dict[str, str], deck: DeckSummary | None = None,
                 labels: Mapping[str, OptionLabels] | None = None) -> str:
    """The end-of-quiz table (question, result, points, your answer in shown letters), pass message,
    badge, attempts."""
    result, summary = outcome.result, outcome.summary
    rows = []
    for number, q in enumerate(result.questions, 1):
        if q.max_points == 0 and q.status in ("unanswered", "ungraded"):
            continue
        answer = shown_answer(q.answer, (labels or {}).get(q.id))
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
