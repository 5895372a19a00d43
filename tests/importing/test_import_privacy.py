"""ImportPrivateEvents holds on every change, not only on the first import: an imported event made private later
never leaves its subject in the booking's notes."""

from __future__ import annotations

import datetime as dt

from tests.importing.world import ImportWorld, at


async def _imported_then_private(w: ImportWorld) -> str:
    event = w.create(subject="Interview with Contoso's CFO", start=at(10, 9), end=at(10, 11))
    await w.sync()
    assert w.one_imported().notes == "Interview with Contoso's CFO"
    w.calendar.user_edit("mbx-u1", event.id, sensitivity="private")
    await w.sync()
    return str(event.id)


async def test_made_private_with_private_import_off_hides_the_subject_and_stops_importing() -> None:
    w = ImportWorld.build()  # ImportPrivateEvents off, OnOutlookDeletion Ignore: the booking stays
    event_id = await _imported_then_private(w)
    booking = w.one_imported()
    assert booking.notes == "Private appointment"
    assert booking.hours == 2.0

    w.calendar.user_edit("mbx-u1", event_id, end=at(10, 12))  # a private event is not imported any more
    await w.sync()
    assert w.one_imported().hours == 2.0
    assert w.one_imported().notes == "Private appointment"


async def test_made_private_follows_on_outlook_deletion() -> None:
    w = ImportWorld.build(OnOutlookDeletion="Delete bookings created from Outlook")
    await _imported_then_private(w)
    assert w.imported() == []


async def test_made_private_with_private_import_on_keeps_importing_without_the_subject() -> None:
    w = ImportWorld.build(ImportPrivateEvents=True)
    event_id = await _imported_then_private(w)
    assert w.one_imported().notes == "Private appointment"
    w.calendar.user_edit("mbx-u1", event_id, end=at(10, 12))
    await w.sync()
    assert w.one_imported().hours == 3.0
    assert w.one_imported().notes == "Private appointment"


async def test_notes_written_in_openair_since_are_not_the_subject_and_stay() -> None:
    w = ImportWorld.build()
    event = w.create(subject="Dentist", start=at(11, 9), end=at(11, 10))
    await w.sync()
    booking = w.one_imported()
    w.world.openair.edit("Booking", booking.id, notes="Cover arranged with Sam",
                         updated=w.world.openair.clock + dt.timedelta(minutes=1))  # fmt: skip
    w.calendar.user_edit("mbx-u1", event.id, sensitivity="private")
    await w.sync()
    assert w.one_imported().notes == "Cover arranged with Sam"
