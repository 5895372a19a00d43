"""The export engine against in-memory twins: idempotence, updates, deletions, scope, guards, crashes."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.domain.events import CreateEvent, EventWrite
from shared.kinds import RecordKind
from shared.store.state import OUTBOX
from shared.sync.mailbox import MailboxIncomplete, export_mailbox
from tests.sync.world import World
from twins.graph import LostResponse
from twins.openair import OpenAirUnavailable

D = dt.date


async def test_first_run_exports_every_kind_and_a_repeat_writes_nothing() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    world.assignment("a1", "u2")
    world.time_off("r1", "u2", [D(2026, 12, 24), D(2026, 12, 28)])
    await world.run()
    assert set(world.events("u1")) == {"openair:booking:b1"}
    assert set(world.events("u2")) == {"openair:task_assignment:a1", "openair:schedule_request:r1"}
    writes = world.calendar.writes
    requests = world.openair.requests_made

    plan = await world.run()
    assert world.calendar.writes == writes
    assert world.calendar.requests == 2  # one $batch per mailbox on the first run, none since
    assert plan.users_with_work == []
    assert world.openair.requests_made == requests + 1  # an idle run is one OpenAir request


async def test_an_edit_in_openair_updates_the_event_in_place() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    await world.run()
    event_id = world.event("u1", RecordKind.BOOKING, "b1").id
    world.openair.edit("Booking", "b1", enddate=D(2026, 11, 27), hours=40.0)
    await world.run()
    event = world.event("u1", RecordKind.BOOKING, "b1")
    assert event.id == event_id
    assert event.draft.end == dt.datetime(2026, 11, 28)
    assert event.draft.subject.startswith("OA Booking: 40.00 hrs")


async def test_a_change_that_renders_the_same_event_is_not_written() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25), externalid="x")
    await world.run()
    writes = world.calendar.writes
    world.openair.edit("Booking", "b1", externalid="y")  # a field the event does not show
    await world.run()
    assert world.calendar.writes == writes


async def test_a_booking_type_change_reaches_its_bookings() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 23), booking_typeid="bt-oof")
    await world.run()
    assert world.event("u1", RecordKind.BOOKING, "b1").draft.show_as == "oof"
    world.openair.edit("BookingType", "bt-oof", calendar_export_type="Set event time as tentative")
    await world.run()
    assert world.event("u1", RecordKind.BOOKING, "b1").draft.show_as == "tentative"


async def test_deleted_in_openair_removes_the_event_or_keeps_it_per_setting() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    world.booking("b2", "u1", D(2026, 11, 26), D(2026, 11, 26))
    await world.run()
    world.openair.delete("Booking", "b1")
    await world.run()
    assert set(world.events("u1")) == {"openair:booking:b2"}
    world.setting("OnRecordDeleted", "Keep event")
    world.openair.delete("Booking", "b2")
    await world.run()
    assert set(world.events("u1")) == {"openair:booking:b2"}


async def test_do_not_export_and_zero_hours_leave_scope_without_being_called_deleted() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    world.assignment("a1", "u1", hours=8)
    await world.run()
    world.openair.edit("Booking", "b1", booking_typeid="bt-none")
    world.openair.edit("Projecttaskassign", "a1", planned_hours=0.0)
    plan = await world.run()
    assert world.events("u1") == {}
    assert plan.counts["out_of_scope"] == 2
    # Back in scope: exported again.
    world.openair.edit("Booking", "b1", booking_typeid="bt-busy")
    await world.run()
    assert set(world.events("u1")) == {"openair:booking:b1"}


async def test_switching_a_type_on_later_backfills_that_user_only() -> None:
    world = World.build()
    world.map_user("u1", ExportScheduleRequests=False)
    world.time_off("r1", "u1", [D(2026, 12, 24)])
    world.time_off("r2", "u2", [D(2026, 12, 24)])
    await world.run()
    assert "openair:schedule_request:r1" not in world.events("u1")
    world.map_user("u1", ExportScheduleRequests=True)
    writes = world.calendar.writes
    plan = await world.run()
    assert "openair:schedule_request:r1" in world.events("u1")
    assert world.calendar.writes == writes + 1
    assert plan.counts["users_backfilled"] == 1


async def test_switching_a_type_off_keeps_or_removes_events_per_setting() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    world.assignment("a1", "u1")
    await world.run()
    world.map_user("u1", ExportBookings=False)
    await world.run()
    assert "openair:booking:b1" in world.events("u1")  # default: Keep event
    world.setting("OnUserOutOfScope", "Remove event")
    world.map_user("u1", ExportBookings=True)
    await world.run()
    world.map_user("u1", ExportBookings=False)
    await world.run()
    assert set(world.events("u1")) == {"openair:task_assignment:a1"}


async def test_a_bad_mapping_row_skips_that_user_and_deletes_nothing() -> None:
    world = World.build()
    world.setting("OnUserOutOfScope", "Remove event")
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    world.booking("b2", "u2", D(2026, 11, 23), D(2026, 11, 25))
    await world.run()
    world.map_user("u1", ExportBookings="TRUE")  # typed as a string in Storage Explorer
    world.openair.edit("Booking", "b2", hours=9.0)
    plan = await world.run()
    assert "openair:booking:b1" in world.events("u1")
    assert world.event("u2", RecordKind.BOOKING, "b2").draft.subject.startswith("OA Booking: 9.00")
    assert [str(p) for p in plan.problems] == [
        "UserMappings row 'u1': column ExportBookings is the string 'TRUE'; use a Boolean (true or false) — "
        "set the column type to Boolean"
    ]


async def test_deletion_guard_blocks_a_run_that_would_delete_too_much_and_retries_after_raising_the_budget() -> None:
    world = World.build()
    world.setting("MaxDeletionsPerRun", 2)
    for n in range(5):
        world.booking(f"b{n}", "u1", D(2026, 11, 23), D(2026, 11, 23))
    await world.run()
    for n in range(5):
        world.openair.delete("Booking", f"b{n}")
    plan = await world.run()
    assert len(world.events("u1")) == 5
    assert plan.deletions_blocked
    assert "would delete 5 events" in plan.alerts[0]
    plan = await world.run()  # still blocked: the deletions were not forgotten
    assert plan.deletions_blocked
    world.setting("MaxDeletionsPerRun", 10)
    await world.run()
    assert world.events("u1") == {}


async def test_a_failed_openair_read_writes_nothing_and_is_retried_next_run() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    await world.run()
    world.booking("b2", "u1", D(2026, 11, 26), D(2026, 11, 26))
    world.openair.fail_reads = 1
    with pytest.raises(OpenAirUnavailable):
        await world.run()
    assert set(world.events("u1")) == {"openair:booking:b1"}
    await world.run()
    assert set(world.events("u1")) == {"openair:booking:b1", "openair:booking:b2"}


async def test_a_lost_create_response_is_recovered_without_a_duplicate() -> None:
    world = World.build(("u1",))
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    lose = {"left": 1}

    def fault(mailbox: str, write: EventWrite) -> int | None:
        if isinstance(write, CreateEvent) and lose["left"]:
            lose["left"] -= 1
            return -1  # applied, but the answer is lost
        return None

    world.calendar.fault = fault
    plan = await world.run()
    assert plan.users_with_work == ["u1"]
    assert len(world.store.outbox("u1")) == 1  # not settled: the answer never came
    await world.run()
    assert len(world.events("u1")["openair:booking:b1"]) == 1
    assert world.store.outbox("u1") == []


async def test_a_crash_after_graph_wrote_but_before_the_link_was_saved_finds_the_event_again() -> None:
    world = World.build(("u1",))
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    world.calendar.fault = lambda mailbox, write: -1
    with pytest.raises(LostResponse):
        await world.run(swallow=False)
    world.calendar.fault = None
    report = await export_mailbox("u1", store=world.store, calendar=world.calendar)
    assert report.recovered == 1
    assert len(world.events("u1")["openair:booking:b1"]) == 1


async def test_a_copy_made_in_outlook_is_not_mistaken_for_ours() -> None:
    world = World.build(("u1",))
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    await world.run()
    original = world.event("u1", RecordKind.BOOKING, "b1")
    world.calendar.user_copy("mbx-u1", original.id)
    world.openair.edit("Booking", "b1", hours=10.0)
    await world.run()
    events = world.events("u1")["openair:booking:b1"]
    ours = next(e for e in events if e.id == original.id)
    assert ours.draft.subject.startswith("OA Booking: 10.00")
    assert len(events) == 2  # the copy is the user's; we neither update nor delete it


async def test_an_event_deleted_in_outlook_is_written_again_on_the_next_change() -> None:
    world = World.build(("u1",))
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    await world.run()
    world.calendar.user_edit_delete("mbx-u1", world.event("u1", RecordKind.BOOKING, "b1").id)
    world.openair.edit("Booking", "b1", hours=12.0)
    await world.run()
    assert world.event("u1", RecordKind.BOOKING, "b1").draft.subject.startswith("OA Booking: 12.00")


async def test_throttled_writes_stay_queued_and_the_worker_asks_for_a_retry() -> None:
    world = World.build(("u1",))
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    world.calendar.fault = lambda mailbox, write: 429
    plan = await world.run()
    assert plan.users_with_work == ["u1"]
    with pytest.raises(MailboxIncomplete):
        await export_mailbox("u1", store=world.store, calendar=world.calendar)
    row = world.tables.get("UserMappings", "User", "u1")
    assert row is not None
    assert "429" in row.columns["LastError"]
    world.calendar.fault = None
    await world.run()
    assert set(world.events("u1")) == {"openair:booking:b1"}
    assert list(world.tables.query(OUTBOX)) == []


async def test_moving_a_user_to_another_mailbox_moves_their_events() -> None:
    world = World.build(("u1",))
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    await world.run()
    world.map_user("u1", Mailbox="new@contoso.com", MailboxId="mbx-new")
    await world.run()
    assert world.calendar.events("mbx-u1") == []
    assert [e.openair_key for e in world.calendar.events("mbx-new")] == ["openair:booking:b1"]


async def test_dry_run_reports_the_plan_and_changes_nothing() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    plan = await world.run(dry_run=True)
    assert [e.key for e in plan.entries["u1"]] == ["booking:b1"]
    assert world.calendar.writes == 0
    assert list(world.tables.query(OUTBOX)) == []
    assert world.store.cursors("OpenAir") == {}


async def test_records_before_export_after_are_not_exported() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    world.setting("ExportAfter", "2030-01-01")
    plan = await world.run()
    assert world.events("u1") == {}
    assert plan.counts["skipped_before_export_after"] == 1


async def test_a_time_zone_change_in_openair_moves_the_users_events_once() -> None:
    world = World.build(("u1",))
    world.booking(
        "b1",
        "u1",
        D(2026, 11, 23),
        D(2026, 11, 23),
        starttime=dt.datetime(2026, 11, 23, 9),
        endtime=dt.datetime(2026, 11, 23, 10),
    )
    from shared.openair.models import User

    world.openair.put(User(id="u1", name="One", timezone="America/New_York"))
    await world.run()
    assert world.event("u1", RecordKind.BOOKING, "b1").draft.time_zone == "America/New_York"
    world.openair.edit("User", "u1", timezone="Europe/London")
    await world.run()
    event = world.event("u1", RecordKind.BOOKING, "b1")
    assert event.draft.time_zone == "Europe/London"
    assert event.draft.start == dt.datetime(2026, 11, 23, 9)  # the same wall-clock time, in the new zone
    plan = await world.run()
    assert plan.counts.get("users_backfilled") == 0


async def test_records_re_read_by_the_overlap_are_not_rendered_again() -> None:
    world = World.build(("u1",))
    world.openair.clock += dt.timedelta(hours=1)  # reference data (types, tasks) is older than the overlap
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    world.assignment("a1", "u1")
    await plan_export_now(world)  # no time passes: the next read is inside the 10-minute overlap
    await export_mailbox("u1", store=world.store, calendar=world.calendar)
    requests = world.openair.requests_made
    plan = await plan_export_now(world)  # the same versions come back, and are recognised
    assert world.openair.requests_made == requests + 1  # no reference read
    assert plan.counts["already_exported"] == 2
    assert plan.users_with_work == []
    # A task whose dates move still re-renders its assignments although the assignment itself did not change.
    world.openair.edit("Projecttask", "t1", fnlt_date=D(2026, 12, 11))
    await plan_export_now(world)
    await world.run()
    assert world.event("u1", RecordKind.TASK_ASSIGNMENT, "a1").draft.end == dt.datetime(2026, 12, 12)


async def plan_export_now(world: World):  # type: ignore[no-untyped-def]
    from shared.sync.planner import plan_export

    return await plan_export(store=world.store, openair=world.openair)


async def test_a_lost_delete_answer_does_not_leave_the_record_believed_exported() -> None:
    world = World.build(("u1",))
    world.setting("OnUserOutOfScope", "Remove event")
    world.time_off("r1", "u1", [D(2027, 3, 1)])
    await world.run()
    world.map_user("u1", ExportScheduleRequests=False)
    world.calendar.fault = lambda mailbox, write: -1  # the delete happens, its answer is lost
    await world.run()
    world.calendar.fault = None
    world.map_user("u1", ExportScheduleRequests=True)
    await world.run()
    assert set(world.events("u1")) == {"openair:schedule_request:r1"}


async def test_a_record_openair_sent_with_bad_characters_is_an_alert_of_the_run() -> None:
    import dataclasses

    from shared.openair.changes import ChangeSet

    world = World.build(("u1",))
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 23), notes="Agenda\ufffdattached")
    read = world.openair.read_changes

    async def with_notice(since: object) -> ChangeSet:
        changes = await read(since)  # type: ignore[arg-type]
        return dataclasses.replace(changes, notices=("OpenAir Booking b1 (notes): holds characters XML 1.0 ...",))

    world.openair.read_changes = with_notice  # type: ignore[method-assign]
    plan = await world.run()
    assert plan.alerts == ["OpenAir Booking b1 (notes): holds characters XML 1.0 ..."]
    assert set(world.events("u1")) == {"openair:booking:b1"}  # read, rendered, exported like any other
