"""What one tenant-wide OpenAir read brings back, in the shape the engine consumes.

The adapter (`source.OpenAirSource`) and the in-memory twin (`memory.MemoryOpenAir`) both produce these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.kinds import RecordKind
from shared.openair.models import (
    Booking,
    BookingType,
    Customer,
    Project,
    Projecttask,
    Projecttaskassign,
    Schedulerequest,
    SchedulerequestItem,
    Timetype,
    User,
)
from shared.openair.xml import Unreadable

# The record types whose changes a run reads, and the types whose changes make those records look different.
EXPORTED_TYPES: dict[RecordKind, str] = {
    RecordKind.BOOKING: "Booking",
    RecordKind.TASK_ASSIGNMENT: "Projecttaskassign",
    RecordKind.SCHEDULE_REQUEST: "Schedulerequest",
}


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

    bookings: tuple[Booking, ...] = ()
    task_assignments: tuple[Projecttaskassign, ...] = ()
    schedule_requests: tuple[Schedulerequest, ...] = ()
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

    def merged(self, other: ChangeSet) -> ChangeSet:
        def unique(items: tuple[object, ...]) -> tuple[object, ...]:
            seen: dict[str, object] = {}
            for item in items:
                seen[getattr(item, "id")] = item  # later wins  # noqa: B009
            return tuple(seen.values())

        return ChangeSet(
            bookings=unique(self.bookings + other.bookings),  # type: ignore[arg-type]
            task_assignments=unique(self.task_assignments + other.task_assignments),  # type: ignore[arg-type]
            schedule_requests=unique(self.schedule_requests + other.schedule_requests),  # type: ignore[arg-type]
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
        return len(self.bookings) + len(self.task_assignments) + len(self.schedule_requests) + len(self.deletions)


@dataclass(frozen=True)
class Reference:
    """The records a rendering looks up by id."""

    booking_types: Mapping[str, BookingType] = field(default_factory=dict)
    projects: Mapping[str, Project] = field(default_factory=dict)
    customers: Mapping[str, Customer] = field(default_factory=dict)
    tasks: Mapping[str, Projecttask] = field(default_factory=dict)
    timetypes: Mapping[str, Timetype] = field(default_factory=dict)
    request_items: Mapping[str, tuple[SchedulerequestItem, ...]] = field(default_factory=dict)
