"""The twin of `shared.openair.bookings.OpenAirBookings`: booking reads and writes on a `MemoryOpenAir`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.openair.bookings import BookingWritten, UserDefaults
from shared.openair.errors import OpenAirConditionFailed, OpenAirInvalidRequest
from shared.openair.models import Booking, User
from twins.openair import MemoryOpenAir


@dataclass
class MemoryBookings:
    """The twin, over a `MemoryOpenAir` so the export planner sees the bookings the import makes."""

    openair: MemoryOpenAir
    requests_made: int = 0
    _next_id: int = 90_000
    # externalid -> booking id, first booking wins as in a scan. Valid while the OpenAir twin is unchanged since
    # it was built or last updated here (same clock, same Booking table and size); otherwise rebuilt on use.
    _by_external: dict[str, str] = field(default_factory=dict, repr=False)
    _indexed_at: tuple[Any, ...] | None = field(default=None, repr=False)

    def _state(self) -> tuple[Any, ...]:
        table = self.openair.records.get("Booking")
        return (self.openair.clock, id(table), len(table) if table is not None else -1)

    def _find_external(self, external_id: str) -> Booking | None:
        """The first booking with this externalid, by an index instead of a scan of every booking."""
        if self._indexed_at != self._state():
            self._by_external = {}
            for existing in self.openair.all("Booking"):
                if existing.externalid:
                    self._by_external.setdefault(existing.externalid, existing.id)
            self._indexed_at = self._state()
        booking_id = self._by_external.get(external_id)
        found = self.openair.records.get("Booking", {}).get(booking_id) if booking_id is not None else None
        if isinstance(found, Booking) and found.externalid == external_id:
            return found
        if booking_id is not None:  # edited in place without a tick: fall back to the scan
            self._indexed_at = None
            return next((b for b in self.openair.all("Booking") if b.externalid == external_id), None)
        return None

    def _put(self, booking: Booking) -> Booking:
        fresh = self._indexed_at == self._state()
        stamped = self.openair.put(booking)
        assert isinstance(stamped, Booking)
        if fresh and (not stamped.externalid or self._by_external.get(stamped.externalid) in (None, stamped.id)):
            if stamped.externalid:
                self._by_external[stamped.externalid] = stamped.id
            self._indexed_at = self._state()
        return stamped

    async def read_bookings(self, ids: Collection[str]) -> dict[str, Booking]:
        self.requests_made += 1
        self.openair._read()
        existing = self.openair.records.get("Booking", {})
        return {i: existing[i] for i in ids if i in existing}  # type: ignore[misc]

    async def booking_by_external_id(self, external_id: str) -> Booking | None:
        self.requests_made += 1
        self.openair._read()
        return self._find_external(external_id)

    async def user_defaults(self, user_id: str) -> UserDefaults:
        self.requests_made += 1
        self.openair._read()
        user = self.openair.records.get("User", {}).get(user_id)
        if not isinstance(user, User):
            return UserDefaults()
        return UserDefaults(user.exch_default_booking_type or "", user.exch_default_project or "")

    async def add_booking(self, booking: Booking) -> BookingWritten:
        self.requests_made += 1
        self.openair._read()
        existing = self._find_external(booking.externalid) if booking.externalid else None
        if existing is not None:
            stamped = self._put(booking.model_copy(update={"id": existing.id}))
            return BookingWritten(stamped.id, stamped.updated)
        self._next_id += 1
        stamped = self._put(booking.model_copy(update={"id": str(self._next_id)}))
        return BookingWritten(stamped.id, stamped.updated)

    async def modify_booking(
        self, booking_id: str, changes: Mapping[str, Any], not_updated_since: dt.datetime
    ) -> BookingWritten:
        self.requests_made += 1
        self.openair._read()
        current = self.openair.records.get("Booking", {}).get(booking_id)
        if current is None:
            raise OpenAirInvalidRequest(601, "ModifyOnCondition Booking", f"no booking {booking_id}")
        if current.updated is not None and current.updated > not_updated_since:
            raise OpenAirConditionFailed(1200, "ModifyOnCondition Booking")
        stamped = self.openair.put(current.model_copy(update=dict(changes)))
        return BookingWritten(stamped.id, stamped.updated)

    async def delete_booking(self, booking_id: str) -> None:
        self.requests_made += 1
        self.openair._read()
        self.openair.delete("Booking", booking_id)
