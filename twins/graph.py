"""In-memory twin of the calendar gateway, for engine tests: Graph's semantics that matter to sync
(a used transactionId refused for good, change keys, extended-property lookup, 404s) plus fault hooks."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from shared.domain.events import (
    DUPLICATE_TRANSACTION,
    CreateEvent,
    DeleteEvent,
    EventDraft,
    EventWrite,
    UpdateEvent,
    WriteResult,
)
from shared.graph.errors import GraphAuthError, MailboxUnavailable
from shared.graph.models import AutomaticReplies, GraphEvent


class LostResponse(Exception):
    """The write happened but its answer never arrived (a crash or a dropped connection)."""


@dataclass
class StoredEvent:
    id: str
    change_key: str
    draft: EventDraft
    transaction_id: str | None
    openair_key: str | None


def exported_view(stored: StoredEvent) -> GraphEvent:
    """A written event as Graph reads it back (times in UTC; our property as if expanded)."""
    draft = stored.draft
    if draft.is_all_day:
        start, end = draft.start.replace(tzinfo=dt.UTC), draft.end.replace(tzinfo=dt.UTC)
    else:
        zone = ZoneInfo(draft.time_zone)
        start = draft.start.replace(tzinfo=zone).astimezone(dt.UTC)
        end = draft.end.replace(tzinfo=zone).astimezone(dt.UTC)
    return GraphEvent(
        id=stored.id,
        change_key=stored.change_key,
        subject=draft.subject,
        body=draft.body,
        start=start,
        end=end,
        is_all_day=draft.is_all_day,
        show_as=draft.show_as,
        sensitivity=draft.sensitivity,
        is_cancelled=False,
        response="organizer",
        type="singleInstance",
        transaction_id=stored.transaction_id,
        openair_key=stored.openair_key,
        created=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        last_modified=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )


def overlapping(events: Sequence[GraphEvent], start: dt.datetime, end: dt.datetime) -> list[GraphEvent]:
    """calendarView's rule: an event is in the view when it overlaps [start, end)."""
    return [e for e in events if e.start is not None and e.end is not None and e.start < end and e.end > start]


@dataclass
class MemoryCalendar:
    mailboxes: dict[str, dict[str, StoredEvent]] = field(default_factory=dict)
    requests: int = 0  # HTTP requests the real gateway would have made ($batch of ≤ 20)
    writes: int = 0
    # fault(mailbox, write) -> None (succeed), an int status (fail that item), or raises (e.g. LostResponse).
    fault: Callable[[str, EventWrite], int | None] | None = None
    # Mailboxes taken away (licence removed, user deleted) -> the 404 code every request to them gets. Their
    # events stay, as Exchange keeps them, and are there again when the mailbox comes back.
    unavailable: dict[str, str] = field(default_factory=dict)
    # Transaction ids each mailbox has seen: they stay used after their event is deleted, as in Graph.
    transactions: dict[str, set[str]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    categories: dict[str, dict[str, str]] = field(default_factory=dict)  # mailbox -> master list: name -> colour
    categories_writable: bool = True  # False: the app lacks MailboxSettings.ReadWrite (Graph answers 403)
    replies: dict[str, AutomaticReplies] = field(default_factory=dict)  # mailbox -> automatic replies

    def events(self, mailbox_id: str) -> list[StoredEvent]:
        return list(self.mailboxes.get(mailbox_id, {}).values())

    def take_away(self, mailbox_id: str, code: str = "MailboxNotEnabledForRESTAPI") -> None:
        """The mailbox's licence is removed (or, with ErrorInvalidUser, its user deleted)."""
        self.unavailable[mailbox_id] = code

    def give_back(self, mailbox_id: str) -> None:
        self.unavailable.pop(mailbox_id, None)

    def _check_available(self, mailbox_id: str) -> None:
        code = self.unavailable.get(mailbox_id)
        if code is not None:
            raise MailboxUnavailable(404, code, f"mailbox {mailbox_id} is not available", operation=mailbox_id)

    def user_edit_delete(self, mailbox_id: str, event_id: str) -> None:
        """A person deletes the event in Outlook."""
        self.mailboxes.get(mailbox_id, {}).pop(event_id, None)

    def user_copy(self, mailbox_id: str, event_id: str) -> str:
        """A person copies an event: the copy carries our extended property too, but not our transaction id."""
        original = self.mailboxes[mailbox_id][event_id]
        copy_id = f"evt-{next(self._ids)}"
        self.mailboxes[mailbox_id][copy_id] = StoredEvent(copy_id, "ck-0", original.draft, None, original.openair_key)
        return copy_id

    async def automatic_replies(self, mailbox_id: str) -> AutomaticReplies:
        self.requests += 1
        return self.replies.get(mailbox_id, AutomaticReplies())

    async def set_automatic_replies(self, mailbox_id: str, replies: AutomaticReplies) -> None:
        self.requests += 1
        if not self.categories_writable:
            raise GraphAuthError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        self.replies[mailbox_id] = replies

    async def ensure_category(self, mailbox_id: str, name: str, color: str) -> None:
        self._check_available(mailbox_id)
        master = self.categories.setdefault(mailbox_id, {})
        if any(known.casefold() == name.casefold() for known in master):
            return
        self.requests += 2  # the list read, then the create
        if not self.categories_writable:
            raise GraphAuthError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        master[name] = color

    async def apply(self, mailbox_id: str, writes: Sequence[EventWrite]) -> list[WriteResult]:
        self.requests += (len(writes) + 19) // 20
        box = self.mailboxes.setdefault(mailbox_id, {})
        results: list[WriteResult] = []
        lost = False
        for write in writes:
            if mailbox_id in self.unavailable:
                results.append(WriteResult(write=write, status=404, error_code=self.unavailable[mailbox_id]))
                continue
            status = self.fault(mailbox_id, write) if self.fault else None
            if status == -1:
                lost = True  # perform it, then lose every answer of this batch
                status = None
            if status is not None:
                results.append(WriteResult(write=write, status=status, error_code="Injected"))
                continue
            self.writes += 1
            results.append(self._one(box, self.transactions.setdefault(mailbox_id, set()), write))
        if lost:
            raise LostResponse("the batch was applied but its response was lost")
        return results

    def _one(self, box: dict[str, StoredEvent], used: set[str], write: EventWrite) -> WriteResult:
        if isinstance(write, CreateEvent):
            if write.transaction_id in used:
                message = "The TransactionId specified in the request has already been used"
                return WriteResult(write=write, status=400, error_code=DUPLICATE_TRANSACTION, error_message=message)
            used.add(write.transaction_id)
            event_id = f"evt-{next(self._ids)}"
            box[event_id] = StoredEvent(event_id, "ck-1", write.draft, write.transaction_id, write.draft.openair_key)
            return WriteResult(write=write, status=201, event_id=event_id, change_key="ck-1")
        if isinstance(write, UpdateEvent):
            existing = box.get(write.event_id)
            if existing is None:
                return WriteResult(write=write, status=404, error_code="ErrorItemNotFound")
            existing.draft = write.draft
            existing.openair_key = write.draft.openair_key  # our PATCH always carries the property: it stamps
            existing.change_key = f"ck-{int(existing.change_key.split('-')[1]) + 1}"
            return WriteResult(write=write, status=200, event_id=existing.id, change_key=existing.change_key)
        assert isinstance(write, DeleteEvent)
        if box.pop(write.event_id, None) is None:
            return WriteResult(write=write, status=404, error_code="ErrorItemNotFound")
        return WriteResult(write=write, status=204)

    async def calendar_view(self, mailbox_id: str, start: dt.datetime, end: dt.datetime) -> list[GraphEvent]:
        self.requests += 1
        return overlapping([exported_view(e) for e in self.events(mailbox_id)], start, end)

    async def get_event(self, mailbox_id: str, event_id: str) -> GraphEvent | None:
        self.requests += 1
        self._check_available(mailbox_id)
        stored = self.mailboxes.get(mailbox_id, {}).get(event_id)
        if stored is None:
            return None
        return GraphEvent(id=stored.id, change_key=stored.change_key, transaction_id=stored.transaction_id,
                          openair_key=stored.openair_key)  # fmt: skip

    async def find_events_by_key(self, mailbox_id: str, openair_key: str) -> list[GraphEvent]:
        self.requests += 1
        self._check_available(mailbox_id)
        return [
            GraphEvent(id=e.id, change_key=e.change_key, transaction_id=e.transaction_id, openair_key=e.openair_key)
            for e in self.mailboxes.get(mailbox_id, {}).values()
            if e.openair_key == openair_key
        ]
