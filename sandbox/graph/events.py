"""Graph event JSON in and out: validating a create/PATCH body, and rendering a stored event as Graph does.

Rendering honours `Prefer: outlook.timezone` (start/end in that zone, else UTC) and
`Prefer: outlook.body-content-type` (bodies come back as HTML unless text is asked for, as Graph documents).
All-day events are floating dates: they render at midnight in whichever zone the caller asked for.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sandbox.graph import odata, recurrence, timezones
from sandbox.graph.errors import GraphError, bad_request
from sandbox.graph.store import Store, StoredEvent, new_change_key, new_event_id

SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")
SENSITIVITY = ("normal", "personal", "private", "confidential")
IMPORTANCE = ("low", "normal", "high")
RESPONSES = ("none", "organizer", "tentativelyAccepted", "accepted", "declined", "notResponded")
NO_EXPAND = odata.Expand(None)
NEVER = "0001-01-01T00:00:00Z"

# What a client may set. Anything not here and not read-only is a 400, as Graph rejects unknown properties.
WRITABLE = {
    "subject",
    "body",
    "start",
    "end",
    "isAllDay",
    "showAs",
    "sensitivity",
    "categories",
    "importance",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "location",
    "locations",
    "attendees",
    "recurrence",
    "transactionId",
    "singleValueExtendedProperties",
    "responseRequested",
    "allowNewTimeProposals",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "hideAttendees",
    "originalStartTimeZone",
    "originalEndTimeZone",
}
# Server-owned: Graph ignores them in a request body; the control API ("acting as the user") may set some.
READ_ONLY = {
    "id",
    "changeKey",
    "createdDateTime",
    "lastModifiedDateTime",
    "iCalUId",
    "type",
    "seriesMasterId",
    "originalStart",
    "webLink",
    "bodyPreview",
    "hasAttachments",
    "isDraft",
    "onlineMeetingUrl",
    "onlineMeeting",
    "isCancelled",
    "isOrganizer",
    "responseStatus",
    "organizer",
    "cancelledOccurrences",
    "exceptionOccurrences",
    "calendar",
    "instances",
    "attachments",
    "extensions",
    "multiValueExtendedProperties",
}
USER_SETTABLE = {"isCancelled", "isOrganizer", "responseStatus", "organizer"}


@dataclass(frozen=True)
class RenderOptions:
    """How one request wants events back."""

    zone_name: str | None = None  # Prefer: outlook.timezone; None = UTC
    body_type: str | None = None  # Prefer: outlook.body-content-type; None = html (Graph's default)
    select: set[str] | None = None
    expand: odata.Expand = NO_EXPAND
    text_body_as_html: bool = True


def _enum(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    for option in allowed:
        if isinstance(value, str) and value.lower() == option.lower():
            return option
    raise GraphError(400, "RequestBodyRead", f"Cannot convert the literal '{value}' to the expected type '{name}'.")


def _time(value: Any, what: str) -> tuple[dt.datetime, str]:
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise bad_request(f"The '{what}' property requires 'dateTime' and 'timeZone'.")
    zone_name = value.get("timeZone") or "UTC"
    timezones.zone(zone_name)  # 400 TimeZoneNotSupportedException for unknown names
    return timezones.parse_local(str(value["dateTime"])), zone_name


def _email(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "emailAddress": {
            "name": user.get("displayName", ""),
            "address": user.get("mail") or user.get("userPrincipalName", ""),
        }
    }


def _attendees(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise bad_request("attendees must be a collection.")
    result = []
    for item in value:
        address = (item or {}).get("emailAddress") or {}
        if not address.get("address"):
            raise bad_request("An attendee requires emailAddress.address.", "ErrorInvalidRecipients")
        result.append(
            {
                "type": _enum(
                    "microsoft.graph.attendeeType", item.get("type", "required"), ("required", "optional", "resource")
                ),
                "status": item.get("status") or {"response": "none", "time": NEVER},
                "emailAddress": {"name": address.get("name", address["address"]), "address": address["address"]},
            }
        )
    return result


def apply_body(event: StoredEvent, body: dict[str, Any], *, as_user: bool = False, creating: bool = False) -> None:
    """Validate a create/PATCH body and apply it to `event` in place (times checked together afterwards)."""
    if not isinstance(body, dict):
        raise GraphError(400, "RequestBodyRead", "The request body must be a JSON object.")
    for key, value in body.items():
        if key.startswith("@odata") or (key in READ_ONLY and not (as_user and key in USER_SETTABLE)):
            continue
        if key not in WRITABLE and key not in USER_SETTABLE:
            raise GraphError(
                400,
                "RequestBodyRead",
                f"The property '{key}' does not exist on type 'microsoft.graph.event'. Make sure to only "
                f"use property names that are defined by the type or mark the type as open type.",
            )
        if key == "start":
            event.start_local, event.start_zone = _time(value, "start")
        elif key == "end":
            event.end_local, event.end_zone = _time(value, "end")
        elif key == "showAs":
            event.props[key] = _enum("microsoft.graph.freeBusyStatus", value, SHOW_AS)
        elif key == "sensitivity":
            event.props[key] = _enum("microsoft.graph.sensitivity", value, SENSITIVITY)
        elif key == "importance":
            event.props[key] = _enum("microsoft.graph.importance", value, IMPORTANCE)
        elif key == "body":
            if not isinstance(value, dict):
                raise GraphError(400, "RequestBodyRead", "body must be an itemBody object.")
            kind = _enum("microsoft.graph.bodyType", value.get("contentType", "text"), ("text", "html"))
            event.props["body"] = {"contentType": kind, "content": str(value.get("content") or "")}
        elif key == "categories":
            if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
                raise GraphError(400, "RequestBodyRead", "categories must be a collection of strings.")
            event.props[key] = list(value)
        elif key == "attendees":
            event.props[key] = _attendees(value)
        elif key == "responseStatus":
            response = _enum("microsoft.graph.responseType", (value or {}).get("response"), RESPONSES)
            event.props[key] = {
                "response": response,
                "time": (value or {}).get("time") or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        elif key == "recurrence":
            event.props[key] = None if value is None else recurrence.validate(value)
        elif key == "transactionId":
            if not creating and event.props.get("transactionId") not in (None, value):
                raise bad_request(
                    "The transactionId of an event cannot be changed.", "ErrorInvalidPropertyUpdateSentAttribute"
                )
            event.props[key] = value
        elif key == "singleValueExtendedProperties":
            if not isinstance(value, list):
                raise GraphError(400, "RequestBodyRead", "singleValueExtendedProperties must be a collection.")
            for prop in value:
                if not isinstance(prop, dict) or "id" not in prop or not isinstance(prop.get("value"), str):
                    raise GraphError(
                        400,
                        "ErrorInvalidExtendedPropertyValue",
                        "An extended property needs 'id' and a string 'value'.",
                    )
                event.extended[odata.ext_key(prop["id"])] = (prop["id"], prop["value"])
        elif key in {
            "isAllDay",
            "isReminderOn",
            "responseRequested",
            "allowNewTimeProposals",
            "isOnlineMeeting",
            "hideAttendees",
            "isCancelled",
            "isOrganizer",
        }:
            if not isinstance(value, bool):
                raise GraphError(
                    400, "RequestBodyRead", f"Cannot convert the literal '{value}' to the expected type 'Edm.Boolean'."
                )
            event.props[key] = value
        else:
            event.props[key] = value


def check_times(event: StoredEvent) -> None:
    """Graph's rules on start/end: end not before start; all-day needs midnights in one zone."""
    start = timezones.to_utc(event.start_local, timezones.zone(event.start_zone))
    end = timezones.to_utc(event.end_local, timezones.zone(event.end_zone))
    if end < start:
        raise bad_request("The end time of the event is before its start time.", "ErrorInvalidRequest")
    if event.props.get("isAllDay"):
        midnight = dt.time(0, 0)
        same_zone = timezones.zone(event.start_zone) == timezones.zone(event.end_zone)
        if event.start_local.time() != midnight or event.end_local.time() != midnight or not same_zone or end == start:
            raise GraphError(
                400,
                "ErrorPropertyValidationFailure",
                "Your request can't be completed. If an event is marked as all-day, its start and end time must be "
                "at midnight in the same time zone, and the event must last at least one day.",
            )


def new_event(store: Store, user: dict[str, Any], body: dict[str, Any], *, as_user: bool = False) -> StoredEvent:
    """A validated, not yet stored event from a POST body."""
    now = store.now()
    event = StoredEvent(
        id=new_event_id(user["id"]),
        mailbox=user["id"],
        props={"organizer": _email(user)},
        start_local=dt.datetime(1, 1, 1),
        start_zone="",
        end_local=dt.datetime(1, 1, 1),
        end_zone="",
        created=now,
        modified=now,
        change_key=new_change_key(),
        ical_uid="040000008200E00074C5B7101A82E00800000000" + secrets.token_hex(28).upper(),
    )
    if "start" not in body or "end" not in body:
        raise bad_request("Your request can't be completed. The event must have a start and an end time.")
    apply_body(event, body, as_user=as_user, creating=True)
    check_times(event)
    if event.props.get("recurrence"):
        event.type = "seriesMaster"
    return event


def import_event(store: Store, user: dict[str, Any], body: dict[str, Any]) -> StoredEvent:
    """An event from a `--data` file: same rules as a POST, but the file may also fix id and read-only fields."""
    event = new_event(store, user, body, as_user=True)
    if body.get("id"):
        event.id = str(body["id"])
    return event


def utc_start(event: StoredEvent) -> dt.datetime:
    return timezones.to_utc(event.start_local, timezones.zone(event.start_zone))


def utc_end(event: StoredEvent) -> dt.datetime:
    return timezones.to_utc(event.end_local, timezones.zone(event.end_zone))


def _render_time(local: dt.datetime, zone_name: str, all_day: bool, out_zone: str | None) -> dict[str, str]:
    name = out_zone or "UTC"
    if all_day:  # floating date: midnight in whatever zone the caller reads it in
        return {"dateTime": timezones.format_local(local), "timeZone": name}
    aware = local.replace(tzinfo=timezones.zone(zone_name)).astimezone(timezones.zone(name))
    return {"dateTime": timezones.format_local(aware.replace(tzinfo=None)), "timeZone": name}


def _html_to_text(content: str) -> str:
    text = re.sub(r"(?is)<(head|style|script)\b.*?</\1>", "", content)
    text = re.sub(r"(?i)<br\s*/?>|</(p|div)>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def _text_to_html(content: str) -> str:
    escaped = html.escape(content).replace("\r\n", "\n").replace("\n", "<br>\r\n")
    return (
        '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n</head>\r\n'
        f'<body>\r\n<div class="PlainText">{escaped}</div>\r\n</body>\r\n</html>\r\n'
    )


def _render_body(body: dict[str, str], options: RenderOptions) -> dict[str, str]:
    kind, content = body["contentType"], body["content"]
    wanted = options.body_type or ("html" if options.text_body_as_html else kind)
    if wanted == kind:
        return {"contentType": kind, "content": content}
    if wanted == "text":
        return {"contentType": "text", "content": _html_to_text(content)}
    return {"contentType": "html", "content": _text_to_html(content)}


# What calendarView/delta says about an occurrence of a series: nothing but these (microsoft-graph-docs-contrib issues
# #34 and #5602). Exceptions, single events and masters come whole.
BARE_OCCURRENCE = ("@odata.etag", "id", "seriesMasterId", "type", "start", "end")


def render_delta_item(event: StoredEvent, options: RenderOptions) -> dict[str, Any]:
    """An event as a calendarView/delta page carries it: an occurrence bare, anything else whole."""
    rendered = render(event, options)
    if event.type == "occurrence":
        return {name: rendered[name] for name in BARE_OCCURRENCE}
    return rendered


def render(event: StoredEvent, options: RenderOptions) -> dict[str, Any]:
    """The event as Graph returns it for this request's preferences."""
    props = event.props
    all_day = bool(props.get("isAllDay"))
    body = props.get("body") or {"contentType": "text", "content": ""}
    preview = _html_to_text(body["content"]) if body["contentType"] == "html" else body["content"]
    out: dict[str, Any] = {
        "@odata.etag": f'W/"{event.change_key}"',
        "id": event.id,
        "createdDateTime": timezones.format_instant(event.created),
        "lastModifiedDateTime": timezones.format_instant(event.modified),
        "changeKey": event.change_key,
        "categories": list(props.get("categories", [])),
        "originalStartTimeZone": event.start_zone,
        "originalEndTimeZone": event.end_zone,
        "iCalUId": event.ical_uid,
        "reminderMinutesBeforeStart": props.get("reminderMinutesBeforeStart", 15),
        "isReminderOn": props.get("isReminderOn", not all_day),
        "hasAttachments": False,
        "subject": props.get("subject", ""),
        "bodyPreview": preview[:255],
        "importance": props.get("importance", "normal"),
        "sensitivity": props.get("sensitivity", "normal"),
        "isAllDay": all_day,
        "isCancelled": props.get("isCancelled", False),
        "isOrganizer": props.get("isOrganizer", True),
        "responseRequested": props.get("responseRequested", True),
        "seriesMasterId": event.series_master_id,
        "showAs": props.get("showAs", "busy"),
        "type": event.type,
        "webLink": f"https://outlook.office365.com/owa/?itemid={event.id}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": props.get("isOnlineMeeting", False),
        "onlineMeetingProvider": props.get("onlineMeetingProvider", "unknown"),
        "allowNewTimeProposals": props.get("allowNewTimeProposals", True),
        "isDraft": False,
        "hideAttendees": props.get("hideAttendees", False),
        "responseStatus": props.get("responseStatus") or {"response": "organizer", "time": NEVER},
        "body": _render_body(body, options),
        "start": _render_time(event.start_local, event.start_zone, all_day, options.zone_name),
        "end": _render_time(event.end_local, event.end_zone, all_day, options.zone_name),
        "location": props.get("location")
        or {"displayName": "", "locationType": "default", "uniqueIdType": "unknown", "address": {}, "coordinates": {}},
        "locations": props.get("locations", []),
        "recurrence": props.get("recurrence") if event.type == "seriesMaster" else None,
        "attendees": props.get("attendees", []),
        "organizer": props.get("organizer"),
        "onlineMeeting": None,
    }
    # v1.0 has no `uid` or `occurrenceId` (beta only), and shows `transactionId` only on events created with one.
    if props.get("transactionId") is not None:
        out["transactionId"] = props["transactionId"]
    if event.original_start is not None:
        out["originalStart"] = event.original_start.strftime("%Y-%m-%dT%H:%M:%SZ")
    if options.select is not None:
        out = {k: v for k, v in out.items() if k in options.select or k in {"@odata.etag", "id"}}
    if options.expand.ext_ids is not None:
        props_out = [
            {"id": spelled, "value": value}
            for key, (spelled, value) in event.extended.items()
            if not options.expand.ext_ids or key in options.expand.ext_ids
        ]
        if props_out:  # Graph omits the collection when no property matched
            out["singleValueExtendedProperties"] = props_out
    return out
