"""Booking writes for the import: the narrow door the import engine uses to OpenAir, and its in-memory twin.

`OpenAirBookings` adapts `OpenAirClient`: reads by id (several in one request), Add with `lookup="externalid"`
(a retried Add updates the booking it made instead of making a second one), ModifyOnCondition (a booking
changed in OpenAir since we read it is refused with 1200 and re-read, never overwritten), Delete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.openair.client import OpenAirClient
from shared.openair.errors import OpenAirConditionFailed, OpenAirError, OpenAirInvalidRequest
from shared.openair.memory import MemoryOpenAir
from shared.openair.models import Booking, User
from shared.openair.reads import ReadSpec


@dataclass(frozen=True)
class UserDefaults:
    """The OpenAir user's custom fields exchDefault_booking_type / exchDefault_project (empty when unset)."""

    booking_type_id: str = ""
    project_id: str = ""


@dataclass(frozen=True)
class BookingWritten:
    id: str
    updated: dt.datetime | None


class OpenAirBookings:
    """Booking reads and writes over the real client."""

    def __init__(self, client: OpenAirClient) -> None:
        self._client = client

    @property
    def requests_made(self) -> int:
        return self._client.requests_made

    async def read_bookings(self, ids: Collection[str]) -> dict[str, Booking]:
        """The bookings that still exist, by id, in one request (absent ids were deleted)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        pages = await self._client.read_many([ReadSpec(type="Booking", query={"id": i}) for i in wanted])
        found: dict[str, Booking] = {}
        for rows in pages:
            for row in rows:
                booking = Booking.from_raw(row, self._client.zone)
                found[booking.id] = booking
        return found

    async def booking_by_external_id(self, external_id: str) -> Booking | None:
        (rows,) = await self._client.read_many([ReadSpec(type="Booking", query={"externalid": external_id})])
        return Booking.from_raw(rows[0], self._client.zone) if rows else None

    async def user_defaults(self, user_id: str) -> UserDefaults:
        (rows,) = await self._client.read_many([ReadSpec(type="User", query={"id": user_id})])
        if not rows:
            return UserDefaults()
        user = User.from_raw(rows[0], self._client.zone)
        return UserDefaults(user.exch_default_booking_type or "", user.exch_default_project or "")

    async def add_booking(self, booking: Booking) -> BookingWritten:
        """Create (or, for a known externalid, update) one booking."""
        (result,) = await self._client.add("Booking", [booking], lookup="externalid")
        return _written(result.id, result.updated, result.error, "Add Booking")

    async def modify_booking(
        self, booking_id: str, changes: Mapping[str, Any], not_updated_since: dt.datetime
    ) -> BookingWritten:
        """Change fields unless the booking was updated after `not_updated_since` (OpenAirConditionFailed)."""
        result = await self._client.modify_on_condition("Booking", {"id": booking_id, **changes}, not_updated_since)
        return _written(result.id or booking_id, result.updated, result.error, "ModifyOnCondition Booking")

    async def delete_booking(self, booking_id: str) -> None:
        (result,) = await self._client.delete("Booking", [booking_id])
        if result.error is not None and result.error.code != 601:  # already gone is what we wanted
            raise result.error


def _written(
    record_id: str | None, updated: dt.datetime | None, error: OpenAirError | None, what: str
) -> BookingWritten:
    if error is not None:
        raise error
    if not record_id:
        raise OpenAirInvalidRequest(0, what, "OpenAir answered without the booking's id")
    return BookingWritten(record_id, updated)


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


__all__ = ["BookingWritten", "MemoryBookings", "OpenAirBookings", "UserDefaults"]
