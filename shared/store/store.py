"""`SyncStore`: the product's typed view of its tables, over any `TableBackend`."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from typing import Any

from shared.domain.links import Link, Origin, OutboxEntry, UserState
from shared.domain.mappings import Mappings, RowProblem, UserMapping
from shared.domain.runs import RunRecord
from shared.domain.settings import IntegrationSettings, PauseState, ShowAsChoice
from shared.domain.snapshot import PlanOutcome, TenantSnapshot, UserRecords
from shared.store import admin, importing, state
from shared.store.importing import ImportStore
from shared.store.lease import mailbox_lease
from shared.store.tables import BatchOp, EtagMismatch, Row, TableBackend

ALL_TABLES = (
    admin.USER_MAPPINGS,
    admin.SHOW_AS,
    admin.SETTINGS,
    state.LINKS,
    state.LINK_OWNERS,
    state.OUTBOX,
    state.CURSORS,
    state.USER_STATE,
    state.RUNS,
    state.AUDIT_LOG,
    *importing.IMPORT_TABLES,
)


OWNER_INDEX_SCOPE, OWNER_INDEX_NAME = "Index", "LinkOwners"
# Cursor scopes an export run reads with its snapshot: the OpenAir watermarks; what every event's rendering depends on
# besides its record (when it changes, every record is rendered again); the automatic replies the product set.
CURSOR_SCOPE, RENDERING_SCOPE, REPLIES_SCOPE = "OpenAir", "Rendering", "AutoReplies"
# The mapping row column where the export planner keeps each user's skipped records (`status` shows them).
SKIPPED_COLUMN = "SkippedRecords"
# The Reports table: markers that make one instance send each report (created on first use, as the audit log's).
REPORTS, REPORT_PARTITION = "Reports", "Report"


class SyncStore:
    def __init__(self, backend: TableBackend) -> None:
        self._tables = backend
        self.imports = ImportStore(backend)  # the import's tables: subscriptions, imported events, delta cursors

    def ensure_tables(self) -> None:
        self._tables.ensure_tables(ALL_TABLES)

    # ------------------------------------------------------------ admin tables
    # The admin tables are read whole (one partition each when typed right): a row under a mistyped PartitionKey
    # is reported, never silently ignored.
    def load_mappings(self) -> Mappings:
        rows, misplaced = admin.misplaced(admin.USER_MAPPINGS, admin.USER_PARTITION,
                                          self._tables.query(admin.USER_MAPPINGS))  # fmt: skip
        mappings = admin.parse_user_mappings(rows)
        return dataclasses.replace(mappings, problems=mappings.problems + misplaced) if misplaced else mappings

    def user_mapping(self, user_id: str) -> UserMapping | RowProblem | None:
        """One user's mapping row, parsed (a point read, not the whole table); None when there is no row."""
        row = self._tables.get(admin.USER_MAPPINGS, admin.USER_PARTITION, user_id)
        return admin.parse_user_mapping(row) if row is not None else None

    def mapping_row(self, user_id: str) -> Row | None:
        return self._tables.get(admin.USER_MAPPINGS, admin.USER_PARTITION, user_id)

    def mapping_rows(self) -> list[Row]:
        return list(self._tables.query(admin.USER_MAPPINGS, admin.USER_PARTITION))

    def load_show_as(self) -> tuple[dict[str, ShowAsChoice], tuple[RowProblem, ...]]:
        rows, misplaced = admin.misplaced(admin.SHOW_AS, admin.SHOW_AS_PARTITION, self._tables.query(admin.SHOW_AS))
        show_as, problems = admin.parse_show_as(rows)
        return show_as, problems + misplaced

    def load_settings(self) -> tuple[IntegrationSettings, tuple[RowProblem, ...]]:
        rows, misplaced = admin.misplaced(admin.SETTINGS, admin.SETTINGS_PARTITION, self._tables.query(admin.SETTINGS))
        settings, problems = admin.parse_settings(rows)
        return settings, problems + misplaced

    def put_setting(self, name: str, value: Any) -> None:
        self._tables.upsert(admin.SETTINGS, Row(admin.SETTINGS_PARTITION, name, {"Value": value}))

    def pause_state(self) -> PauseState | None:
        """One point read: every writing job asks this first (None = running)."""
        return admin.parse_pause(self._tables.get(admin.SETTINGS, admin.SETTINGS_PARTITION, admin.PAUSED))

    def set_paused(self, paused: bool, *, by: str, reason: str = "", now: dt.datetime | None = None) -> None:
        columns: dict[str, Any] = {
            "Value": paused,
            "PausedBy": by if paused else "",
            "Reason": reason if paused else "",
        }
        if paused:
            columns["PausedAt"] = now or dt.datetime.now(dt.UTC)
        self._tables.upsert(admin.SETTINGS, Row(admin.SETTINGS_PARTITION, admin.PAUSED, columns))

    def put_mapping_row(self, user_id: str, columns: dict[str, Any], *, etag: str | None = None) -> str:
        """Create or change a mapping row; with an etag, only if nobody edited it meanwhile."""
        row = Row(admin.USER_PARTITION, user_id, columns, etag)
        if etag is None:
            return self._tables.insert(admin.USER_MAPPINGS, row)
        return self._tables.update(admin.USER_MAPPINGS, row, merge=True)

    def write_mapping_status(self, user_id: str, **columns: Any) -> None:
        """Merge product-written status columns (LastExport, LastError…) without touching the admin's columns."""
        self._tables.upsert(admin.USER_MAPPINGS, Row(admin.USER_PARTITION, user_id, columns), merge=True)

    # ------------------------------------------------------------ links
    def links(self, user_id: str) -> dict[str, Link]:
        return {row.row_key: state.link_of(row) for row in self._tables.query(state.LINKS, user_id)}

    def all_links(self) -> Iterable[Link]:
        return (state.link_of(row) for row in self._tables.query(state.LINKS))

    def put_links(self, links: Sequence[Link]) -> None:
        # The owner index first: a link (and so an event) never exists that a reassignment could not find.
        owners = [
            BatchOp("upsert", state.owner_row(link.key, link.user_id)) for link in links if state.indexes_owner(link)
        ]
        if owners:
            self._tables.submit(state.LINK_OWNERS, owners)
        self._tables.submit(state.LINKS, [BatchOp("upsert", state.link_row(link)) for link in links])

    def delete_links(self, user_id: str, keys: Sequence[str]) -> None:
        self._tables.submit(state.LINKS, [BatchOp("delete", Row(user_id, key)) for key in keys])
        # After the links: an owner row without a link only costs a removal that finds nothing to remove.
        self.forget_owners(user_id, keys)

    def forget_owners(self, user_id: str, keys: Sequence[str]) -> None:
        rows = [state.owner_row(key, user_id) for key in keys]
        self._tables.submit(state.LINK_OWNERS, [BatchOp("delete", Row(r.partition_key, r.row_key)) for r in rows])

    def owners(self, keys: Iterable[str]) -> dict[str, set[str]]:
        """Which users hold a link for each record key (one partition query per bucket of 1,000 ids)."""
        wanted = set(keys)
        found: dict[str, set[str]] = {}
        for partition in sorted({state.owner_partition(key) for key in wanted}):
            for row in self._tables.query(state.LINK_OWNERS, partition):
                key = str(row.columns.get("Key", ""))
                if key in wanted:
                    found.setdefault(key, set()).add(str(row.columns.get("UserId", "")))
        return found

    # ------------------------------------------------------------ an export run: read once, write once
    def tenant_snapshot(self) -> TenantSnapshot:
        """What an export run knows before reading OpenAir, one read per table (or cursor scope) whatever the
        number of users: mappings, settings, show-as overrides, exported kinds, watermarks."""
        rows, misplaced = admin.misplaced(admin.USER_MAPPINGS, admin.USER_PARTITION,
                                          self._tables.query(admin.USER_MAPPINGS))  # fmt: skip
        mappings = admin.parse_user_mappings(rows)
        if misplaced:
            mappings = dataclasses.replace(mappings, problems=mappings.problems + misplaced)
        settings, setting_problems = self.load_settings()
        show_as, show_as_problems = self.load_show_as()
        return TenantSnapshot(
            mappings=mappings,
            settings=settings,
            show_as=show_as,
            problems=mappings.problems + setting_problems + show_as_problems,
            user_states=self.user_states(),
            watermarks=self.cursors(CURSOR_SCOPE),
            rendering=self.cursors(RENDERING_SCOPE),
            replies=self.cursors(REPLIES_SCOPE) if settings.auto_replies_for_time_off else {},
            skipped={row.row_key: str(row.columns.get(SKIPPED_COLUMN) or "") for row in rows},
            owner_index_built=bool(self.cursor(OWNER_INDEX_SCOPE, OWNER_INDEX_NAME)[0]),
        )

    def user_records(self, user_ids: Collection[str]) -> dict[str, UserRecords]:
        """Each user's links (one partition read per user, a few at a time in threads: the table client is
        blocking) and pending outbox keys: one user's outbox partition, or for several users the whole Outbox in
        one query (it holds only the work not yet applied)."""
        users = sorted(set(user_ids))
        if not users:
            return {}
        if len(users) == 1:
            pending: dict[str, set[str]] = {
                users[0]: {row.row_key for row in self._tables.query(state.OUTBOX, users[0])}
            }
        else:
            pending = {}
            for row in self._tables.query(state.OUTBOX):
                pending.setdefault(row.partition_key, set()).add(row.row_key)
        with ThreadPoolExecutor(max_workers=8) as pool:
            links = dict(zip(users, pool.map(self.links, users), strict=True))
        return {u: UserRecords(links[u], frozenset(pending.get(u, ()))) for u in users}

    def save_plan(self, outcome: PlanOutcome) -> None:
        """Write an export plan's outcome, in the order `PlanOutcome` gives."""
        for entries in outcome.outbox.values():
            self.put_outbox(entries)
        for user_id, columns in outcome.mapping_status.items():
            self.write_mapping_status(user_id, **columns)
        if outcome.user_states:
            self.put_user_states(outcome.user_states)
        for scope, values in outcome.cursors.items():
            self.put_cursors(scope, dict(values))

    def build_owner_index(self) -> None:
        """Build the owner index once from the Links table (links written before the index existed)."""
        rows = [BatchOp("upsert", state.owner_row(link.key, link.user_id)) for link in self.all_links()
                if link.origin is Origin.OPENAIR]  # fmt: skip
        if rows:
            self._tables.submit(state.LINK_OWNERS, rows)
        self.put_cursors(OWNER_INDEX_SCOPE, {OWNER_INDEX_NAME: "built"})

    # ------------------------------------------------------------ the mailbox lease
    def mailbox_lease(
        self, user_id: str, *, ttl: float = 60.0, wait: float = 30.0
    ) -> AbstractAsyncContextManager[None]:
        """One mailbox worker at a time per user (`lease.py`): `async with store.mailbox_lease(user_id): ...`."""
        return mailbox_lease(self._tables, user_id, ttl=ttl, wait=wait)

    # ------------------------------------------------------------ outbox
    def outbox(self, user_id: str) -> list[OutboxEntry]:
        return [state.outbox_entry_of(row) for row in self._tables.query(state.OUTBOX, user_id)]

    def outbox_users(self) -> set[str]:
        return {row.partition_key for row in self._tables.query(state.OUTBOX)}

    def put_outbox(self, entries: Sequence[OutboxEntry]) -> None:
        self._tables.submit(state.OUTBOX, [BatchOp("upsert", state.outbox_row(e)) for e in entries])

    def settle_outbox_many(self, entries: Sequence[OutboxEntry]) -> int:
        """Remove applied entries (ETag-conditional) in batches; returns how many were removed."""
        if not entries:
            return 0
        try:
            self._tables.submit(state.OUTBOX, [BatchOp("delete", Row(e.user_id, e.key, {}, e.etag)) for e in entries])
        except EtagMismatch:
            return sum(self.settle_outbox(e) for e in entries)  # some were re-planned meanwhile: one by one
        return len(entries)

    def settle_outbox(self, entry: OutboxEntry) -> bool:
        """Remove an applied entry unless a newer plan replaced it meanwhile (ETag); True when removed."""
        try:
            self._tables.delete(state.OUTBOX, entry.user_id, entry.key, etag=entry.etag)
        except EtagMismatch:
            return False
        return True

    # ------------------------------------------------------------ cursors
    def cursor(self, scope: str, name: str) -> tuple[Any, str | None]:
        row = self._tables.get(state.CURSORS, scope, name)
        return (row.columns.get("Value"), row.etag) if row else (None, None)

    def cursors(self, scope: str) -> dict[str, Any]:
        return {row.row_key: row.columns.get("Value") for row in self._tables.query(state.CURSORS, scope)}

    def put_cursors(self, scope: str, values: dict[str, Any]) -> None:
        now = dt.datetime.now(dt.UTC)
        self._tables.submit(
            state.CURSORS, [BatchOp("upsert", Row(scope, k, {"Value": v, "Saved": now})) for k, v in values.items()]
        )

    def delete_cursor(self, scope: str, name: str) -> None:
        self._tables.delete(state.CURSORS, scope, name)

    # ------------------------------------------------------------ user state
    def user_states(self) -> dict[str, UserState]:
        return {row.row_key: state.user_state_of(row) for row in self._tables.query(state.USER_STATE, "User")}

    def put_user_states(self, states: Sequence[UserState]) -> None:
        self._tables.submit(state.USER_STATE, [BatchOp("upsert", state.user_state_row(s)) for s in states])

    # ------------------------------------------------------------ audit log and report markers
    def append_audit(self, month: str, key: str, columns: dict[str, Any]) -> None:
        self._tables.ensure_tables([state.AUDIT_LOG])
        self._tables.upsert(state.AUDIT_LOG, Row(month, key, columns))

    def audit_rows(self, months: Sequence[str]) -> Iterator[Row]:
        """The audit log's rows of each month in turn (a partition each), read as the caller iterates."""
        self._tables.ensure_tables([state.AUDIT_LOG])
        for month in months:
            yield from self._tables.query(state.AUDIT_LOG, month)

    def ensure_reports_table(self) -> None:
        self._tables.ensure_tables([REPORTS])

    def report_marker(self, name: str) -> tuple[Any, str | None] | None:
        """A report marker's value and ETag; None when it was never written."""
        row = self._tables.get(REPORTS, REPORT_PARTITION, name)
        return (row.columns.get("Value"), row.etag) if row is not None else None

    def put_report_marker(self, name: str, value: Any, *, etag: str | None) -> str:
        """Create the marker (etag None) or change it if nobody did meanwhile; EtagMismatch otherwise."""
        row = Row(REPORT_PARTITION, name, {"Value": value}, etag)
        return self._tables.update(REPORTS, row) if etag else self._tables.insert(REPORTS, row)

    def delete_report_marker(self, name: str) -> None:
        self._tables.delete(REPORTS, REPORT_PARTITION, name)

    # ------------------------------------------------------------ tables as stored
    def table_rows(self, table: str) -> Iterator[Row]:
        """Every row of a table as stored, whatever its partition: what an administrator sees in Storage
        Explorer (status and checks show it; the engine reads through the typed methods above)."""
        return self._tables.query(table)

    # ------------------------------------------------------------ runs
    def record_run(self, run: RunRecord) -> None:
        self._tables.upsert(state.RUNS, state.run_row(run))

    def recent_runs(self, limit: int = 50) -> list[RunRecord]:
        now = dt.datetime.now(dt.UTC)
        months = [now.strftime("%Y-%m"), (now.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")]
        runs: list[RunRecord] = []
        for month in months:
            for row in self._tables.query(state.RUNS, month):
                runs.append(state.run_record_of(row))
                if len(runs) >= limit:
                    return runs
        return runs
