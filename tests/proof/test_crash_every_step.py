"""The function process killed between any two writes, for every N: the next invocation converges.

Export: the timer's plan and each mailbox worker write Outbox, Links, Cursors, UserState, leases and Graph
batches. Import: a delta pass writes the lease, intent rows, OpenAir Adds/Modifies/Deletes, links, the delta
link. A reference world runs the same story without a kill; for every write number N of the faulty step, a world
killed just before write N (and dead afterwards: leases left held) must end, after the lease expires and the
next invocation, exactly as the reference: same events (or bookings), no duplicates, nothing lost, nothing
deleted that the reference kept.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

import shared.store.lease
from shared.sync.importing.engine import import_mailbox
from shared.sync.importing.rules import IMPORT_EXTERNALID_PREFIX
from tests.importing.world import NOW, ImportWorld, at
from tests.proof import ledger
from tests.proof.crash import KillableBookings, KillableMailboxes, KillableTables, Killer, ProcessKilled
from tests.sync.world import World

USERS = ("u1", "u2", "u3")


# ---------------------------------------------------------------- export


def export_world(killer: Killer) -> World:
    world = World.build(())
    world.tables = KillableTables(killer)
    calendar = KillableMailboxes()
    calendar.killer = killer
    world.calendar = calendar
    for user in USERS:
        world.map_user(user)
    world.setting("OnUserOutOfScope", "Remove event")
    day = dt.date(2027, 3, 8)
    world.booking("b1", "u1", day, day + dt.timedelta(days=2), booking_typeid="bt-busy",
                  starttime=dt.datetime(2027, 3, 8, 9), endtime=dt.datetime(2027, 3, 8, 12))  # fmt: skip
    world.booking("b2", "u1", day, day)
    world.booking("b3", "u2", day, day + dt.timedelta(days=20), booking_typeid="bt-oof")
    world.booking("b4", "u3", day, day, booking_typeid="bt-none")
    world.assignment("a1", "u2")
    world.time_off("s1", "u3", [day, day + dt.timedelta(days=1)])
    return world


def export_edits(world: World) -> None:
    """What happened in OpenAir between the clean run and the run that is killed."""
    world.openair.edit("Booking", "b1", hours=5.0)
    world.openair.delete("Booking", "b2")
    world.booking("b5", "u2", dt.date(2027, 3, 27), dt.date(2027, 3, 29))  # across the EU DST change
    world.openair.edit("Booking", "b4", booking_typeid="bt-free")  # comes into scope
    world.openair.edit("Projecttaskassign", "a1", planned_hours=0.0)  # goes out of scope
    world.map_user("u3", ExportScheduleRequests=False)  # a record type switched off, events removed


def mailbox_snapshot(world: World) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for user in USERS:
        events = world.events(user)
        duplicates = {k: len(v) for k, v in events.items() if len(v) > 1}
        assert not duplicates, f"duplicate events in {user}'s mailbox: {duplicates}"
        out[user] = {k: v[0].draft for k, v in events.items()}
    return out


def later_leases(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next invocation comes after the dead worker's leases expired."""
    monkeypatch.setattr(shared.store.lease, "_now", lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))


def _export_reference() -> tuple[dict[str, dict[str, Any]], int]:
    killer = Killer()
    world = export_world(killer)
    asyncio.run(world.run())
    export_edits(world)
    before = killer.writes
    asyncio.run(world.run())
    return mailbox_snapshot(world), killer.writes - before


EXPORT_REFERENCE, EXPORT_WRITES = _export_reference()


def crash_points(total: int) -> list[int]:
    """Every write, plus one past the end (the kill after the last write, before the invocation returned)."""
    return list(range(1, total + 2))


@pytest.mark.parametrize("n", crash_points(EXPORT_WRITES))
def test_export_killed_before_write_n_converges(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    killer = Killer()
    world = export_world(killer)
    asyncio.run(world.run())
    assert mailbox_snapshot(world)  # the clean first run wrote something
    export_edits(world)
    killer.at = killer.writes + n
    killed = _run_killed(lambda: asyncio.run(world.run()))
    ledger.fault("process killed between writes (export)", int(killed))
    killer.revive()
    later_leases(monkeypatch)
    asyncio.run(world.run(swallow=False))
    asyncio.run(world.run(swallow=False))
    assert mailbox_snapshot(world) == EXPORT_REFERENCE
    assert all(not world.store.outbox(u) for u in world.store.outbox_users()), "every outbox entry settled"
    ledger.scenario("export killed at write N")


def _run_killed(step: Callable[[], object]) -> bool:
    try:
        step()
    except ProcessKilled:
        return True
    return False


def test_the_export_story_has_enough_writes_to_be_worth_killing() -> None:
    assert EXPORT_WRITES >= 10


# ---------------------------------------------------------------- import


def import_world(killer: Killer) -> ImportWorld:
    w = ImportWorld.build(("u1",), OnOutlookDeletion="Delete bookings created from Outlook",
                          ConflictResolution="Exchange wins")  # fmt: skip
    tables = KillableTables(killer)
    tables.__dict__.update({k: v for k, v in w.world.tables.__dict__.items() if k != "killer"})
    w.world.tables = tables
    w.calendar.__class__ = KillableMailboxes
    w.calendar.killer = killer  # type: ignore[attr-defined]
    bookings = KillableBookings(w.world.openair)
    bookings.killer = killer
    w.bookings = bookings
    for n, day in enumerate((5, 6, 7, 8), start=1):
        w.create(id=f"own-{n}", subject=f"Client call {n}", start=at(day, 10), end=at(day, 12))
    return w


def import_edits(w: ImportWorld) -> None:
    w.calendar.user_edit("mbx-u1", "own-1", end=at(5, 15))  # longer in Outlook
    w.calendar.user_delete("mbx-u1", "own-2")  # deleted in Outlook: policy deletes its booking
    w.create(id="own-5", subject="Workshop", start=at(20, 9), end=at(20, 17))
    w.calendar.user_edit("mbx-u1", "own-3", subject="Client call 3 (moved)")
    booking = next(b for b in w.imported() if b.notes == "Client call 4")
    w.world.openair.edit("Booking", booking.id, notes="Agenda sent")  # edited in OpenAir meanwhile


def bookings_snapshot(w: ImportWorld) -> dict[str, tuple[Any, ...]]:
    imported = w.imported()
    ids = [b.externalid for b in imported]
    assert len(ids) == len(set(ids)), f"duplicate imported bookings: {sorted(ids)}"
    assert all(b.externalid.startswith(IMPORT_EXTERNALID_PREFIX) for b in imported)
    return {b.externalid: (b.startdate, b.enddate, b.starttime, b.endtime, b.hours, b.notes) for b in imported}


async def _pass(w: ImportWorld, now: dt.datetime) -> None:
    await import_mailbox("u1", store=w.world.store, calendar=w.calendar, bookings=w.bookings, now=now)


def _import_reference() -> tuple[dict[str, tuple[Any, ...]], int]:
    killer = Killer()
    w = import_world(killer)
    asyncio.run(_pass(w, NOW))
    import_edits(w)
    before = killer.writes
    asyncio.run(_pass(w, NOW + dt.timedelta(minutes=1)))
    return bookings_snapshot(w), killer.writes - before


IMPORT_REFERENCE, IMPORT_WRITES = _import_reference()


@pytest.mark.parametrize("n", crash_points(IMPORT_WRITES))
def test_import_killed_before_write_n_converges(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    killer = Killer()
    w = import_world(killer)
    asyncio.run(_pass(w, NOW))
    import_edits(w)
    killer.at = killer.writes + n
    killed = _run_killed(lambda: asyncio.run(_pass(w, NOW + dt.timedelta(minutes=1))))
    ledger.fault("process killed between writes (import)", int(killed))
    killer.revive()
    later_leases(monkeypatch)
    # The dead worker's delta lease expires after 5 minutes: the next pass comes after that.
    asyncio.run(_pass(w, NOW + dt.timedelta(minutes=7)))
    asyncio.run(_pass(w, NOW + dt.timedelta(minutes=8)))
    assert bookings_snapshot(w) == IMPORT_REFERENCE
    ledger.scenario("import killed at write N")


def test_the_import_story_deletes_creates_and_merges() -> None:
    assert IMPORT_WRITES >= 8
    notes = {v[5] for v in IMPORT_REFERENCE.values()}
    assert "Workshop" in notes
    assert "Client call 2" not in notes  # deleted in Outlook, deleted by the policy
    assert len(IMPORT_REFERENCE) == 4
