"""Retry-After parsing and back-off: what Graph sends (integer, decimal, HTTP date) and what it must not."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from shared.graph.retry import RetryPolicy, backoff_delay, parse_retry_after

NOW = dt.datetime(2026, 11, 22, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        ("2.128", 2.128),
        (" 0.5 ", 0.5),
        ("0", 0.0),
        ("-3", 0.0),
        ("Sun, 22 Nov 2026 12:00:07 GMT", 7.0),
        ("Sun, 22 Nov 2026 12:00:07 -0000", 7.0),
        ("Sun, 22 Nov 2026 11:59:00 GMT", 0.0),  # already past: retry now
    ],
)
def test_retry_after_values_graph_sends(header: str, seconds: float) -> None:
    assert parse_retry_after(header, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("header", [None, "", "   ", "soon", "2,128", "nan", "inf", "Sun, 99 Foo 2026"])
def test_unreadable_retry_after_is_none(header: str | None) -> None:
    assert parse_retry_after(header, now=NOW) is None


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    rng = random.Random(7)
    for attempt, step in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (10, 30.0)]:
        delays = [backoff_delay(attempt, rng=rng) for _ in range(200)]
        assert all(step / 2 <= d <= step for d in delays)
        assert max(delays) - min(delays) > step / 4  # jittered, not constant


def test_policy_uses_retry_after_then_backoff_and_respects_budget() -> None:
    policy = RetryPolicy(budget_seconds=5.0, rng=random.Random(1))
    assert policy.next_delay(429, "2.128", attempt=1, waited=0.0) == pytest.approx(2.128)
    assert policy.next_delay(503, None, attempt=1, waited=0.0) == pytest.approx(0.25, abs=0.25)
    assert policy.next_delay(429, "2.128", attempt=2, waited=3.0) is None  # 3 + 2.128 > 5
    assert policy.next_delay(429, "60", attempt=1, waited=0.0) is None  # more than the whole budget


@pytest.mark.parametrize("status", [200, 201, 400, 401, 404, 409, 500])
def test_policy_never_retries_final_statuses(status: int) -> None:
    assert RetryPolicy(budget_seconds=100).next_delay(status, "1", attempt=1, waited=0) is None


def test_policy_stops_after_max_attempts_even_with_zero_retry_after() -> None:
    policy = RetryPolicy(budget_seconds=100, max_attempts=3)
    assert policy.next_delay(429, "0", attempt=2, waited=0) == 0.0
    assert policy.next_delay(429, "0", attempt=3, waited=0) is None


def test_kiota_default_retry_handler_misreads_decimal_retry_after() -> None:
    """Why middleware.ThrottleRetryHandler replaces kiota's RetryHandler (see its docstring).

    If this starts failing, kiota has fixed its parser; our handler is still needed for the budget.
    """
    from kiota_http.middleware import RetryHandler

    handler = RetryHandler()
    assert handler._parse_retry_after("2") == 2
    assert handler._parse_retry_after("2.128") is None  # falls back to its own, shorter back-off
