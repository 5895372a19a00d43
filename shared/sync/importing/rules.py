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

from shared.domain.mappings import UserMapping
from shared.domain.settings import ANY, ImportDetail, IntegrationSettings
from shared.graph.models import GraphEvent
from shared.openair.characters import xml_text
from shared.openair.models import Booking
from shared.sync.incumbent import written_by_incumbent

# A booking whose externalid starts with this was made by the import: the export never renders it over the
# person's own event (see `_drop_settled` in sync/planner.py).
IMPORT_EXTERNALID_PREFIX = "m365:"
PRIVATE_SENSITIVITIES = frozenset({"private", "confidential"})
PRIVATE_NOTE = "Private appointment"
MADE_PRIVATE = "made private in Outlook (ImportPrivateEvents is off)"
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


# What an availability-only import writes as the booking's notes: the Show As, in Outlook's words.
AVAILABILITY_NOTES = {"free": "Free", "tentative": "Tentative", "busy": "Busy", "oof": "Out of office",
                      "workingElsewhere": "Working elsewhere", "unknown": "Busy"}  # fmt: skip


@dataclass(frozen=True)
class ImportFilter:
    """Which of a person's events become bookings, and how much of them: IntegrationSettings, overridden per user
    by the UserMappings columns of the same names. Empty means no filter."""

    categories: frozenset[str] = frozenset()  # casefolded: Outlook compares category names without case
    show_as: frozenset[str] = frozenset()
    subject_tag: str = ""
    availability_only: bool = False

    def miss(self, event: GraphEvent) -> str | None:
        """Why the event does not match (None: it does)."""
        if self.categories and not {c.casefold() for c in event.categories} & self.categories:
            return "has none of the categories in ImportCategories"
        if self.show_as and (event.show_as or "busy") not in self.show_as:
            return f"is shown as {event.show_as}, not in ImportShowAs"
        if self.subject_tag and self.subject_tag.casefold() not in (event.subject or "").casefold():
            return "has no ImportSubjectTag in its subject"
        return None

    def notes(self, event: GraphEvent) -> str:
        """The booking's notes: the subject (less the tag), or only the Show As in availability-only mode."""
        if self.availability_only:
            return AVAILABILITY_NOTES.get(event.show_as or "busy", "Busy")
        # As OpenAir will hold it: the link then records what the booking says, and the next pass sees no change.
        subject = xml_text(event.subject or "")
        if self.subject_tag:
            at = subject.casefold().find(self.subject_tag.casefold())
            if at >= 0:
                subject = " ".join((subject[:at] + subject[at + len(self.subject_tag) :]).split())
        return subject[:MAX_NOTES]


def describe_filter(rules: ImportFilter) -> str:
    """The filter in an administrator's words (status)."""
    parts = []
    if rules.categories:
        parts.append("categories " + ", ".join(sorted(rules.categories)))
    if rules.show_as:
        parts.append("shown as " + ", ".join(sorted(rules.show_as)))
    if rules.subject_tag:
        parts.append(f"subject tag '{rules.subject_tag}'")
    text = "only " + "; ".join(parts) if parts else "all events"
    return text + (", availability only" if rules.availability_only else "")


def import_filter(settings: IntegrationSettings, mapping: UserMapping | None = None) -> ImportFilter:
    """The filter for one user: a non-empty UserMappings column wins over IntegrationSettings; `*` turns it off."""
    categories = settings.import_categories
    show_as = settings.import_show_as
    tag = settings.import_subject_tag
    detail = settings.import_detail
    if mapping is not None:
        categories = mapping.import_categories if mapping.import_categories is not None else categories
        show_as = mapping.import_show_as if mapping.import_show_as is not None else show_as
        tag = mapping.import_subject_tag if mapping.import_subject_tag is not None else tag
        detail = mapping.import_detail or detail
    return ImportFilter(
        categories=frozenset(c.casefold() for c in categories if c != ANY),
        show_as=frozenset(s for s in show_as if s != ANY),
        subject_tag="" if tag == ANY else tag,
        availability_only=detail is ImportDetail.AVAILABILITY_ONLY,
    )


def event_identity(event: GraphEvent) -> str:
    """An occurrence is its series + original start (ids of occurrences are not to be trusted across edits)."""
    if event.series_master_id and event.original_start is not None:
        return f"occ|{event.series_master_id}|{event.original_start.astimezone(dt.UTC).isoformat()}"
    return f"evt|{event.id}"


def external_id(mailbox_id: str, identity: str) -> str:
    """The booking's externalid: stable per mailbox and event, so a retried Add updates instead of duplicating."""
    return IMPORT_EXTERNALID_PREFIX + hashlib.sha256(f"{mailbox_id}|{identity}".encode()).hexdigest()[:32]


def classify(
    event: GraphEvent, settings: IntegrationSettings, *, linked: bool, rules: ImportFilter | None = None
) -> Skip | Gone | None:
    """None when the event should be (or stay) a booking; otherwise why not.

    `rules`: the user's import filter. An event that no longer matches it is treated like an event deleted in
    Outlook (the OnOutlookDeletion policy decides); one that never matched is not imported.
    """
    if event.is_cancelled:
        return Gone("cancelled")
    if event.response == "declined":
        return Gone("declined")
    if event.type == "seriesMaster":
        return Skip("series master (its occurrences are imported one by one)")
    if event.start is None or event.end is None:
        return Skip("no start or end")
    if event.sensitivity in PRIVATE_SENSITIVITIES and not settings.import_private_events:
        # Checked on every change, not only the first: an imported event made private later stops being imported
        # (OnOutlookDeletion decides its booking, whose notes lose the subject whatever the policy).
        return Gone(MADE_PRIVATE) if linked else Skip("private")
    if event.show_as == "free" and settings.skip_free_events:
        return Skip("shown as free")
    if not linked and written_by_incumbent(event):
        # An OpenAir record's event the cutover left alone (ambiguous or stale): never a new booking.
        return Skip("written by the Exchange Integration Manager")
    reason = rules.miss(event) if rules is not None else None
    if reason is not None:
        return Gone(f"no longer matches the import filter: {reason}") if linked else Skip(f"filtered: {reason}")
    if not linked and settings.sync_events_after is not None:
        after = dt.datetime.combine(settings.sync_events_after, dt.time(0), dt.UTC)
        touched = max((t for t in (event.created, event.last_modified) if t is not None), default=None)
        if touched is None or touched < after:
            return Skip("created and last modified before SyncEventsAfter")
    return None


def _iso(value: dt.datetime) -> str:
    return value.isoformat()


def event_snapshot(event: GraphEvent, zone: str, *, with_notes: bool, rules: ImportFilter | None = None) -> Snapshot:
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
        out["notes"] = PRIVATE_NOTE if private else (rules or ImportFilter()).notes(event)
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
