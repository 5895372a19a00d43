"""The conflict report (`ConflictReport`, off by default): bookings on days the person's Outlook shows them out of
office or fully busy, so resource managers see double-booking before the consultant does.

After a mailbox worker wrote bookings, one calendarView read over the person's upcoming bookings (at most
`HORIZON_DAYS` ahead) compares them with the person's own events — never the events the product wrote, and never
the events a booking was imported from. A day conflicts when an own event shown as out of office touches it, or
when own busy time covers the booking's hours (all-day bookings: the working day, 09:00–17:00 in the person's zone).
Only what and when is reported, never the subject of a person's event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from shared.domain.links import Link, Origin
from shared.domain.settings import IntegrationSettings
from shared.graph.models import GraphEvent
from shared.kinds import RecordKind, parse_record_key
from shared.ports.mailboxes import CalendarPort
from shared.store.offload import off_loop
from shared.store.store import SyncStore

HORIZON_DAYS = 60
WORKING_DAY = (dt.time(9), dt.time(17))
MAX_LISTED = 10


@dataclass(frozen=True)
class Conflict:
    booking_id: str
    day: dt.date
    why: str  # "out of office" or "fully busy"

    def __str__(self) -> str:
        return f"booking {self.booking_id} on {self.day.isoformat()}: Outlook shows {self.why}"


@dataclass(frozen=True)
class BookedSpan:
    booking_id: str
    start: dt.datetime  # aware
    end: dt.datetime  # aware, exclusive
    all_day: bool
    zone: ZoneInfo


def upcoming_bookings(links: Mapping[str, Link], now: dt.datetime) -> list[BookedSpan]:
    """The exported bookings (not imported ones) that end after now and start within the horizon."""
    horizon = now + dt.timedelta(days=HORIZON_DAYS)
    spans = []
    for link in links.values():
        if link.kind is not RecordKind.BOOKING or link.origin is not Origin.OPENAIR:
            continue
        try:
            zone = ZoneInfo(str(link.fields["time_zone"]))
            start = dt.datetime.fromisoformat(str(link.fields["start"])).replace(tzinfo=zone)
            end = dt.datetime.fromisoformat(str(link.fields["end"])).replace(tzinfo=zone)
        except (KeyError, ValueError):
            continue
        if end > now and start < horizon:
            spans.append(BookedSpan(parse_record_key(link.key)[1], start, end, link.fields.get("is_all_day") == "true",
                                    zone))  # fmt: skip
    return spans


def _covered(need: tuple[dt.datetime, dt.datetime], busy: Sequence[tuple[dt.datetime, dt.datetime]]) -> bool:
    """Whether the busy intervals together cover [start, end)."""
    cursor, end = need
    for b_start, b_end in sorted(busy):
        if b_start > cursor:
            return False
        cursor = max(cursor, b_end)
        if cursor >= end:
            return True
    return cursor >= end


def find_conflicts(bookings: Sequence[BookedSpan], events: Sequence[GraphEvent]) -> list[Conflict]:
    own = [e for e in events if not e.openair_key and not e.is_cancelled and e.start and e.end
           and e.show_as in ("busy", "oof") and e.response != "declined"]  # fmt: skip
    found: list[Conflict] = []
    for booking in sorted(bookings, key=lambda b: (b.start, b.booking_id)):
        day = booking.start.astimezone(booking.zone).date()
        last = (booking.end - dt.timedelta(microseconds=1)).astimezone(booking.zone).date()
        while day <= last:
            day_start = dt.datetime.combine(day, dt.time(0), booking.zone)
            day_end = day_start + dt.timedelta(days=1)
            touching = [e for e in own if e.start < day_end and e.end > day_start]  # type: ignore[operator]
            if any(e.show_as == "oof" for e in touching):
                found.append(Conflict(booking.booking_id, day, "out of office"))
            else:
                if booking.all_day:
                    need = (dt.datetime.combine(day, WORKING_DAY[0], booking.zone),
                            dt.datetime.combine(day, WORKING_DAY[1], booking.zone))  # fmt: skip
                else:
                    need = (max(booking.start, day_start), min(booking.end, day_end))
                busy = [(e.start, e.end) for e in touching if e.start and e.end]
                if need[1] > need[0] and _covered(need, busy):
                    found.append(Conflict(booking.booking_id, day, "fully busy"))
            day += dt.timedelta(days=1)
    return found


def summary(conflicts: Sequence[Conflict]) -> str:
    """The mapping row's `Conflicts` column: the first few, and how many more."""
    listed = "; ".join(str(c) for c in conflicts[:MAX_LISTED])
    more = len(conflicts) - MAX_LISTED
    return listed + (f"; … and {more} more" if more > 0 else "")


async def report_conflicts(
    user_id: str, mailbox_id: str, settings: IntegrationSettings, *, store: SyncStore, calendar: CalendarPort,
    now: dt.datetime,
) -> int | None:  # fmt: skip
    """With ConflictReport on: find the user's conflicts, write them to their mapping row (`Conflicts`), and return
    how many (None when the report is off). A failed read leaves the last report in place."""
    if not settings.conflict_report:
        return None
    bookings = upcoming_bookings(await off_loop(store.links, user_id), now)
    if not bookings:
        await off_loop(store.write_mapping_status, user_id, Conflicts="")
        return 0
    start = min(b.start for b in bookings).astimezone(dt.UTC)
    end = max(b.end for b in bookings).astimezone(dt.UTC)
    events = await calendar.calendar_view(mailbox_id, start, end)
    found = find_conflicts(bookings, events)
    await off_loop(store.write_mapping_status, user_id, Conflicts=summary(found))
    return len(found)
