"""The function process "killed" between two writes: every write after the Nth never reaches the world.

`ProcessKilled` is a BaseException, as a real kill is beyond any `except Exception`: no code path can catch it and
carry on. Once killed, the process stays dead — its leases are left held, its intent rows half-written — until
the test starts the next invocation (`revive`), as the host would start a fresh worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.domain.events import EventWrite, WriteResult
from shared.openair.bookings import BookingWritten
from shared.openair.models import Booking
from shared.store.tables import BatchOp, Row
from twins.bookings import MemoryBookings
from twins.graph_delta import MemoryMailboxes
from twins.tables import MemoryTables


class ProcessKilled(BaseException):
    """The worker process died here."""


@dataclass
class Killer:
    """Counts writes to every side (tables, calendar, OpenAir); at write number `at` the process dies."""

    at: int | None = None
    writes: int = 0
    dead: bool = False

    def step(self, what: str) -> None:
        if self.dead:
            raise ProcessKilled(f"dead process tried {what}")
        self.writes += 1
        if self.at is not None and self.writes >= self.at:
            self.dead = True
            raise ProcessKilled(f"killed before write {self.writes} ({what})")

    def revive(self) -> None:
        self.at, self.dead = None, False


class KillableTables(MemoryTables):
    def __init__(self, killer: Killer) -> None:
        super().__init__()
        self.killer = killer

    def upsert(self, table: str, row: Row, *, merge: bool = False) -> str:
        self.killer.step(f"upsert {table}")
        return super().upsert(table, row, merge=merge)

    def insert(self, table: str, row: Row) -> str:
        self.killer.step(f"insert {table}")
        return super().insert(table, row)

    def update(self, table: str, row: Row, *, merge: bool = False) -> str:
        self.killer.step(f"update {table}")
        return super().update(table, row, merge=merge)

    def delete(self, table: str, partition_key: str, row_key: str, *, etag: str | None = None) -> None:
        self.killer.step(f"delete {table}")
        super().delete(table, partition_key, row_key, etag=etag)

    def submit(self, table: str, ops: Sequence[BatchOp]) -> None:
        self.killer.step(f"batch {table}")
        super().submit(table, ops)


class KillableMailboxes(MemoryMailboxes):
    """Graph: a $batch is one write; the process may die before it is sent."""

    killer: Killer

    async def apply(self, mailbox_id: str, writes: Sequence[EventWrite]) -> list[WriteResult]:
        self.killer.step(f"graph batch of {len(writes)}")
        return await super().apply(mailbox_id, writes)


class KillableBookings(MemoryBookings):
    killer: Killer

    async def add_booking(self, booking: Booking) -> BookingWritten:
        self.killer.step("OpenAir Add")
        return await super().add_booking(booking)

    async def modify_booking(self, booking_id: str, changes: Any, not_updated_since: Any) -> BookingWritten:
        self.killer.step("OpenAir Modify")
        return await super().modify_booking(booking_id, changes, not_updated_since)

    async def delete_booking(self, booking_id: str) -> None:
        self.killer.step("OpenAir Delete")
        await super().delete_booking(booking_id)
