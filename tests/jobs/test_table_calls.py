"""The export's table calls, counted (never timed) on the in-memory twin: one `export-mailbox` message as the host
delivers it (pause check, lease, the engine, the run recorder), and the timer run before it.

The figures are this round's (`docs/scaling.md`, per mailbox about 20 table calls whatever its number of events):
a call more per mailbox is 1,000 more per initial export of a 1,000-user tenant. A test that fails here names the
table and operation that changed; if the new call is deliberate, change the figure with the reason beside it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from shared.jobs import export
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets
from shared.store.store import SyncStore
from tests.sync.world import World
from twins.tables import MemoryTables

# One mailbox's first export (its events created), by (operation, table).
ONE_MAILBOX = {
    ("get", "IntegrationSettings"): 1,  # the pause check (shared/jobs/export.py)
    ("insert", "Cursors"): 1,  # the lease taken (shared/store/lease.py)
    ("query", "IntegrationSettings"): 2,
    ("get", "UserMappings"): 1,
    ("query", "Outbox"): 2,
    ("query", "Links"): 1,
    ("submit", "Links"): 5,
    ("submit", "LinkOwners"): 3,
    ("submit", "Outbox"): 1,
    ("upsert", "UserMappings"): 1,
    ("delete", "Cursors"): 1,  # the lease released; no renewal in a pass shorter than a third of its ttl
    ("upsert", "Runs"): 1,  # the run recorder: one row per run
}


class CountingTables:
    """The in-memory tables, counting every call by (operation, table); a query is one call however it is read."""

    def __init__(self, tables: MemoryTables) -> None:
        self.tables = tables
        self.calls: Counter[tuple[str, str]] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.tables, name)
        if name.startswith("_") or not callable(method) or name == "refusing_calls_on_loop":
            return method

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[(name, str(args[0]) if args else "")] += 1
            return method(*args, **kwargs)

        return counted


def _tenant(users: int, bookings: int) -> tuple[World, CountingTables, Services]:
    world = World.build(tuple(f"u{n}" for n in range(users)))
    for n in range(users):
        for b in range(bookings):
            world.booking(f"b{n}-{b}", f"u{n}", dt.date(2026, 11, 23), dt.date(2026, 11, 24))
    world.openair.clock += dt.timedelta(minutes=30)
    tables = CountingTables(world.tables)
    services = Services({}, EnvironmentSecrets({}), _store=SyncStore(tables), _openair=world.openair,  # type: ignore[arg-type]
                        _calendar=world.calendar)  # type: ignore[arg-type]  # fmt: skip
    return world, tables, services


async def test_one_mailbox_message_makes_the_same_table_calls_whatever_its_events() -> None:
    for bookings in (1, 30):
        world, tables, services = _tenant(3, bookings)
        result = await export.run_export_timer(services)
        assert len(result.messages) == 3
        for message in result.messages:
            tables.calls.clear()
            await export.run_export_mailbox(services, message)
            assert dict(tables.calls) == ONE_MAILBOX, bookings
        assert all(len(world.events(f"u{n}")) == bookings for n in range(3))  # every event written


async def test_the_timer_reads_the_outbox_twice_whatever_the_number_of_users() -> None:
    calls = {}
    for users in (3, 12):
        _, tables, services = _tenant(users, 1)
        await export.run_export_timer(services)
        calls[users] = tables.calls
    # Nine users more: each one's links read (a first run reads every mapped user's), its plan's outbox write, its
    # mapping's status written (save_plan), and one owner-index bucket per record here (a bucket holds 1,000 ids).
    # No per-user outbox read (bcf93d4's timer read each user's outbox partition once more: 1,000 calls a run at
    # 1,000 users), no second mappings read.
    assert calls[12] - calls[3] == Counter(
        {("query", "Links"): 9, ("submit", "Outbox"): 9, ("upsert", "UserMappings"): 9, ("query", "LinkOwners"): 9}
    )
    assert calls[12][("query", "Outbox")] == 2  # the pending keys and the users with work, for the whole tenant
    assert calls[12][("query", "UserMappings")] == 2
    assert calls[12][("upsert", "Runs")] == 1  # the plan's run row, once
