"""A per-mailbox lease: one mailbox worker at a time per OpenAir user, across processes and instances.

Two workers applying the same user's outbox at once would both read an entry before either settled it, and both
write it (the timer's `export-mailbox` message and a push's `export-record` message for the same user, or a
leftover message of an earlier run). The lease is a row in the `Cursors` table (partition `MailboxLease`, row key
the user id) taken with an insert and released with an ETag-conditional delete; a holder renews it while it
works, so a worker that dies leaves it for at most `ttl` seconds. A waiter polls until the lease is free, and
gives up with `MailboxBusy` (transient: the queue retries) after `wait` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import weakref
from collections.abc import AsyncIterator

from shared.errors import SyncError
from shared.store.backend import EtagMismatch, Row, TableBackend
from shared.store.state import CURSORS

log = logging.getLogger(__name__)

LEASE_PARTITION = "MailboxLease"


class MailboxBusy(SyncError):
    """Another worker is applying this user's outbox; try again later."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _take(backend: TableBackend, user_id: str, ttl: float) -> str | None:
    """The lease's ETag if we took it (free, or expired), None if someone holds it."""
    until = _now() + dt.timedelta(seconds=ttl)
    try:
        return backend.insert(CURSORS, Row(LEASE_PARTITION, user_id, {"Until": until}))
    except EtagMismatch:
        pass
    current = backend.get(CURSORS, LEASE_PARTITION, user_id)
    if current is None:
        return None  # released between our insert and our read: the next poll takes it
    held_until = current.columns.get("Until")
    if isinstance(held_until, dt.datetime) and held_until > _now():
        return None
    try:  # expired: its holder died; take it over, unless another waiter did first
        return backend.update(CURSORS, Row(LEASE_PARTITION, user_id, {"Until": until}, current.etag))
    except EtagMismatch:
        return None


# Workers of one process (one event loop) queue on a local lock first, so only one of them polls the table: a
# burst of pushes for one user must not turn into a storm of lease reads that starves the event loop.
_local: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()


def _local_lock(user_id: str) -> asyncio.Lock:
    locks = _local.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(user_id, asyncio.Lock())


@contextlib.asynccontextmanager
async def mailbox_lease(
    backend: TableBackend, user_id: str, *, ttl: float = 60.0, wait: float = 30.0, poll: float = 0.05
) -> AsyncIterator[None]:
    """Hold the user's mailbox lease for the duration of the block."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    try:
        await asyncio.wait_for(_local_lock(user_id).acquire(), timeout=wait)
    except TimeoutError:
        raise MailboxBusy(f"user {user_id}'s mailbox is being exported by another worker; retrying later") from None
    try:
        async with _table_lease(backend, user_id, ttl=ttl, deadline=deadline, poll=poll):
            yield
    finally:
        _local_lock(user_id).release()


@contextlib.asynccontextmanager
async def _table_lease(
    backend: TableBackend, user_id: str, *, ttl: float, deadline: float, poll: float
) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    etag = _take(backend, user_id, ttl)
    while etag is None:
        if loop.time() > deadline:
            raise MailboxBusy(f"user {user_id}'s mailbox is being exported by another worker; retrying later")
        await asyncio.sleep(poll)
        poll = min(poll * 1.5, 0.5)
        etag = _take(backend, user_id, ttl)
    state = {"etag": etag}

    async def renew() -> None:
        while True:
            await asyncio.sleep(ttl / 3)
            until = _now() + dt.timedelta(seconds=ttl)
            state["etag"] = backend.update(CURSORS, Row(LEASE_PARTITION, user_id, {"Until": until}, state["etag"]))

    renewer = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError, EtagMismatch):  # a failed renewal is reported below
            await renewer
        try:
            backend.delete(CURSORS, LEASE_PARTITION, user_id, etag=state["etag"])
        except EtagMismatch:
            log.warning("mailbox lease was taken over before release", extra={"user": user_id})
