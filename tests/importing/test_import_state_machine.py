"""A Hypothesis state machine: people edit in Outlook and in OpenAir, notifications are lost or duplicated,
delta links expire, Graph throttles, workers crash mid-pass, the export runs in between. After a clean pass the
two sides must agree: one booking per event, no duplicates, Outlook's time edits and OpenAir's note edits both
kept (different fields), nothing the person made overwritten by the export."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from shared.graph.errors import GraphThrottled
from shared.graph.memory_delta import throttle_once
from shared.openair.bookings import BookingWritten, MemoryBookings
from shared.openair.models import Booking
from tests.importing.world import ImportWorld, at


class FlakyBookings(MemoryBookings):
    crash_next_add: bool = False

    async def add_booking(self, booking: Booking) -> BookingWritten:
        written = await super().add_booking(booking)
        if self.crash_next_add:
            self.crash_next_add = False
            raise ConnectionError("worker crashed after the Add")
        return written


class ImportMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.w = ImportWorld.build(OnOutlookDeletion="Delete bookings created from Outlook",
                                   ConflictResolution="Exchange wins")  # fmt: skip
        self.bookings = FlakyBookings(self.w.world.openair)
        self.w.bookings = self.bookings
        self.events: list[str] = []
        self.notes: dict[str, str] = {}  # event id -> notes last set in OpenAir
        self.n = 0

    def _pass(self) -> None:
        with contextlib.suppress(GraphThrottled, ConnectionError):
            asyncio.run(self.w.sync())

    @rule(day=st.integers(3, 28), hour=st.integers(7, 16), length=st.integers(1, 4))
    def outlook_create(self, day: int, hour: int, length: int) -> None:
        self.n += 1
        event = self.w.create(subject=f"Meeting {self.n}", start=at(day, hour), end=at(day, hour + length))
        self.events.append(event.id)

    @precondition(lambda self: self.events)
    @rule(data=st.data(), length=st.integers(1, 5))
    def outlook_edit_times(self, data: st.DataObject, length: int) -> None:
        event_id = data.draw(st.sampled_from(self.events))
        event = self.w.calendar.own["mbx-u1"][event_id]
        assert event.start is not None
        self.w.calendar.user_edit("mbx-u1", event_id, end=event.start + dt.timedelta(hours=length))

    @precondition(lambda self: self.events)
    @rule(data=st.data())
    def outlook_delete(self, data: st.DataObject) -> None:
        event_id = data.draw(st.sampled_from(self.events))
        self.w.calendar.user_delete("mbx-u1", event_id)
        self.events.remove(event_id)
        self.notes.pop(event_id, None)

    @rule(data=st.data(), text=st.sampled_from(["Agenda sent", "Client asked for more", "Moved room"]))
    def openair_edit_notes(self, data: st.DataObject, text: str) -> None:
        by_event = {link.event_id: link for link in self.w.world.store.links("u1").values()}
        linked = [e for e in self.events if e in by_event]
        if not linked:
            return
        event_id = data.draw(st.sampled_from(linked))
        booking_id = by_event[event_id].key.partition(":")[2]
        if booking_id in self.w.world.openair.records.get("Booking", {}):
            self.w.world.openair.edit("Booking", booking_id, notes=text)
            self.notes[event_id] = text

    @rule()
    def notification_delivered(self) -> None:
        self._pass()

    @rule()
    def notification_duplicated(self) -> None:
        self._pass()
        self._pass()

    @rule()
    def delta_link_expires(self) -> None:
        self.w.calendar.expire_delta_tokens()

    @rule()
    def graph_throttles(self) -> None:
        self.w.calendar.fault_read = throttle_once()
        self._pass()
        self.w.calendar.fault_read = None

    @rule()
    def worker_crashes_after_an_add(self) -> None:
        self.bookings.crash_next_add = True
        self._pass()
        self.bookings.crash_next_add = False

    @rule()
    def export_runs(self) -> None:
        asyncio.run(self.w.world.run())

    @invariant()
    def never_a_duplicate_booking(self) -> None:
        externals = [b.externalid for b in self.w.imported()]
        assert len(externals) == len(set(externals))
        assert len(externals) <= self.n

    def teardown(self) -> None:
        if not hasattr(self, "w"):
            return
        # Lost notifications are caught by the reconciliation: one clean pass, then the sides must agree.
        asyncio.run(self.w.world.run())
        asyncio.run(self.w.sync())
        asyncio.run(self.w.world.run())
        report = asyncio.run(self.w.sync())
        assert report.created == report.updated == report.deleted == 0, "a second clean pass still had work"
        bookings = {b.externalid: b for b in self.w.imported()}
        imported = self.w.calendar.own.get("mbx-u1", {})
        assert len(bookings) == len(self.events) == len(imported)
        links = {link.event_id: link for link in self.w.world.store.links("u1").values()}
        for event_id in self.events:
            event = imported[event_id]
            assert event.start is not None
            assert event.end is not None
            booking_id = links[event_id].key.partition(":")[2]
            booking = self.w.world.openair.records["Booking"][booking_id]
            assert isinstance(booking, Booking)
            assert booking.starttime == event.start.replace(tzinfo=None)
            assert booking.hours == (event.end - event.start).total_seconds() / 3600
            assert booking.notes == self.notes.get(event_id, event.subject)
            assert event.subject is not None
            assert event.subject.startswith("Meeting")


TestImportConvergence = ImportMachine.TestCase
