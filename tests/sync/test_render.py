"""Rendering: subjects, bodies, all-day boundaries and wall-clock times in the user's zone, show-as rules."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from shared.domain.events import EventDraft
from shared.domain.settings import IntegrationSettings, ShowAsChoice
from shared.openair.changes import Reference
from shared.openair.models import (
    Booking,
    BookingType,
    Customer,
    Project,
    Projecttask,
    Projecttaskassign,
    Schedulerequest,
    SchedulerequestItem,
    Timetype,
)
from shared.sync.render import (
    OutOfScope,
    RenderContext,
    render_booking,
    render_schedule_request,
    render_task_assignment,
)

REF = Reference(
    booking_types={
        "busy": BookingType(id="busy", name="Confirmed", calendar_export_type="Set event time as busy"),
        "tent": BookingType(id="tent", name="Tentative", calendar_export_type="Set event time as tentative"),
        "none": BookingType(id="none", name="Proposal", calendar_export_type="Do not export"),
        "blank": BookingType(id="blank", name="Training"),
        "typo": BookingType(id="typo", name="Odd", calendar_export_type="Set event time as bsy"),
    },
    projects={"p1": Project(id="p1", name="ERP rollout", customerid="c1")},
    customers={"c1": Customer(id="c1", name="Northwind Traders")},
    tasks={
        "t1": Projecttask(
            id="t1",
            projectid="p1",
            name="Design",
            id_number="1.2",
            starts=dt.date(2026, 11, 23),
            fnlt_date=dt.date(2026, 12, 4),
        )
    },
    timetypes={"tt": Timetype(id="tt", name="Vacation")},
    request_items={
        "r1": (
            SchedulerequestItem(id="i1", schedule_requestid="r1", date=dt.date(2027, 3, 26), hours=8.0),
            SchedulerequestItem(id="i2", schedule_requestid="r1", date=dt.date(2027, 3, 29), hours=4.5),
        )
    },
)


def ctx(zone: str = "Europe/Berlin", **settings: object) -> RenderContext:
    return RenderContext(zone, IntegrationSettings(**settings))  # type: ignore[arg-type]


def booking(**fields: object) -> Booking:
    values: dict[str, object] = {
        "id": "9", "userid": "u", "projectid": "p1", "customerid": "c1", "booking_typeid": "busy",
        "startdate": dt.date(2026, 11, 23), "enddate": dt.date(2026, 11, 25), "hours": 24.0,
        "notes": "Kick-off with the client team.", "approval_status": "A",
    }  # fmt: skip
    values.update(fields)
    return Booking.model_validate(values)


def draft(result: object) -> EventDraft:
    assert isinstance(result, EventDraft)
    return result


def test_all_day_booking_spans_midnight_to_midnight_after_the_last_day() -> None:
    event = draft(render_booking(booking(), REF, ctx()))
    assert event.subject == "OA Booking: 24.00 hrs for Northwind Traders : ERP rollout"
    assert event.is_all_day
    assert (event.start, event.end) == (dt.datetime(2026, 11, 23), dt.datetime(2026, 11, 26))
    assert event.time_zone == "Europe/Berlin"
    assert event.openair_key == "openair:booking:9"
    assert "Customer: Northwind Traders" in event.body
    assert "Notes: Kick-off with the client team." in event.body
    assert event.show_as == "free"  # busy needs start and end times (the incumbent's rule)


def test_timed_booking_keeps_wall_clock_times_and_may_be_busy() -> None:
    event = draft(
        render_booking(
            booking(
                startdate=dt.date(2026, 11, 24),
                enddate=dt.date(2026, 11, 24),
                hours=3.0,
                starttime=dt.datetime(2026, 11, 24, 9, 0),
                endtime=dt.datetime(2026, 11, 24, 12, 0),
            ),
            REF,
            ctx(),
        )
    )
    assert not event.is_all_day
    assert (event.start, event.end) == (dt.datetime(2026, 11, 24, 9), dt.datetime(2026, 11, 24, 12))
    assert event.show_as == "busy"


@pytest.mark.parametrize(
    ("zone", "start_offset", "end_offset"),
    [("Europe/Berlin", 1, 2), ("America/New_York", -5, -4)],
)
def test_dst_crossing_all_day_booking_keeps_local_midnights(zone: str, start_offset: int, end_offset: int) -> None:
    # Berlin springs forward on 2027-03-28, New York on 2027-03-14: both inside 2027-03-10..03-30.
    event = draft(render_booking(booking(startdate=dt.date(2027, 3, 10), enddate=dt.date(2027, 3, 30)), REF, ctx(zone)))
    tz = ZoneInfo(event.time_zone)
    start, end = event.start.replace(tzinfo=tz), event.end.replace(tzinfo=tz)
    assert start.utcoffset() == dt.timedelta(hours=start_offset)
    assert end.utcoffset() == dt.timedelta(hours=end_offset)
    assert (start.hour, end.hour) == (0, 0)
    # 21 calendar days even though one of them had 23 hours.
    assert (end.date() - start.date()).days == 21
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(days=21, hours=-1)


def test_dst_crossing_timed_booking_keeps_nine_to_five_on_both_sides() -> None:
    event = draft(
        render_booking(
            booking(
                startdate=dt.date(2027, 3, 27),
                enddate=dt.date(2027, 3, 29),
                starttime=dt.datetime(2027, 3, 27, 9),
                endtime=dt.datetime(2027, 3, 29, 17),
            ),
            REF,
            ctx("Europe/Berlin"),
        )
    )
    assert event.start == dt.datetime(2027, 3, 27, 9)
    assert event.end == dt.datetime(2027, 3, 29, 17)


def test_events_longer_than_five_years_are_capped() -> None:
    event = draft(render_booking(booking(startdate=dt.date(2026, 1, 1), enddate=dt.date(2035, 1, 1)), REF, ctx()))
    assert event.end == dt.datetime(2031, 1, 1)


def test_leap_day_start_is_capped_to_the_28th() -> None:
    event = draft(render_booking(booking(startdate=dt.date(2028, 2, 29), enddate=dt.date(2040, 1, 1)), REF, ctx()))
    assert event.end == dt.datetime(2033, 2, 28)


def test_show_as_comes_from_the_override_then_the_booking_type_then_free() -> None:
    timed = {"starttime": dt.datetime(2026, 11, 24, 9), "endtime": dt.datetime(2026, 11, 24, 10),
             "enddate": dt.date(2026, 11, 24), "startdate": dt.date(2026, 11, 24)}  # fmt: skip
    assert draft(render_booking(booking(booking_typeid="tent"), REF, ctx())).show_as == "tentative"
    assert draft(render_booking(booking(booking_typeid="blank"), REF, ctx())).show_as == "free"
    assert draft(render_booking(booking(booking_typeid="typo"), REF, ctx())).show_as == "free"
    overridden = RenderContext("UTC", IntegrationSettings(), {"tent": ShowAsChoice.OUT_OF_OFFICE})
    assert draft(render_booking(booking(booking_typeid="tent"), REF, overridden)).show_as == "oof"
    assert draft(render_booking(booking(booking_typeid="busy", **timed), REF, ctx())).show_as == "busy"


def test_do_not_export_is_out_of_scope_unless_overridden() -> None:
    assert isinstance(render_booking(booking(booking_typeid="none"), REF, ctx()), OutOfScope)
    overridden = RenderContext("UTC", IntegrationSettings(), {"none": ShowAsChoice.TENTATIVE})
    assert draft(render_booking(booking(booking_typeid="none"), REF, overridden)).show_as == "tentative"
    hidden = RenderContext("UTC", IntegrationSettings(), {"busy": ShowAsChoice.DO_NOT_EXPORT})
    assert isinstance(render_booking(booking(), REF, hidden), OutOfScope)


def test_notes_as_is_makes_the_body_the_notes_only() -> None:
    event = draft(render_booking(booking(), REF, ctx(export_booking_notes_as_is=True)))
    assert event.body == "Kick-off with the client team."


def test_task_assignment_is_all_day_over_the_task_and_needs_planned_hours() -> None:
    assignment = Projecttaskassign(id="a1", userid="u", projecttaskid="t1", planned_hours=16)
    event = draft(render_task_assignment(assignment, REF, ctx()))
    assert event.subject == "OA Task Assignment: 16.00 hrs for ERP rollout - 1.2 Design"
    assert (event.start, event.end) == (dt.datetime(2026, 11, 23), dt.datetime(2026, 12, 5))
    assert "Customer: Northwind Traders" in event.body
    zero = Projecttaskassign(id="a2", userid="u", projecttaskid="t1", planned_hours=0)
    assert isinstance(render_task_assignment(zero, REF, ctx()), OutOfScope)


def test_schedule_request_sums_its_items_and_shows_its_status() -> None:
    request = Schedulerequest(id="r1", userid="u", startdate=dt.date(2027, 3, 26), enddate=dt.date(2027, 3, 29),
                              name="Vacation", description="Easter", approval_status="A", timetypeid="tt")  # fmt: skip
    event = draft(render_schedule_request(request, REF, ctx()))
    assert event.subject == "OA Schedule request: 12.50 hrs for Vacation [Approved]"
    assert (event.start, event.end) == (dt.datetime(2027, 3, 26), dt.datetime(2027, 3, 30))
    assert event.show_as == "oof"
    assert "Description: Easter" in event.body
    pending = request.model_copy(update={"approval_status": "P"})
    assert draft(render_schedule_request(pending, REF, ctx())).subject.endswith("[Pending approval]")
    assert draft(render_schedule_request(pending, REF, ctx())).show_as == "tentative"
