"""What to read: `ReadSpec` (one `<Read>` command, paged) and how it becomes XML."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from shared.openair.xml import Command, read_command

MAX_PAGE = 1000  # OpenAir refuses limits above 1,000 with 605
DATE_FILTERS = ("newer-than", "older-than", "date-equal-to", "date-not-equal-to")


@dataclass(frozen=True)
class ReadSpec:
    """One paged Read.

    `query` holds fields compared with `equal to` (or `not equal to` via `method`). `filters` are OpenAir
    date filters on `field` (default `updated`): `newer-than` compares with `since`, `older-than` with
    `until`, the equal-to filters with `since`. Giving `since` alone implies `newer-than`.
    """

    type: str
    method: str = "all"
    query: Mapping[str, Any] | None = None
    filters: Sequence[str] = ()
    field: str = "updated"
    since: dt.datetime | dt.date | None = None
    until: dt.datetime | dt.date | None = None
    deleted: bool = False
    include_nondeleted: bool = False
    return_fields: Sequence[str] | None = None
    enable_custom: bool = True
    page_size: int = MAX_PAGE

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE}, got {self.page_size}")
        for value in (self.since, self.until):
            if isinstance(value, dt.datetime) and value.tzinfo is None:
                raise ValueError("since/until must be aware datetimes (they are converted to the company zone)")
        for name in self.effective_filters:
            if name not in DATE_FILTERS:
                raise ValueError(f"unknown OpenAir filter {name!r}; use one of {', '.join(DATE_FILTERS)}")
        if self.query and self.method == "all":
            object.__setattr__(self, "method", "equal to")

    @property
    def effective_filters(self) -> tuple[str, ...]:
        if self.filters:
            return tuple(self.filters)
        return ("newer-than",) if self.since is not None else ()

    @property
    def label(self) -> str:
        return f"Read {self.type}" + (" (deleted)" if self.deleted else "")

    def dates(self) -> list[dt.datetime | dt.date]:
        out: list[dt.datetime | dt.date] = []
        for name in self.effective_filters:
            value = self.until if name == "older-than" else self.since
            if value is None:
                raise ValueError(f"filter {name} needs {'until' if name == 'older-than' else 'since'}")
            out.append(value)
        return out

    def command(self, offset: int, zone: ZoneInfo) -> Command:
        """The `<Read>` for the page starting at `offset`."""
        attributes: dict[str, str] = {}
        if self.enable_custom:
            attributes["enable_custom"] = "1"
        filters = self.effective_filters
        if filters:
            attributes["filter"] = ",".join(filters)
            attributes["field"] = self.field
        if self.deleted:
            attributes["deleted"] = "1"
            if self.include_nondeleted:
                attributes["include_nondeleted"] = "1"
        element = read_command(
            self.type,
            method=self.method,
            limit=f"{offset},{self.page_size}",
            attributes=attributes,
            query=self.query,
            dates=self.dates(),
            return_fields=self.return_fields,
            zone=zone,
        )
        return Command(element, self.label)
