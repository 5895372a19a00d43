"""`OpenAirSource`: the engine's view of OpenAir, read tenant-wide in as few requests as the API allows.

A run costs one request when nothing changed (all updated-passes and deleted-passes travel together), plus one
for dependents (assignments of a moved task, requests of a changed item, bookings of a changed booking type) and
one for reference data, only when there is something to render. The count does not grow with the number of
users: reads are per record type, never per user (back-fills of newly switched-on users excepted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TypeVar

from shared.kinds import KIND_OF_TYPE, KINDS, RecordKind, record_key
from shared.openair.changes import (
    ChangeSet,
    Deletion,
    Reference,
    by_kind,
    deleted_cursor,
    deletions_trusted,
    pulls,
    referred,
    updated_cursor,
    with_children,
)
from shared.openair.client import OpenAirClient
from shared.openair.clock import zone_mismatch
from shared.openair.errors import OpenAirError
from shared.openair.models import (
    RECORD_TYPES,
    BookingType,
    Customer,
    DeletedRecord,
    Project,
    Projecttask,
    Record,
    SchedulerequestItem,
    Timetype,
    User,
)
from shared.openair.reads import ReadSpec
from shared.openair.xml import Raw, Unreadable, collector_paused

R = TypeVar("R", bound=Record)

# Commands per HTTP request. OpenAir documents no limit on commands per request; we stay moderate so one
# request never grows unbounded (a timeout would cost the whole batch).
COMMANDS_PER_REQUEST = 100


class OpenAirSource:
    def __init__(self, client: OpenAirClient, *, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.client = client
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    async def _read(
        self, specs: Sequence[ReadSpec], *, clock: bool = False, bad: list[Unreadable] | None = None
    ) -> list[list[Raw]]:
        """Rows per spec. With `bad`, a record that cannot be read is left out and added there (record by record)."""
        out: list[list[Raw]] = []
        before = len(self.client.unreadable_records)
        for start in range(0, len(specs), COMMANDS_PER_REQUEST):
            chunk = specs[start : start + COMMANDS_PER_REQUEST]
            out.extend(await self.client.read_many(chunk, clock=clock, lenient=bad is not None))
            clock = False
        if bad is not None:
            bad.extend(self.client.unreadable_records[before:])
        return out

    def _parse(self, model: type[R], rows: Iterable[Raw]) -> list[R]:
        with collector_paused():  # records become models: no cycles made (see `collector_paused`)
            return [model.from_raw(row, self.client.zone) for row in rows]

    def _parse_each(self, model: type[R], rows: Iterable[Raw], bad: list[Unreadable]) -> list[R]:
        """The rows as models, record by record: one whose values do not make a record is added to `bad`."""
        out: list[R] = []
        with collector_paused():  # records become models: no cycles made (see `collector_paused`)
            for row in rows:
                try:
                    out.append(model.from_raw(row, self.client.zone))
                except (OpenAirError, ValueError, OverflowError) as exc:
                    bad.append(Unreadable(model.TYPE, _plain(row, "id"), _plain(row, "userid"), _problem(exc)))
        return out

    async def read_changes(self, since: Mapping[str, dt.datetime | None]) -> ChangeSet:
        before = self.client.requests_made
        repaired = len(self.client.repaired_records)
        started = self._clock()  # the next watermark: what OpenAir stamps later than this, the next run sees
        specs: list[ReadSpec] = []
        roles: list[tuple[str, str]] = []  # (role, type name) per spec

        def add(role: str, spec: ReadSpec) -> None:
            specs.append(spec)
            roles.append((role, spec.type))

        reconcile: set[RecordKind] = set()
        for kind in KINDS:
            name = KINDS[kind].openair_type
            add("changed", ReadSpec(type=name, since=since.get(updated_cursor(name))))
            mark = since.get(deleted_cursor(name))
            if mark is not None and not deletions_trusted(mark, started):
                reconcile.add(kind)  # deletions older than 180 days are purged: the planner reconciles instead
            elif mark is not None:  # first run: nothing exported yet, so no deletion can matter
                add("deleted", ReadSpec(type=name, since=mark, deleted=True, return_fields=("id", "userid", "updated")))
        # Dependents (`Record.PULLED_IN_BY`, and users for their time zone): only the values that pull records in
        # matter here (the full records come with the reference read).
        dependents: dict[str, tuple[str, ...]] = {}
        for _kind, pull in pulls():
            dependents[pull.type] = tuple(dict.fromkeys([*dependents.get(pull.type, ("id",)), pull.their]))
        dependents["User"] = ("id", "timezone")
        for name, fields in dependents.items():
            mark = since.get(updated_cursor(name))
            if mark is not None:
                add("dependent", ReadSpec(type=name, since=mark, return_fields=fields, enable_custom=False))

        # OpenAir's clock travels with the reads (no extra request): a wrong OPENAIR_COMPANY_TIMEZONE shows at once.
        # Read record by record: one record holding a value that cannot be read is left out and named, not allowed
        # to fail the read for the whole tenant (a body that is not XML, or a broken envelope, still fails it).
        unreadable: list[Unreadable] = []
        pages = await self._read(specs, clock=True, bad=unreadable)
        changed: dict[str, dict[str, Record]] = {spec.openair_type: {} for spec in KINDS.values()}
        deletions: list[Deletion] = []
        dependent_rows: dict[str, list[Raw]] = {}
        users: list[User] = []
        for (role, name), rows in zip(roles, pages, strict=True):
            if role == "changed":
                changed[name].update({r.id: r for r in self._parse_each(RECORD_TYPES[name], rows, unreadable)})
            elif role == "deleted":
                for row in rows:
                    try:
                        gone = DeletedRecord.from_raw(name, row, self.client.zone)
                    except (OpenAirError, ValueError, OverflowError) as exc:
                        problem = _problem(exc)
                        unreadable.append(Unreadable(name, _plain(row, "id"), _plain(row, "userid"), problem, True))
                        continue
                    deletions.append(Deletion(KIND_OF_TYPE[name], gone.id, gone.userid or "", gone.updated))
            elif name == "User":
                users.extend(self._parse_each(User, rows, unreadable))
            else:
                dependent_rows[name] = rows

        follow: list[ReadSpec] = []
        for kind, pull in pulls():
            name = KINDS[kind].openair_type
            values = {str(row.get(pull.their)) for row in dependent_rows.get(pull.type, ()) if row.get(pull.their)}
            if pull.field == "id":
                values -= set(changed[name])  # read already, as changed itself
            follow += [ReadSpec(type=name, query={pull.field: value}) for value in sorted(values)]
        forced: set[str] = set()
        for spec, rows in zip(follow, await self._read(follow, bad=unreadable), strict=True):
            pulled = {r.id: r for r in self._parse_each(RECORD_TYPES[spec.type], rows, unreadable)}
            changed[spec.type].update(pulled)
            forced.update(record_key(KIND_OF_TYPE[spec.type], record_id) for record_id in pulled)

        skipped, held, notices = _sort_unreadable(unreadable, deletions)
        watermarks = {
            updated_cursor(name): started for name in [*KIND_OF_TYPE, *dependents] if updated_cursor(name) not in held
        }
        server_now = self.client.server_now
        zone_problem = zone_mismatch(self.client.zone, server_now, started) if server_now else None
        return ChangeSet(
            records=by_kind((KIND_OF_TYPE[name], records.values()) for name, records in changed.items()),
            deletions=tuple(deletions),
            users=tuple(users),
            watermarks=watermarks,
            deletion_watermarks={
                deleted_cursor(name): started for name in KIND_OF_TYPE if deleted_cursor(name) not in held
            },
            requests_made=self.client.requests_made - before,
            notices=(*([zone_problem] if zone_problem else []), *self.client.repaired_records[repaired:], *notices),
            forced=frozenset(forced),
            reconcile=frozenset(reconcile),
            unreadable=tuple(skipped),
        )

    async def read_active_users(self) -> list[User]:
        """Every active OpenAir user (for mapping refreshes), with email and time zone."""
        return [user for user in await self.client.read_users() if user.active]

    async def read_booking_types(self) -> list[BookingType]:
        """Every booking type (a small table): `check` names the id of a BookingTypeShowAs row keyed by name."""
        (rows,) = await self._read([ReadSpec(type="BookingType")])
        return self._parse(BookingType, rows)

    async def read_user_records(
        self, user_ids: Collection[str], kinds: Collection[RecordKind], since: dt.datetime | None
    ) -> ChangeSet:
        before = self.client.requests_made
        repaired = len(self.client.repaired_records)
        specs = [
            ReadSpec(type=KINDS[kind].openair_type, query={"userid": user}, since=since)
            for kind in sorted(kinds)
            for user in sorted(user_ids)
        ]
        found: dict[str, list[Record]] = {spec.openair_type: [] for spec in KINDS.values()}
        unreadable: list[Unreadable] = []
        for spec, rows in zip(specs, await self._read(specs, bad=unreadable), strict=True):
            found[spec.type].extend(self._parse_each(RECORD_TYPES[spec.type], rows, unreadable))
        return ChangeSet(
            records=by_kind((KIND_OF_TYPE[name], records) for name, records in found.items()),
            requests_made=self.client.requests_made - before,
            notices=tuple(self.client.repaired_records[repaired:]),
            forced=frozenset(record_key(KIND_OF_TYPE[name], r.id) for name, records in found.items() for r in records),
            unreadable=tuple(unreadable),  # only exported types are read here, none deleted
        )

    async def read_reference(self, changes: ChangeSet) -> Reference:
        """Everything the records refer to, in one request per 100 commands: whole small tables, ids for big ones."""
        refs = referred(changes)
        specs: list[ReadSpec] = [
            ReadSpec(type="BookingType"),
            ReadSpec(type="Timetype", enable_custom=False),
            *(ReadSpec(type="Projecttask", query={"id": t}) for t in sorted(refs.get("Projecttask", ()))),
            *(
                ReadSpec(type=child.type, query={child.parent: parent}, enable_custom=False)
                for child, parent in with_children(changes)
            ),
        ]
        pages = await self._read(specs)
        booking_types = {t.id: t for t in self._parse(BookingType, pages[0])}
        timetypes = {t.id: t for t in self._parse(Timetype, pages[1])}
        task_map: dict[str, Projecttask] = {}
        items: dict[str, list[SchedulerequestItem]] = {}
        for spec, rows in zip(specs[2:], pages[2:], strict=True):
            if spec.type == "Projecttask":
                task_map.update({t.id: t for t in self._parse(Projecttask, rows)})
            elif spec.type == "Schedulerequest_item":
                for item in self._parse(SchedulerequestItem, rows):
                    items.setdefault(item.schedule_requestid or "", []).append(item)

        # Projects (of bookings and of tasks) and then customers need the tasks first: a second round.
        projects = refs.get("Project", set()) | {t.projectid for t in task_map.values()}
        second = [ReadSpec(type="Project", query={"id": p}) for p in sorted(p for p in projects if p)]
        project_map = {
            p.id: p for rows in (await self._read(second) if second else []) for p in self._parse(Project, rows)
        }
        customers = refs.get("Customer", set()) | {p.customerid for p in project_map.values()}
        third = [ReadSpec(type="Customer", query={"id": c}) for c in sorted(c for c in customers if c)]
        customer_map = {
            c.id: c for rows in (await self._read(third) if third else []) for c in self._parse(Customer, rows)
        }
        return Reference(
            booking_types=booking_types,
            projects=project_map,
            customers=customer_map,
            tasks=task_map,
            timetypes=timetypes,
            request_items={k: tuple(v) for k, v in items.items()},
        )


def _plain(row: Raw, name: str) -> str:
    value = row.get(name)
    return value.strip() if isinstance(value, str) else ""


def _problem(exc: Exception) -> str:
    if isinstance(exc, OpenAirError):
        return exc.openair_message
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def _sort_unreadable(
    unreadable: Sequence[Unreadable], deletions: list[Deletion]
) -> tuple[list[Unreadable], set[str], list[str]]:
    """What becomes of each record a tenant-wide read could not read: (records the planner names as skipped for
    their user, cursors that must not advance this run, notices for the run's alerts).

    Watermarks. A changed record of an exported type is skipped and its watermark advances anyway: the only fix
    is an edit in OpenAir, which moves the record's `updated` past the watermark, so the next run reads the fixed
    record (and the skip stays named in the user's `SkippedRecords` until then). Holding the watermark back
    instead would re-read, and fail to read, the same record on every run and stall every other change of that
    type behind it. A deleted record never changes again, so nothing would bring it back once the watermark
    passed it: when its id (and user) can still be read its deletion is carried out without the unreadable
    `updated`; when not, that deleted-pass watermark stays where it was (the pass is re-read, and the record
    named, until it can be read). A dependent type's record (task, request item, booking type, user) is only
    read for its id and time zone: one that cannot be read holds back that type's watermark the same way, so
    the records it would pull in are not lost.
    """
    skipped: list[Unreadable] = []
    held: set[str] = set()
    notices: list[str] = []
    for record in unreadable:
        if record.type in KIND_OF_TYPE and not record.deleted:
            skipped.append(record)
        elif record.type in KIND_OF_TYPE and record.id:
            deletions.append(Deletion(KIND_OF_TYPE[record.type], record.id, record.user_id))
            notices.append(f"{record}; it is removed from the calendar all the same")
        else:
            held.add(deleted_cursor(record.type) if record.deleted else updated_cursor(record.type))
            notices.append(f"{record}; its changes are read again on every run until it can be read")
    return skipped, held, notices
