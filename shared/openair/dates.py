"""OpenAir `<Date>` values, both ways, and the company time zone created/updated are reported in.

A `<Date>` has year, month, day, hour, minute, second children (and `timezone` like `-0500` on some
responses). All children empty = no date; empty time parts = a date-only value. OpenAir stores wall-clock
values, so this module never does UTC arithmetic on dates: only created/updated (instants) are converted.
"""

from __future__ import annotations

import datetime as dt
import re
from xml.etree.ElementTree import Element, SubElement
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DateValue = dt.date | dt.datetime | None
_PARTS = ("year", "month", "day", "hour", "minute", "second")
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
_STAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$")


def company_zone(name: str) -> ZoneInfo:
    """The IANA zone of OPENAIR_COMPANY_TIMEZONE; ValueError names the bad value."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None


def parse_offset(text: str) -> dt.timezone | None:
    """`-0500` / `+05:30` as a fixed offset; None for empty or unrecognised text."""
    match = _OFFSET.match(text.strip())
    if not match:
        return None
    sign = -1 if match.group(1) == "-" else 1
    return dt.timezone(sign * dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def read_date(element: Element) -> DateValue:
    """A `<Date>` element as None (empty), a date (no time parts) or a datetime (aware if it has a timezone).

    Raises ValueError for values that are present but impossible (month 13, letters).
    """
    parts = {name: (element.findtext(name) or "").strip() for name in (*_PARTS, "timezone")}
    if not parts["year"] and not parts["month"] and not parts["day"]:
        return None
    if parts["year"].strip("0") == "":  # some responses spell "no date" as 0000-00-00
        return None
    day = dt.date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    if not parts["hour"] and not parts["minute"] and not parts["second"]:
        return day
    moment = dt.datetime.combine(
        day, dt.time(int(parts["hour"] or 0), int(parts["minute"] or 0), int(parts["second"] or 0))
    )
    offset = parse_offset(parts["timezone"]) if parts["timezone"] else None
    return moment.replace(tzinfo=offset) if offset is not None else moment


def date_element(parent: Element | None, value: DateValue, *, zone: ZoneInfo | None = None) -> Element:
    """Append (or build) a `<Date>` for `value`. Aware datetimes are converted to `zone` (the company's),
    since OpenAir compares them with values stored in that zone; naive ones are sent as they are."""
    element = Element("Date") if parent is None else SubElement(parent, "Date")
    texts = dict.fromkeys(_PARTS, "")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None and zone is not None:
            value = value.astimezone(zone).replace(tzinfo=None)
        texts.update(
            year=f"{value.year:04d}",
            month=f"{value.month:02d}",
            day=f"{value.day:02d}",
            hour=f"{value.hour:02d}",
            minute=f"{value.minute:02d}",
            second=f"{value.second:02d}",
        )
    elif isinstance(value, dt.date):
        texts.update(year=f"{value.year:04d}", month=f"{value.month:02d}", day=f"{value.day:02d}")
    for name in _PARTS:
        SubElement(element, name).text = texts[name]
    return element


def parse_stamp(text: str) -> DateValue:
    """`YYYY-MM-DD[ HH:MM[:SS]]` (custom date fields, seed data) as a date or naive datetime; "" is None."""
    text = text.strip()
    if not text:
        return None
    match = _STAMP.match(text)
    if not match:
        raise ValueError(f"not a date: {text!r}")
    year, month, day, hour, minute, second = match.groups()
    day_value = dt.date(int(year), int(month), int(day))
    if hour is None:
        return day_value
    return dt.datetime.combine(day_value, dt.time(int(hour), int(minute), int(second or 0)))


def to_utc(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """An instant OpenAir reported (aware, or naive wall-clock in the company zone) as aware UTC.

    A naive value in the repeated hour of a DST fall-back is read as the first occurrence (fold=0): the
    earlier instant, so a watermark taken from it can only re-read records, never skip them.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC)
