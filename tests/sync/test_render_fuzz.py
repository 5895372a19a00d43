"""Fuzzing rendering and date parsing: every date from 0001 to 9999, times at the edges of the day, empty date
parts and odd values. A record either renders to a valid event (or out of scope), or raises `Unrenderable` naming
it — never any other exception, which would stop the export for the whole tenant."""

from __future__ import annotations

import datetime as dt
from xml.etree.ElementTree import Element, SubElement
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from shared.domain.events import EventDraft
from shared.domain.settings import IntegrationSettings
from shared.openair.changes import Reference
from shared.openair.dates import read_date
from shared.openair.errors import OpenAirProtocolError
from shared.openair.models import Booking, Projecttask, Projecttaskassign, Schedulerequest, SchedulerequestItem
from shared.sync.render import MAX_EVENT_YEARS, RenderContext, Unrenderable, render
from tests.sync.test_render import REF

any_date = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
edge_date = st.sampled_from([dt.date(1, 1, 1), dt.date(1, 1, 2), dt.date(9999, 12, 30), dt.date(9999, 12, 31),
                             dt.date(2024, 2, 29), dt.date(9996, 2, 29)])  # fmt: skip
dates = st.one_of(any_date, edge_date)
times = st.one_of(st.none(), st.times(), st.sampled_from([dt.time(0), dt.time(23, 59, 59), dt.time(0, 30)]))
odd_numbers = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -8.0, 1e308]))
zones = st.sampled_from(["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata", "America/New_York"])
bt = st.sampled_from(["busy", "tent", "none", "blank", "typo", "missing"])


def check(rendered: object, zone: str) -> None:
    if not isinstance(rendered, EventDraft):
        return
    assert rendered.start <= rendered.end
    assert rendered.end - rendered.start <= dt.timedelta(days=366 * MAX_EVENT_YEARS + 1)
    for moment in (rendered.start, rendered.end):
        moment.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)  # Graph must be able to hold it
    rendered.model_dump_json()


def attempt(record: Booking | Projecttaskassign | Schedulerequest, ref: Reference, zone: str) -> None:
    context = RenderContext(zone, IntegrationSettings(), today=None)
    problem = ""
    try:
        rendered = render(record, ref, context)
    except Unrenderable as exc:
        problem = str(exc)
    if problem:
        assert record.id in problem  # names the record
        return
    check(rendered, zone)


@given(first=dates, last=dates, start=times, end=times, hours=odd_numbers, percentage=odd_numbers, zone=zones, bt=bt,
       notes=st.text(max_size=40))  # fmt: skip
def test_any_booking_renders_or_is_named_unrenderable(
    first: dt.date, last: dt.date, start: dt.time | None, end: dt.time | None, hours: float | None,
    percentage: float | None, zone: str, bt: str, notes: str,
) -> None:  # fmt: skip
    booking = Booking(id="b1", userid="u1", projectid="p1", customerid="c1", booking_typeid=bt, startdate=first,
                      enddate=last, starttime=dt.datetime.combine(first, start) if start else None,
                      endtime=dt.datetime.combine(last, end) if end else None, hours=hours, percentage=percentage,
                      notes=notes)  # fmt: skip
    attempt(booking, REF, zone)


@given(starts=st.one_of(st.none(), dates), finish=st.one_of(st.none(), dates), hours=odd_numbers, zone=zones)
def test_any_task_assignment_renders_or_is_named_unrenderable(
    starts: dt.date | None, finish: dt.date | None, hours: float | None, zone: str
) -> None:
    task = Projecttask(id="t1", projectid="p1", name="Design", starts=starts, fnlt_date=finish)
    ref = Reference(projects=REF.projects, customers=REF.customers, tasks={"t1": task})
    attempt(Projecttaskassign(id="a1", userid="u1", projecttaskid="t1", planned_hours=hours or 0.0), ref, zone)


@given(first=st.one_of(st.none(), dates), last=st.one_of(st.none(), dates), days=st.lists(dates, max_size=3),
       zone=zones, status=st.sampled_from(["A", "P", "R", "O", "", "?"]))  # fmt: skip
def test_any_schedule_request_renders_or_is_named_unrenderable(
    first: dt.date | None, last: dt.date | None, days: list[dt.date], zone: str, status: str
) -> None:
    items = tuple(SchedulerequestItem(id=f"i{n}", schedule_requestid="r1", date=day, hours=8.0)
                  for n, day in enumerate(days))  # fmt: skip
    ref = Reference(timetypes=REF.timetypes, request_items={"r1": items})
    request = Schedulerequest(id="r1", userid="u1", startdate=first, enddate=last, approval_status=status)
    attempt(request, ref, zone)


date_part = st.one_of(st.just(""), st.sampled_from(["0", "00", "0000", "13", "31", "32", "-1", "x", " 7 ", "9999"]),
                      st.integers(0, 10000).map(str))  # fmt: skip


@given(year=date_part, month=date_part, day=date_part, hour=date_part, minute=date_part, second=date_part,
       zone=st.sampled_from(["", "-0500", "+05:30", "junk"]))  # fmt: skip
def test_a_date_with_empty_or_odd_parts_parses_or_says_what_is_wrong(
    year: str, month: str, day: str, hour: str, minute: str, second: str, zone: str
) -> None:
    element = Element("Date")
    for name, text in (("year", year), ("month", month), ("day", day), ("hour", hour), ("minute", minute),
                       ("second", second), ("timezone", zone)):  # fmt: skip
        SubElement(element, name).text = text
    try:
        value = read_date(element)
    except ValueError:
        return  # the reader turns this into an OpenAirProtocolError naming the record and field
    assert value is None or isinstance(value, dt.date)


@given(startdate=st.one_of(st.none(), st.just(""), dates), hours=st.sampled_from(["", "8", "abc", "nan", "1e400"]))
def test_a_raw_booking_with_missing_or_odd_fields_parses_or_names_the_field(
    startdate: dt.date | str | None, hours: str
) -> None:
    raw = {"id": "b1", "userid": "u1", "startdate": startdate, "enddate": dt.date(2026, 11, 23), "hours": hours}
    try:
        booking = Booking.from_raw(raw)
    except OpenAirProtocolError as exc:
        problem = str(exc)
    else:
        attempt(booking, REF, "UTC")
        return
    assert "Booking" in problem
