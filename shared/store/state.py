"""The tables the product owns: links, outbox, cursors, user state and run history.

- Links (PK = OpenAir user id, RK = record key `booking:123`): which event a record became, the change key
  and hash of what we wrote (echo suppression, skip identical writes), the last synced field values (three-way
  merges), and the generation/transaction id that makes a retried create idempotent.
- Outbox (PK = OpenAir user id, RK = record key): the desired state the planner decided for a record, until a
  mailbox worker applies it. Queue messages carry only the user id, never payloads (64 KB limit).
- Cursors (PK = scope, RK = name): OpenAir watermarks per record type and pass; later, delta links.
- UserState (PK = "User", RK = OpenAir user id): which record types have been exported (backfill / scope-out).
- Runs (PK = yyyy-mm, RK = inverted time + run id): history, newest first.
- LinkOwners (PK = record type + bucket of 1,000 ids, RK = record id | OpenAir user id): who holds a link for a
  record, so a record reassigned in OpenAir is found by its key whoever owned it (Links is partitioned by user).
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared.kinds import RecordKind
from shared.store.backend import Row

LINKS = "Links"
LINK_OWNERS = "LinkOwners"
OUTBOX = "Outbox"
CURSORS = "Cursors"
USER_STATE = "UserState"
RUNS = "Runs"
AUDIT_LOG = "AuditLog"  # administrative changes (shared/admin/audit.py)


class LinkState(StrEnum):
    CREATING = "creating"  # a create was sent (or is about to be); its answer was not recorded yet
    SYNCED = "synced"
    # Cutover: an event of the Exchange Integration Manager may be this record's, but not certainly. Nothing is
    # written for the record (no second copy next to it) until a cutover run finds the question settled.
    HELD = "held"


class Origin(StrEnum):
    OPENAIR = "OpenAir"
    OUTLOOK = "Outlook"


@dataclass(frozen=True)
class Link:
    user_id: str
    key: str  # record key, e.g. booking:123
    mailbox_id: str
    state: LinkState
    transaction_id: str
    generation: int = 0
    event_id: str = ""
    change_key: str = ""
    content_hash: str = ""
    origin: Origin = Origin.OPENAIR
    fields: Mapping[str, Any] = field(default_factory=dict)  # last synced values, for three-way merges
    synced_at: dt.datetime | None = None
    source_updated: dt.datetime | None = None  # OpenAir `updated` of the record version the event shows
    # Copies of the event in mailboxes the user had before, (mailbox id, event id), still to be removed: kept
    # until each removal succeeds, so a previous mailbox that is unavailable for a while keeps no orphan.
    retired: tuple[tuple[str, str], ...] = ()
    etag: str | None = None

    def to_row(self) -> Row:
        return Row(
            self.user_id,
            self.key,
            {
                "Retired": json.dumps([list(pair) for pair in self.retired]) if self.retired else "",
                "MailboxId": self.mailbox_id,
                "State": self.state.value,
                "TransactionId": self.transaction_id,
                "Generation": self.generation,
                "EventId": self.event_id,
                "ChangeKey": self.change_key,
                "Hash": self.content_hash,
                "Origin": self.origin.value,
                "Fields": json.dumps(dict(self.fields), sort_keys=True, default=str),
                "SyncedAt": self.synced_at,
                "SourceUpdated": self.source_updated,
            },
            self.etag,
        )

    @classmethod
    def from_row(cls, row: Row) -> Link:
        c = row.columns
        return cls(
            user_id=row.partition_key,
            key=row.row_key,
            mailbox_id=str(c.get("MailboxId", "")),
            state=LinkState(c.get("State", LinkState.SYNCED.value)),
            transaction_id=str(c.get("TransactionId", "")),
            generation=int(c.get("Generation", 0) or 0),
            event_id=str(c.get("EventId", "")),
            change_key=str(c.get("ChangeKey", "")),
            content_hash=str(c.get("Hash", "")),
            origin=Origin(c.get("Origin", Origin.OPENAIR.value)),
            fields=json.loads(c.get("Fields") or "{}"),
            synced_at=c.get("SyncedAt"),
            source_updated=c.get("SourceUpdated"),
            retired=tuple((str(m), str(e)) for m, e in json.loads(c.get("Retired") or "[]")),
            etag=row.etag,
        )

    @property
    def kind(self) -> RecordKind:
        return RecordKind(self.key.partition(":")[0])


class Desire(StrEnum):
    WRITE = "write"  # the event should exist and look like `draft`
    REMOVE = "remove"  # the event should not exist


@dataclass(frozen=True)
class OutboxEntry:
    user_id: str
    key: str
    desire: Desire
    reason: str  # why (updated, deleted in OpenAir, out of scope, user out of scope, resync…)
    draft_json: str = ""  # EventDraft as JSON when desire is WRITE
    run_id: str = ""
    source_updated: dt.datetime | None = None  # OpenAir `updated` of the record version rendered
    etag: str | None = None

    def to_row(self) -> Row:
        return Row(
            self.user_id,
            self.key,
            {
                "Desire": self.desire.value,
                "Reason": self.reason,
                "Draft": self.draft_json,
                "RunId": self.run_id,
                "SourceUpdated": self.source_updated,
            },
            self.etag,
        )

    @classmethod
    def from_row(cls, row: Row) -> OutboxEntry:
        c = row.columns
        return cls(
            user_id=row.partition_key,
            key=row.row_key,
            desire=Desire(c.get("Desire", Desire.WRITE.value)),
            reason=str(c.get("Reason", "")),
            draft_json=str(c.get("Draft", "")),
            run_id=str(c.get("RunId", "")),
            source_updated=c.get("SourceUpdated"),
            etag=row.etag,
        )


@dataclass(frozen=True)
class UserState:
    user_id: str
    mailbox_id: str
    exported_kinds: frozenset[RecordKind]
    etag: str | None = None

    def to_row(self) -> Row:
        return Row(
            "User",
            self.user_id,
            {"MailboxId": self.mailbox_id, "ExportedKinds": ",".join(sorted(k.value for k in self.exported_kinds))},
            self.etag,
        )

    @classmethod
    def from_row(cls, row: Row) -> UserState:
        kinds = str(row.columns.get("ExportedKinds", ""))
        return cls(
            user_id=row.row_key,
            mailbox_id=str(row.columns.get("MailboxId", "")),
            exported_kinds=frozenset(RecordKind(k) for k in kinds.split(",") if k),
            etag=row.etag,
        )


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    kind: str  # export-plan, export-mailbox, import-mailbox, resync, …
    started: dt.datetime
    finished: dt.datetime
    status: str  # ok, partial, failed, blocked
    counts: Mapping[str, int] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()
    user_id: str = ""

    def to_row(self) -> Row:
        # Inverted ticks make the newest run sort first within the month's partition.
        inverted = 10**13 - int(self.started.timestamp() * 1000)
        return Row(
            self.started.strftime("%Y-%m"),
            f"{inverted:013d}-{self.run_id}",
            {
                "RunId": self.run_id,
                "Kind": self.kind,
                "Started": self.started,
                "Finished": self.finished,
                "Status": self.status,
                "UserId": self.user_id,
                "Counts": json.dumps(dict(self.counts), sort_keys=True),
                # Table properties hold at most 64 KiB; keep the first errors, count the rest.
                "Errors": json.dumps(list(self.errors[:50])),
                "ErrorCount": len(self.errors),
                "Alerts": json.dumps(list(self.alerts)),
            },
        )

    @classmethod
    def from_row(cls, row: Row) -> RunRecord:
        c = row.columns
        return cls(
            run_id=str(c.get("RunId", "")),
            kind=str(c.get("Kind", "")),
            started=c["Started"],
            finished=c["Finished"],
            status=str(c.get("Status", "")),
            counts=json.loads(c.get("Counts") or "{}"),
            errors=tuple(json.loads(c.get("Errors") or "[]")),
            alerts=tuple(json.loads(c.get("Alerts") or "[]")),
            user_id=str(c.get("UserId", "")),
        )


OWNER_BUCKET = 1000  # record ids per LinkOwners partition: one partition query answers for up to 1,000 records


def owner_partition(key: str) -> str:
    """The LinkOwners partition of a record key: its type and a bucket of consecutive ids (OpenAir ids are
    sequential, so the records of one run mostly share a few buckets)."""
    kind, _, record_id = key.partition(":")
    bucket = int(record_id) // OWNER_BUCKET if record_id.isdigit() else zlib.crc32(record_id.encode()) % 997
    return f"{kind}-{bucket}"


def owner_row(key: str, user_id: str) -> Row:
    return Row(owner_partition(key), f"{key.partition(':')[2]}|{user_id}", {"Key": key, "UserId": user_id})


def indexes_owner(link: Link) -> bool:
    """Links that may be new to their owner: a create's intent, a cutover's held or adopted event (never written by
    us yet). Later writes of the same link need no index write."""
    return link.origin is Origin.OPENAIR and (link.state is not LinkState.SYNCED or link.synced_at is None)
