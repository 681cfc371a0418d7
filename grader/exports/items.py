"""A bank as LMS items: each question mapped by its own kind, and the kind's losses as report rows."""
from __future__ import annotations

from ..bank import Bank
from ..errors import UserError
from ..kinds import KINDS, LmsItem, Registry
from .base import BankInfo, Loss


class StudentCopyError(UserError):
    """A student copy holds hashed keys: an LMS import would have no key to grade by."""


def lms_items(bank: Bank, registry: Registry = KINDS) -> list[LmsItem]:
    """Every question as its kind's :class:`LmsItem`, in bank order; refuses a student copy."""
    if bank.key_salt is not None:
        raise StudentCopyError(f"bank '{bank.id}' is a student copy (its keys are hashed): export the instructor's "
                               "bank, which holds the keys an LMS needs to grade")
    return [registry.of(question).lms_item(question) for question in bank.questions]


def kind_losses(items: list[LmsItem]) -> list[Loss]:
    return [Loss(item.id, what, "kind") for item in items for what in item.losses]


def bank_info(bank: Bank) -> BankInfo:
    return BankInfo(bank.id, bank.title, bank.description, bank.shuffle_options)
