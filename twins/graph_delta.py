"""In-memory twin of the gateway's read side for the import: calendarView/delta with server-side snapshots,
`get_event`, subscriptions, and a person acting in Outlook (create, edit, decline, make private, series,
occurrence edits and cancellations, deletes). It extends the write twin (`MemoryCalendar`), so events the export
writes show up in delta exactly like the user's own: the test of echo suppression runs both directions on one
calendar.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from shared.domain.events import DeleteEvent, EventDraft, EventWrite, UpdateEvent, WriteResult
from shared.graph.errors import DeltaExpired, GraphNotFound, GraphThrottled
from shared.graph.models import DeltaResult, GraphEvent, Subscription
from twins.graph import MemoryCalendar, StoredEvent, exported_view, overlapping


def _stored(event: GraphEvent) -> StoredEvent:
    """A person's event as a written one, times kept in UTC, so that a write can change or delete it."""
    assert event.start is not None
    assert event.end is not None
    draft = EventDraft(openair_key="", subject=event.subject or "", body=event.body or "",
                       start=event.start.astimezone(dt.UTC).replace(tzinfo=None),
                       end=event.end.astimezone(dt.UTC).replace(tzinfo=None), time_zone="UTC",
                       is_all_day=bool(event.is_all_day))  # fmt: skip
    return StoredEvent(event.id, event.change_key or "uk-0", draft, event.transaction_id, event.openair_key)


def _as_delta_item(event: GraphEvent) -> GraphEvent:
    """What a delta page carries: never our extended property (delta cannot $expand), and an occurrence of a series
    bare (id, type, series, start, end, etag), as Graph sends it."""
    if event.type == "occurrence":
        return GraphEvent(id=event.id, change_key=event.change_key, type=event.type,
                          series_master_id=event.series_master_id, start=event.start, end=event.end)  # fmt: skip
    return event.model_copy(update={"openair_key": None})


@dataclass
class MemoryMailboxes(MemoryCalendar):
    """Events people make (`own`), plus everything `MemoryCalendar` holds from our writes."""

    own: dict[str, dict[str, GraphEvent]] = field(default_factory=dict)
    clock: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC))
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    # fault_read(operation, mailbox) -> None, or raises (e.g. GraphThrottled) before the read happens.
    fault_read: Callable[[str, str], None] | None = None
    _tokens: dict[str, tuple[str, dt.datetime, dt.datetime, dict[str, str]]] = field(default_factory=dict)
    _keys: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------ a person in Outlook
    def _ck(self) -> str:
        return f"uk-{next(self._keys)}"

    def user_create(self, mailbox_id: str, **props: Any) -> GraphEvent:
        event_id = props.pop("id", None) or f"own-{secrets.token_hex(6)}"
        now = self.clock
        values: dict[str, Any] = {"show_as": "busy", "sensitivity": "normal", "is_all_day": False,
                                  "is_cancelled": False, "response": "organizer", "type": "singleInstance",
                                  "created": now, "last_modified": now, "subject": "Meeting", "body": ""}  # fmt: skip
        values.update(props)
        event = GraphEvent(id=event_id, change_key=self._ck(), **values)
        self.own.setdefault(mailbox_id, {})[event_id] = event
        return event

    def user_series(
        self, mailbox_id: str, first_start: dt.datetime, hours: float, count: int, every: dt.timedelta, **props: Any
    ) -> list[GraphEvent]:
        """A recurring series, as calendarView shows it: one occurrence per slot, keyed by series + original start."""
        master = f"series-{secrets.token_hex(4)}"
        out = []
        for n in range(count):
            start = first_start + n * every
            out.append(self.user_create(
                mailbox_id, id=f"{master}-occ-{n}", type="occurrence", series_master_id=master, original_start=start,
                start=start, end=start + dt.timedelta(hours=hours), **props,
            ))  # fmt: skip
        return out

    def user_edit(self, mailbox_id: str, event_id: str, **changes: Any) -> GraphEvent:
        """Edit the user's event, an occurrence (it becomes an exception), or one of our exported events."""
        box = self.own.get(mailbox_id, {})
        if event_id in box:
            current = box[event_id]
            if current.type == "occurrence":
                changes.setdefault("type", "exception")
            updated = current.model_copy(update={**changes, "change_key": self._ck(), "last_modified": self.clock})
            box[event_id] = updated
            return updated
        stored = self.mailboxes[mailbox_id][event_id]
        draft_changes = {k: v for k, v in changes.items() if k in ("start", "end", "subject", "show_as")}
        for name in ("start", "end"):
            if name in draft_changes:  # aware UTC in, wall clock in the draft's zone stored
                draft_changes[name] = (
                    draft_changes[name].astimezone(ZoneInfo(stored.draft.time_zone)).replace(tzinfo=None)
                )
        stored.draft = stored.draft.model_copy(update=draft_changes)
        stored.change_key = self._ck()
        return exported_view(stored)

    def user_delete(self, mailbox_id: str, event_id: str) -> None:
        """Delete an event or cancel one occurrence."""
        if self.own.get(mailbox_id, {}).pop(event_id, None) is None:
            self.user_edit_delete(mailbox_id, event_id)

    def user_delete_series(self, mailbox_id: str, series_master_id: str) -> None:
        box = self.own.get(mailbox_id, {})
        for event_id in [i for i, e in box.items() if e.series_master_id == series_master_id]:
            del box[event_id]

    def expire_delta_tokens(self) -> None:
        self._tokens.clear()

    # ------------------------------------------------------------ the gateway's read side
    def _view(self, mailbox_id: str) -> dict[str, GraphEvent]:
        view = {e.id: e for e in self.own.get(mailbox_id, {}).values()}
        view.update({s.id: exported_view(s) for s in self.mailboxes.get(mailbox_id, {}).values()})
        return view

    def _read(self, operation: str, mailbox_id: str) -> None:
        self.requests += 1
        self._check_available(mailbox_id)
        if self.fault_read is not None:
            self.fault_read(operation, mailbox_id)

    async def delta(
        self, mailbox_id: str, start: dt.datetime, end: dt.datetime, delta_link: str | None, page_size: int = 100
    ) -> DeltaResult:
        self._read("delta", mailbox_id)
        if delta_link:
            if delta_link not in self._tokens:
                raise DeltaExpired(410, "syncStateNotFound", "The sync state generation is not valid")
            _, start, end, seen = self._tokens[delta_link]
        else:
            seen = {}
        live = {
            i: e for i, e in self._view(mailbox_id).items()
            if e.start is not None and e.end is not None and e.start < end and e.end > start
        }  # fmt: skip
        changed = tuple(_as_delta_item(e) for i, e in live.items() if seen.get(i) != e.change_key)
        removed = tuple(i for i in seen if i not in live)
        self.requests += max(0, (len(changed) + len(removed) - 1) // page_size)  # extra pages
        token = f"delta-{secrets.token_hex(8)}"
        self._tokens[token] = (mailbox_id, start, end, {i: e.change_key or "" for i, e in live.items()})
        return DeltaResult(events=changed, removed_ids=removed, delta_link=token)

    async def calendar_view(self, mailbox_id: str, start: dt.datetime, end: dt.datetime) -> list[GraphEvent]:
        self._read("calendar_view", mailbox_id)
        return overlapping(list(self._view(mailbox_id).values()), start, end)

    async def apply(self, mailbox_id: str, writes: Sequence[EventWrite]) -> list[WriteResult]:
        """A write to a person's own event (the cutover's adoptions and removals) applies to it like to ours."""
        own = self.own.get(mailbox_id, {})
        for write in writes:
            if isinstance(write, UpdateEvent | DeleteEvent) and write.event_id in own:
                self.mailboxes.setdefault(mailbox_id, {})[write.event_id] = _stored(own.pop(write.event_id))
        return await super().apply(mailbox_id, writes)

    async def get_event(self, mailbox_id: str, event_id: str) -> GraphEvent | None:
        self._read("get_event", mailbox_id)
        return self._view(mailbox_id).get(event_id)

    async def get_events(self, mailbox_id: str, event_ids: Sequence[str]) -> dict[str, GraphEvent | None]:
        unique = list(dict.fromkeys(event_ids))
        for _ in range(0, len(unique), 20):  # one $batch per 20 reads
            self._read("get_events", mailbox_id)
        view = self._view(mailbox_id)
        return {event_id: view.get(event_id) for event_id in unique}

    # ------------------------------------------------------------ subscriptions
    async def create_subscription(
        self,
        resource_user_id: str,
        notification_url: str,
        lifecycle_url: str | None,
        client_state: str,
        expiration: dt.datetime,
    ) -> Subscription:
        self._read("create_subscription", resource_user_id)
        sub = Subscription(
            id=f"sub-{secrets.token_hex(6)}",
            resource=f"users/{resource_user_id}/events",
            change_type="created,updated,deleted",
            notification_url=notification_url,
            lifecycle_notification_url=lifecycle_url,
            expiration=expiration,
            client_state=client_state,
        )
        self.subscriptions[sub.id] = sub
        return sub

    async def renew_subscription(self, subscription_id: str, expiration: dt.datetime) -> Subscription:
        self._read("renew_subscription", "")
        sub = self.subscriptions.get(subscription_id)
        if sub is None:
            raise GraphNotFound(404, "ResourceNotFound", f"Subscription {subscription_id} not found")
        renewed = sub.model_copy(update={"expiration": expiration})
        self.subscriptions[subscription_id] = renewed
        return renewed

    async def delete_subscription(self, subscription_id: str) -> bool:
        self._read("delete_subscription", "")
        return self.subscriptions.pop(subscription_id, None) is not None

    async def list_subscriptions(self) -> list[Subscription]:
        self._read("list_subscriptions", "")
        return list(self.subscriptions.values())

    async def reauthorize_subscription(self, subscription_id: str) -> None:
        self._read("reauthorize_subscription", "")
        if subscription_id not in self.subscriptions:
            raise GraphNotFound(404, "ResourceNotFound", f"Subscription {subscription_id} not found")


def throttle_once() -> Callable[[str, str], None]:
    """A fault hook: the next read is throttled beyond the retry budget, the ones after succeed."""
    fired = [False]

    def fault(operation: str, mailbox_id: str) -> None:
        if not fired[0]:
            fired[0] = True
            raise GraphThrottled(429, "TooManyRequests", f"{operation} of {mailbox_id} throttled")

    return fault
