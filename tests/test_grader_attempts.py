"""The attempt policy: limit, retry penalty, keep-highest or latest, pass mark."""
from __future__ import annotations

from grader import parse_bank, summarize_attempts

BASE = "id: a\ntitle: A\nsource: original\n{extra}questions:\n  - {{id: q, type: numeric, prompt: x, answer: 1}}\n"


def bank(extra: str = ""):
    return parse_bank(BASE.format(extra=extra))


def test_keep_highest_like_seed_003():
    s = summarize_attempts(bank("pass_percent: 80\n"), [60, 100, 40])
    assert (s.best_percent, s.latest_percent, s.counted_percent, s.passed) == (100, 40, 100, True)
    assert "We keep your highest score" in s.message and "Your highest: 100%" in s.message


def test_keep_latest():
    s = summarize_attempts(bank("keep: latest\n"), [100, 40])
    assert s.counted_percent == 40 and not s.passed


def test_attempt_limit_ignores_later_attempts():
    s = summarize_attempts(bank("attempts: 2\n"), [50, 60, 100])
    assert (s.attempts_used, s.attempts_left, s.ignored_attempts, s.counted_percent) == (2, 0, 1, 60)
    assert not s.can_retry and not s.passed


def test_retry_penalty_per_earlier_attempt():
    s = summarize_attempts(bank("retry_penalty_percent: 10\n"), [50, 100, 100])
    assert s.adjusted_percents == [50, 90, 80] and s.counted_percent == 90


def test_no_attempts_yet():
    s = summarize_attempts(bank("attempts: 3\n"), [])
    assert s.best_percent is None and s.attempts_left == 3 and s.can_retry and not s.passed
