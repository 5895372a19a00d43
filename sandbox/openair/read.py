"""The `Read` command: methods, limit, date filters, deleted records, `_Return` and custom fields.

Unconfirmed behaviours are options: whether a filter boundary is inclusive (`filter_boundary`), whether
an empty result is status 601 or status 0 with no children (`empty_read_status`), and how a character XML 1.0
does not allow goes out (`invalid_characters`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, SubElement

from sandbox.openair.schema import FIELDS, INSTANTS, date_fields, standard_fields
from sandbox.openair.store import Record, Store, StoreError
from sandbox.openair.wire import object_fields, read_date, stamp_to_local

METHODS = ("all", "equal to", "not equal to")
FILTERS = ("newer-than", "older-than", "date-equal-to", "date-not-equal-to")
MAX_LIMIT = 1000


@dataclass
class Options:
    filter_boundary: str = "exclusive"  # "exclusive": newer-than means strictly after; "inclusive": at or after
    empty_read_status: int = 601  # 601 (what clients are known to see) or 0 with no children
    # How a control character in a record's text (not allowed in XML 1.0) goes out: "raw" or as a character
    # "reference" like `&#11;`. Either makes the response not well-formed; which one OpenAir sends is unconfirmed.
    invalid_characters: str = "raw"
    # created/updated (and Time) carry an empty `<timezone/>` in OpenAir's own responses; True shows the offset.
    instant_offsets: bool = False
    # Fields sent corrupt, as a defect or a bad import in OpenAir would leave them: (type, id, field) -> what goes
    # out instead. A dict is sent as the parts of a `<Date>` (`{"year": "2026", "month": "13", "day": "40"}`), a
    # string as the field's text. The stored record is untouched; every Read that returns the field shows it.
    corrupt: dict[tuple[str, str, str], dict[str, str] | str] = field(default_factory=dict)


def read(
    command: Element,
    store: Store,
    options: Options,
    render: Callable[[str, Record], Element],
    visible: Callable[[Record], bool] | None = None,
) -> Element:
    type_name = command.get("type", "")
    if type_name not in FIELDS:
        raise StoreError(603, f"invalid type {type_name!r}")
    method = command.get("method", "")
    if method not in METHODS:
        raise StoreError(603, f"invalid method {method!r}")
    offset, count = parse_limit(command.get("limit"))
    known = standard_fields(type_name) | store.custom[type_name]
    query = _query(command, type_name, store, known) if method != "all" else {}
    tests = _filters(command, type_name, store, known, options)
    rows = store.rows(
        type_name, deleted=command.get("deleted") == "1", include_nondeleted=command.get("include_nondeleted") == "1"
    )
    chosen = [
        r
        for r in rows
        if all((str(r.get(k, "")) == v) == (method == "equal to") for k, v in query.items())
        and all(t(r) for t in tests)
        and (visible is None or visible(r))
    ]
    page = chosen[offset : offset + count]
    returned = _returned(command, known)
    custom = command.get("enable_custom") == "1"
    status = 0 if page or options.empty_read_status == 0 else options.empty_read_status
    reply = Element("Read", {"status": str(status)})
    for record in page:
        shown = {k: v for k, v in record.items() if (custom or k not in store.custom[type_name])}
        if returned is not None:
            shown = {k: v for k, v in shown.items() if k in returned}
        element = render(type_name, shown)
        _corrupt(element, type_name, str(record.get("id", "")), options)
        reply.append(element)
    return reply


def _corrupt(element: Element, type_name: str, record_id: str, options: Options) -> None:
    for (kind, target, name), value in options.corrupt.items():
        if kind != type_name or target != record_id:
            continue
        for child in element:
            if child.tag not in (name, f"{name}__c"):
                continue
            for inner in list(child):
                child.remove(inner)
            child.text = None
            if isinstance(value, dict):
                date = SubElement(child, "Date")
                for part in ("year", "month", "day", "hour", "minute", "second"):
                    SubElement(date, part).text = str(value.get(part, ""))
            else:
                child.text = value


def parse_limit(value: str | None) -> tuple[int, int]:
    if not value:
        raise StoreError(605, "limit attribute missing")
    parts = value.split(",")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise StoreError(605, f"invalid limit {value!r}") from None
    offset, count = (0, numbers[0]) if len(numbers) == 1 else (numbers[0], numbers[1]) if len(numbers) == 2 else (-1, 0)
    if offset < 0 or not 1 <= count <= MAX_LIMIT:
        raise StoreError(605, f"limit {value!r}: at most {MAX_LIMIT} records per read")
    return offset, count


def _query(command: Element, type_name: str, store: Store, known: frozenset[str] | set[str]) -> dict[str, str]:
    element = command.find(type_name)
    if element is None:
        raise StoreError(602, f"method {command.get('method')} needs a <{type_name}> query object")
    out: dict[str, str] = {}
    for name, value in object_fields(element, date_fields(type_name), store.zone).items():
        name = name.removesuffix("__c")
        if name not in known:
            raise StoreError(602, f"invalid field {name} for type {type_name}")
        out[name] = str(value)
    return out


def _returned(command: Element, known: frozenset[str] | set[str]) -> set[str] | None:
    element = command.find("_Return")
    if element is None:
        return None
    names = {child.tag.removesuffix("__c") for child in element}
    unknown = names - set(known)
    if unknown:
        raise StoreError(602, f"invalid field(s) in _Return: {', '.join(sorted(unknown))}")
    return names | {"id"}


def _filters(
    command: Element, type_name: str, store: Store, known: frozenset[str] | set[str], options: Options
) -> list[Callable[[Record], bool]]:
    names = [n for n in (command.get("filter") or "").split(",") if n]
    if not names:
        return []
    for name in names:
        if name not in FILTERS:
            raise StoreError(603, f"invalid filter {name!r}")
    field = command.get("field") or "updated"
    if field not in date_fields(type_name):
        raise StoreError(602, f"invalid filter field {field!r} for type {type_name}")
    dates = command.findall("Date")
    if len(dates) != len(names):
        raise StoreError(602, f"{len(names)} filter(s) need {len(names)} <Date> element(s), got {len(dates)}")
    inclusive = options.filter_boundary == "inclusive"
    tests: list[Callable[[Record], bool]] = []
    for name, date in zip(names, dates, strict=True):
        bound = _comparable(read_date(date, store.zone), field, store)
        if bound is None:
            raise StoreError(602, f"filter {name} needs a non-empty <Date>")
        tests.append(_test(name, field, bound, store, inclusive))
    return tests


def _comparable(value: Any, field: str, store: Store) -> dt.datetime | None:
    """Instants compare as aware UTC; other date fields as naive wall-clock values."""
    if value is None or value == "":
        return None
    if not isinstance(value, dt.date):
        value = stamp_to_local(value)
        if value is None:
            return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    moment: dt.datetime = value
    if field in INSTANTS:
        return (moment if moment.tzinfo else moment.replace(tzinfo=store.zone)).astimezone(dt.UTC)
    return moment if moment.tzinfo is None else moment.astimezone(store.zone).replace(tzinfo=None)


def _test(name: str, field: str, bound: dt.datetime, store: Store, inclusive: bool) -> Callable[[Record], bool]:
    def check(record: Record) -> bool:
        value = _comparable(record.get(field), field, store)
        if value is None:
            return name == "date-not-equal-to"
        if name == "newer-than":
            return value >= bound if inclusive else value > bound
        if name == "older-than":
            return value <= bound if inclusive else value < bound
        same_day = _day(value, field, store) == _day(bound, field, store)
        return same_day if name == "date-equal-to" else not same_day

    return check


def _day(value: dt.datetime, field: str, store: Store) -> dt.date:
    return value.astimezone(store.zone).date() if field in INSTANTS else value.date()
