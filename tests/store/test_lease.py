"""The mailbox lease: a holder that loses it finds out and stops writing; its table calls stay off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest

from shared.store.lease import LEASE_PARTITION, LeaseLost, MailboxBusy, mailbox_lease
from shared.store.state import CURSORS
from shared.store.store import SyncStore
from shared.store.tables import Row, StoreError
from shared.sync.mailbox import export_mailbox
from shared.sync.planner import plan_export
from tests.sync.world import World
from twins.tables import MemoryTables

TTL = 0.3  # renewed every 0.1 s


class FailingRenewals(MemoryTables):
    """Table Storage that refuses the lease's renewals (an outage) a given number of times."""

    def __init__(self, failures: int) -> None:
        super().__init__(off_loop_only=True)
        self.failures = failures
        self.renewals = 0

    def update(self, table: str, row: Row, *, merge: bool = False) -> str:
        if table == CURSORS and row.partition_key == LEASE_PARTITION:
            self.renewals += 1
            if self.failures > 0:
                self.failures -= 1
                raise StoreError("Could not write Cursors row: 503 Server Busy")
        return super().update(table, row, merge=merge)


def take_over(tables: MemoryTables, user_id: str) -> None:
    """Another worker takes the row over, as after our lease ran out (its ETag moves)."""
    tables.raw_put(CURSORS, LEASE_PARTITION, user_id, {"Until": None})


async def lease_row(tables: MemoryTables, user_id: str) -> Row | None:
    return await asyncio.to_thread(tables.get, CURSORS, LEASE_PARTITION, user_id)


async def test_a_lease_taken_over_stops_the_holder_at_its_next_await() -> None:
    tables = MemoryTables(off_loop_only=True)
    writes: list[int] = []

    async def write_for_a_second() -> None:
        async with mailbox_lease(tables, "u1", ttl=TTL):
            take_over(tables, "u1")
            for step in range(50):
                await asyncio.sleep(0.02)
                writes.append(step)

    with pytest.raises(LeaseLost, match="another worker took it over"):
        await write_for_a_second()
    assert len(writes) < 10  # stopped at the first renewal after the takeover, not after the whole block
    assert await lease_row(tables, "u1") is not None  # the new holder's row is left alone
    assert tables.calls_on_loop == []


async def test_renewals_failing_twice_in_a_row_lose_the_lease_before_it_runs_out() -> None:
    tables = FailingRenewals(failures=2)
    with pytest.raises(LeaseLost, match="could not be renewed"):
        async with mailbox_lease(tables, "u1", ttl=TTL):
            await asyncio.sleep(5)
    assert tables.renewals == 2


async def test_one_failed_renewal_is_tried_again_and_the_holder_finishes() -> None:
    tables = FailingRenewals(failures=1)
    async with mailbox_lease(tables, "u1", ttl=TTL):
        await asyncio.sleep(0.45)  # four renewals: the first fails, the others succeed
    assert tables.renewals >= 3
    assert await lease_row(tables, "u1") is None  # released
    assert tables.calls_on_loop == []


async def test_a_block_that_swallows_the_cancellation_still_ends_with_lease_lost() -> None:
    tables = MemoryTables(off_loop_only=True)

    async def careless() -> None:
        async with mailbox_lease(tables, "u1", ttl=TTL):
            take_over(tables, "u1")
            with contextlib.suppress(asyncio.CancelledError):  # the lease still reports itself lost at the end
                await asyncio.sleep(5)

    with pytest.raises(LeaseLost):
        await careless()
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0  # the lease's own cancellation is not left pending


async def test_a_lease_moved_before_release_is_reported_not_logged_away() -> None:
    tables = MemoryTables(off_loop_only=True)
    with pytest.raises(LeaseLost, match="taken over before it was released"):
        async with mailbox_lease(tables, "u1", ttl=60):  # no renewal in the block: the row moves unseen
            take_over(tables, "u1")


async def test_a_cancellation_from_outside_stays_a_cancellation_and_releases_the_lease() -> None:
    tables = MemoryTables(off_loop_only=True)
    entered = asyncio.Event()

    async def worker() -> None:
        async with mailbox_lease(tables, "u1", ttl=TTL):
            entered.set()
            await asyncio.sleep(5)

    task = asyncio.create_task(worker())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await lease_row(tables, "u1") is None
    assert tables.calls_on_loop == []


async def test_a_held_lease_is_renewed_and_released_and_blocks_a_second_holder() -> None:
    tables = MemoryTables(off_loop_only=True)
    async with mailbox_lease(tables, "u1", ttl=TTL):
        await asyncio.sleep(0.25)  # renewed at least twice: still ours
        with pytest.raises(MailboxBusy):
            async with mailbox_lease(tables, "u1", wait=0.1):
                pass
    assert await lease_row(tables, "u1") is None
    assert tables.calls_on_loop == []


async def test_the_twin_refuses_a_table_call_on_the_event_loop() -> None:
    """The guard the workers' tests rely on: it must fire, or every "off the loop" assertion proves nothing."""
    tables = MemoryTables(off_loop_only=True)
    with pytest.raises(AssertionError, match="event loop"):
        tables.get(CURSORS, LEASE_PARTITION, "u1")
    rows: Sequence[Row] = await asyncio.to_thread(lambda: list(tables.query(CURSORS)))
    assert rows == []
    assert tables.calls_on_loop == ["get Cursors"]


async def test_a_block_that_fails_releases_the_lease_and_keeps_its_error() -> None:
    tables = MemoryTables(off_loop_only=True)
    with pytest.raises(ValueError, match="the work failed"):
        async with mailbox_lease(tables, "u1", ttl=TTL):
            raise ValueError("the work failed")
    assert await lease_row(tables, "u1") is None


async def test_a_mailbox_worker_that_loses_its_lease_stops_before_writing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The export worker holds the lease while it writes: lost mid-run (another worker took the row over while a
    Graph call was on its way), the worker is stopped there, writes nothing more, and the message is retried."""
    world = World.build()
    world.booking("b1", "u1", dt.date(2026, 11, 23), dt.date(2026, 11, 25))
    await plan_only(world)
    monkeypatch.setattr(SyncStore, "mailbox_lease", lambda self, user_id: mailbox_lease(world.tables, user_id, ttl=TTL))
    original = world.calendar.apply

    async def slow_apply(mailbox_id: str, writes: Any) -> Any:
        take_over(world.tables, "u1")  # meanwhile, the lease ran out and another worker took it
        await asyncio.sleep(1)  # the Graph round trip, during which the renewal finds the lease gone
        return await original(mailbox_id, writes)

    monkeypatch.setattr(world.calendar, "apply", slow_apply)
    with pytest.raises(LeaseLost):
        await export_mailbox("u1", store=world.store, calendar=world.calendar)
    assert world.calendar.events("mbx-u1") == []  # stopped before the write reached the mailbox
    assert len(world.store.outbox("u1")) == 1  # still queued: the retry (or the new holder) applies it


async def plan_only(world: World) -> None:
    world.openair.clock += dt.timedelta(minutes=30)
    await plan_export(store=world.store, openair=world.openair)
