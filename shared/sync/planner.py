"""Plan an export run for the whole tenant: read OpenAir once, decide each record's desired event, write the
outbox, advance the watermarks. The mailbox workers (`mailbox.py`) apply the outbox in parallel.

Guards, because calendars are trusted to us:
- a failed OpenAir read raises before anything is written: never "OpenAir is empty, delete everything";
- out of scope (a user unmapped, a type switched off, Do not export) and deleted are separate, each with its
  own setting;
- a run that would delete more events than `MaxDeletionsPerRun` deletes none, says so, and keeps the deletions'
  watermarks so the next run sees them again once an administrator has looked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from shared.domain.events import EventDraft
from shared.domain.links import Desire, LinkState, Origin, OutboxEntry, UserState
from shared.domain.mappings import Mappings, RowProblem, UserMapping
from shared.domain.settings import IntegrationSettings, WhenRemoved
from shared.domain.snapshot import PlanOutcome, TenantSnapshot, UserRecords
from shared.kinds import KIND_OF_TYPE, KINDS, RecordKind, record_key
from shared.openair.changes import ChangeSet, Deletion, ExportedRecord, Reference, by_kind, updated_cursor
from shared.openair.models import Booking
from shared.openair.xml import Unreadable
from shared.ports.openair import OpenAirPort
from shared.store.offload import off_loop
from shared.store.store import CURSOR_SCOPE, RENDERING_SCOPE, SKIPPED_COLUMN, SyncStore
from shared.sync.decide import content_hash
from shared.sync.importing.rules import IMPORT_EXTERNALID_PREFIX
from shared.sync.render import (
    RENDER_VERSION,
    BeforeWindow,
    OutOfScope,
    RenderContext,
    Unrenderable,
    presentation,
    render,
)
from shared.sync.time_off import replies_ended
from shared.sync.zones import choose_zone

log = logging.getLogger(__name__)


def rendering_cursors(settings: IntegrationSettings, today: dt.date) -> dict[str, str]:
    """The settings that dress every event (category, reminders), the version of the rendering itself
    (`render.RENDER_VERSION`) and, with ExportWindowFutureDays, the window's far edge: a new edge brings records
    into the window that no change in OpenAir would bring."""
    dress = [presentation(kind, settings) for kind in RecordKind]
    values = {"Presentation": repr([(d.categories, d.is_reminder_on) for d in dress]),
              "RenderVersion": str(RENDER_VERSION)}  # fmt: skip
    if settings.export_window_future_days is not None:
        values["WindowEdge"] = (today + dt.timedelta(days=settings.export_window_future_days)).isoformat()
    return values


def _rendering_changed(stored: Mapping[str, object], wanted: Mapping[str, str]) -> bool:
    # Before this setting existed every event was dressed as the defaults dress it.
    default = rendering_cursors(IntegrationSettings(), dt.date.min)["Presentation"]
    if stored.get("Presentation", default) != wanted["Presentation"]:
        return True
    # Before render versions existed every event was rendered as version 1 renders it.
    if stored.get("RenderVersion", "1") != wanted["RenderVersion"]:
        return True
    return "WindowEdge" in wanted and stored.get("WindowEdge") != wanted["WindowEdge"]


@dataclass
class ExportPlan:
    run_id: str
    entries: dict[str, list[OutboxEntry]] = field(default_factory=dict)  # by OpenAir user id
    users_with_work: list[str] = field(default_factory=list)
    mailbox_ids: dict[str, str] = field(default_factory=dict)  # user id -> mailbox id, for queue messages
    counts: dict[str, int] = field(default_factory=dict)
    problems: tuple[RowProblem, ...] = ()
    alerts: list[str] = field(default_factory=list)
    deletions_blocked: bool = False
    openair_requests: int = 0
    # Records skipped because they cannot be exported, by user: "booking 123 (user 7): what is wrong".
    skipped: dict[str, dict[str, str]] = field(default_factory=dict)  # user id -> record key -> message

    def bump(self, name: str, by: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + by

    def skip_record(self, kind: RecordKind, record_id: str, user_id: str, problem: str) -> None:
        message = f"{kind.value} {record_id} (user {user_id or '?'}) {problem}"
        self.skipped.setdefault(user_id, {})[record_key(kind, record_id)] = message
        self.bump("records_skipped")
        log.warning("record skipped", extra={"run_id": self.run_id, "record": f"{kind.value}:{record_id}",
                                             "user": user_id, "problem": problem})  # fmt: skip

    def skipped_records(self) -> list[str]:
        return [message for messages in self.skipped.values() for message in messages.values()]


def user_zone(mapping: UserMapping, settings: IntegrationSettings) -> str:
    """The IANA zone the user's events are rendered in (`zones.choose_zone` says why)."""
    return choose_zone(mapping, settings).zone


def _since(cursors: Mapping[str, object], overlap: dt.timedelta) -> dict[str, dt.datetime | None]:
    """Watermarks minus the overlap: OpenAir's `updated` granularity and clock are not ours to trust exactly."""
    out: dict[str, dt.datetime | None] = {}
    for name, value in cursors.items():
        out[name] = value - overlap if isinstance(value, dt.datetime) else None
    return out


async def plan_export(
    *,
    store: SyncStore,
    openair: OpenAirPort,
    now: dt.datetime | None = None,
    run_id: str | None = None,
    dry_run: bool = False,
    only_users: Iterable[str] | None = None,
    full_resync: bool = False,
    stale: Mapping[str, Collection[str]] | None = None,
) -> ExportPlan:
    """Decide what every mapped mailbox should contain, from what changed in OpenAir since the last run.

    With `dry_run`, nothing is written (no outbox, no watermarks). With `only_users` + `full_resync`, those
    users' records are re-read and re-rendered whatever the watermarks say (admin resync). `stale` names records
    whose event is known not to match its link (a resync dry run found it edited or deleted in Outlook, and
    cannot mark the link): they are planned as a real resync would plan them.
    """
    now = now or dt.datetime.now(dt.UTC)
    plan = ExportPlan(run_id=run_id or uuid.uuid4().hex[:12])
    # Read 1 of 2 (before OpenAir): the tenant, one read per table whatever the number of users.
    tenant = await off_loop(store.tenant_snapshot)
    mappings, settings = tenant.mappings, tenant.settings
    plan.problems = tenant.problems
    targets = set(only_users) if only_users is not None else None
    if not dry_run and not tenant.owner_index_built:
        await off_loop(store.build_owner_index)

    if full_resync:
        changes = ChangeSet()
        fully_read: set[RecordKind] = set()
    else:
        overlap = dt.timedelta(minutes=settings.watermark_overlap_minutes)
        since = _since(tenant.watermarks, overlap)
        changes = await openair.read_changes(since)
        # A type read from the beginning of time (first run) needs no per-user backfill on top.
        fully_read = {kind for kind, spec in KINDS.items() if since.get(updated_cursor(spec.openair_type)) is None}
    backfill, scope_out, new_states = _scope_changes(
        mappings, tenant.user_states, changes, settings, targets, full_resync
    )
    rendering = rendering_cursors(settings, now.date())
    rerender = targets is None and not full_resync and _rendering_changed(tenant.rendering, rendering)
    if rerender:
        # Re-read every mapped user's records; those whose event already looks like this are dropped unwritten.
        for user_id, mapping in mappings.users.items():
            if mapping.mailbox_id and mapping.export_kinds:
                backfill[user_id] = backfill.get(user_id, set()) | set(mapping.export_kinds)
        plan.counts["rerendered_for_settings"] = 1
    backfill = {u: kinds - fully_read for u, kinds in backfill.items() if kinds - fully_read}
    # A user's OpenAir time zone changed: render with the new zone now (the back-fill above re-renders all
    # their records) and remember it in the mapping row, so the next run does not back-fill again.
    zone_updates = {
        user.id: user.timezone or ""
        for user in changes.users
        if user.id in mappings.users and (user.timezone or "") != mappings.users[user.id].openair_time_zone
    }
    for user_id, zone_name in zone_updates.items():
        mappings.users[user_id] = dataclasses.replace(mappings.users[user_id], openair_time_zone=zone_name)
    export_after = dt.datetime.combine(settings.export_after, dt.time(0), dt.UTC) if settings.export_after else None
    by_kinds: dict[frozenset[RecordKind], list[str]] = defaultdict(list)
    for user_id, kinds in backfill.items():
        by_kinds[frozenset(kinds)].append(user_id)
    for kind_set, user_ids in by_kinds.items():
        changes = changes.merged(await openair.read_user_records(user_ids, kind_set, export_after))
    plan.counts["users_backfilled"] = len(backfill)
    reconciling = _reconciled_users(mappings, changes) if changes.reconcile and targets is None else {}
    live = await read_live_records(openair, changes, reconciling) if reconciling else None

    # Read 2 of 2 (after OpenAir): the links and pending outbox keys of every user this run's records, deletions
    # and scope changes concern.
    out_of_scope_users = set(scope_out) if settings.on_user_out_of_scope is WhenRemoved.REMOVE_EVENT else set()
    concerned = {r.userid for _kind, r in changes.each() if r.userid and r.userid in mappings.users}
    concerned |= {d.user_id for d in changes.deletions if d.user_id} | out_of_scope_users
    concerned |= {u for user_ids in reconciling.values() for u in user_ids}
    states = await off_loop(store.user_records, concerned)

    if live is not None:
        changes = reconcile_deletions(plan, changes, reconciling, live, states)
    # Records re-read by the watermark overlap whose version is already in the mailbox need no rendering, and
    # so no reference read: an idle run within the overlap costs one OpenAir request, like any other idle run.
    mailbox_of = {u: m.mailbox_id for u, m in mappings.users.items()}
    changes, already = _without_exported(changes, states, mailbox_of)
    plan.bump("already_exported", already)
    reference = await openair.read_reference(changes) if len(changes) else Reference()
    plan.openair_requests = changes.requests_made
    plan.alerts.extend(changes.notices)  # e.g. a record read with characters XML does not allow: fix it in OpenAir

    records = changes.each()
    deleted = changes.deletions if settings.on_record_deleted is WhenRemoved.REMOVE_EVENT else ()
    keys = {record_key(kind, r.id) for kind, r in records} | {record_key(d.kind, d.record_id) for d in deleted}
    owners: dict[str, set[str]] = {}
    if keys:
        # Who else holds a link for these records (a reassignment, a deletion after one): their links too.
        owners, others_states = await off_loop(_owners_and_their_records, store, keys, set(states))
        states = {**states, **others_states}

    entries = _decide(plan, changes, reference, records, deleted, owners, states, tenant, scope_out, targets, now)
    _drop_settled(plan, entries, mailbox_of, states, stale)
    apply_deletion_budget(plan, entries, settings)
    for user_id, by_key in entries.items():
        if by_key:
            plan.entries[user_id] = list(by_key.values())
    plan.bump("outbox_entries", sum(len(v) for v in plan.entries.values()))

    if dry_run:
        plan.users_with_work = sorted(plan.entries)
        return plan

    status: dict[str, dict[str, str]] = defaultdict(dict)
    if records or changes.deletions or changes.unreadable:
        seen = {record_key(kind, r.id) for kind, r in records} | {
            record_key(d.kind, d.record_id) for d in changes.deletions
        } | {_unreadable_key(u) for u in changes.unreadable}  # fmt: skip
        for user_id, value in skipped_records(tenant.skipped, plan.skipped, seen).items():
            status[user_id][SKIPPED_COLUMN] = value
    for user_id, zone_name in zone_updates.items():
        status[user_id]["OpenAirTimeZone"] = zone_name
    watermarks = dict(changes.watermarks)
    if not plan.deletions_blocked:
        watermarks.update(changes.deletion_watermarks)
    else:
        # Keep scope-outs pending too: only record the kinds that were added.
        new_states = [s for s in new_states if s.user_id not in scope_out]
    cursors: dict[str, dict[str, object]] = {}
    if watermarks and not full_resync:
        cursors[CURSOR_SCOPE] = {k: min(v, now) for k, v in watermarks.items()}
    if rerender:
        cursors[RENDERING_SCOPE] = dict(rendering)
    # The one write: outbox, mapping status, exported kinds, watermarks (in that order: `PlanOutcome`).
    pending = await off_loop(_save, store, PlanOutcome(plan.entries, status, new_states, cursors))
    if settings.auto_replies_for_time_off:
        # Their automatic replies have ended: the worker schedules the next time off's (sync/time_off.py).
        due = replies_ended(tenant.replies, now)
        pending |= {u for u in due if u in mappings.users and mappings.users[u].mailbox_id}
    plan.users_with_work = sorted(u for u in pending if targets is None or u in targets)
    plan.mailbox_ids = {u: m.mailbox_id for u, m in mappings.users.items() if u in pending}
    return plan


def _save(store: SyncStore, outcome: PlanOutcome) -> set[str]:
    """The one write, then the users with pending work: this run's and the leftovers of earlier runs (failed or
    interrupted writes). Table calls: run off the event loop."""
    store.save_plan(outcome)
    return store.outbox_users()


def _owners_and_their_records(
    store: SyncStore, keys: set[str], known: set[str]
) -> tuple[dict[str, set[str]], UserStates]:
    """Who holds a link for these records, and the links and pending keys of those not read yet (table calls:
    run off the event loop)."""
    owners = store.owners(keys)
    others = {u for holders in owners.values() for u in holders} - known
    return owners, (store.user_records(others) if others else {})


def _decide(
    plan: ExportPlan,
    changes: ChangeSet,
    reference: Reference,
    records: Sequence[tuple[RecordKind, ExportedRecord]],
    deleted: Sequence[Deletion],
    owners: Mapping[str, Collection[str]],
    states: UserStates,
    tenant: TenantSnapshot,
    scope_out: Mapping[str, set[RecordKind]],
    targets: set[str] | None,
    now: dt.datetime,
) -> dict[str, dict[str, OutboxEntry]]:
    """Each concerned user's desired outbox entries, by record key: a pure decision over what was read."""
    mappings, settings = tenant.mappings, tenant.settings
    entries: dict[str, dict[str, OutboxEntry]] = defaultdict(dict)

    def put(user_id: str, entry: OutboxEntry) -> None:
        entries[user_id][entry.key] = entry

    export_after = dt.datetime.combine(settings.export_after, dt.time(0), dt.UTC) if settings.export_after else None
    contexts: dict[str, RenderContext] = {}
    for user_id, mapping in mappings.users.items():
        if mapping.mailbox_id and (targets is None or user_id in targets):
            zone = user_zone(mapping, settings)
            contexts[user_id] = RenderContext(
                zone, settings, tenant.show_as, today=now.astimezone(ZoneInfo(zone)).date()
            )

    for kind, record in records:
        user_id = record.userid or ""
        ctx = contexts.get(user_id)
        if ctx is None or kind not in mappings.users[user_id].export_kinds:
            continue
        if export_after is not None and record.updated is not None and record.updated < export_after:
            plan.bump("skipped_before_export_after")
            continue
        if isinstance(record, Booking) and record.externalid.startswith(IMPORT_EXTERNALID_PREFIX):
            plan.bump("imported_from_outlook")  # made from the person's own event: never a second event
            continue
        key = record_key(kind, record.id)
        try:
            rendered = render(record, reference, ctx)
        except (Unrenderable, ValueError, OverflowError) as exc:
            # One record that cannot be an event must not stop the tenant: skip it, name it, export the rest.
            plan.skip_record(kind, record.id, user_id, f"cannot be rendered: {exc}")
            continue
        if isinstance(rendered, BeforeWindow):
            plan.bump("before_export_window")
            continue
        if isinstance(rendered, OutOfScope):
            plan.bump("out_of_scope")
            if settings.on_record_out_of_scope is WhenRemoved.REMOVE_EVENT:
                put(user_id, OutboxEntry(user_id, key, Desire.REMOVE, rendered.reason, run_id=plan.run_id))
            continue
        plan.bump(f"render_{kind.value}")
        put(user_id, OutboxEntry(user_id, key, Desire.WRITE, "changed in OpenAir", rendered.model_dump_json(),
                                 plan.run_id, source_updated=record.updated))  # fmt: skip

    for bad in changes.unreadable:
        # A record OpenAir sent with a value that cannot be read (the client left it out): named for its user like
        # one that cannot be rendered; its event, if any, is left as it is until the record is fixed in OpenAir.
        kind = KIND_OF_TYPE[bad.type]
        owner = bad.user_id
        if owner and (owner not in contexts or kind not in mappings.users[owner].export_kinds):
            plan.bump("unreadable_not_exported")
            continue
        plan.skip_record(kind, bad.id or "?", owner, f"cannot be read from OpenAir: {bad.problem}")

    if settings.on_record_deleted is WhenRemoved.REMOVE_EVENT:
        for deletion in changes.deletions:
            if deletion.user_id and (targets is None or deletion.user_id in targets):
                key = record_key(deletion.kind, deletion.record_id)
                put(deletion.user_id, OutboxEntry(deletion.user_id, key, Desire.REMOVE, "deleted in OpenAir",
                                                  run_id=plan.run_id))  # fmt: skip
    for owner, key, reason in previous_owners(owners, records, deleted):
        if key not in entries[owner]:
            put(owner, OutboxEntry(owner, key, Desire.REMOVE, reason, run_id=plan.run_id))
            plan.bump("reassigned_away")
    if settings.on_user_out_of_scope is WhenRemoved.REMOVE_EVENT:
        for user_id, kinds in scope_out.items():
            for link in states[user_id].links.values():
                if link.kind in kinds and link.key not in entries[user_id]:
                    put(user_id, OutboxEntry(user_id, link.key, Desire.REMOVE, "user or record type out of scope",
                                             run_id=plan.run_id))  # fmt: skip
    return entries


def _reconciled_users(mappings: Mappings, changes: ChangeSet) -> dict[frozenset[RecordKind], list[str]]:
    """The mapped users whose links are reconciled, grouped by the kinds reconciled for them."""
    by_kinds: dict[frozenset[RecordKind], list[str]] = defaultdict(list)
    for user_id, mapping in sorted(mappings.users.items()):
        kinds = frozenset(set(mapping.export_kinds) & changes.reconcile)
        if mapping.mailbox_id and kinds:
            by_kinds[kinds].append(user_id)
    return dict(by_kinds)


@dataclass(frozen=True)
class LiveRecords:
    """What a full read of the reconciled users' records found: the keys alive in OpenAir, the kinds for which a
    record whose id cannot be read makes every link of the kind uncertain, and the read itself (its requests,
    notices and unreadable records)."""

    keys: frozenset[str]
    blind: frozenset[RecordKind]
    read: ChangeSet


async def read_live_records(
    openair: OpenAirPort, changes: ChangeSet, reconciling: Mapping[frozenset[RecordKind], list[str]]
) -> LiveRecords:
    """Every live record of the reconciled users (a failed read raises: an unreadable OpenAir is never an empty
    one)."""
    live = {record_key(kind, r.id) for kind, r in changes.each()}
    # A live record OpenAir sent with a value that cannot be read is still live: never a deletion. One whose id
    # cannot be read could be any link of its kind, so that kind deletes nothing by reconciliation this run.
    live.update(_unreadable_key(u) for u in changes.unreadable if u.id)
    blind = {KIND_OF_TYPE[u.type] for u in changes.unreadable if not u.id}
    read = ChangeSet()
    for kinds, user_ids in reconciling.items():
        found = await openair.read_user_records(user_ids, kinds, None)  # every live record, whatever its age
        live.update(_unreadable_key(u) for u in found.unreadable if u.id)
        blind.update(KIND_OF_TYPE[u.type] for u in found.unreadable if not u.id)
        live.update(record_key(kind, r.id) for kind, r in found.each())
        read = read.merged(dataclasses.replace(found, records={}, forced=frozenset()))
    return LiveRecords(frozenset(live), frozenset(blind), read)


def reconcile_deletions(
    plan: ExportPlan,
    changes: ChangeSet,
    reconciling: Mapping[frozenset[RecordKind], list[str]],
    live: LiveRecords,
    states: UserStates,
) -> ChangeSet:
    """Deletions OpenAir can no longer tell: it purges deleted records after 180 days, so for the kinds whose
    deletion watermark is older (`changes.reconcile`) the live records of every mapped user are read in full
    (`read_live_records`) and each link whose record is not among them is a deletion (then under `OnRecordDeleted`
    and the deletion guard like any other).
    """
    known = {record_key(d.kind, d.record_id) for d in changes.deletions}
    gone: list[Deletion] = []
    for kinds, user_ids in reconciling.items():
        for user_id in user_ids:
            for key, link in sorted(states[user_id].links.items()):
                if link.kind in live.blind:
                    continue
                if link.origin is Origin.OPENAIR and link.kind in kinds and key not in live.keys and key not in known:
                    gone.append(Deletion(link.kind, key.partition(":")[2], user_id))
                    known.add(key)
    plan.bump("deletions_reconciled", len(gone))
    log.warning("deletion watermark older than OpenAir keeps deleted records: links reconciled against a full read",
                extra={"run_id": plan.run_id, "kinds": sorted(k.value for k in changes.reconcile),
                       "deletions": len(gone)})  # fmt: skip
    read = live.read
    return dataclasses.replace(
        changes,
        deletions=changes.deletions + tuple(gone),
        requests_made=changes.requests_made + read.requests_made,
        notices=changes.notices + read.notices,
        unreadable=changes.unreadable + read.unreadable,  # named as skipped for their users, like any other
    )


def _unreadable_key(record: Unreadable) -> str:
    return record_key(KIND_OF_TYPE[record.type], record.id or "?")


REASSIGNED = "reassigned in OpenAir"


def previous_owners(
    owners: Mapping[str, Collection[str]],
    records: Iterable[tuple[RecordKind, ExportedRecord]],
    deletions: Iterable[Deletion],
) -> list[tuple[str, str, str]]:
    """(user, record key, reason) for every link a record has outside its current owner's partition.

    A record is found by its key, whoever owned it (the LinkOwners index): a booking or task assignment whose
    `userid` changed leaves the previous owner's mailbox — it is no longer their work, whether or not the new owner
    is mapped — and a record deleted after a reassignment leaves every mailbox it is in.
    """
    current: dict[str, str] = {record_key(kind, r.id): r.userid or "" for kind, r in records}
    gone = {record_key(d.kind, d.record_id) for d in deletions}
    out: list[tuple[str, str, str]] = []
    for key, holders in sorted(owners.items()):
        if key in gone:
            out.extend((owner, key, "deleted in OpenAir") for owner in sorted(holders))
            continue
        if key not in current:
            continue
        now_owner = current[key]
        where = f"user {now_owner}" if now_owner else "no user"
        out.extend((owner, key, f"{REASSIGNED} to {where}") for owner in sorted(holders) if owner != now_owner)
    return out


def skipped_records(
    stored: Mapping[str, str], skipped_now: Mapping[str, Mapping[str, str]], seen: set[str]
) -> dict[str, str]:
    """The `SkippedRecords` column to write for each user whose list changes: a record stays named in their mapping
    row until it is read again and exports (or is deleted), because the run that met it is soon out of sight and the
    consultant's missing event is not."""
    out: dict[str, str] = {}
    for user_id, column in stored.items():
        try:
            known: dict[str, str] = json.loads(column or "{}")
        except (ValueError, TypeError):
            known = {}
        if not isinstance(known, dict):
            known = {}
        kept = {key: message for key, message in known.items() if key not in seen}
        kept.update(skipped_now.get(user_id, {}))
        if kept != known:
            out[user_id] = json.dumps(kept, sort_keys=True) if kept else ""
    return out


def _scope_changes(
    mappings: Mappings,
    states: Mapping[str, UserState],
    changes: ChangeSet,
    settings: IntegrationSettings,
    targets: set[str] | None,
    full_resync: bool,
) -> tuple[dict[str, set[RecordKind]], dict[str, set[RecordKind]], list[UserState]]:
    """Who needs a backfill (a type switched on, a new mailbox, a new zone) and who left scope."""
    backfill: dict[str, set[RecordKind]] = {}
    scope_out: dict[str, set[RecordKind]] = {}
    new_states: list[UserState] = []
    # Only a change of the zone the events are rendered in moves them: an OpenAir offset that changes under a
    # mailbox zone (which wins over it) costs no back-fill.
    zone_changed = {
        user.id for user in changes.users
        if user.id in mappings.users and (user.timezone or "") != mappings.users[user.id].openair_time_zone
        and user_zone(mappings.users[user.id], settings)
        != user_zone(dataclasses.replace(mappings.users[user.id], openair_time_zone=user.timezone or ""), settings)
    }  # fmt: skip
    for user_id, mapping in mappings.users.items():
        if not mapping.mailbox_id or (targets is not None and user_id not in targets):
            continue
        state = states.get(user_id)
        exported = state.exported_kinds if state else frozenset()
        wanted = set(mapping.export_kinds)
        if full_resync or user_id in zone_changed or (state is not None and state.mailbox_id != mapping.mailbox_id):
            added = wanted
        else:
            added = wanted - exported
        if added:
            backfill[user_id] = added
        gone = set(exported - wanted)
        if gone:
            scope_out[user_id] = gone
        if state is None or state.exported_kinds != frozenset(wanted) or state.mailbox_id != mapping.mailbox_id:
            new_states.append(UserState(user_id, mapping.mailbox_id, frozenset(wanted)))
    # Users the product exported for who are no longer mapped. A row that failed validation is not "unmapped":
    # a typo must never delete a consultant's calendar.
    unparsable = {p.row_key for p in mappings.problems}
    for user_id, state in states.items():
        if user_id in mappings.users or user_id in unparsable or not state.exported_kinds:
            continue
        if targets is not None and user_id not in targets:
            continue
        scope_out[user_id] = set(state.exported_kinds)
        new_states.append(UserState(user_id, "", frozenset()))
    return backfill, scope_out, new_states


UserStates = Mapping[str, UserRecords]


def _without_exported(changes: ChangeSet, states: UserStates, mailboxes: Mapping[str, str]) -> tuple[ChangeSet, int]:
    """Drop records whose exact version (`updated`) is already in the user's mailbox, unless forced."""

    def exported(kind: RecordKind, record: ExportedRecord) -> bool:
        key = record_key(kind, record.id)
        user_id = record.userid
        if key in changes.forced or record.updated is None or user_id is None or user_id not in states:
            return False
        mine = states[user_id]
        link = mine.links.get(key)
        return (
            link is not None
            and key not in mine.pending
            and link.state is LinkState.SYNCED
            and link.source_updated == record.updated
            and link.mailbox_id == mailboxes.get(user_id)
        )

    kept = by_kind((kind, [r for r in changes.of(kind) if not exported(kind, r)]) for kind in KINDS)
    skipped = len(changes.each()) - sum(len(records) for records in kept.values())
    return dataclasses.replace(changes, records=kept), skipped


def drop_settled(
    plan: ExportPlan,
    store: SyncStore,
    entries: dict[str, dict[str, OutboxEntry]],
    mailboxes: Mapping[str, str],
    states: UserStates | None = None,
    stale: Mapping[str, Collection[str]] | None = None,
) -> None:
    """Drop what the mailbox already shows (`_drop_settled`), reading the links and pending keys of the users
    `states` does not hold."""
    users = [user_id for user_id, by_key in entries.items() if by_key]
    known = {**(states or {}), **store.user_records([u for u in users if u not in (states or {})])}
    _drop_settled(plan, entries, mailboxes, known, stale)


def _drop_settled(
    plan: ExportPlan,
    entries: dict[str, dict[str, OutboxEntry]],
    mailboxes: Mapping[str, str],
    states: UserStates,
    stale: Mapping[str, Collection[str]] | None = None,
) -> None:
    """Drop what the mailbox already shows: the overlap re-reads records, and a re-read is not work. What remains is
    real work (and real deletions, which is what the deletion budget must count)."""
    for user_id in [user_id for user_id, by_key in entries.items() if by_key]:
        links, pending = states[user_id].links, states[user_id].pending
        by_key = entries[user_id]
        for key, entry in list(by_key.items()):
            link = links.get(key)
            if link is not None and link.origin is Origin.OUTLOOK:
                # The booking was imported from the person's own event: the export never writes over that
                # event nor deletes it (whatever happens to the booking in OpenAir).
                del by_key[key]
                plan.bump("imported_from_outlook")
                continue
            # A pending entry of an earlier run must be overwritten even when the new one matches the link:
            # otherwise the older, now wrong, desire would be applied later.
            if key in pending:
                continue
            if entry.desire is Desire.REMOVE:
                if link is None:
                    del by_key[key]
                continue
            if (
                link is not None
                and key not in (stale or {}).get(user_id, ())
                and link.state is LinkState.SYNCED
                and link.mailbox_id == mailboxes.get(user_id)
                and link.content_hash == content_hash(EventDraft.model_validate_json(entry.draft_json))
            ):
                del by_key[key]
                plan.bump("unchanged")


def _guarded(entry: OutboxEntry) -> bool:
    return entry.desire is Desire.REMOVE and not entry.reason.startswith(REASSIGNED)


def apply_deletion_budget(
    plan: ExportPlan, entries: dict[str, dict[str, OutboxEntry]], settings: IntegrationSettings
) -> None:
    """Over budget, drop every removal of this run and raise an alert (removals here all have an event)."""
    # A reassignment's removal moves an event to its new owner (or out of the mailbox of someone whose work it no
    # longer is): a deliberate change in OpenAir, never the mass loss the guard is for, so it is not counted.
    real = sum(1 for by_key in entries.values() for e in by_key.values() if _guarded(e))
    plan.counts["deletions_planned"] = real
    if real <= settings.max_deletions_per_run:
        return
    plan.deletions_blocked = True
    for by_key in entries.values():
        for key in [k for k, e in by_key.items() if _guarded(e)]:
            del by_key[key]
    message = (
        f"Deletion guard: this run would delete {real} events, more than MaxDeletionsPerRun "
        f"({settings.max_deletions_per_run}). No event was deleted. If the deletions are expected, raise "
        "MaxDeletionsPerRun in IntegrationSettings for one run; otherwise check the OpenAir data and the "
        "UserMappings table."
    )
    plan.alerts.append(message)
    log.error("deletion budget exceeded", extra={"run_id": plan.run_id, "deletions": real})
