"""Read once, decide, write once: the export planner's visits to the store, and an idle run's table calls, counted
(never timed) on the in-memory twin."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from shared.store.state import LINKS, OUTBOX
from shared.store.store import SyncStore
from shared.sync.planner import plan_export
from tests.sync.world import World
from twins.tables import MemoryTables

D = dt.date


class CountingTables:
    """The in-memory tables, counting every call by (method, table)."""

    def __init__(self, tables: MemoryTables) -> None:
        self.tables = tables
        self.calls: Counter[tuple[str, str]] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.tables, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[(name, str(args[0]) if args else "")] += 1
            return method(*args, **kwargs)

        return counted


class CountingStore:
    """A SyncStore whose public methods, as the planner calls them, are written down in order."""

    def __init__(self, store: SyncStore) -> None:
        self.store = store
        self.visits: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)
        if not callable(method):
            return method

        def visited(*args: Any, **kwargs: Any) -> Any:
            self.visits.append(name)
            return method(*args, **kwargs)

        return visited


def _tenant(users: int, *, bookings_per_user: int = 1) -> World:
    world = World.build(tuple(f"u{n}" for n in range(users)))
    for n in range(users):
        for b in range(bookings_per_user):
            world.booking(f"b{n}-{b}", f"u{n}", D(2026, 11, 23), D(2026, 11, 24))
    return world


async def _planned(world: World, *, minutes_later: int = 30) -> tuple[list[str], CountingTables]:
    """One planner run (no mailbox worker), its store visits and its table calls."""
    world.openair.clock += dt.timedelta(minutes=minutes_later)
    tables = CountingTables(world.tables)
    store = CountingStore(SyncStore(tables))
    await plan_export(store=store, openair=world.openair)  # type: ignore[arg-type]
    return store.visits, tables


async def test_a_run_with_work_reads_the_store_twice_and_writes_it_once() -> None:
    world = _tenant(3)
    await world.run()  # everything exported: the owner index and the links exist
    world.openair.edit("Booking", "b0-0", hours=5.0)
    world.openair.delete("Booking", "b1-0")
    visits, _ = await _planned(world)
    # The tenant; the concerned users' links and outbox; who else holds a link for the records; the one write; the
    # users with work (leftovers of earlier runs included).
    assert visits == ["tenant_snapshot", "user_records", "owners", "save_plan", "outbox_users"]


async def test_a_first_run_builds_the_owner_index_once() -> None:
    world = _tenant(2)
    visits, _ = await _planned(world)
    assert visits[:2] == ["tenant_snapshot", "build_owner_index"]
    visits, _ = await _planned(world)
    assert "build_owner_index" not in visits


async def test_an_idle_run_makes_the_same_table_calls_for_ten_and_a_hundred_users() -> None:
    calls = {}
    for users in (10, 100):
        world = _tenant(users)
        await world.run()
        await world.run()  # nothing left to do
        _, tables = await _planned(world)
        calls[users] = tables.calls
    assert calls[10] == calls[100]
    assert sum(calls[100].values()) <= 12
    per_user = [(method, table) for (method, table), n in calls[100].items() if table in (LINKS, OUTBOX) and n > 1]
    assert per_user == []


async def test_records_re_read_by_the_overlap_cost_one_links_read_per_owner_and_one_outbox_read() -> None:
    for users in (10, 40):
        world = _tenant(users)
        await world.run()
        for n in range(users):
            world.openair.edit("Booking", f"b{n}-0", hours=6.0)
        await world.run(minutes_later=1)  # exported a minute after the edits
        _, tables = await _planned(world, minutes_later=5)  # within WatermarkOverlapMinutes: every edit re-read
        assert tables.calls[("query", LINKS)] == users  # each owner's links: Links is partitioned by user
        assert tables.calls[("query", OUTBOX)] == 2  # pending keys (the whole table) and the users with work
