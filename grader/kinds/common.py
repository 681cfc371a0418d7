"""Helpers several kinds share: how options and code read in Markdown, how choice keys are hashed
and how choice questions become LMS items. Pure functions of a question; no kind is named here."""
from __future__ import annotations

import json
from typing import Any

from ..models.keyhash import key_digest, option_value
from ..models.question import QuestionBase
from ..submissions.answer_value import PLACEHOLDER
from .records import LmsAnswer, NbCell


def is_blank(answer: Any) -> bool:
    """No answer at all: None, or text that is only white space."""
    return answer is None or (isinstance(answer, str) and not answer.strip())


def code_block(code: str | None) -> list[str]:
    """A fenced Python block (with a blank line after it), or nothing."""
    if not code or not code.strip():
        return []
    return ["```python", *code.rstrip().splitlines(), "```", ""]


def option_lines(question: QuestionBase) -> list[str]:
    """The options as a Markdown list, ids in bold; a multi-line option is indented under its id."""
    lines: list[str] = []
    for option in question.choices:
        text = option.text.strip()
        if "\n" in text:
            lines += [f"- **{option.id}.**", "", *[f"  {line}" for line in text.splitlines()], ""]
        else:
            lines.append(f"- **{option.id}.** {text}")
    return lines + [""] if lines else []


def hash_options(data: dict[str, Any], question: QuestionBase, salt: str) -> None:
    """Every option of a student copy gets ``key_hash`` (right and wrong alike) instead of ``correct``."""
    for option_data, option in zip(data["options"], question.choices):
        option_data.pop("correct", None)
        option_data["key_hash"] = key_digest(salt, question.id, option_value(option.id, question.is_correct(option)))


def prompt_with_code(question: QuestionBase) -> str:
    """The prompt followed by the code it shows, as one Markdown text (what an LMS item's text holds)."""
    return "\n\n".join(x for x in (question.prompt.strip(), "\n".join(code_block(question.shown_code)).strip()) if x)


def option_answers(question: QuestionBase, right: float, wrong: float) -> tuple[LmsAnswer, ...]:
    """The options as LMS answers: ``right`` share for a right option, ``wrong`` for the others."""
    return tuple(LmsAnswer(o.text.strip(), right if question.is_correct(o) else wrong, o.feedback)
                 for o in question.choices)


def general_feedback(question: QuestionBase) -> str | None:
    """What the widget shows after a question is answered, as one Markdown text: the explanation,
    the solution steps and the common mistakes (LMS formats have one general-feedback field)."""
    parts = [question.explanation.strip()] if question.explanation and question.explanation.strip() else []
    if question.solution:
        parts.append("**Solution.**\n\n" + "\n".join(f"{i}. {step.strip()}" for i, step in enumerate(question.solution, 1)))
    if question.common_mistakes:
        parts.append("**Common mistakes.**\n\n" + "\n".join(f"- {m.strip()}" for m in question.common_mistakes))
    return "\n\n".join(parts) or None


def common_losses(question: QuestionBase) -> list[str]:
    """What no LMS format here carries, whatever the kind: a per-question timer, tries per question."""
    losses = []
    if question.time_limit_s is not None:
        losses.append(f"per-question timer ({question.time_limit_s} s)")
    if question.attempts is not None:
        losses.append(f"{question.attempts} tries at this question inside one attempt")
    return losses


def answer_cell(question: QuestionBase, key: Any) -> NbCell:
    """The nbgrader answer cell of a question answered by ``answer = <value>``: the key as the solution,
    after the placeholder line students also get from ``release`` (see ``NbCell.prelude``)."""
    return NbCell(f"answer = {key!r}", f"{question.id}-answer", solution=True, prelude=PLACEHOLDER)


def points_call(question: QuestionBase, outcomes: str | None = None, **replace: Any) -> str:
    """``_points(<question as JSON>)``: the call that ends a question's hidden test. The export's helper
    hands it to :func:`grader.nbgrader_autograde.points`, which reads the answer cell's text with the
    grader's own rule and scores it with the kind's own scorer. ``replace`` overrides fields the
    scorer does not need and students must not see in their feedback (a code question's reference)."""
    data = question.model_dump(mode="json")
    data.update(replace)
    arguments = [repr(json.dumps(data, ensure_ascii=False))] + ([outcomes] if outcomes else [])
    return f"_points({', '.join(arguments)})"


def points_cell(question: QuestionBase) -> NbCell:
    """The hidden test worth the question's points: nbgrader records the points ``_points`` returns."""
    return NbCell(points_call(question), f"{question.id}-test", points=question.points, hidden=True,
                  title=f"Check of `{question.id}` (hidden: it runs when your notebook is graded)")
