"""The record types the product syncs, as data: one registry (`KINDS`) every module iterates, and how one record
is named everywhere (links, outbox, Graph).

Adding a record type is one `RecordKind` member and one `KindSpec` here, its model in `openair/models.py`, its
renderer in `sync/render.py` (`RENDERERS`), and, when the type refers to records no other type does, its reads in
the OpenAir adapters; the switch column, the settings, the push type, the change reads and the planning follow from
this table (`tests/test_kinds.py` holds every module to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class RecordKind(StrEnum):
    BOOKING = "booking"
    TASK_ASSIGNMENT = "task_assignment"
    SCHEDULE_REQUEST = "schedule_request"


@dataclass(frozen=True)
class KindSpec:
    """Everything about one record type that is not its model or its rendering.

    Every exported type is owned by one OpenAir user through its `userid` field (whose calendar its event goes to;
    reads for one user filter on it, and the model carries it as `userid`).
    """

    kind: RecordKind
    # The OpenAir XML API type name: what a run reads, and the `type` the form script posts
    # (`form_script/after_save.js`).
    openair_type: str
    # UserMappings: the per-user switch that exports this type (`true` to export; absent is off).
    switch_column: str
    # IntegrationSettings: the switch a mapping refresh or CSV import gives users it maps automatically.
    new_users_setting: str
    # IntegrationSettings: whether its events have an Outlook reminder.
    reminder_setting: str
    # The switch in words, as `status` and the CSV import's messages say it.
    words: str
    # How the type is named in IntegrationSettings descriptions ("Exported bookings have…").
    plural: str


KINDS: Mapping[RecordKind, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(RecordKind.BOOKING, "Booking", "ExportBookings", "NewUsersExportBookings", "ReminderBookings",
                 words="bookings", plural="bookings"),
        KindSpec(RecordKind.TASK_ASSIGNMENT, "Projecttaskassign", "ExportTaskAssignments",
                 "NewUsersExportTaskAssignments", "ReminderTaskAssignments", words="task assignments",
                 plural="task assignments"),
        KindSpec(RecordKind.SCHEDULE_REQUEST, "Schedulerequest", "ExportScheduleRequests",
                 "NewUsersExportScheduleRequests", "ReminderScheduleRequests", words="time off",
                 plural="schedule requests"),
    )
}  # fmt: skip

# The kind of each exported OpenAir type name (what a push names, what a read returns).
KIND_OF_TYPE: Mapping[str, RecordKind] = {spec.openair_type: kind for kind, spec in KINDS.items()}


def record_key(kind: RecordKind, record_id: str) -> str:
    """`booking:123` — the RowKey of links and outbox rows (Table keys may not contain / \\ # ?)."""
    return f"{kind.value}:{record_id}"


def parse_record_key(key: str) -> tuple[RecordKind, str]:
    kind, _, record_id = key.partition(":")
    return RecordKind(kind), record_id


def openair_event_key(kind: RecordKind, record_id: str) -> str:
    """The value of the extended property stamped on every exported event: `openair:booking:123`."""
    return f"openair:{record_key(kind, record_id)}"


def parse_openair_event_key(value: str) -> tuple[RecordKind, str] | None:
    prefix, _, rest = value.partition(":")
    if prefix != "openair":
        return None
    try:
        return parse_record_key(rest)
    except ValueError:
        return None
