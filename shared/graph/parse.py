"""Graph's answers (msgraph-sdk models, typed Any here) as our own models.

Every reader asks Graph for `Prefer: outlook.timezone="UTC"`, so times come back as UTC wall-clock strings;
an IANA zone is accepted too. A zone we cannot place is an error, never silently read as UTC.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.graph.models import OPENAIR_PROPERTY_ID, AutomaticReplies, GraphEvent, Mailbox, Subscription

_UTC_NAMES = {"utc", "etc/utc", "gmt", "z", "coordinated universal time", "tzone://microsoft/utc"}


def same_property_id(left: str, right: str) -> bool:
    """Extended-property ids match with type and GUID case-insensitive and the name case-sensitive."""
    left_head, _, left_name = left.partition(" Name ")
    right_head, _, right_name = right.partition(" Name ")
    return left_head.strip().lower() == right_head.strip().lower() and left_name.strip() == right_name.strip()


def _text(value: Any) -> str | None:
    """An SDK enum's wire value, or a plain string as it is."""
    if value is None:
        return None
    return str(value.value) if isinstance(value, enum.Enum) else str(value)


def _zone(name: str | None) -> dt.tzinfo:
    if name is None or name.strip().lower() in _UTC_NAMES:
        return dt.UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"Graph answered in time zone {name!r}; the gateway asks for UTC") from None


def date_time(value: Any) -> dt.datetime | None:
    """An aware datetime from Graph's dateTimeTimeZone (`2027-03-28T07:00:00.0000000`, `UTC`)."""
    if value is None or not getattr(value, "date_time", None):
        return None
    local = dt.datetime.fromisoformat(value.date_time.rstrip("Z"))
    return local.replace(tzinfo=_zone(value.time_zone)).astimezone(dt.UTC)


def removed_id(event: Any) -> str | None:
    """The id of a delta `{"id": …, "@removed": {…}}` entry; None for a live event."""
    extra = getattr(event, "additional_data", None) or {}
    return str(event.id) if "@removed" in extra and event.id else None


def openair_key(event: Any) -> str | None:
    for prop in getattr(event, "single_value_extended_properties", None) or []:
        if prop.id and same_property_id(prop.id, OPENAIR_PROPERTY_ID):
            return str(prop.value) if prop.value is not None else None
    return None


def graph_event(event: Any) -> GraphEvent:
    """Our GraphEvent from an msgraph `Event`; fields a delta page left out stay None."""
    body, organizer = event.body, event.organizer
    attendees = [
        {"email": a.email_address.address, "response": _text(a.status.response if a.status else None) or "none"}
        for a in event.attendees or []
        if a.email_address is not None and a.email_address.address
    ]
    return GraphEvent.model_validate(
        {
            "id": event.id,
            "change_key": event.change_key,
            "created": event.created_date_time,
            "last_modified": event.last_modified_date_time,
            "subject": event.subject,
            "body": body.content if body else None,
            "body_type": _text(body.content_type) if body else None,
            "start": date_time(event.start),
            "end": date_time(event.end),
            "start_time_zone": event.original_start_time_zone,
            "is_all_day": event.is_all_day,
            "show_as": _text(event.show_as),
            "sensitivity": _text(event.sensitivity),
            "is_cancelled": event.is_cancelled,
            "is_organizer": event.is_organizer,
            "response": _text(event.response_status.response) if event.response_status else None,
            "type": _text(event.type),
            "series_master_id": event.series_master_id,
            "original_start": event.original_start,
            "organizer_email": organizer.email_address.address if organizer and organizer.email_address else None,
            "attendees": attendees,
            "categories": tuple(event.categories or ()),
            "transaction_id": event.transaction_id,
            "openair_key": openair_key(event),
        }
    )


def mailbox(user: Any) -> Mailbox:
    return Mailbox(
        id=user.id,
        user_principal_name=user.user_principal_name or user.mail or user.id,
        display_name=user.display_name or "",
        mail=user.mail,
        proxy_addresses=tuple(user.proxy_addresses or ()),
    )


def subscription(sub: Any, *, client_state: str | None = None) -> Subscription:
    """Our Subscription; Graph does not always echo clientState, so the caller may supply the one it sent."""
    return Subscription(
        id=sub.id,
        resource=sub.resource,
        change_type=sub.change_type,
        notification_url=sub.notification_url,
        lifecycle_notification_url=sub.lifecycle_notification_url,
        expiration=sub.expiration_date_time,
        client_state=sub.client_state or client_state,
    )


def automatic_replies(setting: Any) -> AutomaticReplies:
    """mailboxSettings.automaticRepliesSetting; its scheduled times may come in the mailbox's (Windows) zone."""
    if setting is None:
        return AutomaticReplies()

    def when(value: Any) -> dt.datetime | None:
        if value is None or not getattr(value, "date_time", None):
            return None
        from shared.timezones import resolve_zone

        zone = resolve_zone(value.time_zone or "UTC") or "UTC"
        local = dt.datetime.fromisoformat(value.date_time.rstrip("Z")[:26])
        return local.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)

    return AutomaticReplies(
        status=_text(setting.status) or "disabled",
        start=when(setting.scheduled_start_date_time),
        end=when(setting.scheduled_end_date_time),
        internal_message=setting.internal_reply_message or "",
        external_message=setting.external_reply_message or "",
    )
