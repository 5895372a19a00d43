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


def _etag_change_key(etag: Any) -> str | None:
    """A bare delta item has no changeKey, only its `@odata.etag`, which is W/"<changeKey>" for events."""
    text = str(etag or "")
    return text[3:-1] if text.startswith('W/"') and text.endswith('"') and len(text) > 4 else None


def change_key(event: Any) -> str | None:
    if event.change_key:
        return str(event.change_key)
    return _etag_change_key((getattr(event, "additional_data", None) or {}).get("@odata.etag"))


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
            "change_key": change_key(event),
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


def _json_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, dict) or not value.get("dateTime"):
        return None
    local = dt.datetime.fromisoformat(str(value["dateTime"]).rstrip("Z"))
    return local.replace(tzinfo=_zone(value.get("timeZone"))).astimezone(dt.UTC)


def _json_instant(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def graph_event_json(body: dict[str, Any]) -> GraphEvent:
    """Our GraphEvent from an event's JSON as Graph sent it (a `$batch` item's body).

    Read directly rather than through the SDK's Event model, whose deserializer map costs tens of milliseconds
    per event; the fields and their meaning are the ones `graph_event` reads.
    """
    content = body.get("body") or {}
    organizer = (body.get("organizer") or {}).get("emailAddress") or {}
    attendees = [
        {"email": a["emailAddress"]["address"], "response": (a.get("status") or {}).get("response") or "none"}
        for a in body.get("attendees") or []
        if (a.get("emailAddress") or {}).get("address")
    ]
    stamped = [
        str(p.get("value"))
        for p in body.get("singleValueExtendedProperties") or []
        if p.get("id") and p.get("value") is not None and same_property_id(str(p["id"]), OPENAIR_PROPERTY_ID)
    ]
    return GraphEvent.model_validate(
        {
            "id": body["id"],
            "change_key": body.get("changeKey") or _etag_change_key(body.get("@odata.etag")),
            "created": _json_instant(body.get("createdDateTime")),
            "last_modified": _json_instant(body.get("lastModifiedDateTime")),
            "subject": body.get("subject"),
            "body": content.get("content"),
            "body_type": content.get("contentType"),
            "start": _json_time(body.get("start")),
            "end": _json_time(body.get("end")),
            "start_time_zone": body.get("originalStartTimeZone"),
            "is_all_day": body.get("isAllDay"),
            "show_as": body.get("showAs"),
            "sensitivity": body.get("sensitivity"),
            "is_cancelled": body.get("isCancelled"),
            "is_organizer": body.get("isOrganizer"),
            "response": (body.get("responseStatus") or {}).get("response"),
            "type": body.get("type"),
            "series_master_id": body.get("seriesMasterId"),
            "original_start": _json_instant(body.get("originalStart")),
            "organizer_email": organizer.get("address"),
            "attendees": attendees,
            "categories": tuple(body.get("categories") or ()),
            "transaction_id": body.get("transactionId"),
            "openair_key": stamped[0] if stamped else None,
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
