"""OpenAir answers the client must refuse with a clear error (extends tests/openair/test_xml.py, which covers the
billion-laughs and external-entity documents, a truncated answer and one invalid date): deep nesting, a DTD
without entities, parameter entities, invalid dates in every date field of a booking, and a fuzzed date."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.openair.errors import OpenAirError, OpenAirProtocolError
from shared.openair.models import Booking
from shared.openair.xml import parse_response, records

LABEL = "Read Booking"


@pytest.mark.parametrize("where", ["root", "field"])
def test_deep_nesting_is_refused_with_a_clear_error_not_a_recursion_error(where: str) -> None:
    depth = 100_000
    nest = b"<a>" * depth + b"</a>" * depth
    inner = nest if where == "root" else b"<Booking><id>1</id><notes>" + nest + b"</notes></Booking>"
    body = b"<response><Auth status='0'/><Read status='0'>" + inner + b"</Read></response>"
    with pytest.raises(OpenAirProtocolError, match="nested deeper than 32") as caught:
        read_bookings(body)
    assert LABEL in str(caught.value)
    assert not caught.value.retryable


@pytest.mark.parametrize(
    "dtd",
    [
        b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>',
        b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">]>',
        b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/r.dtd">',
    ],
    ids=["parameter-entity", "internal-entity", "external-dtd"],
)
def test_documents_declaring_entities_or_external_dtds_are_refused(dtd: bytes) -> None:
    body = b'<?xml version="1.0"?>' + dtd + b"<response><Auth status='0'/><Read status='0'/></response>"
    with pytest.raises(OpenAirProtocolError) as caught:
        parse_response(body, LABEL)
    assert LABEL in str(caught.value)
    assert not caught.value.retryable


def booking_xml(field: str, date: str) -> bytes:
    fields = {"startdate": "2027-03-01", "enddate": "2027-03-02", "starttime": "", "endtime": ""}
    fields[field] = date
    parts = []
    for name, value in fields.items():
        if value:
            y, m, d = value.split("-") if value.count("-") == 2 else (value, "", "")
            parts.append(f"<{name}><Date><year>{y}</year><month>{m}</month><day>{d}</day>"
                         "<hour></hour><minute></minute><second></second></Date></" + name + ">")  # fmt: skip
    body = f"<response><Auth status='0'/><Read status='0'><Booking><id>9</id><userid>1</userid>{''.join(parts)}"
    return (body + "</Booking></Read></response>").encode()


@pytest.mark.parametrize("field", ["startdate", "enddate"])
@pytest.mark.parametrize("date", ["2027-02-30", "2027-13-01", "0000-00-01", "99999-01-01", "abcd-01-01"])
def test_invalid_dates_in_each_date_field_name_the_field(field: str, date: str) -> None:
    with pytest.raises((OpenAirError, ValueError)) as caught:
        read_bookings(booking_xml(field, date))
    assert field in str(caught.value), str(caught.value)


@given(year=st.text("0123456789-x", max_size=6), month=st.text("0123456789", max_size=3),
       day=st.text("0123456789", max_size=3))  # fmt: skip
def test_any_date_parts_read_as_a_date_or_a_clear_error(year: str, month: str, day: str) -> None:
    date = f"<Date><year>{year}</year><month>{month}</month><day>{day}</day></Date>"
    body = (f"<response><Auth status='0'/><Read status='0'><Booking><id>9</id><startdate>{date}</startdate>"
            "</Booking></Read></response>").encode()  # fmt: skip
    problem: Exception | None = None
    try:
        read_bookings(body, as_models=False)
    except OpenAirError as exc:  # only this error type may escape, and it must name the field
        problem = exc
    assert problem is None or "startdate" in str(problem)


def read_bookings(body: bytes, *, as_models: bool = True) -> list[object]:
    out: list[object] = []
    for reply in parse_response(body, LABEL):
        for raw in records(reply.element, "Booking", LABEL):
            out.append(Booking.from_raw(raw) if as_models else raw)
    return out
