"""Echo suppression in both directions, on one calendar shared by the export and the import."""

from __future__ import annotations

import datetime as dt

from shared.domain.events import CreateEvent, EventDraft
from shared.domain.links import LinkState
from shared.sync.decide import new_link
from tests.importing.world import ImportWorld, at

D = dt.date


async def test_export_then_import_creates_no_booking_for_our_own_events() -> None:
    w = ImportWorld.build()
    w.world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 24))
    w.world.assignment("a1", "u1")
    await w.world.run()
    assert len(w.calendar.events("mbx-u1")) == 2
    report = await w.sync()
    assert report.echoes == 2
    assert w.imported() == []
    assert w.bookings.requests_made == 0


async def test_an_export_create_whose_answer_is_not_recorded_yet_is_recognised_by_transaction_id() -> None:
    w = ImportWorld.build()
    link = new_link("u1", "booking:b9", "mbx-u1", 0)
    w.world.store.put_links([link])  # the export stored its intent, sent the create, and has not heard back
    draft = EventDraft(openair_key="openair:booking:b9", subject="OA Booking", body="", start=dt.datetime(2026, 11, 12),
                       end=dt.datetime(2026, 11, 13), time_zone="UTC", is_all_day=True, show_as="busy")  # fmt: skip
    await w.calendar.apply("mbx-u1", [CreateEvent(draft=draft, transaction_id=link.transaction_id)])
    assert w.world.store.links("u1")["booking:b9"].state is LinkState.CREATING
    report = await w.sync()
    assert report.echoes == 1
    assert w.imported() == []


async def test_an_event_stamped_by_us_without_a_link_is_not_imported() -> None:
    w = ImportWorld.build()
    draft = EventDraft(openair_key="openair:booking:b7", subject="OA Booking", body="", start=dt.datetime(2026, 11, 12),
                       end=dt.datetime(2026, 11, 13), time_zone="UTC", is_all_day=True, show_as="busy")  # fmt: skip
    await w.calendar.apply("mbx-u1", [CreateEvent(draft=draft, transaction_id="lost-link")])
    report = await w.sync()
    assert report.echoes == 1
    assert w.imported() == []


async def test_import_then_export_never_writes_over_or_deletes_the_persons_event() -> None:
    w = ImportWorld.build()
    event = w.create(subject="My own meeting", start=at(10, 9), end=at(10, 10))
    await w.sync()
    booking = w.one_imported()
    writes = w.calendar.writes
    plan = await w.world.run()
    assert w.calendar.writes == writes
    assert plan.counts.get("imported_from_outlook") == 1
    w.world.openair.edit("Booking", booking.id, notes="Changed by a resource manager")
    await w.world.run()
    w.world.openair.delete("Booking", booking.id)
    await w.world.run()
    assert w.calendar.writes == writes
    assert w.calendar.own["mbx-u1"][event.id].subject == "My own meeting"
    # The booking deleted in OpenAir is not brought back by the next edit in Outlook.
    w.calendar.user_edit("mbx-u1", event.id, end=at(10, 11))
    report = await w.sync()
    assert w.imported() == []
    assert report.skipped["booking deleted in OpenAir"] == 1


async def test_the_exports_write_back_after_a_merge_is_not_imported_again() -> None:
    w = ImportWorld.build()
    w.world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 23), starttime=dt.datetime(2026, 11, 23, 9),
                    endtime=dt.datetime(2026, 11, 23, 17))  # fmt: skip
    await w.world.run()
    (event,) = w.calendar.events("mbx-u1")
    w.calendar.user_edit("mbx-u1", event.id, start=at(23, 10), end=at(23, 12))
    await w.sync()
    writes = w.calendar.writes
    await w.world.run()  # the booking changed: the export renders it again (same times, its own subject)
    assert w.calendar.writes == writes + 1
    requests = w.bookings.requests_made
    report = await w.sync()
    assert report.echoes == 1
    assert w.bookings.requests_made == requests
    (event,) = w.calendar.events("mbx-u1")
    assert (event.draft.start, event.draft.end) == (dt.datetime(2026, 11, 23, 10), dt.datetime(2026, 11, 23, 12))
