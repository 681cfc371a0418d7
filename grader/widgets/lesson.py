"""One quiz from questions of several banks: a lesson's closing self-check.

    from grader.widgets import Quiz
    Quiz.combined("lesson01", title="Lesson 1 self-check: LoRA from scratch",
                  parts=[("day48-lora-qlora", ["q1"]), ("ibm-peft-graded-quiz", ["q2", "q3", "q5"])])

A lesson used to stack one ``Quiz`` per bank, each with its own navigation, Finish, bank title and a
bank description that did not match the subset. :func:`combine_banks` builds one :class:`Bank`
instead, under the lesson's id, title and description. Each question is taken as its bank wrote it:
kind, options, points, tries, per-question time limit and scoring mode travel with the question, so
its verdict is the one its own bank would give. Only bank-wide settings are the combined quiz's own:

- ``pass_percent``: given, or the strictest of the parts' (never easier to pass than a part);
- ``show_key``: the strictest of the parts' (a graded part keeps the widget's guard on);
- ``shuffle_options``: only when every part shuffles; questions stay in the order listed;
- no attempts limit, quiz time limit, badge, due date or errata (they describe one bank's run).

Question ids stay unique: an id two parts share becomes ``<bank id>.<question id>`` in each of
them (it reads as "that bank's q5"); other ids stay as their bank wrote them.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from ..bank import Bank
from ..errors import UserError
from ..loader import find_bank, load_bank
from ..models import QuestionBase

Part = tuple[Bank | str | Path, Sequence[str] | None]
"""A bank (a ``Bank``, a path, or a bank id found like ``find_bank`` does) and the ids of the
questions to take from it, in order (``None``: all of them)."""

_SHOW_KEY_ORDER = ("after_each_attempt", "after_last_attempt", "never")
"""``show_key`` values from the most open to the strictest."""


def _resolve(bank: Bank | str | Path) -> Bank:
    if isinstance(bank, Bank):
        return bank
    path = Path(bank)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return load_bank(path)
    return load_bank(find_bank(str(bank)))


def _chosen(bank: Bank, ids: Sequence[str] | None) -> list[QuestionBase]:
    if ids is None:
        return list(bank.questions)
    if isinstance(ids, str):  # ("bank", "q1") would otherwise iterate characters
        raise UserError(f"part '{bank.id}': give the question ids as a list, e.g. ['{ids}']")
    try:
        return [bank.question(qid) for qid in ids]
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from None


def combine_banks(quiz_id: str, *, title: str, parts: Sequence[Part], description: str | None = None,
                  pass_percent: float | None = None) -> Bank:
    """One bank holding the chosen questions of every part, in the order given (see the module doc).

    Raises :class:`~grader.errors.UserError` for an empty ``parts``, an unknown question id, a
    question listed twice, or a student copy (hashed keys are tied to their bank's salt and id)."""
    if not parts:
        raise UserError(f"combined quiz '{quiz_id}': give at least one (bank, question ids) part")
    taken: list[tuple[Bank, QuestionBase]] = []
    banks: list[Bank] = []
    for bank_ref, ids in parts:
        bank = _resolve(bank_ref)
        banks.append(bank)
        taken += [(bank, question) for question in _chosen(bank, ids)]
    shared = {qid for qid, count in Counter(q.id for _bank, q in taken).items() if count > 1}
    questions: list[QuestionBase] = []
    for bank, question in taken:
        if question.hashed_keys:
            raise UserError(f"bank '{bank.id}' is a student copy (hashed keys): combine the course's own banks")
        new_id = f"{bank.id}.{question.id}" if question.id in shared else question.id
        questions.append(question.model_copy(update={"id": new_id}))  # a copy: the source bank is left alone
    twice = [qid for qid, count in Counter(q.id for q in questions).items() if count > 1]
    if twice:
        raise UserError(f"combined quiz '{quiz_id}': question {', '.join(twice)} is listed twice")
    show_key = max((b.show_key for b in banks), key=_SHOW_KEY_ORDER.index)
    ids = ", ".join(dict.fromkeys(b.id for b in banks))
    try:
        return Bank(id=quiz_id, title=title, description=description, source=f"combined from {ids}",
                    pass_percent=max(b.pass_percent for b in banks) if pass_percent is None else pass_percent,
                    show_key=show_key, shuffle_options=all(b.shuffle_options for b in banks), questions=questions)
    except ValidationError as exc:  # a bad quiz id, title or pass_percent: say which, without pydantic's dump
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise UserError(f"combined quiz '{quiz_id}': {problems}") from None


__all__ = ["Part", "combine_banks"]
