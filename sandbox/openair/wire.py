"""XML as the service speaks it: `<Date>` values, record elements, and request documents parsed safely.

Kept separate from the client's codec on purpose: the simulator is the client's test oracle, so sharing
the code would let one bug pass both ways.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring
from zoneinfo import ZoneInfo

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

from sandbox.openair.schema import INSTANTS

PARTS = ("year", "month", "day", "hour", "minute", "second")


class WireError(Exception):
    """A value in a request that cannot be understood; `code` is the OpenAir status to answer."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_request(body: bytes) -> Element:
    """The `<request>` root. DTDs/entities and malformed XML raise WireError(1, text) like OpenAir's status 1."""
    try:
        root = safe_et.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise WireError(1, f"DTDs and entity declarations are not allowed ({type(exc).__name__})") from None
    except ParseError as exc:
        raise WireError(1, str(exc)) from None
    if root.tag != "request":
        raise WireError(1, f"expected <request>, got <{root.tag}>")
    return root


def document(root: Element) -> bytes:
    body: bytes = tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def stamp_to_local(value: Any) -> dt.date | dt.datetime | None:
    """A stored non-instant date value (`YYYY-MM-DD[ HH:MM:SS]`) as date / naive datetime / None."""
    if isinstance(value, dt.date) or value is None:
        return value
    text = str(value).strip()
    if not text:
        return None
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    return dt.datetime.fromisoformat(text)


def date_xml(
    parent: Element, value: dt.date | dt.datetime | None, *, zone: ZoneInfo | None = None, offset_shown: bool = False
) -> None:
    """Append `<Date>`; aware values are shown as wall-clock time in `zone` with a `<timezone>` that is empty, as
    in OpenAir's own responses (openair-xml-php `tests/data/whoami-00.xml`), or with `offset_shown` an offset
    like `-0500`."""
    date = SubElement(parent, "Date")
    texts = dict.fromkeys(PARTS, "")
    offset = ""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None and zone is not None:
            value = value.astimezone(zone)
            minutes = int((value.utcoffset() or dt.timedelta()).total_seconds()) // 60
            offset = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
        texts.update(hour=f"{value.hour:02d}", minute=f"{value.minute:02d}", second=f"{value.second:02d}")
    if isinstance(value, dt.date):
        texts.update(year=f"{value.year:04d}", month=f"{value.month:02d}", day=f"{value.day:02d}")
    for name in PARTS:
        SubElement(date, name).text = texts[name]
    if offset:
        SubElement(date, "timezone").text = offset if offset_shown else ""


def read_date(element: Element, zone: ZoneInfo) -> dt.date | dt.datetime | None:
    """A request `<Date>`: None, a date, or a datetime — aware when it has a timezone, else naive (company zone)."""
    texts = {name: (element.findtext(name) or "").strip() for name in (*PARTS, "timezone")}
    if not any(texts[name] for name in PARTS):
        return None
    try:
        day = dt.date(int(texts["year"]), int(texts["month"]), int(texts["day"]))
        if not (texts["hour"] or texts["minute"] or texts["second"]):
            return day
        moment = dt.datetime.combine(
            day, dt.time(int(texts["hour"] or 0), int(texts["minute"] or 0), int(texts["second"] or 0))
        )
    except ValueError as exc:
        raise WireError(602, f"invalid date: {exc}") from None
    tz = texts["timezone"]
    if tz and len(tz) == 5 and tz[0] in "+-" and tz[1:].isdigit():
        sign = -1 if tz[0] == "-" else 1
        moment = moment.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[3:]))))
    return moment


def local_text(value: dt.date | dt.datetime | None) -> str:
    """How a written date is stored: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or ""."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")
    return value.isoformat()


def object_fields(element: Element, date_names: frozenset[str], zone: ZoneInfo) -> dict[str, Any]:
    """A request object (`<Booking>…</Booking>`) as stored values; `<Date>` children become stamps."""
    out: dict[str, Any] = {}
    for child in element:
        inner = list(child)
        if inner and inner[0].tag == "Date":
            value = read_date(inner[0], zone)
            if isinstance(value, dt.datetime) and value.tzinfo is not None:
                value = value.astimezone(zone).replace(tzinfo=None)
            out[child.tag] = local_text(value)
        elif inner:
            address = child.find("Address")
            source = address if address is not None else child
            out[child.tag] = {sub.tag: sub.text or "" for sub in source}
        else:
            text = child.text or ""
            if child.tag in date_names and text.strip():
                try:
                    stamp_to_local(text)
                except ValueError:
                    raise WireError(602, f"field {child.tag}: {text!r} is not a date") from None
            out[child.tag] = text
    return out


def record_xml(
    type_name: str,
    record: Mapping[str, Any],
    *,
    fields: list[str],
    date_names: frozenset[str],
    custom: set[str],
    zone: ZoneInfo,
    offset_shown: bool = False,
) -> Element:
    """One record element with the given fields; custom ones carry the `__c` suffix."""
    element = Element(type_name)
    for name in fields:
        value = record.get(name, "")
        tag = f"{name}__c" if name in custom else name
        child = SubElement(element, tag)
        if name in INSTANTS:
            date_xml(child, value, zone=zone, offset_shown=offset_shown)
        elif name in date_names and name not in custom:
            date_xml(child, stamp_to_local(value))
        elif isinstance(value, Mapping):
            # OpenAir nests addresses as addr → Address → email; seed files may omit the Address level.
            holder = SubElement(child, "Address") if name == "addr" and "Address" not in value else child
            for key, inner in value.items():
                SubElement(holder, str(key)).text = "" if inner is None else str(inner)
        else:
            child.text = "" if value is None else str(value)
    return element
