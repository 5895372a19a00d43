"""Matching the Exchange Integration Manager's events to records: exact, near-duplicates, ambiguous, edited by
hand, stale, foreign (pure: drafts as our renderer makes them, events as the incumbent left them)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from shared.domain.events import EventDraft
from shared.graph.models import Attendee, GraphEvent
from shared.kinds import RecordKind
from shared.sync.cutover import match_incumbent, window
from shared.sync.incumbent import parse_subject

ZONE = "Europe/Berlin"
CREATED = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def draft(key: str, subject: str, first: dt.date, last: dt.date, times: tuple[int, int] | None = None) -> EventDraft:
    if times is None:
        start = dt.datetime.combine(first, dt.time(0))
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0))
    else:
        start, end = dt.datetime.combine(first, dt.time(times[0])), dt.datetime.combine(last, dt.time(times[1]))
    return EventDraft(openair_key=f"openair:{key}", subject=subject, body="Duration: x", start=start, end=end,
                      time_zone=ZONE, is_all_day=times is None)  # fmt: skip


def event(
    event_id: str,
    subject: str,
    first: dt.date,
    last: dt.date,
    *,
    body: str = "Customer: Northwind Traders\nProject: ERP rollout\nDuration: 11/24/2026 to 11/24/2026\nNotes:",
    times: tuple[int, int] | None = None,
    **extra: object,
) -> GraphEvent:
    """An event as calendarView returns it in UTC: all-day events keep their dates, timed ones are converted."""
    if times is None:
        start = dt.datetime.combine(first, dt.time(0), dt.UTC)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), dt.UTC)
    else:
        zone = ZoneInfo(ZONE)
        start = dt.datetime.combine(first, dt.time(times[0]), zone).astimezone(dt.UTC)
        end = dt.datetime.combine(last, dt.time(times[1]), zone).astimezone(dt.UTC)
    values: dict[str, object] = {"change_key": f"ck-{event_id}", "subject": subject, "body": body, "start": start,
                                 "end": end, "is_all_day": times is None, "type": "singleInstance",
                                 "response": "organizer", "is_organizer": True, "created": CREATED}  # fmt: skip
    values.update(extra)
    return GraphEvent.model_validate({"id": event_id, **values})


NOV = [dt.date(2026, 11, d) for d in range(1, 31)]
BOOKING = "OA Booking: 24.00 hrs for Northwind Traders : ERP rollout"
ASSIGNMENT = "OA Task Assignment: 16.00 hrs for ERP rollout - 1.2 Design"
TIME_OFF = "OA Schedule request: 8.00 hrs for Vacation [Approved]"


def test_each_kind_is_adopted_when_it_matches_exactly() -> None:
    drafts = {
        "booking:1": draft("booking:1", BOOKING, NOV[23], NOV[25]),
        "task_assignment:2": draft("task_assignment:2", ASSIGNMENT, NOV[22], NOV[29]),
        "schedule_request:3": draft("schedule_request:3", TIME_OFF, NOV[27], NOV[27]),
    }
    events = [
        event("e1", BOOKING, NOV[23], NOV[25]),
        event("e2", ASSIGNMENT, NOV[22], NOV[29], body="Task: 1.2 Design\nProject: ERP rollout"),
        event("e3", TIME_OFF, NOV[27], NOV[27], body="Duration: 11/28/2026 to 11/28/2026\nDescription: x\nNotes:"),
    ]
    match = match_incumbent(events, drafts, ZONE)
    assert {(a.key, a.event_id) for a in match.adopted} == {
        ("booking:1", "e1"), ("task_assignment:2", "e2"), ("schedule_request:3", "e3")}  # fmt: skip
    assert match.ambiguous == []
    assert match.stale == []
    assert match.held == set()
    assert match.counts()["to_create"] == 0


def test_near_duplicates_pair_by_their_dates_and_identical_twins_pair_up() -> None:
    drafts = {
        "booking:1": draft("booking:1", BOOKING, NOV[2], NOV[4]),
        "booking:2": draft("booking:2", BOOKING, NOV[9], NOV[11]),  # same project and hours, the next week
        "booking:3": draft("booking:3", BOOKING, NOV[16], NOV[18]),  # two records that render identically
        "booking:4": draft("booking:4", BOOKING, NOV[16], NOV[18]),
    }
    events = [event("w2", BOOKING, NOV[9], NOV[11]), event("w1", BOOKING, NOV[2], NOV[4]),
              event("t1", BOOKING, NOV[16], NOV[18]), event("t2", BOOKING, NOV[16], NOV[18])]  # fmt: skip
    match = match_incumbent(events, drafts, ZONE)
    pairs = {a.key: a.event_id for a in match.adopted}
    assert pairs["booking:1"] == "w1"
    assert pairs["booking:2"] == "w2"
    assert {pairs["booking:3"], pairs["booking:4"]} == {"t1", "t2"}
    assert not match.ambiguous
    assert not match.held


def test_two_copies_of_one_record_are_ambiguous_and_the_record_is_held() -> None:
    drafts = {"booking:1": draft("booking:1", BOOKING, NOV[2], NOV[4])}
    events = [event("a", BOOKING, NOV[2], NOV[4]), event("b", BOOKING, NOV[2], NOV[4])]
    match = match_incumbent(events, drafts, ZONE)
    assert match.adopted == []
    assert {a.event_id for a in match.ambiguous} == {"a", "b"}
    assert "2 events and 1 bookings look exactly like this" in match.ambiguous[0].reason
    assert match.held == {"booking:1"}
    assert match.counts()["to_create"] == 0


def test_an_event_moved_by_hand_is_ambiguous_with_the_difference_named() -> None:
    drafts = {"booking:1": draft("booking:1", BOOKING, NOV[2], NOV[4])}
    match = match_incumbent([event("moved", BOOKING, NOV[3], NOV[5])], drafts, ZONE)
    assert match.adopted == []
    assert match.held == {"booking:1"}
    (ambiguous,) = match.ambiguous
    assert "dates 2026-11-04..2026-11-06 in Outlook, 2026-11-03..2026-11-05 in OpenAir" in ambiguous.reason


def test_changed_hours_or_status_are_named_too() -> None:
    drafts = {"schedule_request:3": draft("schedule_request:3", TIME_OFF, NOV[27], NOV[27])}
    pending = "OA Schedule request: 16.00 hrs for Vacation [Pending approval]"
    match = match_incumbent([event("old", pending, NOV[27], NOV[27], body="Duration: x")], drafts, ZONE)
    reason = match.ambiguous[0].reason
    assert "amount 16.00 hrs in Outlook, 8.00 hrs in OpenAir" in reason
    assert "status [pending approval] in Outlook, [approved] in OpenAir" in reason


def test_an_event_no_record_resembles_is_stale() -> None:
    drafts = {"booking:1": draft("booking:1", BOOKING, NOV[2], NOV[4])}
    gone = "OA Booking: 40.00 hrs for Fabrikam : Data migration"
    match = match_incumbent([event("e1", BOOKING, NOV[2], NOV[4]), event("old", gone, NOV[5], NOV[9])], drafts, ZONE)
    assert [s.event_id for s in match.stale] == ["old"]
    assert [a.event_id for a in match.adopted] == ["e1"]


def test_a_persons_own_events_are_foreign_and_never_reported() -> None:
    drafts = {"booking:1": draft("booking:1", BOOKING, NOV[2], NOV[4])}
    events = [
        event("own", "OA Booking review with the resource managers", NOV[2], NOV[2], times=(10, 11)),
        event("lunch", "Lunch", NOV[3], NOV[3], times=(12, 13)),
        event("ours", BOOKING, NOV[2], NOV[4], openair_key="openair:booking:9"),  # ours (or a copy of ours)
        # A person's own event in the incumbent's format about nothing we export: left alone, not "stale".
        event("lookalike", "OA Booking: 2.00 hrs for Tailspin Toys : Pitch", NOV[6], NOV[6], body="bring slides"),
    ]
    match = match_incumbent(events, drafts, ZONE)
    assert match.foreign == 4
    assert not match.adopted
    assert not match.ambiguous
    assert not match.stale
    assert match.counts()["to_create"] == 1


def test_meetings_series_and_rewritten_bodies_are_never_rewritten() -> None:
    drafts = {
        "booking:1": draft("booking:1", BOOKING, NOV[2], NOV[4]),
        "task_assignment:2": draft("task_assignment:2", ASSIGNMENT, NOV[22], NOV[29]),
        "schedule_request:3": draft("schedule_request:3", TIME_OFF, NOV[27], NOV[27]),
    }
    events = [
        event("meeting", BOOKING, NOV[2], NOV[4], attendees=[Attendee(email="pm@contoso.com")]),
        event(
            "series", ASSIGNMENT, NOV[22], NOV[29], type="occurrence", series_master_id="s1", body="Task: 1.2 Design"
        ),
        event("rewritten", TIME_OFF, NOV[27], NOV[27], body="Off to the mountains!"),
    ]
    match = match_incumbent(events, drafts, ZONE)
    assert match.adopted == []
    reasons = {a.event_id: a.reason for a in match.ambiguous}
    assert "attendees" in reasons["meeting"]
    assert "recurring series" in reasons["series"]
    assert "the body does not" in reasons["rewritten"]
    assert match.held == set(drafts)


def test_notes_as_is_bookings_are_recognised_without_labelled_lines() -> None:
    drafts = {"booking:1": draft("booking:1", BOOKING, NOV[2], NOV[4])}
    events = [event("e1", BOOKING, NOV[2], NOV[4], body="Kick-off with the client team.")]
    assert match_incumbent(events, drafts, ZONE).adopted == []
    assert [a.event_id for a in match_incumbent(events, drafts, ZONE, notes_as_is=True).adopted] == ["e1"]


def test_timed_bookings_match_at_their_wall_clock_times_in_the_users_zone() -> None:
    subject = "OA Booking: 3.00 hrs for Northwind Traders : ERP rollout"
    drafts = {"booking:5": draft("booking:5", subject, NOV[9], NOV[9], times=(9, 12))}
    assert [a.key for a in match_incumbent([event("t", subject, NOV[9], NOV[9], times=(9, 12))], drafts,
                                           ZONE).adopted] == ["booking:5"]  # fmt: skip
    shifted = match_incumbent([event("t", subject, NOV[9], NOV[9], times=(10, 13))], drafts, ZONE)
    assert "times 10:00-13:00 in Outlook, 09:00-12:00 in OpenAir" in shifted.ambiguous[0].reason
    all_day = match_incumbent([event("t", subject, NOV[9], NOV[9])], drafts, ZONE)
    assert "times all day in Outlook" in all_day.ambiguous[0].reason


def test_a_leftover_copy_of_a_record_we_already_write_is_ambiguous_not_stale() -> None:
    linked = {"booking:1": draft("booking:1", BOOKING, NOV[2], NOV[4])}
    match = match_incumbent([event("copy", BOOKING, NOV[2], NOV[4])], {}, ZONE, linked=linked)
    assert match.stale == []
    assert match.held == set()
    assert "it already has its event" in match.ambiguous[0].reason


def test_subject_parsing_and_the_window() -> None:
    spaced = parse_subject("OA  Booking: 24.00 hrs for  Northwind Traders : ERP rollout ")  # spacing is folded
    assert spaced == parse_subject(BOOKING) == ("booking", "24.00 hrs", "northwind traders : erp rollout", "")
    assert parse_subject("OA Booking: 50% for Fabrikam : Build") == ("booking", "50%", "fabrikam : build", "")
    assert parse_subject("OA Schedule request: 8.00 hrs for Vacation [Approved]") == (
        "schedule_request", "8.00 hrs", "vacation", "approved")  # fmt: skip
    assert parse_subject("Re: OA Booking: 8.00 hrs for X") is None
    five_years = draft("booking:9", BOOKING, NOV[0], dt.date(2031, 10, 31))
    span = window([five_years, draft("booking:1", BOOKING, NOV[20], NOV[21])])
    assert span == (dt.datetime(2026, 10, 31, tzinfo=dt.UTC), dt.datetime(2026, 11, 23, tzinfo=dt.UTC))


def test_the_import_never_turns_an_incumbent_event_into_a_booking() -> None:
    from shared.domain.settings import IntegrationSettings
    from shared.sync.importing.rules import Skip, classify

    settings = IntegrationSettings(skip_free_events=False)
    time_off = event("old", TIME_OFF, NOV[27], NOV[27], body="Duration: 11/28/2026 to 11/28/2026", show_as="oof")
    verdict = classify(time_off, settings, linked=False)
    assert isinstance(verdict, Skip)
    assert "Exchange Integration Manager" in verdict.reason
    own = event("own", "OA Booking review with the resource managers", NOV[2], NOV[2], times=(10, 11))
    assert classify(own, settings, linked=False) is None


def test_events_of_a_record_type_the_user_does_not_export_are_never_stale() -> None:
    drafts = {"booking:1": draft("booking:1", BOOKING, NOV[2], NOV[4])}
    time_off = event("sr", TIME_OFF, NOV[27], NOV[27], body="Duration: 11/28/2026 to 11/28/2026")
    assert [s.event_id for s in match_incumbent([time_off], drafts, ZONE).stale] == ["sr"]
    switched_off = match_incumbent([time_off], drafts, ZONE, kinds={RecordKind.BOOKING})
    assert switched_off.stale == []
    assert switched_off.foreign == 1
