"""The gateway's own typed view of Graph: mailboxes, events we write, events we read, write results.

msgraph-sdk types stop at the gateway; everything past it (the engine, the store) speaks these models.
Times: a draft carries naive wall-clock times plus an IANA zone, because all-day boundaries and DST are
defined in the user's zone, never by UTC arithmetic. Events read back carry aware datetimes.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from shared.graph.errors import is_event_gone, is_mailbox_unavailable

# Our single-value extended property. The GUID is this product's own property set; the name is
# case-sensitive in Graph filters. Value format: "openair:<record type>:<id>", e.g. "openair:booking:123".
OPENAIR_PROPERTY_SET = "{6b2c7a5e-1f0d-4a8e-9c3b-2d4e5f6a7b8c}"
OPENAIR_PROPERTY_ID = f"String {OPENAIR_PROPERTY_SET} Name OpenAirKey"

ShowAs = Literal["free", "tentative", "busy", "oof", "workingElsewhere", "unknown"]
Sensitivity = Literal["normal", "personal", "private", "confidential"]
EventType = Literal["singleInstance", "occurrence", "exception", "seriesMaster"]
Response = Literal["none", "organizer", "tentativelyAccepted", "accepted", "declined", "notResponded"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Mailbox(_Model):
    """A Microsoft 365 user whose calendar we may write."""

    id: str
    user_principal_name: str
    display_name: str = ""
    mail: str | None = None
    proxy_addresses: tuple[str, ...] = ()
    time_zone: str | None = None  # as the mailbox reports it (usually a Windows zone name)

    def addresses(self) -> frozenset[str]:
        """Every SMTP address of the mailbox, lower-cased: primary, UPN and aliases from proxyAddresses."""
        found = {self.user_principal_name.lower()}
        if self.mail:
            found.add(self.mail.lower())
        for proxy in self.proxy_addresses:
            scheme, _, address = proxy.partition(":")
            if scheme.lower() == "smtp" and address:
                found.add(address.lower())
        return frozenset(found)


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


class Attendee(_Model):
    email: str
    response: Response = "none"


class GraphEvent(_Model):
    """An event as read from a mailbox."""

    id: str
    change_key: str | None = None
    created: dt.datetime | None = None
    last_modified: dt.datetime | None = None
    subject: str | None = None
    body: str | None = None
    body_type: Literal["text", "html"] | None = None
    start: dt.datetime | None = None  # aware
    end: dt.datetime | None = None  # aware
    start_time_zone: str | None = None  # the zone the event was created in, when Graph reports it
    is_all_day: bool | None = None
    show_as: ShowAs | None = None
    sensitivity: Sensitivity | None = None
    is_cancelled: bool | None = None
    is_organizer: bool | None = None
    response: Response | None = None
    type: EventType | None = None
    series_master_id: str | None = None
    original_start: dt.datetime | None = None
    organizer_email: str | None = None
    attendees: tuple[Attendee, ...] = ()
    categories: tuple[str, ...] = ()
    transaction_id: str | None = None
    openair_key: str | None = None  # our extended property, when expanded

    @property
    def is_complete(self) -> bool:
        """The whole event, not a delta item carrying some properties only. Delta may send an update's changed
        properties alone, and occurrences of a series always arrive bare: id, type, seriesMasterId, start, end and
        the etag (microsoft-graph-docs-contrib issues #34 and #5602)."""
        needed = (self.change_key, self.start, self.end, self.type, self.show_as, self.sensitivity)
        return all(value is not None for value in needed) and None not in (self.is_all_day, self.is_cancelled)


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


class DeltaResult(_Model):
    """One complete pass of calendarView/delta, followed to its end."""

    events: tuple[GraphEvent, ...]
    removed_ids: tuple[str, ...]
    delta_link: str


class AutomaticReplies(_Model):
    """A mailbox's automatic replies (mailboxSettings.automaticRepliesSetting); scheduled times are aware."""

    status: Literal["disabled", "alwaysEnabled", "scheduled"] = "disabled"
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    internal_message: str = ""
    external_message: str = ""

    def active_at(self, moment: dt.datetime) -> bool:
        if self.status == "alwaysEnabled":
            return True
        return self.status == "scheduled" and self.end is not None and moment < self.end


class Subscription(_Model):
    id: str
    resource: str
    change_type: str
    notification_url: str
    lifecycle_notification_url: str | None = None
    expiration: dt.datetime
    client_state: str | None = None
