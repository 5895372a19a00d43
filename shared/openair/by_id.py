"""One exported record by id, as it is in OpenAir now (the push path's read; the timer reads tenant-wide).

One HTTP request for the record: a read of the live record and a `deleted="1"` read of the same id travel
together, so the answer tells "changed" (the record), "deleted" (a `Deletion` with its user) and "no such record"
(nothing) apart. The record-independent reference tables (booking types, time types: small, whole) ride in that
same request, so `read_reference` then needs only the reads that depend on the record's own ids — projects,
customers, tasks, request items — in one more request, and a third only when a task's project or a project's
customer was not among those read already. The `Reference` is the one `OpenAirSource.read_reference` builds.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.kinds import RecordKind
from shared.openair.changes import EXPORTED_TYPES, ChangeSet, Deletion, Reference
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
)
from shared.openair.reads import ReadSpec
from shared.openair.source import OpenAirSource

_MODELS: dict[RecordKind, type[Record]] = {
    RecordKind.BOOKING: Booking,
    RecordKind.TASK_ASSIGNMENT: Projecttaskassign,
    RecordKind.SCHEDULE_REQUEST: Schedulerequest,
}


def _ids(values: Iterable[str | None]) -> list[str]:
    return sorted({v for v in values if v})


class OpenAirRecords:
    """Reads single records by id through an `OpenAirSource`'s client; satisfies `sync.targeted.RecordPort`."""

    def __init__(self, source: OpenAirSource) -> None:
        self.source = source
        # The small tables read with the record (`read_record`), used by the next `read_reference`.
        self._booking_types: dict[str, BookingType] | None = None
        self._timetypes: dict[str, Timetype] | None = None

    async def read_record(self, kind: RecordKind, record_id: str) -> ChangeSet:
        """The record (in `bookings`/`task_assignments`/`schedule_requests`), or its `Deletion`, or an empty set.

        Raises on any OpenAir failure: an unreadable record is never a deleted one.
        """
        client = self.source.client
        before = client.requests_made
        type_name = EXPORTED_TYPES[kind]
        live, gone, booking_types, timetypes = await client.read_many([
            ReadSpec(type=type_name, query={"id": record_id}),
            ReadSpec(type=type_name, query={"id": record_id}, deleted=True, return_fields=("id", "userid", "updated")),
            ReadSpec(type="BookingType"),
            ReadSpec(type="Timetype", enable_custom=False),
        ])  # fmt: skip
        self._booking_types = {t.id: t for t in self.source._parse(BookingType, booking_types)}
        self._timetypes = {t.id: t for t in self.source._parse(Timetype, timetypes)}
        records = [_MODELS[kind].from_raw(row, client.zone) for row in live]
        deletions = () if records else tuple(
            Deletion(kind, d.id, d.userid or "", d.updated)
            for d in (DeletedRecord.from_raw(type_name, row, client.zone) for row in gone)
        )  # fmt: skip
        return ChangeSet(
            bookings=tuple(r for r in records if isinstance(r, Booking)),
            task_assignments=tuple(r for r in records if isinstance(r, Projecttaskassign)),
            schedule_requests=tuple(r for r in records if isinstance(r, Schedulerequest)),
            deletions=deletions[:1],
            requests_made=client.requests_made - before,
        )

    async def read_reference(self, changes: ChangeSet) -> Reference:
        """What `changes` refer to: the reads that need the records' ids, all that can in one request."""
        if self._booking_types is None or self._timetypes is None:
            return await self.source.read_reference(changes)  # not read with a record: the tenant-wide way
        booking_types, timetypes = self._booking_types, self._timetypes
        self._booking_types = self._timetypes = None
        source = self.source
        tasks: dict[str, Projecttask] = {}
        projects: dict[str, Project] = {}
        customers: dict[str, Customer] = {}
        items: dict[str, list[SchedulerequestItem]] = {}
        task_ids = _ids([*(a.projecttaskid for a in changes.task_assignments),
                         *(b.project_taskid for b in changes.bookings)])  # fmt: skip
        project_ids = _ids(b.projectid for b in changes.bookings)
        customer_ids = _ids(b.customerid for b in changes.bookings)
        specs: list[ReadSpec] = [
            *(ReadSpec(type="Projecttask", query={"id": t}) for t in task_ids),
            *(
                ReadSpec(type="Schedulerequest_item", query={"schedule_requestid": r.id}, enable_custom=False)
                for r in changes.schedule_requests
            ),
        ]
        asked_projects: set[str] = set()
        asked_customers: set[str] = set()
        # Rounds: what is known so far decides the next; a booking's project and customer come with its tasks.
        while True:
            specs += [ReadSpec(type="Project", query={"id": p}) for p in project_ids if p not in asked_projects]
            specs += [ReadSpec(type="Customer", query={"id": c}) for c in customer_ids if c not in asked_customers]
            asked_projects.update(project_ids)
            asked_customers.update(customer_ids)
            if not specs:
                break
            for spec, rows in zip(specs, await source._read(specs), strict=True):
                if spec.type == "Projecttask":
                    tasks.update({t.id: t for t in source._parse(Projecttask, rows)})
                elif spec.type == "Project":
                    projects.update({p.id: p for p in source._parse(Project, rows)})
                elif spec.type == "Customer":
                    customers.update({c.id: c for c in source._parse(Customer, rows)})
                else:
                    for item in source._parse(SchedulerequestItem, rows):
                        items.setdefault(item.schedule_requestid or "", []).append(item)
            specs = []
            project_ids = _ids(t.projectid for t in tasks.values())
            customer_ids = _ids(p.customerid for p in projects.values())
        return Reference(
            booking_types=booking_types,
            projects=projects,
            customers=customers,
            tasks=tasks,
            timetypes=timetypes,
            request_items={k: tuple(v) for k, v in items.items()},
        )
