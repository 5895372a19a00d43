"""The events the product wants in a mailbox and the outcome of each write.

A draft carries naive wall-clock times plus an IANA zone, because all-day boundaries and DST are defined in the
user's zone, never by UTC arithmetic. The planner renders drafts, the mailbox worker turns them into writes, and the
Graph gateway (`shared/graph/`) sends the writes and answers with one `WriteResult` each.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

ShowAs = Literal["free", "tentative", "busy", "oof", "workingElsewhere", "unknown"]
Sensitivity = Literal["normal", "personal", "private", "confidential"]

# A 404 is about one of two different things. "This event is gone" (deleted in Outlook):
EVENT_GONE_CODES = frozenset({"erroritemnotfound", "itemnotfound"})
# "This whole mailbox is not there for REST": licence removed, mailbox inactive or soft-deleted
# (MailboxNotEnabledForRESTAPI, also seen as ResourceNotFound for the same mailbox,
# microsoftgraph/microsoft-graph-docs-contrib#4340), or the user deleted (ErrorInvalidUser, #5460). It passes when
# the licence comes back or the user is restored, and it says nothing about any one event.
MAILBOX_GONE_CODES = frozenset(
    {"mailboxnotenabledforrestapi", "mailboxnotsupportedforrestapi", "errorinvaliduser", "resourcenotfound"}
)


def is_event_gone(status: int, code: str | None) -> bool:
    """404 for one event (deleted in Outlook), never for a whole mailbox."""
    return status == 404 and (code or "").lower() in EVENT_GONE_CODES


def is_mailbox_unavailable(status: int, code: str | None) -> bool:
    """404 for the whole mailbox: every request to it fails the same way until an administrator acts."""
    return status == 404 and (code or "").lower() in MAILBOX_GONE_CODES


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class EventDraft(_Model):
    """An event as the product wants it to be in a mailbox."""

    openair_key: str
    subject: str
    body: str
    body_type: Literal["text", "html"] = "text"
    start: dt.datetime  # naive wall-clock time in `time_zone`
    end: dt.datetime
    time_zone: str  # IANA name
    is_all_day: bool
    show_as: ShowAs = "free"
    sensitivity: Sensitivity = "normal"
    categories: tuple[str, ...] = ()
    is_reminder_on: bool = False

    @field_validator("start", "end")
    @classmethod
    def _naive(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is not None:
            raise ValueError("draft times are wall-clock times in time_zone; pass a naive datetime")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EventDraft:
        if self.end < self.start:
            raise ValueError(f"event {self.openair_key} ends before it starts")
        if self.is_all_day and (self.start.time() != dt.time(0) or self.end.time() != dt.time(0)):
            raise ValueError(f"all-day event {self.openair_key} must start and end at midnight")
        return self


class CreateEvent(_Model):
    draft: EventDraft
    transaction_id: str  # stable per (mailbox, record, generation): a retried create makes no duplicate


class UpdateEvent(_Model):
    event_id: str
    draft: EventDraft


class DeleteEvent(_Model):
    event_id: str


EventWrite = CreateEvent | UpdateEvent | DeleteEvent


# The error Graph answers (400, some clients report 409) to a create repeating a transactionId the mailbox has seen,
# even one whose event was deleted since: the create already happened, or its id is spent.
DUPLICATE_TRANSACTION = "ErrorDuplicateTransactionId"


class WriteResult(_Model):
    """The outcome of one write; failures come back per item, never lost."""

    write: EventWrite
    status: int
    event_id: str | None = None
    change_key: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def event_gone(self) -> bool:
        """The event is not in the mailbox any more (deleted in Outlook): 404 ErrorItemNotFound."""
        return is_event_gone(self.status, self.error_code)

    @property
    def mailbox_unavailable(self) -> bool:
        """The whole mailbox answered 404 (licence removed, user deleted): nothing is known about the event."""
        return is_mailbox_unavailable(self.status, self.error_code)

    @property
    def transaction_spent(self) -> bool:
        """A create refused because its transactionId was used before: the event may exist (a retry after a lost
        answer; find it by our extended property) or may have been deleted (create it under a new id)."""
        return isinstance(self.write, CreateEvent) and (self.error_code or "").lower() == DUPLICATE_TRANSACTION.lower()

    @property
    def done(self) -> bool:
        """The mailbox is now as the write wanted: it succeeded, or it deleted an event already gone.

        Only an event-level 404 counts as gone: a mailbox-level 404 leaves the event where it was."""
        return self.ok or (isinstance(self.write, DeleteEvent) and self.event_gone)
