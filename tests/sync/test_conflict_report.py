"""The conflict report (ConflictReport): bookings on days the person's Outlook shows them out of office or fully busy,
from the person's own events only, named in their mapping row, status and the run's counts."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from shared.admin.status import build_status
from shared.graph.models import GraphEvent
from shared.sync.conflicts import BookedSpan, find_conflicts
from tests.importing.world import ImportWorld

BERLIN = ZoneInfo("Europe/Berlin")
TODAY = dt.datetime.now(dt.UTC).date()


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), BERLIN)


def own(start: dt.datetime, end: dt.datetime, show_as: str = "busy", **extra: object) -> GraphEvent:
    return GraphEvent(id=f"e{start:%d%H}", start=start, end=end, show_as=show_as, **extra)


def timed(booking_id: str, day: dt.date, first: int, last: int) -> BookedSpan:
    return BookedSpan(booking_id, at(day, first), at(day, last), False, BERLIN)


def all_day(booking_id: str, first: dt.date, last: dt.date) -> BookedSpan:
    start = dt.datetime.combine(first, dt.time(0), BERLIN)
    return BookedSpan(booking_id, start, dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), BERLIN), True,
                      BERLIN)  # fmt: skip


def test_out_of_office_on_any_day_of_a_booking_is_a_conflict_on_that_day() -> None:
    away = own(at(days(3), 0), at(days(4), 0), "oof")
    found = find_conflicts([all_day("b1", days(2), days(4))], [away])
    assert [(c.booking_id, c.day, c.why) for c in found] == [("b1", days(3), "out of office")]


def test_busy_time_conflicts_only_when_it_covers_the_booked_hours() -> None:
    morning = own(at(days(1), 8), at(days(1), 12))
    afternoon = own(at(days(1), 12), at(days(1), 18))
    assert find_conflicts([timed("b1", days(1), 9, 17)], [morning]) == []
    (conflict,) = find_conflicts([timed("b1", days(1), 9, 17)], [morning, afternoon])
    assert str(conflict) == f"booking b1 on {days(1)}: Outlook shows fully busy"
    # An all-day booking needs the working day covered.
    assert find_conflicts([all_day("b2", days(1), days(1))], [afternoon]) == []
    assert len(find_conflicts([all_day("b2", days(1), days(1))], [morning, afternoon])) == 1


def test_our_own_events_tentative_free_and_declined_events_never_conflict() -> None:
    span = timed("b1", days(1), 9, 17)
    ours = own(at(days(1), 9), at(days(1), 17), openair_key="openair:booking:b9")
    free = own(at(days(1), 9), at(days(1), 17), "free")
    declined = own(at(days(1), 9), at(days(1), 17), response="declined")
    maybe = own(at(days(1), 9), at(days(1), 17), "tentative")
    assert find_conflicts([span], [ours, free, declined, maybe]) == []


async def test_an_export_run_reports_the_conflicts_of_the_bookings_it_wrote() -> None:
    w = ImportWorld.build(users=("u2",), ImportEnabled=False, ConflictReport=True)
    w.world.map_user("u2", OpenAirTimeZone="Europe/Berlin")
    w.create("u2", subject="Vacation", start=at(days(5), 0), end=at(days(7), 0), show_as="oof", is_all_day=True)
    w.world.booking("b1", "u2", days(6), days(6), starttime=dt.datetime.combine(days(6), dt.time(9)),
                    endtime=dt.datetime.combine(days(6), dt.time(17)))  # fmt: skip
    w.world.booking("b2", "u2", days(9), days(9))
    await w.world.run()
    row = w.mapping_row("u2")
    assert row["Conflicts"] == f"booking b1 on {days(6)}: Outlook shows out of office"
    assert "Vacation" not in row["Conflicts"]
    assert w.world.reports[-1].counts()["conflicts"] == 1
    (user,) = build_status(w.world.store).users
    assert user.conflicts == row["Conflicts"]


async def test_off_by_default_no_calendar_read() -> None:
    w = ImportWorld.build(users=("u2",), ImportEnabled=False)
    w.world.booking("b1", "u2", days(6), days(6))
    await w.world.run()
    assert "Conflicts" not in w.mapping_row("u2")
    assert "conflicts" not in w.world.reports[-1].counts()
