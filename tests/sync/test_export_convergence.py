"""Property: whatever OpenAir edits, scope changes and failures happen, one clean run afterwards leaves every
mailbox exactly as OpenAir says — no duplicates, nothing missing, nothing stale.

Failures injected between runs: Graph answers 429/503 for some writes, a batch is applied but its answer is
lost (as when the function is killed after Graph wrote), and OpenAir is unreachable for a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from shared.graph.memory import LostResponse
from shared.graph.models import EventDraft, EventWrite
from shared.kinds import RecordKind, openair_event_key
from shared.openair.changes import ChangeSet
from shared.openair.memory import OpenAirUnavailable
from shared.openair.models import Projecttask
from shared.store.admin import IntegrationSettings
from shared.sync.mailbox import MailboxIncomplete
from shared.sync.render import RenderContext, render
from tests.sync.world import ZONES, World

USERS = ("u1", "u2", "u3")
KIND_SWITCH = {
    RecordKind.BOOKING: "ExportBookings",
    RecordKind.TASK_ASSIGNMENT: "ExportTaskAssignments",
    RecordKind.SCHEDULE_REQUEST: "ExportScheduleRequests",
}
days = st.dates(min_value=dt.date(2027, 3, 1), max_value=dt.date(2027, 4, 15))  # spans both DST changes
booking_types = st.sampled_from(["bt-busy", "bt-free", "bt-none", "bt-oof"])


class ExportConvergence(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World.build(USERS)
        self.world.setting("OnUserOutOfScope", "Remove event")
        self.world.setting("MaxDeletionsPerRun", 10_000)
        self.switches = {u: set(KIND_SWITCH) for u in USERS}
        self.next_id = 0
        self.fault_plan: list[str] = []
        self.loop = asyncio.new_event_loop()

    def teardown(self) -> None:
        self.loop.close()

    def _id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    @initialize()
    def first_run(self) -> None:
        self.run_once()

    # ---------------------------------------------------------------- edits in OpenAir
    @rule(user=st.sampled_from(USERS), start=days, length=st.integers(0, 6), timed=st.booleans(), bt=booking_types)
    def add_booking(self, user: str, start: dt.date, length: int, timed: bool, bt: str) -> None:
        extra: dict[str, Any] = {"booking_typeid": bt}
        if timed:
            extra["starttime"] = dt.datetime.combine(start, dt.time(9))
            extra["endtime"] = dt.datetime.combine(start, dt.time(12))
        self.world.booking(self._id(), user, start, start + dt.timedelta(days=length), **extra)

    @precondition(lambda self: self.world.openair.all("Booking"))
    @rule(data=st.data(), hours=st.floats(1, 80).map(lambda h: round(h, 1)), bt=booking_types, shift=st.integers(-3, 3))
    def edit_booking(self, data: st.DataObject, hours: float, bt: str, shift: int) -> None:
        booking = data.draw(st.sampled_from(sorted(self.world.openair.all("Booking"), key=lambda b: b.id)))
        delta = dt.timedelta(days=shift)
        self.world.openair.edit("Booking", booking.id, hours=hours, booking_typeid=bt,
                                startdate=booking.startdate + delta, enddate=booking.enddate + delta)  # fmt: skip

    @precondition(lambda self: self.world.openair.all("Booking"))
    @rule(data=st.data())
    def delete_booking(self, data: st.DataObject) -> None:
        booking = data.draw(st.sampled_from(sorted(self.world.openair.all("Booking"), key=lambda b: b.id)))
        self.world.openair.delete("Booking", booking.id)

    @precondition(lambda self: self.world.openair.all("Booking"))
    @rule(data=st.data(), user=st.sampled_from(USERS))
    def reassign_booking(self, data: st.DataObject, user: str) -> None:
        booking = data.draw(st.sampled_from(sorted(self.world.openair.all("Booking"), key=lambda b: b.id)))
        # Modelled as OpenAir users do it: delete and book again for the other person.
        self.world.openair.delete("Booking", booking.id)
        self.world.booking(self._id(), user, booking.startdate, booking.enddate, booking_typeid=booking.booking_typeid)

    @rule(user=st.sampled_from(USERS), hours=st.sampled_from([0.0, 8.0, 16.0]))
    def add_assignment(self, user: str, hours: float) -> None:
        self.world.assignment(self._id(), user, hours)

    @precondition(lambda self: self.world.openair.all("Projecttaskassign"))
    @rule(data=st.data(), hours=st.sampled_from([0.0, 4.0, 24.0]))
    def edit_assignment(self, data: st.DataObject, hours: float) -> None:
        a = data.draw(st.sampled_from(sorted(self.world.openair.all("Projecttaskassign"), key=lambda r: r.id)))
        self.world.openair.edit("Projecttaskassign", a.id, planned_hours=hours)

    @rule(shift=st.integers(-5, 5))
    def move_task(self, shift: int) -> None:
        task = self.world.openair.records["Projecttask"]["t1"]
        assert isinstance(task, Projecttask)
        assert task.starts is not None
        assert task.fnlt_date is not None
        delta = dt.timedelta(days=shift)
        self.world.openair.edit("Projecttask", "t1", starts=task.starts + delta, fnlt_date=task.fnlt_date + delta)

    @rule(user=st.sampled_from(USERS), start=days, length=st.integers(0, 4), status=st.sampled_from("APOR"))
    def add_time_off(self, user: str, start: dt.date, length: int, status: str) -> None:
        self.world.time_off(self._id(), user, [start + dt.timedelta(days=n) for n in range(length + 1)], status)

    @rule(user=st.sampled_from(USERS), kind=st.sampled_from(list(KIND_SWITCH)), on=st.booleans())
    def switch(self, user: str, kind: RecordKind, on: bool) -> None:
        (self.switches[user].add if on else self.switches[user].discard)(kind)
        self.world.map_user(user, **{KIND_SWITCH[k]: (k in self.switches[user]) for k in KIND_SWITCH})

    # ---------------------------------------------------------------- runs, with and without faults
    @rule(fault=st.sampled_from(["none", "throttle", "lost", "outage", "flaky"]))
    def run_with(self, fault: str) -> None:
        counter = {"n": 0}

        def injected(mailbox: str, write: EventWrite) -> int | None:
            counter["n"] += 1
            if fault == "throttle" and counter["n"] % 2 == 0:
                return 429
            if fault == "flaky" and counter["n"] % 3 == 0:
                return 503
            if fault == "lost" and counter["n"] % 2 == 1:
                return -1
            return None

        self.world.calendar.fault = injected
        if fault == "outage":
            self.world.openair.fail_reads = 1
        try:
            self.run_once()
        finally:
            self.world.calendar.fault = None
            self.world.openair.fail_reads = 0

    def run_once(self, minutes_later: int = 30) -> None:
        with contextlib.suppress(OpenAirUnavailable, MailboxIncomplete, LostResponse):
            self.loop.run_until_complete(self.world.run(minutes_later=minutes_later))

    @rule(minutes=st.sampled_from([0, 2, 9]))
    def run_soon(self, minutes: int) -> None:
        """A run inside the watermark overlap: recent records come back again and must be recognised."""
        self.run_once(minutes)

    @rule()
    def settle_and_check(self) -> None:
        """After the faults stop, one run converges (a second makes sure nothing was left half-done)."""
        self.loop.run_until_complete(self.world.run())
        writes = self.world.calendar.writes
        self.loop.run_until_complete(self.world.run())
        assert self.world.calendar.writes == writes, "a converged tenant must not be written again"
        self.assert_converged()

    # ---------------------------------------------------------------- the oracle
    def expected(self, user: str) -> dict[str, EventDraft]:
        oa = self.world.openair
        everything = ChangeSet(
            bookings=tuple(oa.all("Booking")),
            task_assignments=tuple(oa.all("Projecttaskassign")),
            schedule_requests=tuple(oa.all("Schedulerequest")),
        )
        ref = self.loop.run_until_complete(oa.read_reference(everything))
        ctx = RenderContext(ZONES[user], IntegrationSettings())
        out: dict[str, EventDraft] = {}
        for kind, records in (
            (RecordKind.BOOKING, everything.bookings),
            (RecordKind.TASK_ASSIGNMENT, everything.task_assignments),
            (RecordKind.SCHEDULE_REQUEST, everything.schedule_requests),
        ):
            if kind not in self.switches[user]:
                continue
            for record in records:
                if record.userid == user:
                    drafted = render(record, ref, ctx)
                    if isinstance(drafted, EventDraft):
                        out[openair_event_key(kind, record.id)] = drafted
        return out

    def assert_converged(self) -> None:
        for user in USERS:
            events = self.world.events(user)
            duplicates = {k: len(v) for k, v in events.items() if len(v) > 1}
            assert not duplicates, f"duplicate events in {user}'s mailbox: {duplicates}"
            actual = {k: v[0].draft for k, v in events.items()}
            expected = self.expected(user)
            assert set(actual) == set(expected), (
                f"{user}: missing {sorted(set(expected) - set(actual))}, stale {sorted(set(actual) - set(expected))}"
            )
            for key, draft in expected.items():
                assert actual[key] == draft, f"{user}: {key} is out of date"

    @invariant()
    def links_never_point_to_two_mailboxes(self) -> None:
        for link in self.world.store.all_links():
            assert link.mailbox_id == f"mbx-{link.user_id}"


ExportConvergence.TestCase.settings = settings(stateful_step_count=30)  # examples: the profile in conftest
TestExportConvergence = ExportConvergence.TestCase
