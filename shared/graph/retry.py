"""When to retry a throttled or unavailable Graph request, and how long to wait first.

Graph sends `Retry-After` as delta-seconds that may be decimal (`2.128`) or as an HTTP date; both are
honoured. Without a usable header we back off exponentially with jitter so that requests throttled together
do not come back together. Every wait counts against a budget (GRAPH_RETRY_BUDGET_SECONDS): past it, the
throttled answer is returned to the caller instead of waiting forever.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

# 429 throttled; 503/504 are Exchange's "busy, try later" answers. Other statuses are final.
RETRYABLE_STATUSES = frozenset({429, 503, 504})


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait according to a `Retry-After` value; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" parses naive; HTTP dates are always GMT
        when = when.replace(tzinfo=dt.UTC)
    current = now if now is not None else dt.datetime.now(dt.UTC)
    return max(0.0, (when - current).total_seconds())


def backoff_delay(attempt: int, *, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None) -> float:
    """Exponential back-off for attempt 1, 2, 3…: half of the step is fixed, half random ("equal jitter")."""
    step = min(cap, base * 2.0 ** max(0, attempt - 1))
    uniform = rng.uniform if rng is not None else random.uniform
    return step / 2 + uniform(0, step / 2)


@dataclass(frozen=True)
class RetryPolicy:
    """Retry 429/503/504 after the server's `Retry-After` (else back-off) while the budget lasts."""

    budget_seconds: float
    max_attempts: int = 10  # guards against a server that keeps answering `Retry-After: 0`
    rng: random.Random | None = None

    def next_delay(self, status: int, retry_after: str | None, *, attempt: int, waited: float) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to stop and return the answer as it is.

        `attempt` counts the attempts made so far (1 after the first answer); `waited` is the time
        already spent waiting for this request or item.
        """
        if status not in RETRYABLE_STATUSES or attempt >= self.max_attempts:
            return None
        delay = parse_retry_after(retry_after)
        if delay is None:
            delay = backoff_delay(attempt, rng=self.rng)
        if waited + delay > self.budget_seconds:
            return None
        return delay
