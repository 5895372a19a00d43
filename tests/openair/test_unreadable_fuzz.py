"""Fuzzing record reading: any text, any `<Date>` parts (empty, out of range, not numbers, years 0001 to 9999 at the
edges of the day) in any field of an exported record. A record is read record by record: it either becomes its
model or is named as unreadable (type, id, user, what is wrong) — never any other exception, which would stop the
export for the whole tenant."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, SubElement
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.openair.models import Booking, Projecttaskassign, Record, Schedulerequest, User
from shared.openair.source import OpenAirSource
from shared.openair.xml import Unreadable, records_each

MODELS: list[type[Record]] = [Booking, Projecttaskassign, Schedulerequest, User]
FIELDS = ["id", "userid", "startdate", "enddate", "starttime", "endtime", "hours", "percentage", "as_percentage",
          "created", "updated", "date", "planned_hours", "timezone", "active", "projecttaskid", "notes"]  # fmt: skip
PARTS = ("year", "month", "day", "hour", "minute", "second")

part = st.one_of(
    st.sampled_from(["", "0", "00", "1", "12", "13", "23", "24", "29", "31", "32", "59", "60", "9999", "10000",
                     "-1", "x", " 7 ", "1e3", "٣"]),
    st.integers(min_value=-1, max_value=10_001).map(str),
)  # fmt: skip
date_parts = st.fixed_dictionaries({}, optional=dict.fromkeys(PARTS, part))
text = st.one_of(st.text(max_size=12), st.sampled_from(["", "1", "0", "nan", "inf", "-8", "1e308", "9999-12-31",
                                                         "0001-01-01 00:00:00", "9999-12-31 23:59:59"]))  # fmt: skip
value = st.one_of(text.map(lambda t: ("text", t)), date_parts.map(lambda d: ("date", d)))
record_fields = st.dictionaries(st.sampled_from(FIELDS), value, max_size=8)
zones = st.sampled_from(["UTC", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago"])


def reply(type_name: str, fields: dict[str, tuple[str, Any]]) -> Element:
    """A `<Read>` reply holding one record with these fields."""
    read = Element("Read", {"status": "0"})
    record = SubElement(read, type_name)
    for name, (form, content) in fields.items():
        child = SubElement(record, name)
        if form == "text":
            child.text = content
        else:
            date = SubElement(child, "Date")
            for key, inner in content.items():
                SubElement(date, key).text = inner
    return read


class _Client:
    def __init__(self, zone: str) -> None:
        self.zone = ZoneInfo(zone)


@settings(max_examples=300, deadline=None)
@given(model=st.sampled_from(MODELS), fields=record_fields, zone=zones)
def test_a_record_is_read_or_named_never_anything_else(
    model: type[Record], fields: dict[str, tuple[str, Any]], zone: str
) -> None:
    rows, bad = records_each(reply(model.TYPE, fields), model.TYPE, f"Read {model.TYPE}")
    assert len(rows) + len(bad) == 1
    source = OpenAirSource(_Client(zone))  # type: ignore[arg-type]
    named: list[Unreadable] = list(bad)
    parsed = source._parse_each(model, rows, named)
    assert len(parsed) + len(named) == 1
    for record in named:
        assert record.type == model.TYPE
        assert record.problem
        str(record)
