"""One exported record by id, as it is in OpenAir now (the push path's read; the timer reads tenant-wide).

One HTTP request: a read of the live record and a `deleted="1"` read of the same id travel together, so the
answer tells "changed" (the record), "deleted" (a `Deletion` with its user) and "no such record" (nothing) apart.
"""

from __future__ import annotations

from shared.kinds import RecordKind
from shared.openair.changes import EXPORTED_TYPES, ChangeSet, Deletion, Reference
from shared.openair.models import Booking, DeletedRecord, Projecttaskassign, Record, Schedulerequest
from shared.openair.reads import ReadSpec
from shared.openair.source import OpenAirSource

_MODELS: dict[RecordKind, type[Record]] = {
    RecordKind.BOOKING: Booking,
    RecordKind.TASK_ASSIGNMENT: Projecttaskassign,
    RecordKind.SCHEDULE_REQUEST: Schedulerequest,
}


class OpenAirRecords:
    """Reads single records by id through an `OpenAirSource`'s client; satisfies `sync.targeted.RecordPort`."""

    def __init__(self, source: OpenAirSource) -> None:
        self.source = source

    async def read_record(self, kind: RecordKind, record_id: str) -> ChangeSet:
        """The record (in `bookings`/`task_assignments`/`schedule_requests`), or its `Deletion`, or an empty set.

        Raises on any OpenAir failure: an unreadable record is never a deleted one.
        """
        client = self.source.client
        before = client.requests_made
        type_name = EXPORTED_TYPES[kind]
        live, gone = await client.read_many([
            ReadSpec(type=type_name, query={"id": record_id}),
            ReadSpec(type=type_name, query={"id": record_id}, deleted=True, return_fields=("id", "userid", "updated")),
        ])  # fmt: skip
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
        return await self.source.read_reference(changes)
