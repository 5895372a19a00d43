"""What the engine needs from the outside world. Adapters satisfy these structurally; the engine never
imports an adapter's implementation, only these shapes and the adapters' data types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

from shared.domain.events import EventWrite, WriteResult
from shared.graph.models import AutomaticReplies, GraphEvent
from shared.kinds import RecordKind
from shared.openair.changes import ChangeSet, Reference


class OpenAirPort(Protocol):
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

    async def read_reference(self, changes: ChangeSet) -> Reference:
        """Booking types, projects, customers, tasks, time types and request items the records refer to."""
        ...


class CalendarPort(Protocol):
    async def apply(self, mailbox_id: str, writes: Sequence[EventWrite]) -> list[WriteResult]:
        """Apply writes (batched); one result per write, in order; failures per item, never raised."""
        ...

    async def find_events_by_key(self, mailbox_id: str, openair_key: str) -> list[GraphEvent]:
        """Events stamped with our extended property value."""
        ...

    async def get_event(self, mailbox_id: str, event_id: str) -> GraphEvent | None:
        """The event as it is now (its change key tells whether someone edited it); None when it is gone."""
        ...

    async def ensure_category(self, mailbox_id: str, name: str, color: str) -> None:
        """The mailbox's master category list holds `name` (created with `color` if missing). Raises GraphError."""
        ...

    async def calendar_view(self, mailbox_id: str, start: dt.datetime, end: dt.datetime) -> list[GraphEvent]:
        """Every event overlapping [start, end), our property expanded (one paged read; the cutover's)."""
        ...

    async def automatic_replies(self, mailbox_id: str) -> AutomaticReplies:
        """The mailbox's automatic replies as they are now."""
        ...

    async def set_automatic_replies(self, mailbox_id: str, replies: AutomaticReplies) -> None:
        """Replace the mailbox's automatic replies. Raises GraphError."""
        ...
