"""Typed records parsed from raw OpenAir dicts: empties, dates, custom fields, and errors that say where."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from sandbox.sample import build
from shared.openair.errors import OpenAirProtocolError
from shared.openair.models import RECORD_TYPES, Booking, BookingType, DeletedRecord, Projecttask, User

BERLIN = ZoneInfo("Europe/Berlin")


def booking_raw(**overrides: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "id": "42",
        "created": dt.datetime(2026, 3, 29, 1, 30),  # Berlin wall clock, before the spring-forward gap
        "updated": dt.datetime(2026, 3, 29, 3, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "userid": "7",
        "projectid": "",
        "booking_typeid": "3",
        "startdate": dt.date(2026, 3, 29),
        "enddate": dt.date(2026, 3, 29),
        "starttime": dt.datetime(2026, 3, 29, 9, 0),
        "endtime": None,
        "hours": "2.50",
        "percentage": "",
        "as_percentage": "0",
        "notes": "",
        "approval_status": "A",
        "externalid": "",
        "office__c": "Berlin",
    }
    raw.update(overrides)
    return raw


def test_booking_parses_dates_empties_numbers_and_custom_fields() -> None:
    booking = Booking.from_raw(booking_raw(), BERLIN)
    assert booking.id == "42"
    assert booking.userid == "7"
    assert booking.projectid is None
    assert booking.created == dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)
    assert booking.updated == dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)
    assert booking.starttime == dt.datetime(2026, 3, 29, 9, 0)
    assert booking.starttime.tzinfo is None
    assert booking.endtime is None
    assert booking.percentage is None
    assert booking.hours == 2.5
    assert booking.as_percentage is False
    assert booking.custom == {"office": "Berlin"}


def test_bad_values_name_type_id_and_field() -> None:
    with pytest.raises(OpenAirProtocolError, match=r"Booking 42 field hours: not a number: 'lots'"):
        Booking.from_raw(booking_raw(hours="lots"), BERLIN)
    with pytest.raises(OpenAirProtocolError, match=r"Booking 42 field startdate: missing date"):
        Booking.from_raw(booking_raw(startdate=None), BERLIN)
    with pytest.raises(OpenAirProtocolError, match=r"Booking 42 field as_percentage: not a boolean"):
        Booking.from_raw(booking_raw(as_percentage="maybe"), BERLIN)


def test_user_email_from_address_custom_fields_by_either_name() -> None:
    xml_shape = {"id": "1", "addr": {"Address": {"email": "a@contoso.com"}}, "exchDefault_project__c": "9"}
    seed_shape = {"id": "2", "addr": {"email": "b@contoso.com"}, "exchDefault_booking_type": "4", "active": "0"}
    first, second = User.from_raw(xml_shape), User.from_raw(seed_shape)
    assert (first.email, first.exch_default_project, first.active) == ("a@contoso.com", "9", True)
    assert (second.email, second.exch_default_booking_type, second.active) == ("b@contoso.com", "4", False)


def test_models_are_frozen_and_write_custom_fields_with_suffix() -> None:
    booking_type = BookingType.from_raw({"id": "3", "name": "Confirmed", "calendar_export_type__c": "Do not export"})
    with pytest.raises(ValueError, match="frozen"):
        booking_type.name = "x"  # type: ignore[misc]
    fields = booking_type.to_fields()
    assert fields["calendar_export_type__c"] == "Do not export"
    assert "created" not in fields
    assert fields["id"] == "3"


def test_task_dates_and_deleted_records() -> None:
    task = Projecttask.from_raw({"id": "5", "starts": "2026-04-01", "fnlt_date": "", "planned_hours": "16"})
    assert task.starts == dt.date(2026, 4, 1)
    assert task.fnlt_date is None
    assert task.planned_hours == 16.0
    gone = DeletedRecord.from_raw("Booking", {"id": "8", "updated": "2026-01-01 10:00:00", "userid": "7"}, BERLIN)
    assert gone.updated == dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
    assert gone.userid == "7"


def test_every_sample_record_parses() -> None:
    records = build(dt.date(2026, 3, 2))["openair"]["records"]
    zone = ZoneInfo("America/New_York")
    for type_name, rows in records.items():
        model = RECORD_TYPES[type_name]
        parsed = [model.from_raw(row, zone) for row in rows]
        assert len(parsed) == len(rows)
        assert all(p.id for p in parsed)
