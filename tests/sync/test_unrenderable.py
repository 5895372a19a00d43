"""One record that cannot be an event never stops the tenant: it is skipped, named (record type, id, user, what is
wrong) in the run and in `status`, and everything else is exported. An open-ended booking (ending 9999-12-31, as
OpenAir allows) is an ordinary event capped at five years."""

from __future__ import annotations

import datetime as dt

from shared.admin.status import build_status
from shared.kinds import RecordKind
from shared.store.admin import USER_MAPPINGS, USER_PARTITION
from tests.sync.world import World

D = dt.date


async def test_a_booking_ending_9999_12_31_is_exported_capped_at_five_years() -> None:
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(9999, 12, 31))
    plan = await world.run()
    assert plan.skipped == {}
    event = world.event("u1", RecordKind.BOOKING, "b1")
    assert (event.draft.start, event.draft.end) == (dt.datetime(2026, 11, 23), dt.datetime(2031, 11, 23))


async def test_an_unrenderable_record_is_skipped_and_named_and_the_rest_exports() -> None:
    world = World.build(("u1", "u2", "u3"))
    world.booking("b1", "u1", D(9999, 12, 31), D(9999, 12, 31))  # the day after its last day does not exist
    world.booking("b2", "u1", D(2026, 11, 23), D(2026, 11, 23))
    world.booking("b3", "u2", D(2026, 11, 24), D(2026, 11, 24))
    world.booking("b4", "u3", D(1, 1, 1), D(1, 1, 1), starttime=dt.datetime(1, 1, 1, 0, 30),
                  endtime=dt.datetime(1, 1, 1, 2))  # Kolkata 00:30 on 0001-01-01 is before year 1 in UTC  # fmt: skip
    world.assignment("a1", "u3")

    plan = await world.run()

    assert set(world.events("u1")) == {"openair:booking:b2"}
    assert set(world.events("u2")) == {"openair:booking:b3"}
    assert set(world.events("u3")) == {"openair:task_assignment:a1"}
    (u1_problem,) = plan.skipped["u1"].values()
    assert u1_problem.startswith("booking b1 (user u1) cannot be rendered")
    assert "9999-12-31" in u1_problem
    (u3_problem,) = plan.skipped["u3"].values()
    assert u3_problem.startswith("booking b4 (user u3)")
    assert "Asia/Kolkata" in u3_problem

    status = build_status(world.store)
    by_user = {u.user_id: u for u in status.users}
    assert by_user["u1"].skipped_records == [u1_problem]
    assert by_user["u2"].skipped_records == []
    assert not status.healthy

    # Still named on later runs that do not read it again; gone once OpenAir holds a date that can be exported.
    await world.run()
    assert build_status(world.store).users[0].skipped_records == [u1_problem]
    world.openair.edit("Booking", "b1", startdate=D(2027, 1, 4), enddate=D(2027, 1, 5))
    plan = await world.run()
    assert "u1" not in plan.skipped
    assert set(world.events("u1")) == {"openair:booking:b1", "openair:booking:b2"}
    row = world.tables.get(USER_MAPPINGS, USER_PARTITION, "u1")
    assert row is not None
    assert row.columns.get("SkippedRecords") == ""


async def test_the_run_record_names_the_skipped_record() -> None:
    from shared.jobs.export import run_export_timer

    world = World.build()
    world.booking("b1", "u1", D(9999, 12, 31), D(9999, 12, 31))
    world.booking("b2", "u1", D(2026, 11, 23), D(2026, 11, 23))

    class Services:
        def store(self) -> object:
            return world.store

        def openair(self) -> object:
            return world.openair

    result = await run_export_timer(Services())  # type: ignore[arg-type]
    assert result.run.status == "partial"
    assert any(e.startswith("booking b1 (user u1) cannot be rendered") for e in result.run.errors)
    assert result.messages, "the rest of the tenant still has its work queued"
