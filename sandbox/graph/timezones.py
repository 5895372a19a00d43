"""Time zones as Graph speaks them: Windows or IANA names in, `dateTime` with seven fractional digits out.

Graph accepts both naming schemes on input (`W. Europe Standard Time` and `Europe/Berlin`) and echoes the
requested name back in `Prefer: outlook.timezone` answers, so we keep the caller's spelling and resolve it to
a ZoneInfo only for arithmetic.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import win_tz

from sandbox.graph.errors import GraphError

UTC = dt.UTC
# Names Graph treats as UTC besides the IANA ones.
_UTC_ALIASES = {"utc", "etc/utc", "gmt", "z", "coordinated universal time", "tzone://microsoft/utc"}
_WINDOWS_LOWER = {name.lower(): iana for name, iana in win_tz.items()}


@functools.lru_cache(maxsize=512)
def _lookup(name: str) -> dt.tzinfo | None:
    lowered = name.strip().lower()
    if lowered in _UTC_ALIASES:
        return UTC
    if lowered in _WINDOWS_LOWER:
        return ZoneInfo(_WINDOWS_LOWER[lowered])
    if "/" in name and ".." not in name:
        try:
            return ZoneInfo(name.strip())
        except (ZoneInfoNotFoundError, ValueError):
            return None
    return None


def zone(name: str | None) -> dt.tzinfo:
    """The tzinfo for a Windows or IANA name; Graph's 400 `TimeZoneNotSupportedException` otherwise."""
    found = _lookup(name) if name else None
    if found is None:
        raise GraphError(
            400,
            "TimeZoneNotSupportedException",
            f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name}'.",
        )
    return found


def parse_local(value: str) -> dt.datetime:
    """A Graph `dateTime` (no offset, up to 7 fractional digits) as a naive datetime."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1]
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6].ljust(6, '0')}"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise GraphError(
            400, "ErrorInvalidRequest", f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTime'."
        ) from exc
    return parsed.replace(tzinfo=None) if parsed.tzinfo is None else parsed.astimezone(UTC).replace(tzinfo=None)


def parse_instant(value: str) -> dt.datetime:
    """A query-string instant (`startDateTime=2026-03-29T00:00:00Z` or with an offset) as aware UTC."""
    text = value.strip().replace(" ", "+")
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphError(
            400, "ErrorInvalidParameter", f"The parameter 'startDateTime' or 'endDateTime' is invalid: '{value}'."
        ) from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def to_utc(local: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    return local.replace(tzinfo=tz).astimezone(UTC)


def format_local(value: dt.datetime) -> str:
    """`2026-03-29T07:00:00.0000000`: Graph's seven fractional digits, no offset."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def format_instant(value: dt.datetime) -> str:
    """`2026-03-29T07:00:00.1234567Z` for createdDateTime and friends."""
    return format_local(value.astimezone(UTC).replace(tzinfo=None)) + "Z"
