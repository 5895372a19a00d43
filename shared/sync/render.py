"""OpenAir records rendered as the events a consultant sees in Outlook (pure functions).

All-day boundaries and times are wall-clock values in the user's zone: an all-day event is midnight to
midnight in that zone (Graph's isAllDay rule), a timed booking keeps its OpenAir wall-clock times, and DST is
left to Graph's zone arithmetic, never to ours in UTC.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from shared.domain.events import EventDraft, ShowAs
from shared.domain.settings import IntegrationSettings, ShowAsChoice
from shared.errors import SyncError
from shared.kinds import KIND_OF_TYPE, RecordKind, openair_event_key
from shared.openair.changes import ExportedRecord, Reference
from shared.openair.models import Booking, Projecttaskassign, Schedulerequest

log = logging.getLogger(__name__)

# The version of what this module writes (subjects, bodies, Show As rules). Bump it when a change here must reach
# events whose records do not change: the next export run re-renders every linked record once (the planner's
# `RenderVersion` cursor) and, the version being part of every content hash (`decide.content_hash`), writes each
# event once, through the mailbox workers' usual limits. Version 1 hashes as hashes did before versions existed,
# so a deploy that keeps it rewrites nothing. docs/operations.md, "Upgrades", says how a bump rolls out.
RENDER_VERSION = 1

MAX_EVENT_YEARS = 5  # Exchange's documented maximum calendar item duration (incumbent guide, "Known Limitations")

BOOKING_STATUS = {"O": "Open", "S": "Submitted", "A": "Approved", "R": "Rejected"}
REQUEST_STATUS = {"O": "Open", "P": "Pending approval", "A": "Approved", "R": "Rejected"}
SHOW_AS: dict[ShowAsChoice, ShowAs] = {
    ShowAsChoice.FREE: "free",
    ShowAsChoice.TENTATIVE: "tentative",
    ShowAsChoice.BUSY: "busy",
    ShowAsChoice.OUT_OF_OFFICE: "oof",
}


@dataclass(frozen=True)
class RenderContext:
    time_zone: str  # IANA
    settings: IntegrationSettings
    show_as_overrides: Mapping[str, ShowAsChoice] = field(default_factory=dict)
    today: dt.date | None = None  # the user's today, for the export window (None: no window applies)


@dataclass(frozen=True)
class OutOfScope:
    """The record exists but should not be an event (Do not export, zero planned hours…)."""

    reason: str


@dataclass(frozen=True)
class BeforeWindow:
    """The event ended before the export window (ExportWindowPastDays): history is neither written nor removed."""

    reason: str


Rendered = EventDraft | OutOfScope | BeforeWindow


def hours_text(hours: float | None) -> str:
    return f"{(hours or 0.0):.2f}"


class Unrenderable(SyncError, ValueError):
    """This one record cannot become an event (its dates lie beyond what a calendar holds): the export skips it,
    names it, and goes on with every other record."""


def _cap_limit(start: dt.datetime) -> dt.datetime | None:
    """Five years after `start`; None when that is past year 9999 (then nothing needs capping: the end is earlier)."""
    year = start.year + MAX_EVENT_YEARS
    if year > dt.MAXYEAR:
        return None
    try:
        return start.replace(year=year)
    except ValueError:  # 29 February
        return start.replace(year=year, day=28)


def _cap(key: str, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    limit = _cap_limit(start)
    if limit is not None and end > limit:
        log.info("event capped at five years", extra={"record": key, "from": end.isoformat(), "to": limit.isoformat()})
        return limit
    return end


def _all_day(key: str, first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Midnight of the first day to midnight after the last day (Graph's end is exclusive), capped at five years
    before the day after is computed, so an open-ended booking (ending 9999-12-31) is an ordinary capped event."""
    start = dt.datetime.combine(first, dt.time(0))
    last = max(last, first)
    limit = _cap_limit(start)
    if limit is not None and dt.datetime.combine(last, dt.time(0)) >= limit:
        return start, limit
    if last >= dt.date.max:
        raise Unrenderable(f"{key}: the last day {last.isoformat()} has no day after it (beyond year 9999)")
    return start, dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0))


def _representable(draft: EventDraft) -> EventDraft:
    """Graph keeps times in UTC: a wall-clock time at the edge of year 1 or 9999 may have no UTC value at all."""
    zone = ZoneInfo(draft.time_zone)
    for name, value in (("start", draft.start), ("end", draft.end)):
        try:
            value.replace(tzinfo=zone).astimezone(dt.UTC)
        except (OverflowError, ValueError):
            raise Unrenderable(
                f"{draft.openair_key}: its {name} {value.isoformat()} in {draft.time_zone} is outside the years "
                "0001-9999 in UTC"
            ) from None
    return draft


@dataclass(frozen=True)
class Presentation:
    """How every exported event of a kind is dressed, whatever its record: the administrator's category (so people
    tell OpenAir work from their own events) and whether Outlook reminds them of it."""

    categories: tuple[str, ...]
    is_reminder_on: bool


def presentation(kind: RecordKind, settings: IntegrationSettings) -> Presentation:
    categories = (settings.export_category,) if settings.export_category else ()
    return Presentation(categories, settings.reminders[kind])


def _lines(*pairs: tuple[str, str | None]) -> str:
    return "\n".join(f"{label}: {value}" for label, value in pairs if value)


def show_as_for(booking: Booking, ref: Reference, ctx: RenderContext) -> ShowAsChoice:
    override = ctx.show_as_overrides.get(booking.booking_typeid or "")
    if override is not None:
        return override
    booking_type = ref.booking_types.get(booking.booking_typeid or "")
    value = (booking_type.calendar_export_type or "").strip() if booking_type else ""
    for choice in ShowAsChoice:
        if choice.value == value:
            return choice
    if value:
        log.warning(
            "unknown calendar_export_type; using free",
            extra={"booking_type": booking.booking_typeid, "value": value},
        )
    return ShowAsChoice.FREE


def render_booking(booking: Booking, ref: Reference, ctx: RenderContext) -> Rendered:
    key = openair_event_key(RecordKind.BOOKING, booking.id)
    choice = show_as_for(booking, ref, ctx)
    if choice is ShowAsChoice.DO_NOT_EXPORT:
        return OutOfScope("booking type is 'Do not export'")
    project = ref.projects.get(booking.projectid or "")
    customer = ref.customers.get(booking.customerid or (project.customerid if project else "") or "")
    task = ref.tasks.get(booking.project_taskid or "")
    timed = False
    if booking.starttime is not None and booking.endtime is not None:
        timed = True
        start = dt.datetime.combine(booking.startdate, booking.starttime.time())
        end = dt.datetime.combine(booking.enddate, booking.endtime.time())
        if end <= start:
            log.warning("booking end time not after start; exported as all-day", extra={"record": key})
            timed = False
    if not timed:
        start, end = _all_day(key, booking.startdate, booking.enddate)
    show_as = SHOW_AS.get(choice, "free")
    if show_as == "busy" and not timed:
        show_as = "free"  # the incumbent's rule: busy only when the booking has start and end times
    amount = f"{hours_text(booking.hours)} hrs" if booking.hours is not None else f"{booking.percentage or 0:g}%"
    names = " : ".join(n for n in (customer.name if customer else None, project.name if project else None) if n)
    subject = f"OA Booking: {amount} for {names}" if names else f"OA Booking: {amount}"
    if ctx.settings.export_booking_notes_as_is:
        body = booking.notes or ""
    else:
        when = f"{booking.startdate.isoformat()} to {booking.enddate.isoformat()}"
        if timed:
            when = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} ({ctx.time_zone})"
        body = _lines(
            ("Customer", customer.name if customer else None),
            ("Project", project.name if project else None),
            ("Task", task.name if task else None),
            ("Duration", f"{when}, {amount}"),
            ("Status", BOOKING_STATUS.get(booking.approval_status or "", booking.approval_status)),
            ("Notes", booking.notes),
        )
    return EventDraft(
        openair_key=key,
        subject=subject,
        body=body,
        start=start,
        end=_cap(key, start, end),
        time_zone=ctx.time_zone,
        is_all_day=not timed,
        show_as=show_as,
        categories=presentation(RecordKind.BOOKING, ctx.settings).categories,
        is_reminder_on=presentation(RecordKind.BOOKING, ctx.settings).is_reminder_on,
    )


def render_task_assignment(assignment: Projecttaskassign, ref: Reference, ctx: RenderContext) -> Rendered:
    key = openair_event_key(RecordKind.TASK_ASSIGNMENT, assignment.id)
    if not assignment.planned_hours:
        return OutOfScope("task assignment has no planned hours")
    task = ref.tasks.get(assignment.projecttaskid or "")
    if task is None or task.starts is None or task.fnlt_date is None:
        return OutOfScope("task has no start and finish dates")
    project = ref.projects.get(task.projectid or "")
    customer = ref.customers.get(project.customerid or "") if project else None
    start, end = _all_day(key, task.starts, task.fnlt_date)
    task_label = f"{task.id_number or task.id} {task.name}".strip()
    project_name = project.name if project else "(no project)"
    return EventDraft(
        openair_key=key,
        subject=f"OA Task Assignment: {hours_text(assignment.planned_hours)} hrs for {project_name} - {task_label}",
        body=_lines(
            ("Task", task_label),
            ("Start", task.starts.isoformat()),
            ("Finish", task.fnlt_date.isoformat()),
            ("Planned hours", hours_text(assignment.planned_hours)),
            ("Customer", customer.name if customer else None),
            ("Project", project_name),
        ),
        start=start,
        end=_cap(key, start, end),
        time_zone=ctx.time_zone,
        is_all_day=True,
        show_as="free",
        categories=presentation(RecordKind.TASK_ASSIGNMENT, ctx.settings).categories,
        is_reminder_on=presentation(RecordKind.TASK_ASSIGNMENT, ctx.settings).is_reminder_on,
    )


def render_schedule_request(request: Schedulerequest, ref: Reference, ctx: RenderContext) -> Rendered:
    key = openair_event_key(RecordKind.SCHEDULE_REQUEST, request.id)
    items = ref.request_items.get(request.id, ())
    dates = [item.date for item in items if item.date is not None]
    first = request.startdate or (min(dates) if dates else None)
    last = request.enddate or (max(dates) if dates else None)
    if first is None or last is None:
        return OutOfScope("schedule request has no dates")
    hours = sum(item.hours or 0.0 for item in items)
    timetype = ref.timetypes.get(request.timetypeid or "")
    label = request.name or (timetype.name if timetype else "") or "Time off"
    status = REQUEST_STATUS.get(request.approval_status or "", request.approval_status or "")
    start, end = _all_day(key, first, last)
    return EventDraft(
        openair_key=key,
        subject=f"OA Schedule request: {hours_text(hours)} hrs for {label} [{status}]",
        body=_lines(
            ("Duration", f"{first.isoformat()} to {last.isoformat()}"),
            ("Description", request.description),
            ("Notes", request.notes),
        ),
        start=start,
        end=_cap(key, start, end),
        time_zone=ctx.time_zone,
        is_all_day=True,
        # Approved time off is out of office; a pending one may still change; a rejected one blocks nothing.
        show_as={"A": "oof", "R": "free"}.get(request.approval_status or "", "tentative"),
        categories=presentation(RecordKind.SCHEDULE_REQUEST, ctx.settings).categories,
        is_reminder_on=presentation(RecordKind.SCHEDULE_REQUEST, ctx.settings).is_reminder_on,
    )


# Each record type's renderer (a record of the kind's model, and only that, is passed to it).
Renderer = Callable[[Any, Reference, RenderContext], Rendered]
RENDERERS: Mapping[RecordKind, Renderer] = {
    RecordKind.BOOKING: render_booking,
    RecordKind.TASK_ASSIGNMENT: render_task_assignment,
    RecordKind.SCHEDULE_REQUEST: render_schedule_request,
}


def render(record: ExportedRecord, ref: Reference, ctx: RenderContext) -> Rendered:
    """Render any exportable record, within the export window. Raises Unrenderable for a record that cannot be an
    event (and only that)."""
    rendered = RENDERERS[KIND_OF_TYPE[record.TYPE]](record, ref, ctx)
    if isinstance(rendered, EventDraft):
        _representable(rendered)
    return within_window(rendered, ctx)


def within_window(rendered: Rendered, ctx: RenderContext) -> Rendered:
    """ExportWindowPastDays / ExportWindowFutureDays, in the user's days. An event that starts after the window is
    out of scope (OnRecordOutOfScope applies; the daily re-read writes it once the window reaches it); one that
    ended before it is history, left as it is."""
    settings = ctx.settings
    if not isinstance(rendered, EventDraft) or ctx.today is None:
        return rendered
    future = settings.export_window_future_days
    if future is not None and rendered.start.date() > ctx.today + dt.timedelta(days=future):
        return OutOfScope(f"starts more than {future} days ahead (ExportWindowFutureDays)")
    past = settings.export_window_past_days
    last_moment = rendered.end - dt.timedelta(microseconds=1) if rendered.end > rendered.start else rendered.end
    if past is not None and last_moment.date() < ctx.today - dt.timedelta(days=past):
        return BeforeWindow(f"ended more than {past} days ago (ExportWindowPastDays)")
    return rendered
