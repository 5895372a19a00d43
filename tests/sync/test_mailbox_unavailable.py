"""A mailbox that answers a mailbox-level 404 (licence removed, user deleted) is not a mailbox whose events were
deleted: links and pending work are kept, the user is marked, and everything is done once the mailbox is back."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.kinds import RecordKind
from shared.store.admin import USER_MAPPINGS, USER_PARTITION
from tests.sync.world import World

D = dt.date
CODES = ["MailboxNotEnabledForRESTAPI", "ErrorInvalidUser", "ResourceNotFound"]


def last_error(world: World, user: str = "u1") -> str:
    row = world.tables.get(USER_MAPPINGS, USER_PARTITION, user)
    assert row is not None
    return str(row.columns.get("LastError", ""))


@pytest.mark.parametrize("code", CODES)
async def test_a_deletion_waits_for_the_mailbox_instead_of_dropping_its_link(code: str) -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    await world.run()
    world.calendar.take_away("mbx-u1", code)
    world.openair.delete("Booking", "b1")

    await world.run()
    assert "booking:b1" in world.store.links("u1"), "the link is the only way to find the event later"
    assert [e.key for e in world.store.outbox("u1")] == ["booking:b1"]
    assert "Mailbox unavailable" in last_error(world)
    assert code in last_error(world)

    world.calendar.give_back("mbx-u1")
    assert set(world.events("u1")) == {"openair:booking:b1"}  # Exchange kept it while the licence was away
    await world.run()
    assert world.events("u1") == {}
    assert world.store.links("u1") == {}
    assert world.store.outbox("u1") == []
    assert last_error(world) == ""


async def test_an_update_waits_and_is_never_recreated_as_a_second_event() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    await world.run()
    event_id = world.event("u1", RecordKind.BOOKING, "b1").id
    world.calendar.take_away("mbx-u1")
    world.openair.edit("Booking", "b1", hours=40.0)

    await world.run()
    await world.run()
    world.calendar.give_back("mbx-u1")
    await world.run()

    event = world.event("u1", RecordKind.BOOKING, "b1")  # exactly one
    assert event.id == event_id
    assert event.draft.subject.startswith("OA Booking: 40.00 hrs")


async def test_a_create_whose_mailbox_is_away_is_made_once_when_it_is_back() -> None:
    world = World.build()
    world.calendar.take_away("mbx-u1", "ErrorInvalidUser")
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    await world.run()
    await world.run()  # the link is "creating": recovery must not conclude anything from the 404
    assert world.events("u1") == {}
    world.calendar.give_back("mbx-u1")
    await world.run()
    assert len(world.events("u1")["openair:booking:b1"]) == 1


async def test_the_copy_in_a_previous_mailbox_is_removed_once_that_mailbox_is_back() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    await world.run()
    world.calendar.take_away("mbx-u1")  # the old mailbox lost its licence; the person got a new one
    world.map_user("u1", MailboxId="mbx-u1-new", Mailbox="u1.new@contoso.com")

    await world.run()
    assert len([e for e in world.calendar.events("mbx-u1-new") if e.openair_key == "openair:booking:b1"]) == 1
    assert world.store.links("u1")["booking:b1"].retired, "the old copy is remembered until it is removed"
    assert "Mailbox unavailable" in last_error(world)

    world.calendar.give_back("mbx-u1")
    await world.run()
    assert world.events("u1") == {}, "the old mailbox keeps no orphan"
    assert len(world.calendar.events("mbx-u1-new")) == 1
    assert world.store.links("u1")["booking:b1"].retired == ()
    assert world.store.outbox("u1") == []


async def test_a_deletion_removes_the_copy_left_in_a_previous_mailbox_too() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    await world.run()
    world.calendar.take_away("mbx-u1")
    world.map_user("u1", MailboxId="mbx-u1-new", Mailbox="u1.new@contoso.com")
    await world.run()
    world.openair.delete("Booking", "b1")
    await world.run()
    assert world.calendar.events("mbx-u1-new") == []
    assert "booking:b1" in world.store.links("u1"), "the old copy still waits for its mailbox"

    world.calendar.give_back("mbx-u1")
    await world.run()
    assert world.events("u1") == {}
    assert world.store.links("u1") == {}
    assert world.store.outbox("u1") == []


async def test_an_import_pass_on_a_mailbox_that_is_away_deletes_nothing_and_resumes_when_it_is_back() -> None:
    from tests.importing.world import ImportWorld, at

    w = ImportWorld.build()
    event = w.create(subject="Client workshop", start=at(10, 9), end=at(10, 12))
    await w.sync()
    booking = w.one_imported()
    w.calendar.take_away("mbx-u1", "MailboxNotEnabledForRESTAPI")

    report = await w.sync()  # raises nothing: a queue retry would not help for hours
    assert report.errors
    assert "mailbox unavailable" in report.errors[0]
    assert w.one_imported() == booking
    assert "mailbox unavailable" in str(w.mapping_row()["LastError"])

    w.calendar.give_back("mbx-u1")
    w.calendar.user_edit("mbx-u1", event.id, end=at(10, 13))
    report = await w.sync()
    assert not report.errors
    assert w.one_imported().hours == 4.0
    assert w.mapping_row()["LastError"] == ""
