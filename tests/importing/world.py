"""The export's in-memory tenant plus a person acting in Outlook and the import engine, on one shared state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from shared.openair.models import Booking
from shared.store.admin import USER_MAPPINGS, USER_PARTITION
from shared.sync.importing.engine import import_mailbox
from shared.sync.importing.events import ImportReport
from shared.sync.importing.rules import IMPORT_EXTERNALID_PREFIX
from tests.sync.world import World
from twins.bookings import MemoryBookings
from twins.graph_delta import MemoryMailboxes

NOW = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
UTC = dt.UTC


def at(day: int, hour: int = 9, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class ImportWorld:
    world: World
    calendar: MemoryMailboxes
    bookings: MemoryBookings
    reports: list[ImportReport] = field(default_factory=list)

    @classmethod
    def build(cls, users: tuple[str, ...] = ("u1",), **settings: Any) -> ImportWorld:
        world = World.build(users)
        calendar = MemoryMailboxes()
        world.calendar = calendar
        values = {"ImportEnabled": True, "DefaultBookingTypeId": "bt-free", "DefaultProjectId": "p1", **settings}
        for name, value in values.items():
            world.setting(name, value)
        for user in users:
            world.map_user(user, Import=True, OpenAirTimeZone="UTC")
        return cls(world, calendar, MemoryBookings(world.openair))

    def mailbox(self, user: str = "u1") -> str:
        return f"mbx-{user}"

    def create(self, user: str = "u1", **props: Any) -> Any:
        props.setdefault("start", at(10))
        props.setdefault("end", props["start"] + dt.timedelta(hours=2))
        return self.calendar.user_create(self.mailbox(user), **props)

    async def sync(self, user: str = "u1", **kwargs: Any) -> ImportReport:
        # The import worker makes no table call on the event loop's thread (shared/store/offload.py).
        with self.world.tables.refusing_calls_on_loop():
            report = await import_mailbox(
                user, store=self.world.store, calendar=self.calendar, bookings=self.bookings, now=NOW, **kwargs
            )
        assert self.world.tables.calls_on_loop == []
        self.reports.append(report)
        return report

    def imported(self) -> list[Booking]:
        return [b for b in self.world.openair.all("Booking") if b.externalid.startswith(IMPORT_EXTERNALID_PREFIX)]

    def one_imported(self) -> Booking:
        (booking,) = self.imported()
        return booking

    def mapping_row(self, user: str = "u1") -> dict[str, Any]:
        row = self.world.tables.get(USER_MAPPINGS, USER_PARTITION, user)
        assert row is not None
        return dict(row.columns)
