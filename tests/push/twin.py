"""A `RecordPort` over the in-memory OpenAir twin (by-id reads, with deletions), for the targeted planner."""

from __future__ import annotations

from shared.kinds import KINDS, RecordKind
from shared.openair.changes import ChangeSet, Deletion, Reference
from twins.openair import MemoryOpenAir


class MemoryRecords:
    def __init__(self, openair: MemoryOpenAir) -> None:
        self.openair = openair
        self.reads = 0

    async def read_record(self, kind: RecordKind, record_id: str) -> ChangeSet:
        self.reads += 1
        self.openair._read()  # counts, and honours injected outages
        type_name = KINDS[kind].openair_type
        record = self.openair.records.get(type_name, {}).get(record_id)
        if record is None:
            gone = self.openair.deleted.get(type_name, {}).get(record_id)
            if gone is None:
                return ChangeSet(requests_made=1)
            return ChangeSet(deletions=(Deletion(kind, record_id, gone[1], gone[0]),), requests_made=1)
        return ChangeSet(records={kind: (record,)}, requests_made=1)  # type: ignore[dict-item]

    async def read_reference(self, changes: ChangeSet) -> Reference:
        return await self.openair.read_reference(changes)
