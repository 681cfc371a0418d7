"""Single- and multiple-choice scoring, including the partial-credit rules for multi-select."""
from __future__ import annotations

import re
from typing import Any

from ..models.options import Option
from ..models.question import QuestionBase
from .normalize import normalize_output
from .verdict import Verdict, invalid, status_for, unanswered


def _ids(question) -> str:
    return ", ".join(o.id for o in question.choices)


def key_text(question) -> str:
    """The key as shown to a student: 'C) text' for one-line options, the id alone for code options."""
    shown = []
    for option in question.choices:
        if question.is_correct(option):
            text = option.text.strip()
            shown.append(option.id if "\n" in text else f"{option.id}) {text}")
    return ", ".join(shown)


def _pick_single(question: QuestionBase, answer: Any, match_output: bool) -> Option | str:
    """The option an answer names, or a reason it names none."""
    if isinstance(answer, (list, tuple)):
        if len(answer) != 1:
            return f"choose exactly one option, got {len(answer)}"
        answer = answer[0]
    if isinstance(answer, bool) or not isinstance(answer, (str, int)):
        return f"expected an option id such as 'A', got {type(answer).__name__}"
    option = question.option(str(answer))
    if option is None and match_output:
        # a student may type the printed output instead of the option letter
        wanted = normalize_output(str(answer))
        option = next((o for o in question.choices if normalize_output(o.text) == wanted), None)
    if option is None:
        return f"'{answer}' is not an option (options: {_ids(question)})"
    return option


def score_single(question: QuestionBase, answer: Any, *, match_output: bool = False) -> Verdict:
    """One option right or wrong; ``match_output``: an answer may also be the option's text (printed output)."""
    if answer is None or answer == "":
        return unanswered()
    picked = _pick_single(question, answer, match_output)
    if isinstance(picked, str):
        return invalid(answer, picked)
    feedback = [picked.feedback.strip()] if picked.feedback else []
    right = question.is_correct(picked)
    fraction = 1.0 if right else 0.0
    reason = "" if right else f"you chose {picked.id}"
    return Verdict(fraction, status_for(fraction), answer=picked.id, reason=reason, option_feedback=feedback,
                   correct_answer=key_text(question))


def _as_id_list(answer: Any) -> list[str] | str:
    if isinstance(answer, str):
        return [p for p in re.split(r"[,\s;]+", answer.strip()) if p]
    if isinstance(answer, (list, tuple, set)):
        if not all(isinstance(a, (str, int)) and not isinstance(a, bool) for a in answer):
            return "expected a list of option ids such as ['A', 'C']"
        return [str(a) for a in answer]
    return f"expected a list of option ids such as ['A', 'C'], got {type(answer).__name__}"


def multi_select_fraction(mode: str, n_correct: int, n_wrong: int, correct_ticked: int, wrong_ticked: int) -> float:
    """Credit for a multi-select answer under ``mode`` (see quizzes/README.md for the formulas)."""
    if mode == "all_or_nothing":
        return 1.0 if correct_ticked == n_correct and wrong_ticked == 0 else 0.0
    if mode == "coverage":
        ticked = correct_ticked + wrong_ticked
        if ticked == 0:
            return 0.0
        return (correct_ticked / n_correct) * (correct_ticked / ticked)
    # net_correct: the share of right boxes minus the share of wrong boxes; ticking all gives 0
    wrong_share = wrong_ticked / n_wrong if n_wrong else 0.0
    return max(0.0, correct_ticked / n_correct - wrong_share)


def score_multiple(question: QuestionBase, answer: Any, mode: str) -> Verdict:
    """Partial credit for ticked options under ``mode`` (:func:`multi_select_fraction`)."""
    if answer is None or answer == "" or answer == []:
        return unanswered()
    ids = _as_id_list(answer)
    if isinstance(ids, str):
        return invalid(answer, ids)
    picked: list[Option] = []
    for raw in ids:
        option = question.option(raw)
        if option is None:
            return invalid(answer, f"'{raw}' is not an option (options: {_ids(question)})")
        if option not in picked:
            picked.append(option)
    right = {o.id for o in question.choices if question.is_correct(o)}
    n_correct = len(right)
    n_wrong = len(question.choices) - n_correct
    correct_ticked = sum(o.id in right for o in picked)
    wrong_ticked = len(picked) - correct_ticked
    fraction = multi_select_fraction(mode, n_correct, n_wrong, correct_ticked, wrong_ticked)
    missed = [o.id for o in question.choices if o.id in right and o not in picked]
    wrong = [o.id for o in picked if o.id not in right]
    reasons = []
    if wrong:
        reasons.append(f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not right")
    if missed:
        reasons.append(f"{len(missed)} right option{'s' if len(missed) != 1 else ''} not ticked")
    feedback = [f"{o.id}: {o.feedback.strip()}" for o in picked if o.feedback]
    return Verdict(fraction, status_for(fraction), answer=[o.id for o in picked], reason="; ".join(reasons),
                   option_feedback=feedback, correct_answer=", ".join(question.correct_ids))
