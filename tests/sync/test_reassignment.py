"""A booking or task assignment reassigned in OpenAir (its `userid` changed) is found by its key whoever owned it:
the event leaves the previous owner's mailbox and appears in the new owner's, each exactly once — in either order,
across a crash between the two, and when the new owner is not mapped at all."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.store.state import LINK_OWNERS
from shared.store.store import OWNER_INDEX_NAME, OWNER_INDEX_SCOPE
from shared.sync.mailbox import export_mailbox
from shared.sync.planner import plan_export
from tests.sync.world import World

D = dt.date


def keys(world: World, user: str) -> dict[str, int]:
    return {key: len(events) for key, events in world.events(user).items()}


def linked(world: World) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for link in world.store.all_links():
        out.setdefault(link.key, []).append(link.user_id)
    return out


async def booked_for_u1(**settings: object) -> World:
    """A world whose booking 7 (u1's) is exported to u1's mailbox, with these IntegrationSettings."""
    world = World.build()
    for name, value in settings.items():
        world.setting(name, value)
    world.booking("7", "u1", D(2026, 11, 23), D(2026, 11, 25))
    await world.run()
    return world


async def test_a_booking_moved_to_another_user_leaves_the_first_mailbox() -> None:
    world = await booked_for_u1()
    assert keys(world, "u1") == {"openair:booking:7": 1}

    world.openair.edit("Booking", "7", userid="u2")
    await world.run()
    assert keys(world, "u1") == {}
    assert keys(world, "u2") == {"openair:booking:7": 1}
    assert linked(world) == {"booking:7": ["u2"]}

    world.openair.edit("Booking", "7", userid="u1")  # and back
    await world.run()
    assert keys(world, "u1") == {"openair:booking:7": 1}
    assert keys(world, "u2") == {}
    assert linked(world) == {"booking:7": ["u1"]}


async def test_a_task_assignment_moved_to_an_unmapped_user_leaves_the_mailbox() -> None:
    world = World.build()
    world.assignment("12", "u1")
    await world.run()
    assert keys(world, "u1") == {"openair:task_assignment:12": 1}
    world.openair.edit("Projecttaskassign", "12", userid="u9")  # nobody maps u9
    await world.run()
    assert keys(world, "u1") == {}
    assert linked(world) == {}


@pytest.mark.parametrize("order", [("u1", "u2"), ("u2", "u1")])
async def test_either_mailbox_may_be_applied_first(order: tuple[str, str]) -> None:
    world = await booked_for_u1()
    world.openair.edit("Booking", "7", userid="u2")
    world.openair.clock += dt.timedelta(minutes=30)
    plan = await plan_export(store=world.store, openair=world.openair)
    assert sorted(plan.users_with_work) == ["u1", "u2"]
    first, second = order
    await export_mailbox(first, store=world.store, calendar=world.calendar)
    # Between the two workers the record is in at most two mailboxes, never a third copy, never zero links.
    assert sum(keys(world, u).get("openair:booking:7", 0) for u in ("u1", "u2")) in (0, 1, 2)
    await export_mailbox(second, store=world.store, calendar=world.calendar)
    assert keys(world, "u1") == {}
    assert keys(world, "u2") == {"openair:booking:7": 1}


async def test_a_crash_between_the_two_mailboxes_is_finished_by_the_next_run() -> None:
    world = await booked_for_u1()
    world.openair.edit("Booking", "7", userid="u2")
    world.openair.clock += dt.timedelta(minutes=30)
    await plan_export(store=world.store, openair=world.openair)
    await export_mailbox("u2", store=world.store, calendar=world.calendar)  # then the host dies: u1 never runs

    await world.run()  # the watermark has passed the change; the previous owner's removal is still queued
    assert keys(world, "u1") == {}
    assert keys(world, "u2") == {"openair:booking:7": 1}


async def test_the_previous_mailbox_being_away_delays_only_the_removal() -> None:
    world = await booked_for_u1()
    world.calendar.take_away("mbx-u1")
    world.openair.edit("Booking", "7", userid="u2")
    await world.run()
    assert keys(world, "u2") == {"openair:booking:7": 1}
    assert [e.key for e in world.store.outbox("u1")] == ["booking:7"]
    world.calendar.give_back("mbx-u1")
    await world.run()
    assert keys(world, "u1") == {}
    assert linked(world) == {"booking:7": ["u2"]}


async def test_moved_then_deleted_before_the_removal_ran_leaves_no_copy() -> None:
    world = await booked_for_u1()
    world.calendar.take_away("mbx-u1")
    world.openair.edit("Booking", "7", userid="u2")
    await world.run()
    world.openair.delete("Booking", "7")
    await world.run()
    world.calendar.give_back("mbx-u1")
    await world.run()
    assert keys(world, "u1") == {}
    assert keys(world, "u2") == {}
    assert linked(world) == {}


async def test_reassignments_are_not_held_back_by_the_deletion_guard() -> None:
    world = await booked_for_u1(MaxDeletionsPerRun=0)
    world.openair.edit("Booking", "7", userid="u2")
    plan = await world.run()
    assert not plan.deletions_blocked
    assert keys(world, "u1") == {}
    assert keys(world, "u2") == {"openair:booking:7": 1}


async def test_links_made_before_the_owner_index_existed_are_found() -> None:
    world = await booked_for_u1()
    # As an installation upgraded from a version without the index: no LinkOwners rows, no "built" marker.
    for row in list(world.tables.query(LINK_OWNERS)):
        world.tables.delete(LINK_OWNERS, row.partition_key, row.row_key)
    world.store.delete_cursor(OWNER_INDEX_SCOPE, OWNER_INDEX_NAME)

    world.openair.edit("Booking", "7", userid="u2")
    await world.run()
    assert keys(world, "u1") == {}
    assert keys(world, "u2") == {"openair:booking:7": 1}
