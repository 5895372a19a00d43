"""NCRONTAB schedules as the Functions timer trigger reads them (the .NET NCrontab library's rules).

Six fields, seconds first (`sec min hour day month day-of-week`); five fields mean "at second 0". Each field
is `*`, a value, a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from a to the field's maximum), or a comma
list of those. Months and days of week also take English names or their prefixes (`Jan`, `Mon`); Sunday is 0
and 7 is refused, as in NCrontab. Unlike Vixie cron, day of month and day of week must BOTH match: NCrontab
ANDs them, so `0 0 0 13 * 5` is "Friday the 13th", not "every 13th and every Friday".

Times are UTC: Linux Consumption and Flex plans ignore WEBSITE_TIME_ZONE, so there is no DST to handle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
DAY_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")

# Feb 29 can be 8 years away (2096 -> 2104); past that a schedule never fires (e.g. Feb 30).
_SEARCH_YEARS = 9


class NcrontabError(ValueError):
    """The expression is not a valid NCRONTAB schedule; the message names the field and the rule."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()


_FIELDS = (
    _Field("second", 0, 59),
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day", 1, 31),
    _Field("month", 1, 12, MONTH_NAMES),
    _Field("day of week", 0, 6, DAY_NAMES),
)


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: the set of allowed values of each field."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]

    @classmethod
    def parse(cls, expression: str) -> Schedule:
        tokens = expression.split()
        if len(tokens) == 5:
            tokens = ["0", *tokens]
        elif len(tokens) != 6:
            raise NcrontabError(
                f"{expression!r} is not an NCRONTAB schedule: it needs 6 fields "
                "(second minute hour day month day-of-week), e.g. '0 */5 * * * *'"
            )
        sets = [_parse_field(field, token) for field, token in zip(_FIELDS, tokens, strict=True)]
        return cls(expression, *sets)

    def matches(self, moment: datetime) -> bool:
        """Whether the schedule fires at this second (UTC)."""
        t = _as_utc(moment)
        return (
            t.second in self.seconds
            and t.minute in self.minutes
            and t.hour in self.hours
            and t.day in self.days
            and t.month in self.months
            and _weekday(t) in self.weekdays
        )

    def next_after(self, moment: datetime) -> datetime:
        """The first firing time strictly after `moment`, as an aware UTC datetime on a whole second."""
        t = _as_utc(moment).replace(microsecond=0) + timedelta(seconds=1)
        last_year = t.year + _SEARCH_YEARS
        while t.year <= last_year:
            if t.month not in self.months:
                t = _first_of_next_month(t)
            elif t.day not in self.days or _weekday(t) not in self.weekdays:
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t = t.replace(second=0) + timedelta(minutes=1)
            elif t.second not in self.seconds:
                t += timedelta(seconds=1)
            else:
                return t
        raise NcrontabError(f"{self.expression!r} never fires (no matching date within {_SEARCH_YEARS} years)")


def _parse_field(field: _Field, token: str) -> frozenset[int]:
    values: set[int] = set()
    for item in token.split(","):
        values.update(_parse_item(field, item, token))
    return frozenset(values)


def _parse_item(field: _Field, item: str, token: str) -> range:
    def fail(rule: str) -> NcrontabError:
        return NcrontabError(f"{token!r} is not a valid {field.name} field: {rule}")

    body, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            raise fail(f"step {step_text!r} must be a positive whole number")
        step = int(step_text)
    if body == "*":
        first, last = field.low, field.high
    elif "-" in body:
        low_text, _, high_text = body.partition("-")
        first, last = _value(field, low_text, fail), _value(field, high_text, fail)
        if first > last:
            raise fail(f"range {body!r} runs backwards")
    else:
        first = _value(field, body, fail)
        # NCrontab reads `a/n` as "from a to the maximum, every n"; a bare value is just itself.
        last = field.high if slash else first
    return range(first, last + 1, step)


def _value(field: _Field, text: str, fail: Callable[[str], NcrontabError]) -> int:
    if text.isdigit():
        number = int(text)
    else:
        lowered = text.lower()
        # Three letters at least, so `M` or `Ju` cannot silently pick the first of several names.
        matches = [i for i, name in enumerate(field.names) if len(lowered) >= 3 and name.startswith(lowered)]
        if len(matches) != 1:
            allowed = f"a number from {field.low} to {field.high}"
            if field.names:
                allowed += " or a name such as " + ", ".join(n[:3].title() for n in field.names[:3])
            raise fail(f"{text!r} is not {allowed}")
        number = matches[0] + field.low
    if not field.low <= number <= field.high:
        raise fail(f"{number} is outside {field.low}-{field.high}")
    return number


def _as_utc(moment: datetime) -> datetime:
    # A naive datetime is taken to be UTC already; an aware one is converted.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _weekday(t: datetime) -> int:
    return (t.weekday() + 1) % 7  # Python counts Monday as 0; NCRONTAB counts Sunday as 0


def _first_of_next_month(t: datetime) -> datetime:
    year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
    return t.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)
