"""The tables the product owns: links, outbox, cursors, user state and run history, and how each domain object
(`shared/domain/`) is written as a row and read back.

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

import json
import zlib

from shared.domain.links import Desire, Link, LinkState, Origin, OutboxEntry, UserState
from shared.domain.runs import RunRecord
from shared.kinds import RecordKind
from shared.store.tables import Row

LINKS = "Links"
LINK_OWNERS = "LinkOwners"
OUTBOX = "Outbox"
CURSORS = "Cursors"
USER_STATE = "UserState"
RUNS = "Runs"
AUDIT_LOG = "AuditLog"  # administrative changes (shared/admin/audit.py)


def link_row(link: Link) -> Row:
    return Row(
        link.user_id,
        link.key,
        {
            "Retired": json.dumps([list(pair) for pair in link.retired]) if link.retired else "",
            "MailboxId": link.mailbox_id,
            "State": link.state.value,
            "TransactionId": link.transaction_id,
            "Generation": link.generation,
            "EventId": link.event_id,
            "ChangeKey": link.change_key,
            "Hash": link.content_hash,
            "Origin": link.origin.value,
            "Fields": json.dumps(dict(link.fields), sort_keys=True, default=str),
            "SyncedAt": link.synced_at,
            "SourceUpdated": link.source_updated,
        },
        link.etag,
    )


def link_of(row: Row) -> Link:
    c = row.columns
    return Link(
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


def outbox_row(entry: OutboxEntry) -> Row:
    return Row(
        entry.user_id,
        entry.key,
        {
            "Desire": entry.desire.value,
            "Reason": entry.reason,
            "Draft": entry.draft_json,
            "RunId": entry.run_id,
            "SourceUpdated": entry.source_updated,
        },
        entry.etag,
    )


def outbox_entry_of(row: Row) -> OutboxEntry:
    c = row.columns
    return OutboxEntry(
        user_id=row.partition_key,
        key=row.row_key,
        desire=Desire(c.get("Desire", Desire.WRITE.value)),
        reason=str(c.get("Reason", "")),
        draft_json=str(c.get("Draft", "")),
        run_id=str(c.get("RunId", "")),
        source_updated=c.get("SourceUpdated"),
        etag=row.etag,
    )


def user_state_row(state: UserState) -> Row:
    return Row(
        "User",
        state.user_id,
        {"MailboxId": state.mailbox_id, "ExportedKinds": ",".join(sorted(k.value for k in state.exported_kinds))},
        state.etag,
    )


def user_state_of(row: Row) -> UserState:
    kinds = str(row.columns.get("ExportedKinds", ""))
    return UserState(
        user_id=row.row_key,
        mailbox_id=str(row.columns.get("MailboxId", "")),
        exported_kinds=frozenset(RecordKind(k) for k in kinds.split(",") if k),
        etag=row.etag,
    )


def run_row(run: RunRecord) -> Row:
    # Inverted ticks make the newest run sort first within the month's partition.
    inverted = 10**13 - int(run.started.timestamp() * 1000)
    return Row(
        run.started.strftime("%Y-%m"),
        f"{inverted:013d}-{run.run_id}",
        {
            "RunId": run.run_id,
            "Kind": run.kind,
            "Started": run.started,
            "Finished": run.finished,
            "Status": run.status,
            "UserId": run.user_id,
            "Counts": json.dumps(dict(run.counts), sort_keys=True),
            # Table properties hold at most 64 KiB; keep the first errors, count the rest.
            "Errors": json.dumps(list(run.errors[:50])),
            "ErrorCount": len(run.errors),
            "Alerts": json.dumps(list(run.alerts)),
        },
    )


def run_record_of(row: Row) -> RunRecord:
    c = row.columns
    return RunRecord(
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
