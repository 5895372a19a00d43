"""Exchange Online's throttling, per mailbox: at most N requests in flight and a request budget per window.

One mailbox being throttled never affects another, as in Exchange. Batch inner requests go through here one
by one, so a batch can be 200 while some of its items are 429.
"""

from __future__ import annotations

import collections
import contextlib
import email.utils
import math
import threading
import time
from collections.abc import Iterator

from sandbox.graph.errors import GraphError
from sandbox.graph.options import Options


def format_retry_after(seconds: float, style: str) -> str:
    """Retry-After as integer seconds, decimal seconds (`2.128`) or an HTTP date, all seen from Graph."""
    seconds = max(seconds, 0.001)
    if style == "integer":
        return str(max(1, math.ceil(seconds)))
    if style == "http-date":
        return email.utils.formatdate(time.time() + math.ceil(seconds), usegmt=True)
    return f"{seconds:.3f}"


def throttled(code: str, message: str, seconds: float, options: Options) -> GraphError:
    return GraphError(429, code, message, {"Retry-After": format_retry_after(seconds, options.retry_after_format)})


class MailboxThrottle:
    """Concurrency slots and a sliding-window request budget for each mailbox."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._in_flight: collections.Counter[str] = collections.Counter()
        self._recent: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self.rejected = 0

    def reset(self) -> None:
        with self._lock:
            self._recent.clear()
            self.rejected = 0

    @contextlib.contextmanager
    def slot(self, mailbox: str) -> Iterator[None]:
        """Hold one of the mailbox's concurrency slots for a request; 429 if none or the budget is spent."""
        opts = self.options
        now = time.monotonic()
        with self._lock:
            recent = self._recent[mailbox]
            while recent and recent[0] <= now - opts.budget_window_s:
                recent.popleft()
            if len(recent) >= opts.mailbox_budget:
                self.rejected += 1
                wait = recent[0] + opts.budget_window_s - now
                raise throttled(
                    "TooManyRequests",
                    "Application is over its MailboxRequests limit. Please "
                    "retry after the period given in Retry-After.",
                    wait,
                    opts,
                )
            if self._in_flight[mailbox] >= opts.mailbox_concurrency:
                self.rejected += 1
                raise throttled(
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                    opts.concurrency_retry_after_s,
                    opts,
                )
            recent.append(now)
            self._in_flight[mailbox] += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[mailbox] -= 1

    def in_flight(self, mailbox: str) -> int:
        with self._lock:
            return self._in_flight[mailbox]
