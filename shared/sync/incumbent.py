"""The Exchange Integration Manager's events, recognised by their subject and body (pure functions).

The incumbent wrote every exported record as an event whose subject follows one of three formats (OpenAir's
admin guide, "Examples of OpenAir Transactions Exported as Calendar Events"), with no marker of its own:

    OA Booking: 24.00 hrs for Northwind Traders : ERP rollout
    OA Task Assignment: 16.00 hrs for ERP rollout - 1.0 Discovery
    OA Schedule request: 8.00 hrs for Vacation [Approved]

and a body of labelled lines ("Duration: 11/24/2023 to 11/24/2023", "Description: …", "Notes: …"). Our renderer
(`render.py`) follows the same subject formats, so one parser reads both sides: a draft we would write and an
event already in the mailbox reduce to the same `Signature`, and matching compares signatures, never raw text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from shared.domain.events import EventDraft
from shared.graph.models import GraphEvent
from shared.kinds import RecordKind, parse_openair_event_key

_AMOUNT = r"(?P<amount>\d+(?:\.\d+)?\s*(?:hrs|%))"
SUBJECTS: tuple[tuple[RecordKind, re.Pattern[str]], ...] = (
    (RecordKind.BOOKING, re.compile(rf"^OA Booking:\s*{_AMOUNT}(?:\s+for\s+(?P<label>.+?))?\s*$")),
    (RecordKind.TASK_ASSIGNMENT, re.compile(rf"^OA Task Assignment:\s*{_AMOUNT}\s+for\s+(?P<label>.+?)\s*$")),
    (
        RecordKind.SCHEDULE_REQUEST,
        re.compile(rf"^OA Schedule request:\s*{_AMOUNT}\s+for\s+(?P<label>.+?)\s*\[(?P<status>[^\]]*)\]\s*$"),
    ),
)
# Labels of the incumbent's body lines, per kind (and ours: the renderer writes the same labels). An event with
# the subject but none of these lines was written or rewritten by a person.
BODY_LABELS: dict[RecordKind, tuple[str, ...]] = {
    RecordKind.BOOKING: ("Customer", "Project", "Task", "Duration", "Notes"),
    RecordKind.TASK_ASSIGNMENT: ("Task", "Customer", "Project", "Start", "Finish", "Planned hours"),
    RecordKind.SCHEDULE_REQUEST: ("Duration", "Description", "Notes"),
}
KIND_NAMES = {
    RecordKind.BOOKING: "booking",
    RecordKind.TASK_ASSIGNMENT: "task assignment",
    RecordKind.SCHEDULE_REQUEST: "schedule request",
}


@dataclass(frozen=True)
class Signature:
    """What identifies an exported record in a calendar: kind, amount, names, status, days and times."""

    kind: RecordKind
    amount: str  # "24.00 hrs" or "50%", normalised
    label: str  # customer : project / project - task / time type, case and spacing folded
    status: str  # the schedule request's status; "" for the other kinds
    first_day: dt.date
    last_day: dt.date  # inclusive
    times: tuple[dt.time, dt.time] | None  # wall-clock start and end of a timed event; None when all-day

    @property
    def what(self) -> tuple[RecordKind, str]:
        """The record's identity without its schedule: two events with the same `what` are about one thing."""
        return self.kind, self.label

    def differences(self, other: Signature) -> list[str]:
        """How `other` (a record) differs from this signature (an event), in words an administrator reads."""
        found = []
        if (self.first_day, self.last_day) != (other.first_day, other.last_day):
            found.append(f"dates {_days(self)} in Outlook, {_days(other)} in OpenAir")
        if self.times != other.times:
            found.append(f"times {_times(self)} in Outlook, {_times(other)} in OpenAir")
        if self.amount != other.amount:
            found.append(f"amount {self.amount} in Outlook, {other.amount} in OpenAir")
        if self.status != other.status:
            found.append(f"status [{self.status}] in Outlook, [{other.status}] in OpenAir")
        return found


def _days(sig: Signature) -> str:
    first, last = sig.first_day.isoformat(), sig.last_day.isoformat()
    return first if first == last else f"{first}..{last}"


def _times(sig: Signature) -> str:
    return f"{sig.times[0]:%H:%M}-{sig.times[1]:%H:%M}" if sig.times else "all day"


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def parse_subject(subject: str | None) -> tuple[RecordKind, str, str, str] | None:
    """(kind, amount, label, status) of a subject in the incumbent's format; None for any other subject."""
    text = " ".join((subject or "").split())
    for kind, pattern in SUBJECTS:
        found = pattern.match(text)
        if found:
            amount = found["amount"].replace(" ", "")
            amount = amount.replace("hrs", " hrs")
            label = found.groupdict().get("label") or ""
            status = found.groupdict().get("status") or ""
            return kind, amount, _fold(label), _fold(status)
    return None


def has_incumbent_body(kind: RecordKind, body: str | None) -> bool:
    """True when the body carries at least one of the labelled lines the incumbent writes for this kind."""
    labels = BODY_LABELS[kind]
    for line in (body or "").splitlines():
        label, colon, _ = line.strip().partition(":")
        if colon and label.strip() in labels:
            return True
    return False


def draft_signature(draft: EventDraft) -> Signature | None:
    """The signature of an event we would write; None if its subject is not in the shared format."""
    parsed = parse_subject(draft.subject)
    keyed = parse_openair_event_key(draft.openair_key)
    if parsed is None or keyed is None or parsed[0] is not keyed[0]:
        return None
    kind, amount, label, status = parsed
    if draft.is_all_day:
        first, last, times = draft.start.date(), (draft.end - dt.timedelta(days=1)).date(), None
    else:
        first, last, times = draft.start.date(), draft.end.date(), (draft.start.time(), draft.end.time())
    return Signature(kind, amount, label, status, first, max(first, last), times)


def event_signature(event: GraphEvent, zone: str) -> Signature | None:
    """The signature of an event read from a mailbox (times in UTC), read in the user's zone `zone`."""
    parsed = parse_subject(event.subject)
    if parsed is None or event.start is None or event.end is None:
        return None
    kind, amount, label, status = parsed
    if event.is_all_day:
        # All-day events are floating: Graph reports their dates at midnight whatever zone is asked for.
        first, last, times = event.start.date(), (event.end - dt.timedelta(days=1)).date(), None
    else:
        local = ZoneInfo(zone)
        start, end = event.start.astimezone(local), event.end.astimezone(local)
        first, last, times = (
            start.date(),
            end.date(),
            (start.time().replace(tzinfo=None), end.time().replace(tzinfo=None)),
        )
    return Signature(kind, amount, label, status, first, max(first, last), times)


def not_rewritable(event: GraphEvent) -> str | None:
    """Why an event with an incumbent-style subject must not be rewritten in place, or None when it may be.

    The incumbent wrote single events into the owner's calendar, without attendees. A meeting (attendees, or
    organised by someone else) or a series was made by a person: rewriting it would send updates to others.
    """
    if event.type not in (None, "singleInstance"):
        return "it is part of a recurring series (the Exchange Integration Manager never wrote series)"
    if event.attendees:
        return "it has attendees (a meeting; rewriting it would send them an update)"
    if event.is_organizer is False or event.response not in (None, "none", "organizer"):
        return "someone else organised it"
    return None


def written_by_incumbent(event: GraphEvent) -> bool:
    """The event is the Exchange Integration Manager's (its subject format and one of its labelled body lines)."""
    parsed = parse_subject(event.subject)
    return parsed is not None and event.openair_key is None and has_incumbent_body(parsed[0], event.body)
