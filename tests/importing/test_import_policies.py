"""Deletions (per OnOutlookDeletion), recurring series, expired delta links, crashes, leases, concurrency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest

from shared.graph.errors import GraphThrottled
from shared.openair.bookings import BookingWritten
from shared.openair.models import Booking
from shared.store.importing import Covered, DeltaCursor
from shared.sync.importing.engine import LEASE
from tests.importing.world import NOW, ImportWorld, at
from twins.bookings import MemoryBookings
from twins.graph_delta import throttle_once

D = dt.date
POLICIES = ["Ignore", "Delete bookings created from Outlook", "Delete booking regardless of origin",
            "Change booking type"]  # fmt: skip


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("how", ["deleted", "declined"])
async def test_an_imported_events_deletion_follows_the_policy(policy: str, how: str) -> None:
    w = ImportWorld.build(OnOutlookDeletion=policy, DeletedBookingTypeId="bt-none")
    event = w.create()
    await w.sync()
    booking_id = w.one_imported().id
    if how == "deleted":
        w.calendar.user_delete("mbx-u1", event.id)  # a hard delete: delta says @removed
    else:
        w.calendar.user_edit("mbx-u1", event.id, response="declined")
    await w.sync()
    left = {b.id: b for b in w.imported()}
    if policy == "Ignore":
        assert left[booking_id].booking_typeid == "bt-free"
    elif policy == "Change booking type":
        assert left[booking_id].booking_typeid == "bt-none"
    else:
        assert left == {}
        assert f"booking:{booking_id}" not in w.world.store.links("u1")


@pytest.mark.parametrize(("policy", "kept"), [(p, p in ("Ignore", "Delete bookings created from Outlook"))
                                              for p in POLICIES if p != "Change booking type"])  # fmt: skip
async def test_an_exported_bookings_event_deleted_in_outlook_follows_the_policy(policy: str, kept: bool) -> None:
    w = ImportWorld.build(OnOutlookDeletion=policy)
    w.world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 23))
    await w.world.run()
    (event,) = w.calendar.events("mbx-u1")
    await w.sync()  # the first pass sees our own export: nothing to import
    assert w.imported() == []
    w.calendar.user_delete("mbx-u1", event.id)
    await w.sync()
    assert ("b1" in {b.id for b in w.world.openair.all("Booking")}) is kept


async def test_a_removed_item_still_readable_moved_out_of_the_window_is_not_a_deletion() -> None:
    w = ImportWorld.build(OnOutlookDeletion="Delete booking regardless of origin")
    event = w.create(start=at(10), end=at(10, 11))
    await w.sync()
    w.calendar.user_edit("mbx-u1", event.id, start=at(10, 9, month=9), end=at(10, 10, month=9))
    report = await w.sync()
    assert report.deleted == 0
    # Read back, found outside the window the import watches: neither a deletion nor an edit to import.
    assert report.skipped["outside the import window"] == 1
    assert w.one_imported().startdate == D(2026, 11, 10)


async def test_each_occurrence_of_a_series_is_its_own_booking_with_exceptions_honoured() -> None:
    w = ImportWorld.build(OnOutlookDeletion="Delete bookings created from Outlook")
    series = w.calendar.user_series("mbx-u1", at(9, 15), 1.0, 4, dt.timedelta(days=7), subject="Weekly sync")
    await w.sync()
    assert sorted(b.startdate for b in w.imported()) == [D(2026, 11, 9), D(2026, 11, 16), D(2026, 11, 23),
                                                         D(2026, 11, 30)]  # fmt: skip
    w.calendar.user_edit("mbx-u1", series[1].id, end=at(16, 17))  # an exception: two hours that week
    w.calendar.user_delete("mbx-u1", series[2].id)  # one occurrence cancelled
    await w.sync()
    by_day = {b.startdate: b for b in w.imported()}
    assert sorted(by_day) == [D(2026, 11, 9), D(2026, 11, 16), D(2026, 11, 30)]
    assert by_day[D(2026, 11, 16)].hours == 2.0
    w.calendar.user_delete_series("mbx-u1", series[0].series_master_id or "")
    await w.sync()
    assert w.imported() == []


async def test_an_expired_delta_link_restarts_without_deleting_or_duplicating() -> None:
    w = ImportWorld.build(OnOutlookDeletion="Delete booking regardless of origin")
    w.create()
    w.create(start=at(11), end=at(11, 12))
    await w.sync()
    w.calendar.expire_delta_tokens()
    report = await w.sync()
    assert report.restarted == 1
    assert (report.deleted, report.created) == (0, 0)
    assert len(w.imported()) == 2


class CrashAfterAdd(MemoryBookings):
    """OpenAir made the booking, but the answer never arrived."""

    crashes: int = 1

    async def add_booking(self, booking: Booking) -> BookingWritten:
        written = await super().add_booking(booking)
        if self.crashes:
            self.crashes -= 1
            raise ConnectionError("answer lost")
        return written


async def test_a_crash_after_the_add_replays_into_the_same_booking() -> None:
    w = ImportWorld.build()
    w.bookings = CrashAfterAdd(w.world.openair)
    w.create()
    with pytest.raises(ConnectionError):
        await w.sync()
    report = await w.sync()
    assert report.created == 1
    assert len(w.imported()) == 1


async def test_throttling_keeps_the_delta_link_and_the_retry_finishes() -> None:
    w = ImportWorld.build()
    w.create()
    await w.sync()
    w.create(start=at(12), end=at(12, 10))
    w.calendar.fault_read = throttle_once()
    with pytest.raises(GraphThrottled):
        await w.sync()
    assert w.world.store.imports.delta_cursor("u1").holder == ""  # the lease was given back
    await w.sync()
    assert len(w.imported()) == 2


async def test_a_busy_mailbox_asks_its_holder_for_one_more_pass() -> None:
    w = ImportWorld.build()
    imports = w.world.store.imports
    held = imports.acquire("u1", "other-worker", NOW, LEASE)
    assert isinstance(held, DeltaCursor)
    report = await w.sync()
    assert report.busy
    assert w.calendar.requests == 0
    again = imports.release(held, delta_link=None)
    assert again is not None  # pending: the holder runs another pass
    assert imports.release(again, delta_link=None) is None
    assert imports.acquire("u1", "third", NOW + LEASE + dt.timedelta(seconds=1), LEASE) is not None


async def test_an_expired_lease_of_a_crashed_worker_is_taken_over() -> None:
    w = ImportWorld.build()
    w.world.store.imports.acquire("u1", "crashed", NOW - 2 * LEASE, LEASE)
    w.create()
    report = await w.sync()
    assert report.created == 1


class EditedMeanwhile(MemoryBookings):
    """Someone edits the booking in OpenAir between our read and our ModifyOnCondition, once."""

    edits: int = 1

    async def modify_booking(
        self, booking_id: str, changes: Mapping[str, Any], not_updated_since: dt.datetime
    ) -> BookingWritten:
        if self.edits:
            self.edits -= 1
            self.openair.edit("Booking", booking_id, booking_typeid="bt-busy")
        return await super().modify_booking(booking_id, changes, not_updated_since)


async def test_a_booking_changed_meanwhile_is_re_read_not_overwritten() -> None:
    w = ImportWorld.build()
    event = w.create(start=at(10, 9), end=at(10, 10))
    await w.sync()
    w.bookings = EditedMeanwhile(w.world.openair)
    w.calendar.user_edit("mbx-u1", event.id, end=at(10, 11))
    await w.sync()
    booking = w.one_imported()
    assert (booking.hours, booking.booking_typeid) == (2.0, "bt-busy")


async def test_outlook_edits_to_task_assignment_and_time_off_events_are_not_imported() -> None:
    w = ImportWorld.build()
    w.world.assignment("a1", "u1")
    w.world.time_off("r1", "u1", [D(2026, 11, 20)])
    await w.world.run()
    for event in w.calendar.events("mbx-u1"):
        w.calendar.user_edit("mbx-u1", event.id, start=at(25, 8), end=at(25, 9))
    report = await w.sync()
    assert report.skipped["OpenAir-owned mirror"] == 2
    assert w.imported() == []
    assert w.bookings.requests_made == 0


async def test_a_burst_of_notifications_for_one_mailbox_costs_one_pass() -> None:
    """A pass that began reading after a notification arrived covers it: the burst's later messages run nothing."""
    w = ImportWorld.build()
    w.create(subject="Workshop")
    clock = iter(NOW + dt.timedelta(seconds=s) for s in range(100))
    arrived = [NOW - dt.timedelta(milliseconds=ms) for ms in (30, 20, 10)]  # three notifications, then the passes
    reports = [await w.sync(notified=t, clock=lambda: next(clock)) for t in arrived]
    assert [(r.passes, r.covered) for r in reports] == [(1, False), (0, True), (0, True)]
    assert len(w.imported()) == 1
    # A change notified after that pass began gets its own pass.
    w.create(subject="Review")
    late = await w.sync(notified=NOW + dt.timedelta(seconds=50), clock=lambda: next(clock))
    assert (late.passes, late.created) == (1, 1)


async def test_a_notification_arriving_during_a_running_pass_that_began_after_it_needs_nothing_more() -> None:
    w = ImportWorld.build()
    imports = w.world.store.imports
    running = imports.acquire("u1", "other-worker", NOW, LEASE, started=NOW + dt.timedelta(seconds=5))
    assert isinstance(running, DeltaCursor)
    covered = imports.acquire("u1", "me", NOW, LEASE, notified=NOW + dt.timedelta(seconds=1))
    assert isinstance(covered, Covered)
    busy = imports.acquire("u1", "me", NOW, LEASE, notified=NOW + dt.timedelta(seconds=9))
    assert busy is None  # notified after the running pass began: the holder is asked for one more
    assert imports.release(running, delta_link="link-1", next_start=NOW + dt.timedelta(seconds=20)) is not None
