"""Typed reads: raw rows parsed into `models` records, by record type, with since/deleted/user filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Generic, Literal, Protocol, TypeVar, overload
from zoneinfo import ZoneInfo

from shared.kinds import KINDS
from shared.openair.models import DeletedRecord, Record
from shared.openair.reads import ReadSpec
from shared.openair.xml import Raw

R = TypeVar("R", bound=Record)

# Types without a `userid` field: a user filter on them is a programming error, not an empty result.
_USER_FIELD: dict[str, str] = {
    "User": "id",
    **{spec.openair_type: "userid" for spec in KINDS.values()},  # every exported type is owned through `userid`
    "Schedulerequest_item": "userid",
}


class Reader(Protocol):
    zone: ZoneInfo

    async def read_many(self, specs: Sequence[ReadSpec]) -> list[list[Raw]]: ...


def spec_for(
    type_name: str,
    *,
    since: dt.datetime | None = None,
    deleted: bool = False,
    user_id: str | None = None,
    return_fields: Sequence[str] | None = None,
) -> ReadSpec:
    """The ReadSpec of a typed read: `newer-than` on updated when `since` is given, `equal to` for a user."""
    query = None
    if user_id is not None:
        if type_name not in _USER_FIELD:
            raise ValueError(f"{type_name} has no user field to filter on")
        query = {_USER_FIELD[type_name]: user_id}
    return ReadSpec(type=type_name, query=query, since=since, deleted=deleted, return_fields=return_fields)


class TypedRead(Generic[R]):
    """`await client.read_bookings(since, deleted, user_id)`: models, or DeletedRecords when deleted=True."""

    def __init__(self, reader: Reader, model: type[R]) -> None:
        self._reader = reader
        self._model = model

    @overload
    async def __call__(
        self, since: dt.datetime | None = None, deleted: Literal[False] = False, user_id: str | None = None
    ) -> list[R]: ...

    @overload
    async def __call__(
        self, since: dt.datetime | None = None, *, deleted: Literal[True], user_id: str | None = None
    ) -> list[DeletedRecord]: ...

    async def __call__(
        self, since: dt.datetime | None = None, deleted: bool = False, user_id: str | None = None
    ) -> list[R] | list[DeletedRecord]:
        spec = spec_for(self._model.TYPE, since=since, deleted=deleted, user_id=user_id)
        (rows,) = await self._reader.read_many([spec])
        if deleted:
            return [DeletedRecord.from_raw(self._model.TYPE, row, self._reader.zone) for row in rows]
        return [self._model.from_raw(row, self._reader.zone) for row in rows]


class Batch:
    """The result of reading several types in one request; `of(Booking)` is typed."""

    def __init__(self, records: Mapping[str, Sequence[Record]], deleted: Mapping[str, Sequence[DeletedRecord]]):
        self._records = records
        self._deleted = deleted

    def of(self, model: type[R]) -> list[R]:
        return [r for r in self._records.get(model.TYPE, ()) if isinstance(r, model)]

    def deleted(self, model: type[Record]) -> list[DeletedRecord]:
        return list(self._deleted.get(model.TYPE, ()))


async def read_types(
    reader: Reader,
    models: Sequence[type[Record]],
    *,
    since: dt.datetime | Mapping[str, dt.datetime | None] | None = None,
    deleted: bool = False,
    user_id: str | None = None,
) -> Batch:
    """Several types (and with deleted=True their deletions too) in one request per page round.

    `since` may be one watermark or one per type name.
    """

    def since_of(model: type[Record]) -> dt.datetime | None:
        return since.get(model.TYPE) if isinstance(since, Mapping) else since

    specs = [spec_for(m.TYPE, since=since_of(m), user_id=_user_for(m, user_id)) for m in models]
    if deleted:
        specs += [spec_for(m.TYPE, since=since_of(m), deleted=True, user_id=_user_for(m, user_id)) for m in models]
    pages = await reader.read_many(specs)
    records = {m.TYPE: [m.from_raw(row, reader.zone) for row in pages[i]] for i, m in enumerate(models)}
    gone: dict[str, list[DeletedRecord]] = {}
    if deleted:
        for i, m in enumerate(models):
            gone[m.TYPE] = [DeletedRecord.from_raw(m.TYPE, row, reader.zone) for row in pages[len(models) + i]]
    return Batch(records, gone)


def _user_for(model: type[Record], user_id: str | None) -> str | None:
    # A user filter applies to the types that have a user; reference types in the same batch are read whole.
    return user_id if user_id is not None and model.TYPE in _USER_FIELD else None


__all__ = ["Batch", "Reader", "TypedRead", "read_types", "spec_for"]
