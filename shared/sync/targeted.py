"""Plan one record's export right now (OpenAir's form script said it changed): the push path's planner.

The same decisions as the timer's `planner.plan_export`, for one record: the record is re-read from OpenAir by
id (what the push said is a hint, never data), rendered by the same `render`, filtered by the same
`drop_settled` (the mailbox already shows it → nothing to write) and the same deletion budget, and written to
the same `Outbox`, where `mailbox.export_mailbox` applies it. Because both paths end in that one outbox row and
`export_mailbox` compares it with the link's content hash, a record planned by the push and again by the timer
is written once.

What this path never does: advance watermarks (the timer's incremental read stays complete on its own), decide
user-level scope changes (a user unmapped or a type switched off is the timer's business, via `UserState`), or
back-fill. An unmapped user is a no-op with a reason, not an error.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared.domain.links import Desire, OutboxEntry
from shared.domain.mappings import Mappings
from shared.domain.settings import IntegrationSettings, ShowAsChoice, WhenRemoved
from shared.kinds import RecordKind, record_key
from shared.ports.openair import RecordPort
from shared.store.offload import off_loop
from shared.store.store import SyncStore
from shared.sync.planner import ExportPlan, UserStates, apply_deletion_budget, drop_settled, user_zone
from shared.sync.render import BeforeWindow, OutOfScope, RenderContext, render

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    WRITE = "write"  # an outbox entry: the event should exist and look like this
    REMOVE = "remove"  # an outbox entry: the event should go
    SETTLED = "settled"  # the mailbox already shows exactly this: nothing to write
    NOT_FOUND = "not found"  # OpenAir has no such record, live or deleted
    USER_NOT_MAPPED = "user not mapped"  # no usable UserMappings row (or no mailbox resolved yet)
    TYPE_NOT_EXPORTED = "record type not exported"  # the user's Export… switch for this type is off
    BEFORE_EXPORT_AFTER = "before ExportAfter"
    BEFORE_EXPORT_WINDOW = "before the export window"  # ended before ExportWindowPastDays: history stays as it is
    KEPT = "kept"  # deleted or out of scope, and the settings say keep the event
    DELETION_BLOCKED = "deletion blocked"  # MaxDeletionsPerRun would be exceeded (0 allows none)


@dataclass(frozen=True)
class RecordPlan:
    key: str
    outcome: Outcome
    detail: str
    run_id: str
    user_id: str = ""
    mailbox_id: str = ""
    openair_requests: int = 0

    @property
    def has_work(self) -> bool:
        """True when an outbox entry was written and the user's mailbox worker should run now."""
        return self.outcome in (Outcome.WRITE, Outcome.REMOVE)


@dataclass(frozen=True)
class PlanTables:
    """What a plan reads from the tables (mappings, settings, Show As, and the user's links and pending outbox
    keys): read once for a pass that plans several records of one user, not once per record."""

    mappings: Mappings
    settings: IntegrationSettings
    show_as: dict[str, ShowAsChoice]
    states: UserStates

    @classmethod
    async def load(cls, store: SyncStore, user_ids: Collection[str] = ()) -> PlanTables:
        mappings, (settings, _), (show_as, _), states = await asyncio.gather(
            off_loop(store.load_mappings),
            off_loop(store.load_settings),
            off_loop(store.load_show_as),
            off_loop(store.user_records, [u for u in user_ids if u]),
        )
        return cls(mappings, settings, show_as, states)


async def plan_record(
    kind: RecordKind,
    record_id: str,
    *,
    store: SyncStore,
    openair: RecordPort,
    run_id: str | None = None,
    tables: PlanTables | None = None,
) -> RecordPlan:
    """Decide what one record's event should be and write it to the outbox (unless it is already so). `tables`:
    what a pass over several records read once; without them, this record's plan reads what it needs."""
    run_id = run_id or "push-" + uuid.uuid4().hex[:8]
    key = record_key(kind, record_id)
    changes = await openair.read_record(kind, record_id)
    requests = changes.requests_made
    # Table reads run off the event loop: a burst of saves is many of these at once in one worker.
    if tables is None:
        mappings, (settings, _) = await asyncio.gather(off_loop(store.load_mappings), off_loop(store.load_settings))
    else:
        mappings, settings = tables.mappings, tables.settings

    def settle(result: Outcome, detail: str, user_id: str, mailbox_id: str, entry: OutboxEntry) -> tuple[Outcome, str]:
        """Against the links, then into the outbox: table calls, so run on a worker thread (`off_loop`)."""
        plan = ExportPlan(run_id=run_id)
        entries = {user_id: {key: entry}}
        # The pass's preloaded states where it has this user's (entries it writes itself are new keys).
        drop_settled(plan, store, entries, {user_id: mailbox_id}, tables.states if tables is not None else None)
        if entry.desire is Desire.REMOVE:
            apply_deletion_budget(plan, entries, settings)
            if plan.deletions_blocked:
                result, detail = Outcome.DELETION_BLOCKED, plan.alerts[0]
                log.error("push deletion blocked", extra={"run_id": run_id, "record": key, "user": user_id})
        if entries[user_id]:
            store.put_outbox(list(entries[user_id].values()))
        elif result is not Outcome.DELETION_BLOCKED:
            result, detail = Outcome.SETTLED, "the mailbox already shows this"
        return result, detail

    async def outcome(result: Outcome, detail: str, user_id: str = "", entry: OutboxEntry | None = None) -> RecordPlan:
        mailbox_id = mappings.users[user_id].mailbox_id if user_id in mappings.users else ""
        if entry is not None:
            result, detail = await off_loop(settle, result, detail, user_id, mailbox_id, entry)
        log.info(
            "record planned",
            extra={"run_id": run_id, "record": key, "user": user_id, "outcome": result.value},
        )
        return RecordPlan(key, result, detail, run_id, user_id, mailbox_id, requests)

    if changes.deletions:
        deletion = changes.deletions[0]
        if not deletion.user_id:
            return await outcome(Outcome.NOT_FOUND, "deleted in OpenAir, and OpenAir did not say whose it was")
        if settings.on_record_deleted is not WhenRemoved.REMOVE_EVENT:
            return await outcome(Outcome.KEPT, "deleted in OpenAir; OnRecordDeleted is Keep event", deletion.user_id)
        entry = OutboxEntry(deletion.user_id, key, Desire.REMOVE, "deleted in OpenAir", run_id=run_id)
        return await outcome(Outcome.REMOVE, "deleted in OpenAir", deletion.user_id, entry)

    records = [record for _kind, record in changes.each()]
    if not records:
        return await outcome(Outcome.NOT_FOUND, f"OpenAir has no {kind.value} {record_id}")
    record = records[0]
    user_id = record.userid or ""
    mapping = mappings.users.get(user_id)
    if mapping is None or not mapping.mailbox_id:
        problems = [str(p) for p in mappings.problems if p.row_key == user_id]
        why = problems[0] if problems else f"OpenAir user {user_id or '(none)'} has no mapped mailbox"
        return await outcome(Outcome.USER_NOT_MAPPED, why, user_id)
    if kind not in mapping.export_kinds:
        return await outcome(Outcome.TYPE_NOT_EXPORTED, f"exporting {kind.value}s is switched off for user {user_id}",
                       user_id)  # fmt: skip
    if settings.export_after is not None and record.updated is not None:
        export_after = dt.datetime.combine(settings.export_after, dt.time(0), dt.UTC)
        if record.updated < export_after:
            return await outcome(
                Outcome.BEFORE_EXPORT_AFTER, f"updated before ExportAfter {settings.export_after}", user_id
            )

    if tables is None:
        (show_as, _), reference = await asyncio.gather(off_loop(store.load_show_as), openair.read_reference(changes))
    else:
        show_as, reference = tables.show_as, await openair.read_reference(changes)
    zone = user_zone(mapping, settings)
    today = dt.datetime.now(dt.UTC).astimezone(ZoneInfo(zone)).date()
    rendered = render(record, reference, RenderContext(zone, settings, show_as, today=today))
    if isinstance(rendered, BeforeWindow):
        return await outcome(Outcome.BEFORE_EXPORT_WINDOW, rendered.reason, user_id)
    if isinstance(rendered, OutOfScope):
        if settings.on_record_out_of_scope is not WhenRemoved.REMOVE_EVENT:
            return await outcome(Outcome.KEPT, f"out of scope ({rendered.reason}); OnRecordOutOfScope is Keep event",
                           user_id)  # fmt: skip
        entry = OutboxEntry(user_id, key, Desire.REMOVE, rendered.reason, run_id=run_id)
        return await outcome(Outcome.REMOVE, rendered.reason, user_id, entry)
    entry = OutboxEntry(user_id, key, Desire.WRITE, "changed in OpenAir (pushed)", rendered.model_dump_json(), run_id,
                        source_updated=record.updated)  # fmt: skip
    return await outcome(Outcome.WRITE, "changed in OpenAir", user_id, entry)
