"""One record OpenAir sends with a value that cannot be read (an impossible `<Date>`, a date or number that is not
one) is left out of the tenant's read and named (type, id, user, field, what is wrong); every other record is read.
A response that is not XML, or a command that failed, still fails the read: nothing is lost silently."""

from __future__ import annotations

import datetime as dt

import pytest

from sandbox.openair import SimulatorControl
from shared.kinds import RecordKind
from shared.openair import OpenAirClient
from shared.openair.changes import deleted_cursor, updated_cursor
from shared.openair.errors import OpenAirProtocolError
from shared.openair.reads import ReadSpec
from shared.openair.source import OpenAirSource
from tests.openair.conftest import ClientFactory

IMPOSSIBLE_DATE = {"year": "2026", "month": "13", "day": "40"}


async def test_a_booking_with_an_impossible_date_is_left_out_and_named(
    client: OpenAirClient, control: SimulatorControl
) -> None:
    control.configure(corrupt=[{"type": "Booking", "id": "10003", "field": "startdate", "date": IMPOSSIBLE_DATE}])
    changes = await OpenAirSource(client).read_changes({})
    assert len(changes.of(RecordKind.BOOKING)) == 19
    assert "10003" not in {b.id for b in changes.of(RecordKind.BOOKING)}
    (bad,) = changes.unreadable
    assert (bad.type, bad.id, bad.user_id, bad.deleted) == ("Booking", "10003", "100", False)
    assert "startdate" in bad.problem
    assert "invalid <Date>" in bad.problem
    assert str(bad).startswith("OpenAir Booking 10003 (user 100) cannot be read: field startdate")
    # The record is re-read once it changes (its `updated` moves past the watermark): the watermark advances.
    assert updated_cursor("Booking") in changes.watermarks
    assert client.requests_made == 1  # one read, not retried


@pytest.mark.parametrize(
    ("field", "text", "says"),
    [("startdate", "not a date", "field startdate"), ("hours", "eight", "not a number"),
     ("as_percentage", "maybe", "not a boolean")],
)  # fmt: skip
async def test_a_value_the_model_refuses_is_left_out_and_named(
    client: OpenAirClient, control: SimulatorControl, field: str, text: str, says: str
) -> None:
    control.configure(corrupt=[{"type": "Booking", "id": "10004", "field": field, "text": text}])
    changes = await OpenAirSource(client).read_changes({})
    assert len(changes.of(RecordKind.BOOKING)) == 19
    (bad,) = changes.unreadable
    assert (bad.type, bad.id, bad.user_id) == ("Booking", "10004", "101")
    assert says in bad.problem
    assert "Booking 10004" in bad.problem


async def test_strict_reads_still_fail_on_an_unreadable_record(
    client: OpenAirClient, control: SimulatorControl
) -> None:
    """Only the tenant-wide export read forgives a record; other reads (users, admin checks) are not changed."""
    control.configure(corrupt=[{"type": "Booking", "id": "10003", "field": "enddate", "date": IMPOSSIBLE_DATE}])
    with pytest.raises(OpenAirProtocolError, match="field enddate: invalid <Date>"):
        await client.read_bookings()


async def test_an_unreadable_record_still_counts_towards_a_full_page(
    client: OpenAirClient, control: SimulatorControl
) -> None:
    control.configure(corrupt=[{"type": "Booking", "id": "10004", "field": "startdate", "date": IMPOSSIBLE_DATE}])
    (rows,) = await client.read_many([ReadSpec(type="Booking", page_size=5)], lenient=True)
    assert len(rows) == 19
    assert [r.id for r in client.unreadable_records] == ["10004"]


async def test_an_unreadable_deleted_record_is_still_deleted(client: OpenAirClient, control: SimulatorControl) -> None:
    before = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    control.delete("Booking", "10001")
    control.configure(corrupt=[{"type": "Booking", "id": "10001", "field": "updated", "date": IMPOSSIBLE_DATE}])
    since = {updated_cursor("Booking"): before, deleted_cursor("Booking"): before}
    changes = await OpenAirSource(client).read_changes(since)
    assert [(d.record_id, d.user_id) for d in changes.deletions] == [("10001", "101")]
    assert changes.unreadable == ()
    assert any("deleted Booking 10001" in n and "removed from the calendar" in n for n in changes.notices)
    assert deleted_cursor("Booking") in changes.deletion_watermarks


async def test_an_unreadable_deleted_record_without_an_id_holds_its_watermark(
    client: OpenAirClient, control: SimulatorControl
) -> None:
    before = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    control.delete("Booking", "10001")
    control.configure(corrupt=[{"type": "Booking", "id": "10001", "field": "id", "date": IMPOSSIBLE_DATE}])
    since = {updated_cursor("Booking"): before, deleted_cursor("Booking"): before}
    changes = await OpenAirSource(client).read_changes(since)
    assert changes.deletions == ()
    assert deleted_cursor("Booking") not in changes.deletion_watermarks  # re-read until it can be read
    assert deleted_cursor("Projecttaskassign") in changes.deletion_watermarks
    assert any("deleted Booking ?" in n for n in changes.notices)


async def test_a_response_that_is_not_xml_still_fails_the_read(
    make_client: ClientFactory, control: SimulatorControl
) -> None:
    client = make_client(rng=lambda: 1.0, OPENAIR_RETRY_BUDGET_SECONDS="2")
    control.inject("malformed", 20)
    with pytest.raises(OpenAirProtocolError, match="not well-formed"):
        await OpenAirSource(client).read_changes({})


async def test_clearing_the_corruption_reads_the_record_again(client: OpenAirClient, control: SimulatorControl) -> None:
    control.configure(corrupt=[{"type": "Booking", "id": "10003", "field": "startdate", "date": IMPOSSIBLE_DATE}])
    assert control.configure(corrupt=[])["corrupt"] == []
    changes = await OpenAirSource(client).read_changes({})
    assert len(changes.of(RecordKind.BOOKING)) == 20
    assert changes.unreadable == ()
