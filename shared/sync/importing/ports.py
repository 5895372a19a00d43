"""What the import needs from Graph and OpenAir. `CalendarGateway` / `MemoryMailboxes` and `OpenAirBookings` /
`MemoryBookings` satisfy these structurally; the engine imports only these shapes and the adapters' data types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol

from shared.graph.models import DeltaResult, GraphEvent, Subscription
from shared.openair.bookings import BookingWritten, UserDefaults
from shared.openair.models import Booking


class MailboxReader(Protocol):
    async def delta(
        self, mailbox_id: str, start: dt.datetime, end: dt.datetime, delta_link: str | None, page_size: int = 100
    ) -> DeltaResult:
        """One full calendarView/delta pass; raises DeltaExpired when the link is dead."""
        ...

    async def get_event(self, mailbox_id: str, event_id: str) -> GraphEvent | None:
        """The event with our extended property expanded; None when it no longer exists."""
        ...

    async def get_events(self, mailbox_id: str, event_ids: Sequence[str]) -> dict[str, GraphEvent | None]:
        """Several events read whole in bulk (at most one request per 20), by id; None for one that is gone."""
        ...


class SubscriptionPort(Protocol):
    async def create_subscription(
        self,
        resource_user_id: str,
        notification_url: str,
        lifecycle_url: str | None,
        client_state: str,
        expiration: dt.datetime,
    ) -> Subscription: ...

    async def renew_subscription(self, subscription_id: str, expiration: dt.datetime) -> Subscription: ...

    async def delete_subscription(self, subscription_id: str) -> bool: ...

    async def reauthorize_subscription(self, subscription_id: str) -> None: ...


class BookingPort(Protocol):
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
