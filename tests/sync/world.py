"""A small tenant built from in-memory twins: OpenAir, the calendar gateway and Table Storage."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from shared.kinds import KINDS, RecordKind, openair_event_key
from shared.openair.models import (
    Booking,
    BookingType,
    Customer,
    Project,
    Projecttask,
    Projecttaskassign,
    Schedulerequest,
    SchedulerequestItem,
    Timetype,
)
from shared.store.admin import SETTINGS, SETTINGS_PARTITION, USER_MAPPINGS, USER_PARTITION
from shared.store.store import SyncStore
from shared.sync.mailbox import MailboxIncomplete, MailboxReport, export_mailbox
from shared.sync.planner import ExportPlan, plan_export
from twins.graph import LostResponse, MemoryCalendar
from twins.openair import MemoryOpenAir
from twins.tables import MemoryTables

ZONES = {"u1": "America/New_York", "u2": "Europe/Berlin", "u3": "Asia/Kolkata"}


@dataclass
class World:
    openair: MemoryOpenAir = field(default_factory=MemoryOpenAir)
    calendar: MemoryCalendar = field(default_factory=MemoryCalendar)
    tables: MemoryTables = field(default_factory=MemoryTables)
    last_plan: ExportPlan | None = None
    reports: list[MailboxReport] = field(default_factory=list)

    @property
    def store(self) -> SyncStore:
        return SyncStore(self.tables)

    @classmethod
    def build(cls, users: tuple[str, ...] = ("u1", "u2")) -> World:
        world = cls()
        oa = world.openair
        oa.put(BookingType(id="bt-busy", name="Confirmed", calendar_export_type="Set event time as busy"))
        oa.put(BookingType(id="bt-free", name="Internal", calendar_export_type="Set event time as free"))
        oa.put(BookingType(id="bt-none", name="Proposal", calendar_export_type="Do not export"))
        oa.put(BookingType(id="bt-oof", name="Holiday cover", calendar_export_type="Set event time as out of office"))
        oa.put(Customer(id="c1", name="Northwind Traders"))
        oa.put(Project(id="p1", name="ERP rollout", customerid="c1"))
        oa.put(Projecttask(id="t1", projectid="p1", name="Design", id_number="1.2",
                           starts=dt.date(2026, 11, 23), fnlt_date=dt.date(2026, 12, 4)))  # fmt: skip
        oa.put(Timetype(id="tt1", name="Vacation"))
        for user in users:
            world.map_user(user)
        return world

    def map_user(self, user: str, **columns: Any) -> None:
        row = {
            "Mailbox": f"{user}@contoso.com",
            "MailboxId": f"mbx-{user}",
            "MappedBy": "Email",
            **{spec.switch_column: True for spec in KINDS.values()},  # every record type
            "OpenAirTimeZone": ZONES.get(user, "UTC"),
            **columns,
        }
        self.tables.raw_put(USER_MAPPINGS, USER_PARTITION, user, row)

    def setting(self, name: str, value: Any) -> None:
        self.tables.raw_put(SETTINGS, SETTINGS_PARTITION, name, {"Value": value})

    def booking(self, booking_id: str, user: str, start: dt.date, end: dt.date, **fields: Any) -> Booking:
        values: dict[str, Any] = {"projectid": "p1", "customerid": "c1", "booking_typeid": "bt-free", "hours": 8.0}
        values.update(fields)
        record = Booking(id=booking_id, userid=user, startdate=start, enddate=end, **values)
        self.openair.put(record)
        return record

    def assignment(self, assignment_id: str, user: str, hours: float = 16.0) -> None:
        self.openair.put(Projecttaskassign(id=assignment_id, userid=user, projecttaskid="t1", planned_hours=hours))

    def time_off(self, request_id: str, user: str, days: list[dt.date], status: str = "A") -> None:
        self.openair.put(Schedulerequest(id=request_id, userid=user, startdate=min(days), enddate=max(days),
                                         name="Vacation", timetypeid="tt1", approval_status=status))  # fmt: skip
        for n, day in enumerate(days):
            self.openair.put(SchedulerequestItem(id=f"{request_id}-{n}", schedule_requestid=request_id, date=day,
                                                 hours=8.0, userid=user))  # fmt: skip

    async def run(self, *, dry_run: bool = False, swallow: bool = True, minutes_later: int = 30) -> ExportPlan:
        """One timer run and every mailbox worker it fans out to (failures left for the next run).

        `minutes_later`: time since the previous run; under 10 the watermark overlap re-reads recent changes."""
        self.openair.clock += dt.timedelta(minutes=minutes_later)
        # The planner and the mailbox workers make no table call on the event loop's thread (store/offload.py).
        with self.tables.refusing_calls_on_loop():
            plan = await plan_export(store=self.store, openair=self.openair, dry_run=dry_run)
            self.last_plan = plan
            if dry_run:
                return plan
            for user_id in plan.users_with_work:
                if swallow:
                    with contextlib.suppress(MailboxIncomplete, LostResponse):
                        self.reports.append(await export_mailbox(user_id, store=self.store, calendar=self.calendar))
                else:
                    self.reports.append(await export_mailbox(user_id, store=self.store, calendar=self.calendar))
        assert self.tables.calls_on_loop == []
        return plan

    def events(self, user: str) -> dict[str, list[Any]]:
        """Events in the user's mailbox, grouped by the OpenAir key they carry."""
        out: dict[str, list[Any]] = {}
        for event in self.calendar.events(f"mbx-{user}"):
            out.setdefault(event.openair_key or "", []).append(event)
        return out

    def event(self, user: str, kind: RecordKind, record_id: str) -> Any:
        (event,) = self.events(user)[openair_event_key(kind, record_id)]
        return event
