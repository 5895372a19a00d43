"""What one tenant-wide OpenAir read brings back, in the shape the engine consumes.

The adapter (`source.OpenAirSource`) and the in-memory twin (`memory.MemoryOpenAir`) both produce these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, TypeVar, cast

from shared.kinds import KIND_OF_TYPE, KINDS, RecordKind
from shared.openair.models import (
    RECORD_TYPES,
    BookingType,
    Children,
    Customer,
    Project,
    Projecttask,
    PulledIn,
    Record,
    SchedulerequestItem,
    Timetype,
    User,
)
from shared.openair.xml import Unreadable

R = TypeVar("R", bound=Record)


class ExportedRecord(Protocol):
    """A record of an exported type (`shared.kinds.KINDS`): the engine needs its id, the user whose calendar it
    goes to, and when it last changed; its renderer needs the rest."""

    TYPE: ClassVar[str]

    @property
    def id(self) -> str: ...

    @property
    def userid(self) -> str | None: ...

    @property
    def updated(self) -> dt.datetime | None: ...

    def refers_to(self) -> Mapping[str, str | None]: ...


def model_of(kind: RecordKind) -> type[Record]:
    """The model a record of `kind` is parsed into (`models.RECORD_TYPES` by the kind's OpenAir type)."""
    return RECORD_TYPES[KINDS[kind].openair_type]


def pulls() -> list[tuple[RecordKind, PulledIn]]:
    """Every change of another type that pulls records of an exported kind in again, kind by kind."""
    return [(kind, pull) for kind in KINDS for pull in model_of(kind).PULLED_IN_BY]


# OpenAir purges deleted records 180 days after their deletion (Oracle, "Data Deletion", section_1521018146): a
# `deleted="1"` read from a watermark older than that cannot return every deletion. A deletion watermark older
# than the retention minus a margin (clock skew, the watermark overlap, a run that takes long) is not trusted:
# the planner reconciles the links against a full read of the live records instead.
DELETED_RETENTION = dt.timedelta(days=180)
DELETED_RETENTION_MARGIN = dt.timedelta(days=7)


def deletions_trusted(mark: dt.datetime, now: dt.datetime) -> bool:
    """Whether a `deleted="1"` read newer than `mark` still returns every deletion since (none purged yet)."""
    return now - mark < DELETED_RETENTION - DELETED_RETENTION_MARGIN


def updated_cursor(type_name: str) -> str:
    return f"{type_name}.updated"


def deleted_cursor(type_name: str) -> str:
    return f"{type_name}.deleted"


@dataclass(frozen=True)
class Deletion:
    """A record deleted in OpenAir; user_id is who it belonged to (empty when OpenAir did not say)."""

    kind: RecordKind
    record_id: str
    user_id: str
    updated: dt.datetime | None = None


@dataclass(frozen=True)
class ChangeSet:
    """Records to (re-)render, deletions, and the watermarks to store once they are safely planned.

    `watermarks` advance the updated-passes; `deletion_watermarks` advance the deleted-passes, kept apart so a
    run whose deletions were blocked by the budget can advance the first and re-read the second.
    """

    records: Mapping[RecordKind, tuple[ExportedRecord, ...]] = field(default_factory=dict)
    deletions: tuple[Deletion, ...] = ()
    users: tuple[User, ...] = ()
    watermarks: Mapping[str, dt.datetime] = field(default_factory=dict)
    deletion_watermarks: Mapping[str, dt.datetime] = field(default_factory=dict)
    requests_made: int = 0
    # Record keys that must be re-rendered even if their `updated` did not move: pulled in because something they
    # show changed (a task's dates, a request's items, a booking type), or back-filled for a user.
    forced: frozenset[str] = frozenset()
    # What an administrator should know about the read itself (records OpenAir sent with characters XML 1.0 does
    # not allow, read with U+FFFD in their place).
    notices: tuple[str, ...] = ()
    # Kinds whose deletion watermark is older than OpenAir keeps deleted records (`deletions_trusted`): their
    # deleted-pass was not read, and the planner must reconcile their links against the live records.
    reconcile: frozenset[RecordKind] = frozenset()
    # Changed records of the exported types that could not be read (a field holding an impossible value): left
    # out of the lists above, and named by the planner as skipped for their user (type, id, user, what is wrong).
    unreadable: tuple[Unreadable, ...] = ()

    def of(self, kind: RecordKind) -> tuple[ExportedRecord, ...]:
        return self.records.get(kind, ())

    def of_model(self, model: type[R]) -> list[R]:
        """The records of the kind `model` is the model of, typed as such: `changes.of_model(Booking)`."""
        records: tuple[object, ...] = self.of(KIND_OF_TYPE[model.TYPE])
        return [r for r in records if isinstance(r, model)]

    def each(self) -> list[tuple[RecordKind, ExportedRecord]]:
        """Every record with its kind, kind by kind in registry order."""
        return [(kind, record) for kind in KINDS for record in self.of(kind)]

    def merged(self, other: ChangeSet) -> ChangeSet:
        def unique(items: Iterable[ExportedRecord]) -> tuple[ExportedRecord, ...]:
            return tuple({item.id: item for item in items}.values())  # later wins

        return ChangeSet(
            records=by_kind((kind, unique([*self.of(kind), *other.of(kind)])) for kind in KINDS),
            deletions=self.deletions + other.deletions,
            users=self.users + other.users,
            watermarks={**self.watermarks, **other.watermarks},
            deletion_watermarks={**self.deletion_watermarks, **other.deletion_watermarks},
            requests_made=self.requests_made + other.requests_made,
            forced=self.forced | other.forced,
            notices=self.notices + other.notices,
            reconcile=self.reconcile | other.reconcile,
            unreadable=self.unreadable + other.unreadable,
        )

    def __len__(self) -> int:
        return sum(len(records) for records in self.records.values()) + len(self.deletions)


def referred(changes: ChangeSet) -> dict[str, set[str]]:
    """The ids of the records the changed records' events show, by type name (`Record.refers_to`)."""
    out: dict[str, set[str]] = {}
    for _kind, record in changes.each():
        for type_name, record_id in record.refers_to().items():
            if record_id:
                out.setdefault(type_name, set()).add(record_id)
    return out


def with_children(changes: ChangeSet) -> list[tuple[Children, str]]:
    """(child relation, parent id) for every changed record whose type has child records (`Record.CHILDREN`)."""
    return [(child, record.id) for kind, record in changes.each() for child in model_of(kind).CHILDREN]


def by_kind(
    pairs: Iterable[tuple[RecordKind, Iterable[Record | ExportedRecord]]],
) -> dict[RecordKind, tuple[ExportedRecord, ...]]:
    """`ChangeSet.records` from (kind, records) pairs; kinds without records are left out."""
    # The model of every exported type carries its owner as `userid` (tests/test_kinds.py): its records are
    # `ExportedRecord`s, which `Record`, the type parsed rows come back as, cannot say.
    out = {kind: tuple(cast(Iterable[ExportedRecord], records)) for kind, records in pairs}
    return {kind: records for kind, records in out.items() if records}


@dataclass(frozen=True)
class Reference:
    """The records a rendering looks up by id."""

    booking_types: Mapping[str, BookingType] = field(default_factory=dict)
    projects: Mapping[str, Project] = field(default_factory=dict)
    customers: Mapping[str, Customer] = field(default_factory=dict)
    tasks: Mapping[str, Projecttask] = field(default_factory=dict)
    timetypes: Mapping[str, Timetype] = field(default_factory=dict)
    request_items: Mapping[str, tuple[SchedulerequestItem, ...]] = field(default_factory=dict)
