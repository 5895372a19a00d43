"""One exported record by id, as it is in OpenAir now (the push path's read; the timer reads tenant-wide).

One HTTP request per save, in the steady state. It carries:
- a read of the live record and a `deleted="1"` read of the same id, so the answer tells "changed" (the record),
  "deleted" (a `Deletion` with its user) and "no such record" (nothing) apart;
- the record-independent reference reads: booking types and time types (small tables, whole), and a schedule
  request's items (keyed by the request's own id);
- reads by id of the projects, customers and tasks this user's previous pushed records referred to
  (`UserReferences`, keyed by the push's user hint): people save again and again on the same few projects.

These are OpenAir's rows as of this request, never remembered data: what is remembered is only which ids to ask
for. When the record refers to something not asked for (a first save, another project), `read_reference` reads
the rest in one more request (a third only when a task's project or a project's customer was not known yet).
The `Reference` is exactly what `OpenAirSource.read_reference` builds for the same records.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from shared.kinds import KINDS, RecordKind, record_key
from shared.openair.changes import (
    ChangeSet,
    Deletion,
    ExportedRecord,
    Reference,
    by_kind,
    model_of,
    referred,
    with_children,
)
from shared.openair.models import (
    BookingType,
    Customer,
    DeletedRecord,
    Project,
    Projecttask,
    Record,
    SchedulerequestItem,
    Timetype,
)
from shared.openair.reads import ReadSpec
from shared.openair.source import OpenAirSource

_REFERENCE_TYPES = ("Projecttask", "Project", "Customer")


def _ids(values: Iterable[str | None]) -> set[str]:
    return {v for v in values if v}


class UserReferences:
    """Per OpenAir user, the ids of the tasks, projects and customers their last pushed records referred to.

    Only ids (which reads to put in the record's request), bounded: `per_type` ids per type and `max_users`
    users, least recently pushed forgotten first. One per worker process (`USER_REFERENCES`)."""

    def __init__(self, *, max_users: int = 10_000, per_type: int = 4) -> None:
        self.max_users = max_users
        self.per_type = per_type
        self._users: OrderedDict[str, dict[str, tuple[str, ...]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, user_id: str) -> dict[str, tuple[str, ...]]:
        with self._lock:
            known = self._users.get(user_id)
            if known is None:
                return {}
            self._users.move_to_end(user_id)
            return dict(known)

    def remember(self, user_id: str, used: Mapping[str, Iterable[str]]) -> None:
        if not user_id:
            return
        with self._lock:
            known = self._users.get(user_id, {})
            merged: dict[str, tuple[str, ...]] = {}
            for type_name in _REFERENCE_TYPES:
                newest = sorted(used.get(type_name, ()))
                older = [i for i in known.get(type_name, ()) if i not in newest]
                merged[type_name] = tuple([*newest, *older][: self.per_type])
            self._users[user_id] = merged
            self._users.move_to_end(user_id)
            while len(self._users) > self.max_users:
                self._users.popitem(last=False)


USER_REFERENCES = UserReferences()


@dataclass
class _Prefetched:
    """What the record's request already read for `read_reference`, and which ids it asked for."""

    booking_types: dict[str, BookingType]
    timetypes: dict[str, Timetype]
    found: dict[str, dict[str, Record]] = field(default_factory=lambda: {t: {} for t in _REFERENCE_TYPES})
    asked: dict[str, set[str]] = field(default_factory=lambda: {t: set() for t in _REFERENCE_TYPES})
    items: dict[str, list[SchedulerequestItem]] = field(default_factory=dict)
    items_asked: set[str] = field(default_factory=set)


class OpenAirRecords:
    """Reads records by id through an `OpenAirSource`'s client; satisfies `ports.openair.RecordPort`.

    One instance serves one pass of the push worker. `read_records` reads several records (a user's pending saves)
    in one request; `read_record` then answers from what was read ahead. `user_hint` is the push's user (only used
    to choose which reference reads travel with the records)."""

    def __init__(self, source: OpenAirSource, references: UserReferences | None = None, *, user_hint: str = "") -> None:
        self.source = source
        self.references = USER_REFERENCES if references is None else references
        self.user_hint = user_hint
        self._prefetched: _Prefetched | None = None
        self._read_ahead: dict[tuple[RecordKind, str], ChangeSet] = {}
        # Every live record read in this pass: the first `read_reference` completes what all of them refer to at
        # once, so ten saves that each need one more project still cost one more request, not ten.
        self._pass_records = ChangeSet()
        # Record key -> its `updated` as this pass read it (for `shared.push.AppliedSaves`).
        self.updated_of: dict[str, dt.datetime | None] = {}

    async def read_record(self, kind: RecordKind, record_id: str) -> ChangeSet:
        """The record (in `records[kind]`), or its `Deletion`, or an empty set.

        Raises on any OpenAir failure: an unreadable record is never a deleted one.
        """
        key = (kind, record_id)
        if key not in self._read_ahead:
            await self.read_records([key])
        return self._read_ahead.pop(key)

    async def read_records(
        self,
        wanted: Sequence[tuple[RecordKind, str]],
        *,
        hints: Mapping[str, Iterable[str]] | None = None,
        user_since: tuple[str, dt.datetime] | None = None,
    ) -> list[tuple[RecordKind, str, dt.datetime | None]]:
        """Read these records, each with a `deleted="1"` read of its id, in one request with the small reference
        tables and their likely references: the tasks, projects and customers the form said they name (`hints`,
        by type name) and those the user's earlier saves named. `read_record` answers from it afterwards. Raises
        on any failure.

        With `user_since` (a user id and a time) the same request also reads that user's records of every exported
        type updated since then: saves whose messages are still on their way. Those not in `wanted` are returned
        (kind, id, updated) and `read_record` answers for them too.
        """
        client = self.source.client
        before = client.requests_made
        keys = list(dict.fromkeys(wanted))
        specs = [ReadSpec(type="BookingType"), ReadSpec(type="Timetype", enable_custom=False)]
        for kind, record_id in keys:
            type_name = KINDS[kind].openair_type
            specs += [
                ReadSpec(type=type_name, query={"id": record_id}),
                ReadSpec(type=type_name, query={"id": record_id}, deleted=True,
                         return_fields=("id", "userid", "updated")),
            ]  # fmt: skip
        extra = [
            ReadSpec(type=child.type, query={child.parent: record_id}, enable_custom=False)
            for kind, record_id in keys
            for child in model_of(kind).CHILDREN
        ]
        remembered = self.references.get(self.user_hint) if self.user_hint else {}
        said = hints or {}
        for type_name in _REFERENCE_TYPES:
            ids = dict.fromkeys([*sorted(said.get(type_name, ())), *remembered.get(type_name, ())])
            extra += [ReadSpec(type=type_name, query={"id": i}) for i in ids]
        scoped = (
            [
                ReadSpec(type=spec.openair_type, query={"userid": user_since[0]}, since=user_since[1])
                for spec in KINDS.values()
            ]
            if user_since
            else []
        )
        extra = [*scoped, *extra]
        booking_types, timetypes, *rest = await self.source._read([*specs, *extra])
        if self._prefetched is None:
            self._prefetched = _Prefetched(
                booking_types={t.id: t for t in self.source._parse(BookingType, booking_types)},
                timetypes={t.id: t for t in self.source._parse(Timetype, timetypes)},
            )
        self._take(self._prefetched, extra[len(scoped) :], rest[2 * len(keys) + len(scoped) :])
        for n, (kind, record_id) in enumerate(keys):
            live, gone = rest[2 * n], rest[2 * n + 1]
            type_name = KINDS[kind].openair_type
            records = [model_of(kind).from_raw(row, client.zone) for row in live]
            deletions = () if records else tuple(
                Deletion(kind, d.id, d.userid or "", d.updated)
                for d in (DeletedRecord.from_raw(type_name, row, client.zone) for row in gone)
            )  # fmt: skip
            changes = ChangeSet(
                records=by_kind([(kind, records)]),
                deletions=deletions[:1],
                # The pass's request is counted once, on its first record.
                requests_made=client.requests_made - before if n == 0 else 0,
            )
            self._read_ahead[(kind, record_id)] = changes
            self._pass_records = self._pass_records.merged(changes)
            self.updated_of.update({record_key(kind, r.id): r.updated for r in records})
        found: list[tuple[RecordKind, str, dt.datetime | None]] = []
        scoped_rows = rest[2 * len(keys) : 2 * len(keys) + len(scoped)]
        for kind, rows in zip(KINDS if scoped else (), scoped_rows, strict=True):
            for record in (model_of(kind).from_raw(row, client.zone) for row in rows):
                if (kind, record.id) in self._read_ahead or (kind, record.id) in keys:
                    continue
                changes = ChangeSet(records=by_kind([(kind, [record])]))
                self._read_ahead[(kind, record.id)] = changes
                self._pass_records = self._pass_records.merged(changes)
                found.append((kind, record.id, record.updated))
                self.updated_of[record_key(kind, record.id)] = record.updated
        return found

    def _take(self, into: _Prefetched, specs: Iterable[ReadSpec], pages: Iterable[list[dict[str, object]]]) -> None:
        models: dict[str, type[Record]] = {"Projecttask": Projecttask, "Project": Project, "Customer": Customer}
        for spec, rows in zip(specs, pages, strict=True):
            if spec.type == "Schedulerequest_item":
                into.items_asked.add(str((spec.query or {})["schedule_requestid"]))
                for item in self.source._parse(SchedulerequestItem, rows):
                    into.items.setdefault(item.schedule_requestid or "", []).append(item)
                continue
            into.asked[spec.type].add(str((spec.query or {})["id"]))
            into.found[spec.type].update({r.id: r for r in self.source._parse(models[spec.type], rows)})

    async def read_reference(self, changes: ChangeSet) -> Reference:
        """What `changes` refer to: what the pass's request already read, and the rest (for every record of the
        pass at once) in as few requests as the chain task → project → customer allows."""
        known = self._prefetched
        if known is None:
            return await self.source.read_reference(changes)  # not read with a record: the tenant-wide way
        await self._complete(known, self._pass_records.merged(changes))
        need_tasks, need_projects, need_customers = self._needs(known, changes)
        records: list[ExportedRecord] = [record for _kind, record in changes.each()]
        for user in {r.userid for r in records}:
            if user:
                self.references.remember(
                    user, {"Projecttask": need_tasks, "Project": need_projects, "Customer": need_customers}
                )
        tasks: dict[str, Projecttask] = known.found["Projecttask"]  # type: ignore[assignment]
        projects: dict[str, Project] = known.found["Project"]  # type: ignore[assignment]
        customers: dict[str, Customer] = known.found["Customer"]  # type: ignore[assignment]
        parents = {parent for _child, parent in with_children(changes)}
        return Reference(
            booking_types=known.booking_types,
            projects={p: projects[p] for p in sorted(need_projects) if p in projects},
            customers={c: customers[c] for c in sorted(need_customers) if c in customers},
            tasks={t: tasks[t] for t in sorted(need_tasks) if t in tasks},
            timetypes=known.timetypes,
            request_items={k: tuple(v) for k, v in known.items.items() if k in parents},
        )

    @staticmethod
    def _needs(known: _Prefetched, changes: ChangeSet) -> tuple[set[str], set[str], set[str]]:
        """The task, project and customer ids `changes` refer to, as far as the rows read so far tell."""
        tasks: dict[str, Projecttask] = known.found["Projecttask"]  # type: ignore[assignment]
        projects: dict[str, Project] = known.found["Project"]  # type: ignore[assignment]
        refs = referred(changes)
        need_tasks = refs.get("Projecttask", set())
        need_projects = refs.get("Project", set()) | _ids(tasks[t].projectid for t in need_tasks if t in tasks)
        need_customers = refs.get("Customer", set()) | _ids(
            projects[p].customerid for p in need_projects if p in projects
        )
        return need_tasks, need_projects, need_customers

    async def _complete(self, known: _Prefetched, changes: ChangeSet) -> None:
        """Read what `changes` refer to and was not asked for yet: one request per link of the chain still open."""
        while True:
            need_tasks, need_projects, need_customers = self._needs(known, changes)
            missing = {"Projecttask": need_tasks, "Project": need_projects, "Customer": need_customers}
            unasked = {t: sorted(want - known.asked[t]) for t, want in missing.items()}
            specs = [
                *(ReadSpec(type=t, query={"id": i}) for t, ids in unasked.items() for i in ids),
                *(
                    ReadSpec(type=child.type, query={child.parent: parent}, enable_custom=False)
                    for child, parent in with_children(changes)
                    if parent not in known.items_asked
                ),
            ]  # fmt: skip
            if not specs:
                return
            self._take(known, specs, await self.source._read(specs))
