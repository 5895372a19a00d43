"""A per-mailbox lease: one mailbox worker at a time per OpenAir user, across processes and instances.

Two workers applying the same user's outbox at once would both read an entry before either settled it, and both
write it (the timer's `export-mailbox` message and a push's `export-record` message for the same user, or a
leftover message of an earlier run). The lease is a row in the `Cursors` table (partition `MailboxLease`, row key
the user id) taken with an insert and released with an ETag-conditional delete; a holder renews it while it
works, so a worker that dies leaves it for at most `ttl` seconds. A waiter polls until the lease is free, and
gives up with `MailboxBusy` (transient: the queue retries) after `wait` seconds.

A holder that loses its lease (a renewal refused because the row's ETag moved: the lease ran out and another
worker took it; or renewals failing until too little of the lease is left to trust it) must stop writing: the
renewer cancels the holder's block at once and the block ends with `LeaseLost` (transient: the queue retries,
and the engine's intent-before-write rows make the interruption a crash it already recovers from). A table call
already on its way when that happens still completes: at most one write overlaps the new holder's first read.
The lease's table calls run off the event loop (`shared/store/offload.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import weakref
from collections.abc import AsyncIterator

from shared.errors import Incomplete, SyncError
from shared.store.offload import off_loop
from shared.store.state import CURSORS
from shared.store.tables import EtagMismatch, Row, StoreError, TableBackend

log = logging.getLogger(__name__)

LEASE_PARTITION = "MailboxLease"


class MailboxBusy(SyncError):
    """Another worker is applying this user's outbox; try again later."""


class LeaseLost(Incomplete):
    """The mailbox lease was lost while held (taken over, or no longer renewable): the worker stopped writing;
    the queue retries the message."""


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


def _renew(backend: TableBackend, user_id: str, ttl: float, etag: str) -> str:
    """Extend our lease; EtagMismatch when it is no longer ours."""
    until = _now() + dt.timedelta(seconds=ttl)
    return backend.update(CURSORS, Row(LEASE_PARTITION, user_id, {"Until": until}, etag))


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
    """Hold the user's mailbox lease for the duration of the block; the block ends with `LeaseLost` (cancelled
    at its next await) if the lease is lost meanwhile."""
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
    etag = await off_loop(_take, backend, user_id, ttl)
    while etag is None:
        if loop.time() > deadline:
            raise MailboxBusy(f"user {user_id}'s mailbox is being exported by another worker; retrying later")
        await asyncio.sleep(poll)
        poll = min(poll * 1.5, 0.5)
        etag = await off_loop(_take, backend, user_id, ttl)
    holder = asyncio.current_task()
    assert holder is not None  # an async with runs in a task
    held = {"etag": etag}
    lost: list[str] = []  # why, once lost

    async def renew() -> None:
        # Renewed every third of the ttl: one failed renewal (a table outage) still leaves a third of the lease to
        # try again; a second one in a row leaves too little to trust, so the lease counts as lost before it runs
        # out rather than after another worker may have taken it.
        failures = 0
        while True:
            await asyncio.sleep(ttl / 3)
            try:
                held["etag"] = await off_loop(_renew, backend, user_id, ttl, held["etag"])
                failures = 0
            except EtagMismatch:
                lost.append("another worker took it over")
            except StoreError as exc:
                failures += 1
                log.warning("mailbox lease renewal failed", extra={"user": user_id, "error": str(exc)})
                if failures >= 2:
                    lost.append(f"it could not be renewed ({exc})")
            if lost:
                holder.cancel()  # stop the holder's writes at its next await
                return

    renewer = asyncio.create_task(renew())
    finished = False
    try:
        try:
            yield
        except asyncio.CancelledError:
            if lost and holder.uncancel() == 0:  # our cancellation, and nobody else's: say why
                raise LeaseLost(f"user {user_id}'s mailbox lease was lost while writing: {lost[0]}") from None
            raise
        finally:
            renewer.cancel()
            await asyncio.wait([renewer])  # its own end, without swallowing a cancellation of the holder
        if lost:  # the block swallowed our cancellation and finished anyway: its work is still not to be trusted
            holder.uncancel()
            raise LeaseLost(f"user {user_id}'s mailbox lease was lost while writing: {lost[0]}")
        finished = True
    finally:
        if not lost:
            await _release(backend, user_id, held["etag"], finished=finished)


async def _release(backend: TableBackend, user_id: str, etag: str, *, finished: bool) -> None:
    try:
        await off_loop(backend.delete, CURSORS, LEASE_PARTITION, user_id, etag=etag)
    except EtagMismatch:
        # The row moved although every renewal succeeded (the lease ran out between two of them: a stalled
        # process): another worker may have written alongside ours, so a finished block is retried too. A block
        # that failed already carries its own error.
        if finished:
            raise LeaseLost(f"user {user_id}'s mailbox lease was taken over before it was released") from None
        log.warning("mailbox lease was taken over before release", extra={"user": user_id})
