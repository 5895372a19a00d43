"""In-memory twin of OpenAir for engine tests: the same read contract as `source.OpenAirSource`
(watermarks, dependent types, deletions with their user), with edits as a person would make them in OpenAir."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.kinds import KIND_OF_TYPE, KINDS, RecordKind, record_key
from shared.openair.changes import (
    DELETED_RETENTION,
    ChangeSet,
    Deletion,
    Reference,
    by_kind,
    deleted_cursor,
    deletions_trusted,
    pulls,
    updated_cursor,
    with_children,
)
from shared.openair.models import (
    Record,
    SchedulerequestItem,
)
from shared.openair.xml import Unreadable


class OpenAirUnavailable(Exception):
    """Injected outage."""


@dataclass
class MemoryOpenAir:
    records: dict[str, dict[str, Record]] = field(default_factory=dict)  # type name -> id -> record
    deleted: dict[str, dict[str, tuple[dt.datetime, str]]] = field(default_factory=dict)  # type -> id -> (when, user)
    clock: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC))
    requests_made: int = 0
    fail_reads: int = 0  # the next N reads raise, as an outage would
    fail_user_reads: int = 0  # the next N per-user reads (back-fill, reconcile) raise
    # Records OpenAir would send with a value that cannot be read: (type, id) -> what is wrong. `edit` fixes one.
    unreadable: dict[tuple[str, str], str] = field(default_factory=dict)

    # ------------------------------------------------------------ edits, as in the OpenAir UI
    def tick(self) -> dt.datetime:
        self.clock += dt.timedelta(seconds=1)
        return self.clock

    def put(self, record: Record) -> Record:
        stamped = record.model_copy(update={"updated": self.tick(), "created": record.created or self.clock})
        self.records.setdefault(record.TYPE, {})[record.id] = stamped
        self.deleted.get(record.TYPE, {}).pop(record.id, None)
        return stamped

    def edit(self, type_name: str, record_id: str, **changes: Any) -> Record:
        current = self.records[type_name][record_id]
        self.unreadable.pop((type_name, record_id), None)  # an edit in OpenAir is what fixes a corrupt value
        return self.put(current.model_copy(update=changes))

    def corrupt(self, type_name: str, record_id: str, problem: str) -> None:
        """A change in OpenAir leaves a value the API sends but no reader can read (an impossible date)."""
        self.put(self.records[type_name][record_id])
        self.unreadable[(type_name, record_id)] = problem

    def _readable(self, type_name: str, records: list[Any], bad: list[Unreadable]) -> list[Any]:
        out = []
        for record in records:
            problem = self.unreadable.get((type_name, record.id))
            if problem is None:
                out.append(record)
            else:
                bad.append(Unreadable(type_name, record.id, getattr(record, "userid", "") or "", problem))
        return out

    def delete(self, type_name: str, record_id: str) -> None:
        record = self.records.get(type_name, {}).pop(record_id, None)
        if record is not None:
            self.deleted.setdefault(type_name, {})[record_id] = (self.tick(), getattr(record, "userid", "") or "")

    def all(self, type_name: str) -> list[Any]:
        return list(self.records.get(type_name, {}).values())

    def _pulled(self, type_name: str, field: str, values: set[Any], bad: list[Unreadable]) -> dict[str, Any]:
        """Records whose `field` holds one of `values` (pulled in by a changed dependent), by id; unreadable ones go
        to `bad`."""
        wanted = [r for r in self.all(type_name) if getattr(r, field) in values]
        return {r.id: r for r in self._readable(type_name, wanted, bad)}

    # ------------------------------------------------------------ the port
    def _read(self) -> None:
        self.requests_made += 1
        if self.fail_reads:
            self.fail_reads -= 1
            raise OpenAirUnavailable("OpenAir did not answer")

    def _purge(self) -> None:
        """OpenAir purges deleted records 180 days after their deletion: `deleted="1"` no longer returns them."""
        horizon = self.clock - DELETED_RETENTION
        for gone in self.deleted.values():
            for record_id in [i for i, (when, _user) in gone.items() if when < horizon]:
                del gone[record_id]

    def _newer(self, type_name: str, since: dt.datetime | None) -> list[Any]:
        return [r for r in self.all(type_name) if since is None or (r.updated is not None and r.updated > since)]

    async def read_changes(self, since: Mapping[str, dt.datetime | None]) -> ChangeSet:
        self._read()
        # The watermark is the time the read started (never later than what OpenAir could have stamped), so
        # a quiet tenant re-reads nothing once the overlap has passed.
        started = self.clock
        marks: dict[str, dt.datetime] = {}
        deletion_marks: dict[str, dt.datetime] = {}

        bad: list[Unreadable] = []

        def changed(type_name: str) -> list[Any]:
            marks[updated_cursor(type_name)] = started  # advanced past unreadable ones too (source.py says why)
            return self._readable(type_name, self._newer(type_name, since.get(updated_cursor(type_name))), bad)

        found: dict[str, dict[str, Any]] = {name: {r.id: r for r in changed(name)} for name in KIND_OF_TYPE}
        # Records whose rendering depends on a changed task, item or booking type are re-rendered
        # (`Record.PULLED_IN_BY`).
        dependents = {pull.type: changed(pull.type) for _kind, pull in pulls()}
        pulled: dict[str, dict[str, Any]] = {}
        for kind, pull in pulls():
            values = {getattr(r, pull.their) for r in dependents[pull.type]}
            name = KINDS[kind].openair_type
            pulled.setdefault(name, {}).update(self._pulled(name, pull.field, values, bad))
        forced = frozenset(record_key(KIND_OF_TYPE[name], i) for name, records in pulled.items() for i in records)
        for name, records in pulled.items():
            found[name].update(records)
        users = changed("User")

        deletions: list[Deletion] = []
        reconcile: set[RecordKind] = set()
        self._purge()
        for kind, spec in KINDS.items():
            type_name = spec.openair_type
            cursor = deleted_cursor(type_name)
            mark = since.get(cursor)
            deletion_marks[cursor] = started
            if mark is None:
                continue  # first run: nothing was exported yet, so nothing can need deleting
            if not deletions_trusted(mark, started):
                reconcile.add(kind)  # some deletions may be purged already: the planner reconciles instead
                continue
            for record_id, (when, user) in self.deleted.get(type_name, {}).items():
                if when > mark:
                    deletions.append(Deletion(kind, record_id, user, when))
        return ChangeSet(
            records=by_kind((KIND_OF_TYPE[name], records.values()) for name, records in found.items()),
            deletions=tuple(deletions),
            users=tuple(users),
            watermarks=marks,
            deletion_watermarks=deletion_marks,
            requests_made=1,
            forced=forced,
            reconcile=frozenset(reconcile),
            unreadable=tuple({(u.type, u.id): u for u in bad}.values()),
        )

    async def read_user_records(
        self, user_ids: Collection[str], kinds: Collection[RecordKind], since: dt.datetime | None
    ) -> ChangeSet:
        self._read()
        if self.fail_user_reads:
            self.fail_user_reads -= 1
            raise OpenAirUnavailable("OpenAir did not answer")
        wanted = set(user_ids)
        bad: list[Unreadable] = []
        found: dict[RecordKind, tuple[Any, ...]] = {}
        for kind in kinds:
            type_name = KINDS[kind].openair_type
            newer = [r for r in self._newer(type_name, since) if r.userid in wanted]
            found[kind] = tuple(self._readable(type_name, newer, bad))
        return ChangeSet(
            records=by_kind(found.items()),
            requests_made=1,
            forced=frozenset(record_key(kind, r.id) for kind, records in found.items() for r in records),
            unreadable=tuple(bad),
        )

    async def read_reference(self, changes: ChangeSet) -> Reference:
        self._read()
        items: dict[str, list[SchedulerequestItem]] = {}
        request_ids = {parent for _child, parent in with_children(changes)}
        for item in self.all("Schedulerequest_item"):
            if item.schedule_requestid in request_ids:
                items.setdefault(item.schedule_requestid, []).append(item)
        return Reference(
            booking_types={t.id: t for t in self.all("BookingType")},
            projects={p.id: p for p in self.all("Project")},
            customers={c.id: c for c in self.all("Customer")},
            tasks={t.id: t for t in self.all("Projecttask")},
            timetypes={t.id: t for t in self.all("Timetype")},
            request_items={k: tuple(v) for k, v in items.items()},
        )


__all__ = ["MemoryOpenAir", "OpenAirUnavailable"]
