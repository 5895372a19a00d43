"""`sync.targeted.plan_record` against the in-memory twins: the push path decides as the timer does, and the two
paths together write each change once."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from shared.kinds import RecordKind
from shared.store.lease import MailboxBusy, mailbox_lease
from shared.sync.mailbox import export_mailbox
from shared.sync.planner import plan_export
from shared.sync.targeted import Outcome, PlanTables, RecordPlan, plan_record
from tests.push.twin import MemoryRecords
from tests.sync.world import World
from twins.openair import OpenAirUnavailable

D = dt.date


async def push(world: World, kind: RecordKind, record_id: str, *, apply: bool = True) -> RecordPlan:
    """What the export-record worker does: plan the record, then apply the user's outbox."""
    plan = await plan_record(kind, record_id, store=world.store, openair=MemoryRecords(world.openair))
    if apply and plan.has_work:
        await export_mailbox(plan.user_id, store=world.store, calendar=world.calendar)
    return plan


async def test_a_pushed_booking_lands_once_and_the_timer_then_writes_nothing() -> None:
    world = World.build()
    await world.run()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    plan = await push(world, RecordKind.BOOKING, "b1")
    assert (plan.outcome, plan.user_id, plan.mailbox_id) == (Outcome.WRITE, "u1", "mbx-u1")
    assert len(world.events("u1")["openair:booking:b1"]) == 1
    writes = world.calendar.writes
    assert writes == 1

    timer = await world.run()  # reads b1 again (changed since the last watermark) and renders the same event
    assert timer.counts.get("already_exported") == 1  # the pushed version is recognised without rendering
    assert world.calendar.writes == writes
    assert len(world.events("u1")["openair:booking:b1"]) == 1


async def test_the_timer_first_then_the_push_is_settled() -> None:
    world = World.build()
    await world.run()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    await world.run()
    writes = world.calendar.writes
    plan = await push(world, RecordKind.BOOKING, "b1")
    assert plan.outcome is Outcome.SETTLED
    assert world.calendar.writes == writes
    assert world.store.outbox("u1") == []


async def test_both_planned_before_either_applies_writes_once() -> None:
    world = World.build()
    await world.run()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    world.openair.clock += dt.timedelta(minutes=30)
    timer = await plan_export(store=world.store, openair=world.openair)  # outbox written, workers not run yet
    assert timer.users_with_work == ["u1"]
    plan = await push(world, RecordKind.BOOKING, "b1", apply=False)
    assert plan.outcome is Outcome.WRITE  # a pending entry is rewritten, never trusted to be current
    # Both workers run (push worker, then the timer's mailbox message); only the first writes.
    first = await export_mailbox("u1", store=world.store, calendar=world.calendar)
    second = await export_mailbox("u1", store=world.store, calendar=world.calendar)
    assert (first.created, second.created, second.updated) == (1, 0, 0)
    assert world.calendar.writes == 1
    assert len(world.events("u1")["openair:booking:b1"]) == 1


async def test_an_edit_pushed_updates_in_place() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    await world.run()
    world.openair.edit("Booking", "b1", hours=2.5)
    plan = await push(world, RecordKind.BOOKING, "b1")
    assert plan.outcome is Outcome.WRITE
    (event,) = world.events("u1")["openair:booking:b1"]
    assert "2.50 hrs" in event.draft.subject
    assert world.calendar.writes == 2


async def test_a_user_not_mapped_is_a_no_op_with_a_reason() -> None:
    world = World.build(users=("u1",))
    world.booking("b9", "u9", D(2026, 11, 23), D(2026, 11, 23))
    plan = await push(world, RecordKind.BOOKING, "b9")
    assert plan.outcome is Outcome.USER_NOT_MAPPED
    assert not plan.has_work
    assert "u9" in plan.detail
    assert world.store.outbox_users() == set()
    assert world.calendar.writes == 0


async def test_a_bad_mapping_row_is_named_and_nothing_written() -> None:
    world = World.build()
    world.map_user("u2", ExportBookings="yes please")
    world.booking("b2", "u2", D(2026, 11, 23), D(2026, 11, 23))
    plan = await push(world, RecordKind.BOOKING, "b2")
    assert plan.outcome is Outcome.USER_NOT_MAPPED
    assert "ExportBookings" in plan.detail
    assert world.calendar.writes == 0


async def test_a_type_switched_off_is_not_exported() -> None:
    world = World.build()
    world.map_user("u2", ExportTaskAssignments=False)
    world.assignment("a1", "u2")
    plan = await push(world, RecordKind.TASK_ASSIGNMENT, "a1")
    assert plan.outcome is Outcome.TYPE_NOT_EXPORTED
    assert world.calendar.writes == 0


async def test_deleted_and_out_of_scope_follow_the_timers_settings() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    world.booking("b2", "u1", D(2026, 11, 26), D(2026, 11, 26))
    world.booking("b3", "u1", D(2026, 11, 27), D(2026, 11, 27))
    await world.run()
    world.openair.delete("Booking", "b1")
    assert (await push(world, RecordKind.BOOKING, "b1")).outcome is Outcome.REMOVE
    assert "openair:booking:b1" not in world.events("u1")

    world.openair.edit("Booking", "b2", booking_typeid="bt-none")  # Do not export
    assert (await push(world, RecordKind.BOOKING, "b2")).outcome is Outcome.REMOVE
    assert "openair:booking:b2" not in world.events("u1")

    world.setting("OnRecordDeleted", "Keep event")
    world.openair.delete("Booking", "b3")
    plan = await push(world, RecordKind.BOOKING, "b3")
    assert plan.outcome is Outcome.KEPT
    assert "openair:booking:b3" in world.events("u1")


async def test_the_deletion_budget_applies_to_a_push_too() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    await world.run()
    world.setting("MaxDeletionsPerRun", 0)
    world.openair.delete("Booking", "b1")
    plan = await push(world, RecordKind.BOOKING, "b1")
    assert plan.outcome is Outcome.DELETION_BLOCKED
    assert "MaxDeletionsPerRun" in plan.detail
    assert "openair:booking:b1" in world.events("u1")


async def test_an_unknown_record_and_export_after() -> None:
    world = World.build()
    assert (await push(world, RecordKind.SCHEDULE_REQUEST, "nope")).outcome is Outcome.NOT_FOUND
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    world.setting("ExportAfter", "2027-01-01")
    assert (await push(world, RecordKind.BOOKING, "b1")).outcome is Outcome.BEFORE_EXPORT_AFTER
    assert world.calendar.writes == 0


async def test_time_off_and_task_assignments_render_as_the_timer_does() -> None:
    world = World.build()
    world.assignment("a1", "u2")
    world.time_off("r1", "u2", [D(2026, 12, 24), D(2026, 12, 28)])
    await push(world, RecordKind.TASK_ASSIGNMENT, "a1")
    await push(world, RecordKind.SCHEDULE_REQUEST, "r1")
    assert world.calendar.writes == 2
    await world.run()  # the first timer run reads everything from the beginning: all already shown
    assert world.calendar.writes == 2


async def test_an_openair_outage_raises_and_writes_nothing() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    world.openair.fail_reads = 1
    with pytest.raises(OpenAirUnavailable):
        await push(world, RecordKind.BOOKING, "b1")
    assert world.store.outbox_users() == set()


async def test_two_workers_at_once_for_one_user_write_once() -> None:
    """The timer's mailbox message and a push's, running at the same moment: the lease serialises them."""
    world = World.build()
    await world.run()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    world.openair.clock += dt.timedelta(minutes=30)
    await plan_export(store=world.store, openair=world.openair)
    await push(world, RecordKind.BOOKING, "b1", apply=False)
    reports = await asyncio.gather(
        export_mailbox("u1", store=world.store, calendar=world.calendar),
        export_mailbox("u1", store=world.store, calendar=world.calendar),
    )
    assert sorted(r.created for r in reports) == [0, 1]
    assert world.calendar.writes == 1
    assert world.tables.get("Cursors", "MailboxLease", "u1") is None  # released


async def test_a_held_lease_makes_the_second_worker_retry_later() -> None:
    world = World.build()
    async with mailbox_lease(world.tables, "u1"):
        with pytest.raises(MailboxBusy):
            async with mailbox_lease(world.tables, "u1", wait=0.1):
                pass
    async with mailbox_lease(world.tables, "u1", wait=0.1):  # free again
        pass


async def test_a_pass_of_several_records_reads_the_administrators_tables_once() -> None:
    """PlanTables: the push pass plans its records against mappings, settings, Show As and the user's links read
    once, and decides exactly as a plan that reads them itself."""
    world = World.build()
    await world.run()
    for n in range(3):
        world.booking(f"b{n}", "u1", D(2026, 11, 23 + n), D(2026, 11, 23 + n))
    store = world.store  # one store object, its loads counted
    reads: list[str] = []
    for name in ("load_mappings", "load_settings", "load_show_as", "links"):
        original = getattr(store, name)

        def counted(*args: object, _original: Any = original, _name: str = name, **kwargs: object) -> Any:
            reads.append(_name)
            return _original(*args, **kwargs)

        setattr(store, name, counted)
    tables = await PlanTables.load(store, {"u1"})
    records = MemoryRecords(world.openair)
    plans = [
        await plan_record(RecordKind.BOOKING, f"b{n}", store=store, openair=records, tables=tables) for n in range(3)
    ]
    assert sorted(reads) == ["links", "load_mappings", "load_settings", "load_show_as"]
    assert [p.outcome for p in plans] == [Outcome.WRITE] * 3
    planned = {e.key: (e.desire, e.draft_json) for e in store.outbox("u1")}
    assert len(planned) == 3
    for n in range(3):  # planned again, each reading the tables itself: the same outbox entries
        await plan_record(RecordKind.BOOKING, f"b{n}", store=store, openair=records)
    assert {e.key: (e.desire, e.draft_json) for e in store.outbox("u1")} == planned
    assert len(reads) == 4 + 3 * 4
