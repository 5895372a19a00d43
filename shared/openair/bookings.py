"""Booking writes for the import: the narrow door the import engine uses to OpenAir (its in-memory twin:
`twins/bookings.py`).

`OpenAirBookings` adapts `OpenAirClient`: reads by id (several in one request), Add with `lookup="externalid"`
(a retried Add updates the booking it made instead of making a second one), ModifyOnCondition (a booking
changed in OpenAir since we read it is refused with 1200 and re-read, never overwritten), Delete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from shared.openair.client import OpenAirClient
from shared.openair.errors import OpenAirError, OpenAirInvalidRequest
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


__all__ = ["BookingWritten", "OpenAirBookings", "UserDefaults"]
