"""Expanding a series master's `patternedRecurrence` into occurrences, as Outlook does.

Occurrences keep the master's local wall-clock start time in the master's zone (so a 09:00 Berlin meeting stays
at 09:00 across DST) and the master's duration. Deleted occurrences still count towards `numberOfOccurrences`,
as in Exchange.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sandbox.graph import timezones
from sandbox.graph.errors import bad_request

DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
INDEXES = {"first": 0, "second": 1, "third": 2, "fourth": 3, "last": -1}
PATTERNS = {"daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly"}
RANGES = {"endDate", "noEnd", "numbered"}
# Exchange refuses to expand unbounded series forever; this keeps a noEnd series finite for one view.
_MAX_OCCURRENCES = 5000


@dataclass(frozen=True)
class Slot:
    """One occurrence's times: original start (UTC, the occurrence's identity) and local start/end."""

    original_start: dt.datetime
    start_local: dt.datetime
    end_local: dt.datetime


def validate(recurrence: Any) -> dict[str, Any]:
    """Check a `patternedRecurrence` the way Graph does and return it normalised."""
    if not isinstance(recurrence, dict):
        raise bad_request("Recurrence must be an object with 'pattern' and 'range'.")
    pattern, rng = recurrence.get("pattern"), recurrence.get("range")
    if not isinstance(pattern, dict) or not isinstance(rng, dict):
        raise bad_request("Recurrence must have both 'pattern' and 'range'.")
    kind = pattern.get("type")
    if kind not in PATTERNS:
        raise bad_request(f"Recurrence pattern type '{kind}' is not valid.")
    interval = pattern.get("interval", 1)
    if not isinstance(interval, int) or interval < 1:
        raise bad_request("Recurrence pattern interval must be a positive integer.", "ErrorPropertyValidationFailure")
    days = [d.lower() for d in pattern.get("daysOfWeek") or []]
    if any(d not in DAYS for d in days):
        raise bad_request(f"Recurrence daysOfWeek {days} contains an invalid day.")
    if kind in {"weekly", "relativeMonthly", "relativeYearly"} and not days:
        raise bad_request("Recurrence pattern requires daysOfWeek.", "ErrorPropertyValidationFailure")
    if kind in {"absoluteMonthly", "absoluteYearly"} and not pattern.get("dayOfMonth"):
        raise bad_request("Recurrence pattern requires dayOfMonth.", "ErrorPropertyValidationFailure")
    if kind in {"absoluteYearly", "relativeYearly"} and not pattern.get("month"):
        raise bad_request("Recurrence pattern requires month.", "ErrorPropertyValidationFailure")
    range_type = rng.get("type")
    if range_type not in RANGES:
        raise bad_request(f"Recurrence range type '{range_type}' is not valid.")
    try:
        start_date = dt.date.fromisoformat(str(rng.get("startDate")))
        end_date = dt.date.fromisoformat(str(rng["endDate"])) if range_type == "endDate" else None
    except (ValueError, KeyError) as exc:
        raise bad_request("Recurrence range requires a valid startDate (and endDate for type endDate).") from exc
    if end_date is not None and end_date < start_date:
        raise bad_request("The recurrence range end date is before its start date.")
    count = rng.get("numberOfOccurrences", 0)
    if range_type == "numbered" and (not isinstance(count, int) or count < 1):
        raise bad_request("Recurrence range numberOfOccurrences must be positive.", "ErrorPropertyValidationFailure")
    return {
        "pattern": {
            "type": kind,
            "interval": interval,
            "month": int(pattern.get("month") or 0),
            "dayOfMonth": int(pattern.get("dayOfMonth") or 0),
            "daysOfWeek": days,
            "firstDayOfWeek": (pattern.get("firstDayOfWeek") or "sunday").lower(),
            "index": (pattern.get("index") or "first").lower(),
        },
        "range": {
            "type": range_type,
            "startDate": start_date.isoformat(),
            "endDate": end_date.isoformat() if end_date else "0001-01-01",
            "recurrenceTimeZone": rng.get("recurrenceTimeZone") or "",
            "numberOfOccurrences": count if range_type == "numbered" else 0,
        },
    }


def _nth_weekday(year: int, month: int, weekday: int, index: int) -> dt.date | None:
    days = [
        d for d in range(1, calendar.monthrange(year, month)[1] + 1) if dt.date(year, month, d).weekday() == weekday
    ]
    if index == -1:
        return dt.date(year, month, days[-1])
    return dt.date(year, month, days[index]) if index < len(days) else None


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    total = year * 12 + (month - 1) + months
    return total // 12, total % 12 + 1


def _dates(recurrence: dict[str, Any], last: dt.date) -> Iterator[dt.date]:
    """Pattern dates from the range start, in order, stopping after `last` (the caller also stops on count)."""
    pattern, rng = recurrence["pattern"], recurrence["range"]
    start = dt.date.fromisoformat(rng["startDate"])
    interval = pattern["interval"]
    weekdays = sorted(DAYS.index(d) for d in pattern["daysOfWeek"])
    kind = pattern["type"]
    if kind == "daily":
        day = start
        while day <= last:
            yield day
            day += dt.timedelta(days=interval)
    elif kind == "weekly":
        first = DAYS.index(pattern["firstDayOfWeek"]) if pattern["firstDayOfWeek"] in DAYS else 6
        week_start = start - dt.timedelta(days=(start.weekday() - first) % 7)
        order = sorted(weekdays, key=lambda d: (d - first) % 7)
        while week_start <= last:
            for weekday in order:
                day = week_start + dt.timedelta(days=(weekday - first) % 7)
                if start <= day <= last:
                    yield day
            week_start += dt.timedelta(weeks=interval)
    else:
        yearly = kind.endswith("Yearly")
        step = 12 * interval if yearly else interval
        year, month = (start.year, pattern["month"]) if yearly else (start.year, start.month)
        while dt.date(year, month, 1) <= last:
            candidates: list[dt.date] = []
            if kind.startswith("absolute"):
                if pattern["dayOfMonth"] <= calendar.monthrange(year, month)[1]:
                    candidates.append(dt.date(year, month, pattern["dayOfMonth"]))
            else:
                for weekday in weekdays:
                    found = _nth_weekday(year, month, weekday, INDEXES.get(pattern["index"], 0))
                    if found:
                        candidates.append(found)
            for day in sorted(candidates):
                if start <= day <= last:
                    yield day
            year, month = _add_months(year, month, step)


def slots(
    master_start: dt.datetime, master_end: dt.datetime, zone_name: str, recurrence: dict[str, Any], until: dt.datetime
) -> Iterator[Slot]:
    """Occurrence slots of a series (local times in the master's start zone) that start before `until` (UTC)."""
    tz = timezones.zone(zone_name)
    duration = master_end - master_start
    rng = recurrence["range"]
    last = until.astimezone(tz).date() + dt.timedelta(days=1)
    if rng["type"] == "endDate":
        last = min(last, dt.date.fromisoformat(rng["endDate"]))
    limit = rng["numberOfOccurrences"] if rng["type"] == "numbered" else _MAX_OCCURRENCES
    for count, day in enumerate(_dates(recurrence, last)):
        if count >= limit:
            return
        start_local = dt.datetime.combine(day, master_start.time())
        yield Slot(timezones.to_utc(start_local, tz), start_local, start_local + duration)
