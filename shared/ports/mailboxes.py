"""Microsoft 365 mailboxes, through Graph: each capability once; the engine's and the admin's ports compose them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from shared.domain.events import EventWrite, WriteResult
from shared.graph.models import AutomaticReplies, DeltaResult, GraphEvent, Mailbox, Subscription

# ------------------------------------------------------------ capabilities


class EventWriter(Protocol):
    async def apply(self, mailbox_id: str, writes: Sequence[EventWrite]) -> list[WriteResult]:
        """Apply writes (batched); one result per write, in order; failures per item, never raised."""
        ...


class EventFinder(Protocol):
    async def find_events_by_key(self, mailbox_id: str, openair_key: str) -> list[GraphEvent]:
        """Events stamped with our extended property value."""
        ...


class EventReader(Protocol):
    async def get_event(self, mailbox_id: str, event_id: str) -> GraphEvent | None:
        """The event as it is now, our extended property expanded (its change key tells whether someone edited
        it); None when it no longer exists."""
        ...


class CalendarViewer(Protocol):
    async def calendar_view(self, mailbox_id: str, start: dt.datetime, end: dt.datetime) -> list[GraphEvent]:
        """Every event overlapping [start, end), our property expanded (one paged read)."""
        ...


class CategoryKeeper(Protocol):
    async def ensure_category(self, mailbox_id: str, name: str, color: str) -> None:
        """The mailbox's master category list holds `name` (created with `color` if missing). Raises GraphError."""
        ...


class AutomaticRepliesKeeper(Protocol):
    async def automatic_replies(self, mailbox_id: str) -> AutomaticReplies:
        """The mailbox's automatic replies as they are now."""
        ...

    async def set_automatic_replies(self, mailbox_id: str, replies: AutomaticReplies) -> None:
        """Replace the mailbox's automatic replies. Raises GraphError."""
        ...


class DeltaReader(Protocol):
    async def delta(
        self, mailbox_id: str, start: dt.datetime, end: dt.datetime, delta_link: str | None, page_size: int = 100
    ) -> DeltaResult:
        """One full calendarView/delta pass; raises DeltaExpired when the link is dead."""
        ...


class EventsReader(Protocol):
    async def get_events(self, mailbox_id: str, event_ids: Sequence[str]) -> dict[str, GraphEvent | None]:
        """Several events read whole in bulk (at most one request per 20), by id; None for one that is gone."""
        ...


class SubscriptionRemover(Protocol):
    async def delete_subscription(self, subscription_id: str) -> bool: ...


# ------------------------------------------------------------ ports


class CalendarPort(
    EventWriter, EventFinder, EventReader, CalendarViewer, CategoryKeeper, AutomaticRepliesKeeper, Protocol
):
    """The export's mailbox worker: writes, recovery lookups, the unseen-edit check, categories, the conflict
    report's view, automatic replies for time off."""


class MailboxReader(DeltaReader, EventReader, EventsReader, Protocol):
    """The import: delta passes and the events they name."""


class SubscriptionPort(SubscriptionRemover, Protocol):
    """The import's change-notification subscriptions."""

    async def create_subscription(
        self,
        resource_user_id: str,
        notification_url: str,
        lifecycle_url: str | None,
        client_state: str,
        expiration: dt.datetime,
    ) -> Subscription: ...

    async def renew_subscription(self, subscription_id: str, expiration: dt.datetime) -> Subscription: ...

    async def reauthorize_subscription(self, subscription_id: str) -> None: ...


class CutoverCalendar(EventWriter, CalendarViewer, Protocol):
    """The cutover from the Exchange Integration Manager: finds the incumbent's events and replaces them."""


class ResyncCalendar(EventWriter, EventFinder, DeltaReader, Protocol):
    """A resync: finds drift with a fresh delta listing, deletes what the product wrote (found by link or by our
    extended property)."""


class DecommissionCalendar(EventWriter, SubscriptionRemover, Protocol):
    """The decommission: removes every event the product wrote and every subscription."""


class MailboxDirectory(Protocol):
    """The tenant's mailboxes, for mapping OpenAir users to them."""

    async def list_mailboxes(self) -> list[Mailbox]: ...

    async def mailbox_time_zone(self, user_id: str) -> str | None: ...


class MailSender(Protocol):
    """Mail on behalf of a mailbox (the run reports)."""

    async def send_mail(self, sender_user_id: str, to: list[str], subject: str, body_text: str) -> None: ...
