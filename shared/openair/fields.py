"""Reading one field of a raw OpenAir record into a Python value, with errors naming type, id and field.

Raw values arrive as strings, as `<Date>` values already decoded by `xml.py` (date / datetime / None), or as
seed-style strings (`YYYY-MM-DD HH:MM:SS`). Empty means absent: `""` and None both become None.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from shared.openair.dates import parse_stamp, to_utc
from shared.openair.errors import OpenAirProtocolError

CUSTOM_SUFFIX = "__c"


class FieldReader:
    """Typed access to one raw record; every failure is an OpenAirProtocolError naming type, id and field."""

    def __init__(self, type_name: str, raw: Mapping[str, Any], zone: ZoneInfo) -> None:
        self.type_name = type_name
        self.raw = raw
        self.zone = zone
        self.id = str(raw.get("id") or "").strip()

    def fail(self, name: str, problem: str) -> OpenAirProtocolError:
        where = f"{self.type_name} {self.id or '?'} field {name}"
        return OpenAirProtocolError(0, f"parse {self.type_name}", f"{where}: {problem}")

    def lookup(self, name: str) -> Any:
        """A field by its name, or a custom field by `name__c` or plain `name`."""
        if name in self.raw:
            return self.raw[name]
        return self.raw.get(name + CUSTOM_SUFFIX)

    def text(self, name: str) -> str | None:
        value = self.lookup(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(name, f"expected text, got {type(value).__name__}")
        value = value.strip()
        return value or None

    def required(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise self.fail(name, "missing")
        return value

    def number(self, name: str) -> float | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            raise self.fail(name, f"not a number: {value!r}") from None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.text(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "y"):
            return True
        if lowered in ("0", "false", "no", "n"):
            return False
        raise self.fail(name, f"not a boolean: {value!r}")

    def _when(self, name: str) -> dt.date | dt.datetime | None:
        value = self.lookup(name)
        if value is None or isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return parse_stamp(value)
            except ValueError as exc:
                raise self.fail(name, str(exc)) from None
        raise self.fail(name, f"expected a date, got {type(value).__name__}")

    def date(self, name: str) -> dt.date | None:
        value = self._when(name)
        return value.date() if isinstance(value, dt.datetime) else value

    def required_date(self, name: str) -> dt.date:
        value = self.date(name)
        if value is None:
            raise self.fail(name, "missing date")
        return value

    def wall_clock(self, name: str) -> dt.datetime | None:
        """A local wall-clock time (booking start/end): naive; a date without time parts means no time."""
        value = self._when(name)
        if not isinstance(value, dt.datetime):
            return None
        return value.replace(tzinfo=None)

    def instant(self, name: str) -> dt.datetime | None:
        """created/updated as aware UTC: an offset on the value wins, else the company time zone."""
        value = self._when(name)
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            value = dt.datetime.combine(value, dt.time())
        return to_utc(value, self.zone)

    def custom(self, standard: frozenset[str]) -> dict[str, str]:
        """Custom fields: every `name__c`, plus plain text fields this type does not define."""
        out: dict[str, str] = {}
        for key, value in self.raw.items():
            if not isinstance(value, str):
                continue
            if key.endswith(CUSTOM_SUFFIX):
                out[key.removesuffix(CUSTOM_SUFFIX)] = value
            elif key not in standard:
                out.setdefault(key, value)
        return out
