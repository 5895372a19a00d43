"""OpenAir: the tenant-wide and by-id reads, booking writes, the user directory; each capability once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any, Protocol

from shared.kinds import RecordKind
from shared.openair.bookings import BookingWritten, UserDefaults
from shared.openair.changes import ChangeSet, Reference
from shared.openair.models import Booking, User


class ReferenceReader(Protocol):
    async def read_reference(self, changes: ChangeSet) -> Reference:
        """Booking types, projects, customers, tasks, time types and request items the records refer to."""
        ...


class OpenAirPort(ReferenceReader, Protocol):
    """The export planner's tenant-wide reads."""

    async def read_changes(self, since: Mapping[str, dt.datetime | None]) -> ChangeSet:
        """Everything changed or deleted since the watermarks, for the whole tenant, in as few calls as possible.

        Raises on any failure: an unreadable OpenAir is never an empty one.
        """
        ...

    async def read_user_records(
        self, user_ids: Collection[str], kinds: Collection[RecordKind], since: dt.datetime | None
    ) -> ChangeSet:
        """The given users' records of the given kinds updated since `since` (backfill after a switch-on)."""
        ...


class RecordPort(ReferenceReader, Protocol):
    """A push: one record read by id."""

    async def read_record(self, kind: RecordKind, record_id: str) -> ChangeSet:
        """The record as it is now, or its `Deletion`, or nothing when OpenAir has no such record. Raises on
        any failure: an unreadable record is never a deleted one."""
        ...


class BookingPort(Protocol):
    """The import's booking reads and writes."""

    async def read_bookings(self, ids: Collection[str]) -> dict[str, Booking]:
        """The bookings that still exist, by id; raises on failure (an unreadable OpenAir is not an empty one)."""
        ...

    async def booking_by_external_id(self, external_id: str) -> Booking | None:
        """The booking an interrupted Add may have made (None when it never was)."""
        ...

    async def user_defaults(self, user_id: str) -> UserDefaults: ...

    async def add_booking(self, booking: Booking) -> BookingWritten:
        """Create a booking; a known externalid updates the booking it names instead."""
        ...

    async def modify_booking(
        self, booking_id: str, changes: Mapping[str, Any], not_updated_since: dt.datetime
    ) -> BookingWritten:
        """Modify unless updated after `not_updated_since` (then OpenAirConditionFailed)."""
        ...

    async def delete_booking(self, booking_id: str) -> None: ...


class UserDirectory(Protocol):
    """OpenAir's active users, for mapping them to mailboxes."""

    async def read_active_users(self) -> list[User]: ...
