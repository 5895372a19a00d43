"""`OpenAirSource`: the engine's view of OpenAir, read tenant-wide in as few requests as the API allows.

A run costs one request when nothing changed (all updated-passes and deleted-passes travel together), plus one
for dependents (assignments of a moved task, requests of a changed item, bookings of a changed booking type) and
one for reference data, only when there is something to render. The count does not grow with the number of
users: reads are per record type, never per user (back-fills of newly switched-on users excepted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from shared.kinds import RecordKind, record_key
from shared.openair.changes import (
    EXPORTED_TYPES,
    ChangeSet,
    Deletion,
    Reference,
    deleted_cursor,
    deletions_trusted,
    updated_cursor,
)
from shared.openair.client import OpenAirClient
from shared.openair.clock import zone_mismatch
from shared.openair.models import (
    Booking,
    BookingType,
    Customer,
    DeletedRecord,
    Project,
    Projecttask,
    Projecttaskassign,
    Record,
    Schedulerequest,
    SchedulerequestItem,
    Timetype,
    User,
)
from shared.openair.reads import ReadSpec
from shared.openair.xml import Raw

R = TypeVar("R", bound=Record)

# Commands per HTTP request. OpenAir documents no limit on commands per request; we stay moderate so one
# request never grows unbounded (a timeout would cost the whole batch).
COMMANDS_PER_REQUEST = 100

_KIND_OF = {name: kind for kind, name in EXPORTED_TYPES.items()}
_MODELS: dict[str, type[Record]] = {
    "Booking": Booking,
    "Projecttaskassign": Projecttaskassign,
    "Schedulerequest": Schedulerequest,
}


class OpenAirSource:
    def __init__(self, client: OpenAirClient, *, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.client = client
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    async def _read(self, specs: Sequence[ReadSpec], *, clock: bool = False) -> list[list[Raw]]:
        out: list[list[Raw]] = []
        for start in range(0, len(specs), COMMANDS_PER_REQUEST):
            out.extend(await self.client.read_many(specs[start : start + COMMANDS_PER_REQUEST], clock=clock))
            clock = False
        return out

    def _parse(self, model: type[R], rows: Iterable[Raw]) -> list[R]:
        return [model.from_raw(row, self.client.zone) for row in rows]

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
        for kind, name in EXPORTED_TYPES.items():
            add("changed", ReadSpec(type=name, since=since.get(updated_cursor(name))))
            mark = since.get(deleted_cursor(name))
            if mark is not None and not deletions_trusted(mark, started):
                reconcile.add(kind)  # deletions older than 180 days are purged: the planner reconciles instead
            elif mark is not None:  # first run: nothing exported yet, so no deletion can matter
                add("deleted", ReadSpec(type=name, since=mark, deleted=True, return_fields=("id", "userid", "updated")))
        # Dependents: only their ids matter here (the full records come with the reference read).
        dependents = {
            "Projecttask": ("id",),
            "Schedulerequest_item": ("id", "schedule_requestid"),
            "BookingType": ("id",),
            "User": ("id", "timezone"),
        }
        for name, fields in dependents.items():
            mark = since.get(updated_cursor(name))
            if mark is not None:
                add("dependent", ReadSpec(type=name, since=mark, return_fields=fields, enable_custom=False))

        # OpenAir's clock travels with the reads (no extra request): a wrong OPENAIR_COMPANY_TIMEZONE shows at once.
        pages = await self._read(specs, clock=True)
        changed: dict[str, dict[str, Record]] = {name: {} for name in EXPORTED_TYPES.values()}
        deletions: list[Deletion] = []
        moved_tasks: set[str] = set()
        touched_requests: set[str] = set()
        retyped: set[str] = set()
        users: list[User] = []
        for (role, name), rows in zip(roles, pages, strict=True):
            if role == "changed":
                changed[name].update({r.id: r for r in self._parse(_MODELS[name], rows)})
            elif role == "deleted":
                for gone in (DeletedRecord.from_raw(name, row, self.client.zone) for row in rows):
                    deletions.append(Deletion(_KIND_OF[name], gone.id, gone.userid or "", gone.updated))
            elif name == "Projecttask":
                moved_tasks.update(str(row.get("id")) for row in rows)
            elif name == "Schedulerequest_item":
                touched_requests.update(
                    str(row.get("schedule_requestid")) for row in rows if row.get("schedule_requestid")
                )
            elif name == "BookingType":
                retyped.update(str(row.get("id")) for row in rows)
            elif name == "User":
                users.extend(self._parse(User, rows))

        touched_requests -= set(changed["Schedulerequest"])
        follow: list[ReadSpec] = [
            *(ReadSpec(type="Projecttaskassign", query={"projecttaskid": t}) for t in sorted(moved_tasks)),
            *(ReadSpec(type="Schedulerequest", query={"id": r}) for r in sorted(touched_requests)),
            *(ReadSpec(type="Booking", query={"booking_typeid": b}) for b in sorted(retyped)),
        ]
        forced: set[str] = set()
        for spec, rows in zip(follow, await self._read(follow), strict=True):
            pulled = {r.id: r for r in self._parse(_MODELS[spec.type], rows)}
            changed[spec.type].update(pulled)
            forced.update(record_key(_KIND_OF[spec.type], record_id) for record_id in pulled)

        watermarks = {updated_cursor(name): started for name in [*EXPORTED_TYPES.values(), *dependents]}
        server_now = self.client.server_now
        zone_problem = zone_mismatch(self.client.zone, server_now, started) if server_now else None
        return ChangeSet(
            bookings=tuple(changed["Booking"].values()),  # type: ignore[arg-type]
            task_assignments=tuple(changed["Projecttaskassign"].values()),  # type: ignore[arg-type]
            schedule_requests=tuple(changed["Schedulerequest"].values()),  # type: ignore[arg-type]
            deletions=tuple(deletions),
            users=tuple(users),
            watermarks=watermarks,
            deletion_watermarks={deleted_cursor(name): started for name in EXPORTED_TYPES.values()},
            requests_made=self.client.requests_made - before,
            notices=(*([zone_problem] if zone_problem else []), *self.client.repaired_records[repaired:]),
            forced=frozenset(forced),
            reconcile=frozenset(reconcile),
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
            ReadSpec(type=EXPORTED_TYPES[kind], query={"userid": user}, since=since)
            for kind in sorted(kinds)
            for user in sorted(user_ids)
        ]
        found: dict[str, list[Any]] = {name: [] for name in EXPORTED_TYPES.values()}
        for spec, rows in zip(specs, await self._read(specs), strict=True):
            found[spec.type].extend(self._parse(_MODELS[spec.type], rows))
        return ChangeSet(
            bookings=tuple(found["Booking"]),
            task_assignments=tuple(found["Projecttaskassign"]),
            schedule_requests=tuple(found["Schedulerequest"]),
            requests_made=self.client.requests_made - before,
            notices=tuple(self.client.repaired_records[repaired:]),
            forced=frozenset(record_key(_KIND_OF[name], r.id) for name, records in found.items() for r in records),
        )

    async def read_reference(self, changes: ChangeSet) -> Reference:
        """Everything the records refer to, in one request per 100 commands: whole small tables, ids for big ones."""
        tasks = {a.projecttaskid for a in changes.task_assignments} | {b.project_taskid for b in changes.bookings}
        tasks.discard(None)
        specs: list[ReadSpec] = [
            ReadSpec(type="BookingType"),
            ReadSpec(type="Timetype", enable_custom=False),
            *(ReadSpec(type="Projecttask", query={"id": t}) for t in sorted(t for t in tasks if t)),
            *(
                ReadSpec(type="Schedulerequest_item", query={"schedule_requestid": r.id}, enable_custom=False)
                for r in changes.schedule_requests
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
            else:
                for item in self._parse(SchedulerequestItem, rows):
                    items.setdefault(item.schedule_requestid or "", []).append(item)

        # Projects (of bookings and of tasks) and then customers need the tasks first: a second round.
        projects = {b.projectid for b in changes.bookings} | {t.projectid for t in task_map.values()}
        second = [ReadSpec(type="Project", query={"id": p}) for p in sorted(p for p in projects if p)]
        project_map = {
            p.id: p for rows in (await self._read(second) if second else []) for p in self._parse(Project, rows)
        }
        customers = {b.customerid for b in changes.bookings} | {p.customerid for p in project_map.values()}
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
