"""Which Outlook events become bookings, and what they look like: pure functions of an event and the settings.

Times are compared and stored in one form, the export's (`synced_fields` in sync/mailbox.py): naive wall-clock
ISO strings in a named zone, an all-day event as midnight of its first day to midnight after its last. So a
link's `Fields`, an Outlook event and an OpenAir booking can be compared field by field, whichever side wrote
the link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from shared.graph.models import GraphEvent
from shared.openair.models import Booking
from shared.store.admin import IntegrationSettings

# A booking whose externalid starts with this was made by the import: the export never renders it over the
# person's own event (see `_drop_settled` in sync/planner.py).
IMPORT_EXTERNALID_PREFIX = "m365:"
PRIVATE_SENSITIVITIES = frozenset({"private", "confidential"})
PRIVATE_NOTE = "Private appointment"
MAX_NOTES = 2000

Snapshot = dict[str, str]  # start, end, is_all_day, time_zone (+ notes for imported bookings)


@dataclass(frozen=True)
class Skip:
    """Not imported (free, private, cancelled, before SyncEventsAfter…); an existing booking is left alone."""

    reason: str


@dataclass(frozen=True)
class Gone:
    """Declined or cancelled: treated like a deletion in Outlook (the OnOutlookDeletion policy applies)."""

    reason: str


def event_identity(event: GraphEvent) -> str:
    """An occurrence is its series + original start (ids of occurrences are not to be trusted across edits)."""
    if event.series_master_id and event.original_start is not None:
        return f"occ|{event.series_master_id}|{event.original_start.astimezone(dt.UTC).isoformat()}"
    return f"evt|{event.id}"


def external_id(mailbox_id: str, identity: str) -> str:
    """The booking's externalid: stable per mailbox and event, so a retried Add updates instead of duplicating."""
    return IMPORT_EXTERNALID_PREFIX + hashlib.sha256(f"{mailbox_id}|{identity}".encode()).hexdigest()[:32]


def classify(event: GraphEvent, settings: IntegrationSettings, *, linked: bool) -> Skip | Gone | None:
    """None when the event should be (or stay) a booking; otherwise why not."""
    if event.is_cancelled:
        return Gone("cancelled")
    if event.response == "declined":
        return Gone("declined")
    if event.type == "seriesMaster":
        return Skip("series master (its occurrences are imported one by one)")
    if event.start is None or event.end is None:
        return Skip("no start or end")
    if event.sensitivity in PRIVATE_SENSITIVITIES and not settings.import_private_events:
        return Skip("private")
    if event.show_as == "free" and settings.skip_free_events:
        return Skip("shown as free")
    if not linked and settings.sync_events_after is not None:
        after = dt.datetime.combine(settings.sync_events_after, dt.time(0), dt.UTC)
        touched = max((t for t in (event.created, event.last_modified) if t is not None), default=None)
        if touched is None or touched < after:
            return Skip("created and last modified before SyncEventsAfter")
    return None


def _iso(value: dt.datetime) -> str:
    return value.isoformat()


def event_snapshot(event: GraphEvent, zone: str, *, with_notes: bool) -> Snapshot:
    """The event's times (and subject as notes; a private event's never) in `zone`, in the link's form."""
    assert event.start is not None
    assert event.end is not None
    if event.is_all_day:
        # Graph reads all-day events as floating dates at midnight, whatever the zone asked for.
        first = event.start.astimezone(dt.UTC).date()
        after = max(event.end.astimezone(dt.UTC).date(), first + dt.timedelta(days=1))
        start, end = dt.datetime.combine(first, dt.time(0)), dt.datetime.combine(after, dt.time(0))
    else:
        tz = ZoneInfo(zone)
        start = event.start.astimezone(tz).replace(tzinfo=None)
        end = event.end.astimezone(tz).replace(tzinfo=None)
    out = {"start": _iso(start), "end": _iso(end), "is_all_day": str(bool(event.is_all_day)).lower(),
           "time_zone": zone}  # fmt: skip
    if with_notes:
        private = event.sensitivity in PRIVATE_SENSITIVITIES
        out["notes"] = PRIVATE_NOTE if private else (event.subject or "")[:MAX_NOTES]
    return out


def booking_snapshot(booking: Booking, zone: str, *, with_notes: bool) -> Snapshot:
    """The booking's times as the export renders them (timed: its wall-clock times; else all-day)."""
    timed = booking.starttime is not None and booking.endtime is not None
    if timed:
        assert booking.starttime is not None
        assert booking.endtime is not None
        start = dt.datetime.combine(booking.startdate, booking.starttime.time())
        end = dt.datetime.combine(booking.enddate, booking.endtime.time())
        timed = end > start
    if not timed:
        last = max(booking.enddate, booking.startdate)
        start = dt.datetime.combine(booking.startdate, dt.time(0))
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0))
    out = {"start": _iso(start), "end": _iso(end), "is_all_day": str(not timed).lower(), "time_zone": zone}
    if with_notes:
        out["notes"] = booking.notes or ""
    return out


def booking_values(snapshot: Mapping[str, str]) -> dict[str, Any]:
    """OpenAir booking fields for a snapshot: all-day → 100% allocation, timed → its hours."""
    start = dt.datetime.fromisoformat(snapshot["start"])
    end = dt.datetime.fromisoformat(snapshot["end"])
    values: dict[str, Any]
    if snapshot.get("is_all_day") == "true":
        last = max(start.date(), (end - dt.timedelta(days=1)).date())
        values = {"startdate": start.date(), "enddate": last, "starttime": None, "endtime": None,
                  "hours": None, "percentage": 100.0, "as_percentage": True}  # fmt: skip
    else:
        hours = round((end - start).total_seconds() / 3600, 2)
        values = {"startdate": start.date(), "enddate": end.date(), "starttime": start, "endtime": end,
                  "hours": hours, "percentage": None, "as_percentage": False}  # fmt: skip
    if "notes" in snapshot:
        values["notes"] = snapshot["notes"]
    return values


def changed_values(merged: Mapping[str, str], current: Mapping[str, str]) -> dict[str, Any]:
    """The booking fields to write so the booking matches `merged` (empty when it already does).

    An all-day booking that stays all-day keeps its allocation (hours or percentage): only its dates move.
    """
    values: dict[str, Any] = {}
    if any(merged.get(k) != current.get(k) for k in ("start", "end", "is_all_day")):
        full = booking_values(merged)
        full.pop("notes", None)
        if merged.get("is_all_day") == current.get("is_all_day") == "true":
            values = {"startdate": full["startdate"], "enddate": full["enddate"]}
        else:
            values = full
    if "notes" in merged and merged["notes"] != current.get("notes"):
        values["notes"] = merged["notes"]
    return values
