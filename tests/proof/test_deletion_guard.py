"""Mass-deletion guard: an OpenAir outage that reads empty, a mapping table emptied by mistake, a delta that says
everything was removed — none may delete more than the budget, and each raises an alert in status and the run.

Export: `MaxDeletionsPerRun`. Import: `MaxImportDeletionsPerPass` (per mailbox pass, same semantics: over the
budget nothing is removed, the delta link is kept so the same removals come back, an alert is raised).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

from shared.admin.status import build_status
from shared.graph.models import GraphEvent
from shared.jobs import export
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets
from shared.store.admin import USER_MAPPINGS, USER_PARTITION
from shared.sync.importing.engine import import_mailbox
from tests.importing.world import NOW, ImportWorld, at
from tests.proof import ledger
from tests.sync.world import World

USERS = ("u1", "u2", "u3")


def exported_world(per_user: int = 4, **settings: object) -> World:
    world = World.build(USERS)
    for name, value in {"OnUserOutOfScope": "Remove event", "MaxDeletionsPerRun": 5, **settings}.items():
        world.setting(name, value)
    for user in USERS:
        for n in range(per_user):
            day = dt.date(2027, 3, 1 + n)
            world.booking(f"{user}-{n}", user, day, day)
    asyncio.run(world.run())
    assert sum(len(world.events(u)) for u in USERS) == len(USERS) * per_user
    return world


def services_over(world: World) -> Services:
    return Services({}, EnvironmentSecrets({}), _store=world.store, _openair=world.openair,  # type: ignore[arg-type]
                    _calendar=world.calendar)  # type: ignore[arg-type]  # fmt: skip


def event_count(world: World) -> int:
    return sum(len(v) for u in USERS for v in world.events(u).values())


def timer_run(world: World) -> export.ExportRunResult:
    world.openair.clock += dt.timedelta(minutes=30)
    return asyncio.run(export.run_export_timer(services_over(world)))


def test_openair_reading_empty_deletes_nothing() -> None:
    """An outage that answers every read with nothing (no records, no deletions): absence is never a deletion."""
    world = exported_world()
    before = event_count(world)
    world.openair.records.clear()  # everything gone from the reads, nothing reported deleted
    result = timer_run(world)
    for message in result.messages:
        asyncio.run(export.run_export_mailbox(services_over(world), message))
    assert event_count(world) == before
    assert result.run.status == "ok"
    ledger.scenario("deletion guard: OpenAir reads empty")


def test_mapping_table_emptied_is_blocked_over_the_budget_with_an_alert_in_status_and_the_run() -> None:
    world = exported_world()
    before = event_count(world)
    for user in USERS:
        world.tables.delete(USER_MAPPINGS, USER_PARTITION, user)
    result = timer_run(world)
    assert result.run.status == "blocked"
    assert result.run.alerts
    assert "Deletion guard" in result.run.alerts[0]
    for message in result.messages:
        asyncio.run(export.run_export_mailbox(services_over(world), message))
    assert event_count(world) == before, "no event deleted beyond the budget"
    status = build_status(world.store)
    assert not status.healthy
    assert any("MaxDeletionsPerRun" in a for a in status.alerts)
    ledger.scenario("deletion guard: mapping table emptied")

    # The admin restores the table: nothing was lost, the next run is quiet and healthy again.
    for user in USERS:
        world.map_user(user)
    result = timer_run(world)
    assert result.run.status == "ok"
    assert event_count(world) == before


def test_openair_reporting_everything_deleted_is_blocked() -> None:
    world = exported_world()
    before = event_count(world)
    for booking in world.openair.all("Booking"):
        world.openair.delete("Booking", booking.id)
    result = timer_run(world)
    assert result.run.status == "blocked"
    assert event_count(world) == before
    # Raising the budget for one run lets the (confirmed) deletions through, all at once.
    world.setting("MaxDeletionsPerRun", 1000)
    result = timer_run(world)
    for message in result.messages:
        asyncio.run(export.run_export_mailbox(services_over(world), message))
    assert event_count(world) == 0
    ledger.scenario("deletion guard: OpenAir reports every record deleted")


def test_deletions_within_the_budget_go_through() -> None:
    world = exported_world()
    world.openair.delete("Booking", "u1-0")
    world.openair.delete("Booking", "u2-1")
    result = timer_run(world)
    for message in result.messages:
        asyncio.run(export.run_export_mailbox(services_over(world), message))
    assert result.run.status == "ok"
    assert event_count(world) == len(USERS) * 4 - 2


# ---------------------------------------------------------------- import


class VanishingMailbox:
    """A delta that reports every event removed, while a read of each finds nothing (a mailbox restore gone
    wrong, a calendar moved): the worst case, where each removal looks confirmed."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.vanished = False

    async def delta(self, mailbox_id: str, start: dt.datetime, end: dt.datetime, link: str | None) -> object:
        result = await self.inner.delta(mailbox_id, start, end, link)  # type: ignore[attr-defined]
        if not self.vanished:
            return result
        ids = [e.id for e in self.inner.own.get(mailbox_id, {}).values()]  # type: ignore[attr-defined]
        return type(result)(events=(), removed_ids=tuple(ids), delta_link=result.delta_link)

    async def get_event(self, mailbox_id: str, event_id: str) -> GraphEvent | None:
        if self.vanished:
            return None
        return await self.inner.get_event(mailbox_id, event_id)  # type: ignore[attr-defined,no-any-return]

    async def get_events(self, mailbox_id: str, event_ids: Sequence[str]) -> dict[str, GraphEvent | None]:
        if self.vanished:
            return dict.fromkeys(event_ids)
        return await self.inner.get_events(mailbox_id, event_ids)  # type: ignore[attr-defined,no-any-return]


def importing_world(budget: int) -> tuple[ImportWorld, VanishingMailbox]:
    w = ImportWorld.build(("u1",), OnOutlookDeletion="Delete bookings created from Outlook",
                          MaxImportDeletionsPerPass=budget)  # fmt: skip
    for n in range(6):
        w.create(id=f"own-{n}", subject=f"Meeting {n}", start=at(5 + n), end=at(5 + n, 11))
    reader = VanishingMailbox(w.calendar)
    return w, reader


async def _pass(w: ImportWorld, reader: VanishingMailbox, minutes: int) -> object:
    return await import_mailbox("u1", store=w.world.store, calendar=reader, bookings=w.bookings,  # type: ignore[arg-type]
                                now=NOW + dt.timedelta(minutes=minutes))  # fmt: skip


def test_a_delta_reporting_everything_removed_deletes_no_booking_beyond_the_import_budget() -> None:
    w, reader = importing_world(budget=3)
    asyncio.run(_pass(w, reader, 0))
    assert len(w.imported()) == 6
    reader.vanished = True
    report = asyncio.run(_pass(w, reader, 1))
    assert len(w.imported()) == 6, "no booking deleted"
    assert report.deletions_blocked == 6  # type: ignore[attr-defined]
    assert report.alerts  # type: ignore[attr-defined]
    assert "MaxImportDeletionsPerPass (3)" in report.alerts[0]  # type: ignore[attr-defined]
    row = w.mapping_row()
    assert str(row["LastError"]).startswith("Import: Deletion guard")
    # The delta link was kept: the next pass sees the same removals and is blocked again (nothing is forgotten).
    again = asyncio.run(_pass(w, reader, 2))
    assert again.deletions_blocked == 6  # type: ignore[attr-defined]
    assert len(w.imported()) == 6
    ledger.scenario("deletion guard: delta reports every event removed")

    # The administrator confirms: a higher budget lets the pass through, and the error clears.
    w.world.setting("MaxImportDeletionsPerPass", 10)
    confirmed = asyncio.run(_pass(w, reader, 3))
    assert confirmed.deleted == 6  # type: ignore[attr-defined]
    assert w.imported() == []
    assert not w.mapping_row().get("LastError")


def test_import_deletions_within_the_budget_go_through_and_zero_blocks_all() -> None:
    w, reader = importing_world(budget=3)
    asyncio.run(_pass(w, reader, 0))
    w.calendar.user_delete("mbx-u1", "own-0")
    w.calendar.user_delete("mbx-u1", "own-1")
    report = asyncio.run(_pass(w, reader, 1))
    assert report.deleted == 2  # type: ignore[attr-defined]
    assert len(w.imported()) == 4
    w.world.setting("MaxImportDeletionsPerPass", 0)
    w.calendar.user_delete("mbx-u1", "own-2")
    report = asyncio.run(_pass(w, reader, 2))
    assert report.deleted == 0  # type: ignore[attr-defined]
    assert report.deletions_blocked == 1  # type: ignore[attr-defined]
    assert len(w.imported()) == 4
