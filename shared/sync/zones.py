"""Which time zone a user's events are rendered in, and why.

OpenAir reports a user's zone as a bare offset (`<timezone>-0600</timezone>` in Oracle's own sample
responses), sometimes as a name. An offset carries no daylight saving rules: rendered in `Etc/GMT+6`, a
Chicago consultant's 9:00 July booking would land at 15:00 UTC instead of 14:00. So a fixed offset never wins
over a zone that knows the rules — the administrator's override, or the mailbox's own zone from Graph — and is
used only when nothing better is known, with a warning `check` and `status` show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared.domain.mappings import UserMapping
from shared.domain.settings import IntegrationSettings
from shared.timezones import is_fixed_offset, resolve_zone

# Offsets a zone takes over a year: its winter and summer offsets (either hemisphere).
_PROBES = (dt.datetime(2026, 1, 15, 12), dt.datetime(2026, 7, 15, 12))


class ZoneSource(StrEnum):
    OVERRIDE = "override"  # UserMappings TimeZone, set by an administrator
    OPENAIR = "OpenAir"  # the OpenAir user's zone
    MAILBOX = "mailbox"  # the mailbox's zone from Graph
    DEFAULT = "default"  # IntegrationSettings DefaultTimeZone


@dataclass(frozen=True)
class ZoneChoice:
    """The IANA zone a user's events are rendered in, where it came from, and why (for `check`/`status`)."""

    zone: str
    source: ZoneSource
    reason: str
    fixed_offset: bool = False  # no daylight saving rules: summer times are an hour off where clocks change


def _offsets(zone: str) -> set[dt.timedelta]:
    tz = ZoneInfo(zone)
    return {offset for probe in _PROBES if (offset := probe.replace(tzinfo=tz).utcoffset()) is not None}


def choose_zone(mapping: UserMapping, settings: IntegrationSettings) -> ZoneChoice:
    """Override; else the OpenAir user's named zone; else the mailbox's zone; else DefaultTimeZone when it fits
    the OpenAir offset; else the OpenAir offset itself (with a warning); else the default."""
    override = resolve_zone(mapping.time_zone)
    if override:
        return ZoneChoice(override, ZoneSource.OVERRIDE, f"TimeZone override {mapping.time_zone!r} in UserMappings",
                          fixed_offset=is_fixed_offset(mapping.time_zone))  # fmt: skip
    openair_text = mapping.openair_time_zone.strip()
    openair = resolve_zone(openair_text)
    openair_fixed = is_fixed_offset(openair_text)
    if openair and not openair_fixed:
        return ZoneChoice(openair, ZoneSource.OPENAIR, f"the OpenAir user's time zone {openair_text!r}")
    gave = f"OpenAir gives only the offset {openair_text!r}, which has no daylight saving" if openair_text else (
        "the OpenAir user has no time zone")  # fmt: skip
    mailbox_text = mapping.mailbox_time_zone.strip()
    mailbox = resolve_zone(mailbox_text)
    if mailbox and not is_fixed_offset(mailbox_text):
        reason = f"the mailbox's time zone {mailbox_text!r}; {gave}"
        if openair and not _offsets(openair) & _offsets(mailbox):
            reason += f"; {openair_text!r} is never this zone's offset: check the user's time zone in OpenAir"
        return ZoneChoice(mailbox, ZoneSource.MAILBOX, reason)
    default = resolve_zone(settings.default_time_zone)
    if openair:
        if default and not is_fixed_offset(settings.default_time_zone) and _offsets(openair) & _offsets(default):
            return ZoneChoice(default, ZoneSource.DEFAULT, f"DefaultTimeZone {settings.default_time_zone!r}, which "
                              f"has OpenAir's offset {openair_text!r} and knows daylight saving; the mailbox has no "
                              "zone")  # fmt: skip
        return ZoneChoice(openair, ZoneSource.OPENAIR, f"OpenAir's fixed offset {openair_text!r}, no daylight "
                          "saving: set TimeZone in UserMappings (or refresh the mappings to read the mailbox's zone)",
                          fixed_offset=True)  # fmt: skip
    if mailbox:
        return ZoneChoice(mailbox, ZoneSource.MAILBOX, f"the mailbox's time zone {mailbox_text!r}; {gave}",
                          fixed_offset=True)  # fmt: skip
    if default:
        return ZoneChoice(default, ZoneSource.DEFAULT, f"DefaultTimeZone {settings.default_time_zone!r}; {gave} "
                          "and the mailbox's zone is not known", fixed_offset=is_fixed_offset(default))  # fmt: skip
    return ZoneChoice("UTC", ZoneSource.DEFAULT, f"UTC; {gave} and the mailbox's zone is not known", fixed_offset=True)
