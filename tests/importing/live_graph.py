"""An import pass with the real gateway (msgraph-sdk) against the Graph simulator, and in-memory OpenAir and tables.

The simulator answers as Graph does (bare occurrences in delta, dead delta chains, occurrences cancelled), so these
tests judge the engine and the gateway together; the counters say how many requests a pass cost.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from shared.graph.gateway import CalendarGateway
from shared.openair.models import Booking
from shared.sync.importing.engine import import_mailbox
from shared.sync.importing.report import ImportReport
from shared.sync.importing.rules import IMPORT_EXTERNALID_PREFIX
from tests.sync.world import World
from twins.bookings import MemoryBookings

ZONE = "UTC"


@dataclass
class LiveImport:
    sim: Any  # GraphSimulator, with `control_client`
    gateway: CalendarGateway
    world: World
    bookings: MemoryBookings
    mailbox: str
    user: str = "u1"

    @classmethod
    def build(cls, sim: Any, gateway: CalendarGateway, mailbox: str, **settings: Any) -> LiveImport:
        world = World.build((cls.user,))
        values = {"ImportEnabled": True, "DefaultBookingTypeId": "bt-free", "DefaultProjectId": "p1", **settings}
        for name, value in values.items():
            world.setting(name, value)
        world.map_user(cls.user, Import=True, OpenAirTimeZone=ZONE, MailboxId=mailbox)
        return cls(sim, gateway, world, MemoryBookings(world.openair), mailbox)

    @property
    def control(self) -> Any:
        return self.sim.control_client

    async def sync(self, now: dt.datetime | None = None) -> ImportReport:
        """The pass a notification starts: delta from the stored link."""
        return await import_mailbox(
            self.user, store=self.world.store, calendar=self.gateway, bookings=self.bookings, now=now
        )

    async def sync_full(self) -> ImportReport:
        """The reconciliation's pass: the window listed afresh."""
        return await import_mailbox(
            self.user, store=self.world.store, calendar=self.gateway, bookings=self.bookings, full=True
        )

    def graph_requests(self) -> int:
        """HTTP requests the simulator served since the counters were last reset."""
        return int(self.control.counters()["http_total"])

    def imported(self) -> list[Booking]:
        return [b for b in self.world.openair.all("Booking") if b.externalid.startswith(IMPORT_EXTERNALID_PREFIX)]


def today_at(hour: int, days: int = 0) -> dt.datetime:
    """A UTC instant `days` from today, inside the default import window."""
    today = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days)
    return dt.datetime.combine(today, dt.time(hour), dt.UTC)


def graph_time(value: dt.datetime) -> dict[str, str]:
    return {"dateTime": value.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
