"""At most GRAPH_MAX_IN_FLIGHT_PER_MAILBOX requests in flight per mailbox, counted the way Exchange counts.

Exchange allows an app 4 concurrent requests per mailbox and answers the fifth with 429 MailboxConcurrency.
A $batch is one HTTP request but Outlook executes its items four at a time, so a batch occupies up to four
of the mailbox's slots; a single GET occupies one. Slots are handed out first come, first served, so a batch
waiting for four slots is not starved by a stream of single reads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator


class _WeightedSlots:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self.peak = 0
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    async def acquire(self, weight: int) -> None:
        if not self._waiters and self.in_use + weight <= self.capacity:
            self._take(weight)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((weight, future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(weight)  # granted just as we were cancelled: give the slots back
            else:
                self._waiters.remove((weight, future))
                self._wake()
            raise

    def release(self, weight: int) -> None:
        self.in_use -= weight
        self._wake()

    def _take(self, weight: int) -> None:
        self.in_use += weight
        self.peak = max(self.peak, self.in_use)

    def _wake(self) -> None:
        while self._waiters and self.in_use + self._waiters[0][0] <= self.capacity:
            weight, future = self._waiters.popleft()
            self._take(weight)
            future.set_result(None)


class MailboxLimiter:
    """Per-mailbox slots; `async with limiter.slots(mailbox_id, n)` around every request to that mailbox."""

    def __init__(self, per_mailbox: int) -> None:
        if per_mailbox < 1:
            raise ValueError("a mailbox needs at least one request slot")
        self.per_mailbox = per_mailbox
        self._mailboxes: dict[str, _WeightedSlots] = {}

    @contextlib.asynccontextmanager
    async def slots(self, mailbox_id: str, weight: int = 1) -> AsyncIterator[None]:
        if not 1 <= weight <= self.per_mailbox:
            raise ValueError(f"a request to one mailbox takes 1..{self.per_mailbox} slots, not {weight}")
        slots = self._mailboxes.setdefault(mailbox_id.lower(), _WeightedSlots(self.per_mailbox))
        await slots.acquire(weight)
        try:
            yield
        finally:
            slots.release(weight)

    def peak(self, mailbox_id: str) -> int:
        """The most slots this mailbox ever had in use at once (benchmarks and tests)."""
        slots = self._mailboxes.get(mailbox_id.lower())
        return slots.peak if slots else 0
