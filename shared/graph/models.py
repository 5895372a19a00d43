"""The gateway's own typed view of what Graph holds: mailboxes, events read back, delta passes, automatic
replies, subscriptions. The events the product writes and the outcome of each write are the engine's words:
`shared/domain/events.py`.

msgraph-sdk types stop at the gateway; everything past it (the engine, the store) speaks these models.
Events read back carry aware datetimes.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.domain.events import Sensitivity, ShowAs

# Our single-value extended property. The GUID is this product's own property set; the name is
# case-sensitive in Graph filters. Value format: "openair:<record type>:<id>", e.g. "openair:booking:123".
OPENAIR_PROPERTY_SET = "{6b2c7a5e-1f0d-4a8e-9c3b-2d4e5f6a7b8c}"
OPENAIR_PROPERTY_ID = f"String {OPENAIR_PROPERTY_SET} Name OpenAirKey"

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
