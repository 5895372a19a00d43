"""Each import rule and setting, against the in-memory tenant (events made by a person in Outlook)."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.openair.models import User
from tests.importing.world import ImportWorld, at

D = dt.date


async def test_a_timed_event_becomes_a_booking_of_its_hours_in_the_users_zone() -> None:
    w = ImportWorld.build()
    w.world.map_user("u1", Import=True, OpenAirTimeZone="America/New_York")
    w.create(subject="Client workshop", start=at(10, 14), end=at(10, 17, 30))
    report = await w.sync()
    booking = w.one_imported()
    assert report.created == 1
    assert (booking.startdate, booking.starttime, booking.endtime) == (
        D(2026, 11, 10), dt.datetime(2026, 11, 10, 9, 0), dt.datetime(2026, 11, 10, 12, 30)
    )  # fmt: skip
    assert booking.hours == 3.5
    assert (booking.booking_typeid, booking.projectid, booking.userid) == ("bt-free", "p1", "u1")
    assert booking.notes == "Client workshop"


async def test_an_all_day_event_becomes_a_100_percent_allocation() -> None:
    w = ImportWorld.build()
    w.create(subject="Onsite", start=at(16, 0), end=at(19, 0), is_all_day=True)
    await w.sync()
    booking = w.one_imported()
    assert (booking.startdate, booking.enddate) == (D(2026, 11, 16), D(2026, 11, 18))
    assert (booking.percentage, booking.as_percentage, booking.hours, booking.starttime) == (100.0, True, None, None)


async def test_the_users_custom_fields_win_over_the_global_defaults() -> None:
    w = ImportWorld.build()
    w.world.openair.put(User(id="u1", exch_default_booking_type="bt-busy", exch_default_project="p9"))
    w.create()
    await w.sync()
    booking = w.one_imported()
    assert (booking.booking_typeid, booking.projectid) == ("bt-busy", "p9")


async def test_a_missing_default_is_a_clear_user_error_and_the_event_is_imported_once_fixed() -> None:
    w = ImportWorld.build(DefaultProjectId="")
    w.create()
    report = await w.sync()
    assert w.imported() == []
    assert report.errors
    assert "no project" in report.errors[0]
    assert "exchDefault_project" in w.mapping_row()["LastError"]
    w.world.setting("DefaultProjectId", "p1")
    report = await w.sync()  # the delta link was held back: the same event comes again
    assert report.created == 1
    assert w.mapping_row()["LastError"] == ""


@pytest.mark.parametrize(("skip_free", "imported"), [(True, 0), (False, 1)])
async def test_free_events_are_skipped_unless_the_setting_is_off(skip_free: bool, imported: int) -> None:
    w = ImportWorld.build(SkipFreeEvents=skip_free)
    w.create(show_as="free")
    await w.sync()
    assert len(w.imported()) == imported


async def test_private_events_are_skipped_by_default_and_imported_without_subject_when_on() -> None:
    w = ImportWorld.build()
    w.create(subject="Doctor", sensitivity="private")
    await w.sync()
    assert w.imported() == []

    w2 = ImportWorld.build(ImportPrivateEvents=True)
    w2.create(subject="Doctor", body="details", sensitivity="private")
    await w2.sync()
    assert w2.one_imported().notes == "Private appointment"


async def test_cancelled_and_declined_events_are_not_imported() -> None:
    w = ImportWorld.build()
    w.create(is_cancelled=True)
    w.create(response="declined")
    report = await w.sync()
    assert w.imported() == []
    assert report.skipped["cancelled"] == 1
    assert report.skipped["declined"] == 1


async def test_only_events_created_or_modified_after_sync_events_after() -> None:
    w = ImportWorld.build(SyncEventsAfter="2026-10-01")
    w.create(subject="old", created=at(1, month=9), last_modified=at(2, month=9))
    w.create(subject="touched", created=at(1, month=9), last_modified=at(2, month=10))
    await w.sync()
    assert [b.notes for b in w.imported()] == ["touched"]


async def test_import_off_globally_or_for_the_user_reads_nothing() -> None:
    w = ImportWorld.build(ImportEnabled=False)
    w.create()
    await w.sync()
    w.world.setting("ImportEnabled", True)
    w.world.map_user("u1", Import=False)
    await w.sync()
    assert w.imported() == []
    assert w.calendar.requests == 0


async def test_an_edit_in_outlook_updates_the_booking_and_a_replay_writes_nothing() -> None:
    w = ImportWorld.build()
    event = w.create(subject="Review", start=at(10, 9), end=at(10, 10))
    await w.sync()
    w.calendar.user_edit("mbx-u1", event.id, end=at(10, 12), subject="Long review")
    report = await w.sync()
    booking = w.one_imported()
    assert report.updated == 1
    assert (booking.hours, booking.notes) == (3.0, "Long review")
    requests = w.bookings.requests_made
    w.calendar.expire_delta_tokens()  # the next pass re-lists everything
    report = await w.sync()
    assert report.restarted == 1
    assert w.bookings.requests_made == requests  # every event recognised by its change key
    assert len(w.imported()) == 1


async def test_a_subject_with_control_characters_is_imported_once_as_openair_can_hold_it() -> None:
    """The notes drop what XML 1.0 cannot carry (the OpenAir client would drop it too); the link records the same
    text, so the next pass finds the booking as it left it and writes nothing."""
    w = ImportWorld.build()
    event = w.create(subject="Quarterly\x07 review\x00\x1b[0m")
    assert (await w.sync()).created == 1
    assert w.one_imported().notes == "Quarterly review[0m"
    w.calendar.user_edit(w.mailbox(), event.id, subject="Quarterly\x07 review\x00\x1b[0m")  # seen again
    again = await w.sync()
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
