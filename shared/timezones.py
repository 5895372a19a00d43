"""Time zone names as OpenAir, Graph and administrators write them, resolved to IANA zones.

OpenAir may report a user's zone as an IANA name or as a bare offset like `-0600`; Exchange mailboxes
report Windows names (`W. Europe Standard Time`). All arithmetic happens in zoneinfo zones.
"""

from __future__ import annotations

import functools
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import win_tz

_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2}):?(\d{2})?$")


@functools.lru_cache(maxsize=512)
def resolve_zone(name: str | None) -> str | None:
    """An IANA zone name for `name`, or None when it means nothing we can trust."""
    if not name:
        return None
    text = name.strip()
    if text in win_tz:
        return win_tz[text]
    match = _OFFSET.match(text)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if minutes:
            return None  # Etc/ zones are whole hours only; a half-hour offset without a place is ambiguous
        if hours == 0:
            return "UTC"
        # POSIX-style Etc names invert the sign: UTC-6 is Etc/GMT+6.
        return f"Etc/GMT{'+' if sign == '-' else '-'}{hours}"
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return text


def is_fixed_offset(name: str | None) -> bool:
    """True for a zone that is only an offset (`-0600`, `UTC+2`, `Etc/GMT+6`, `UTC`): it carries no daylight
    saving rules, so it places summer times an hour off in any place that has them."""
    if not name:
        return False
    text = name.strip()
    if _OFFSET.match(text):
        return True
    resolved = resolve_zone(text)
    return resolved is not None and (resolved.startswith("Etc/") or resolved in ("UTC", "GMT"))


def zone(name: str) -> ZoneInfo:
    resolved = resolve_zone(name)
    if resolved is None:
        raise ValueError(f"unknown time zone {name!r}")
    return ZoneInfo(resolved)
