"""The record types the product syncs, and how one record is named everywhere (links, outbox, Graph)."""

from __future__ import annotations

from enum import StrEnum


class RecordKind(StrEnum):
    BOOKING = "booking"
    TASK_ASSIGNMENT = "task_assignment"
    SCHEDULE_REQUEST = "schedule_request"


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
