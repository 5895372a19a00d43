"""Is OPENAIR_COMPANY_TIMEZONE the zone OpenAir stamps `created`/`updated` in?

Those stamps come as wall-clock times with an empty `<timezone/>`, so the product reads them, and writes its
`newer-than` dates, in the configured zone. A wrong zone is silent and costly: set east of the real one (UTC for
a New York company) every change is missed for good, since its stamp never looks newer than the watermark; set
west of it, changes are read again for hours and look "updated in the future". OpenAir's own clock shows it:
the XML API's `Time` command ("the current system timestamp from the servers", Oracle article_41112437291),
asked in the same request as the reads, compared with ours. (A record stamped after the read that returned it
would show the second case too, but seed data and clock skew make that a noisy signal.)
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

TOLERANCE = dt.timedelta(minutes=20)  # clock skew; zones differ by at least 30 minutes
_STEP = 15 * 60  # offsets are whole quarter hours


def utc_offset_text(offset: dt.timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    return f"UTC{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def observed_offset(server_now: dt.datetime, our_now: dt.datetime) -> dt.timedelta:
    """The offset of OpenAir's clock from UTC, to the quarter hour (an offset on the value is taken as given)."""
    if server_now.tzinfo is not None:
        return server_now.utcoffset() or dt.timedelta()
    seconds = (server_now - our_now.astimezone(dt.UTC).replace(tzinfo=None)).total_seconds()
    return dt.timedelta(seconds=round(seconds / _STEP) * _STEP)


def zone_mismatch(configured: ZoneInfo, server_now: dt.datetime, our_now: dt.datetime) -> str | None:
    """What is wrong when OpenAir's clock is not the configured zone's wall clock, else None."""
    expected = our_now.astimezone(configured).utcoffset() or dt.timedelta()
    observed = observed_offset(server_now, our_now)
    if server_now.tzinfo is None:
        gap = abs(server_now - our_now.astimezone(dt.UTC).replace(tzinfo=None) - expected)
        if gap < TOLERANCE:
            return None
    elif observed == expected:
        return None
    effect = ("every change made in OpenAir is missed for good" if observed < expected
              else "changes are read again for hours and look updated in the future")  # fmt: skip
    return (f"OPENAIR_COMPANY_TIMEZONE is {configured.key} ({utc_offset_text(expected)} now) but OpenAir's clock "
            f"reads {utc_offset_text(observed)}: OpenAir stamps created/updated without an offset, so {effect}; set "
            f"OPENAIR_COMPANY_TIMEZONE to the company's zone (one at {utc_offset_text(observed)} now)")  # fmt: skip
