"""The narrow table interface the store is written against, and its errors.

Both backends honour ETags the way Azure does, so optimistic-concurrency code is tested in memory too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from shared.errors import SyncError


class StoreError(SyncError):
    """Table Storage failed; the message names the table and the operation."""


class EtagMismatch(StoreError):
    """Someone else changed the row since we read it (412) or created it first (409)."""


@dataclass(frozen=True)
class Row:
    """One entity: its keys, its columns (typed as Table Storage stores them) and its ETag."""

    partition_key: str
    row_key: str
    columns: Mapping[str, Any] = field(default_factory=dict)
    etag: str | None = None


@dataclass(frozen=True)
class BatchOp:
    kind: Literal["upsert", "delete"]
    row: Row


class TableBackend(Protocol):
    def ensure_tables(self, names: Sequence[str]) -> None: ...

    def query(self, table: str, partition_key: str | None = None) -> Iterator[Row]:
        """All rows of a table, or of one partition."""
        ...

    def get(self, table: str, partition_key: str, row_key: str) -> Row | None: ...

    def upsert(self, table: str, row: Row, *, merge: bool = False) -> str:
        """Insert or replace (or merge columns into) a row, unconditionally; returns the new ETag."""
        ...

    def insert(self, table: str, row: Row) -> str:
        """Insert; raises EtagMismatch if the row exists."""
        ...

    def update(self, table: str, row: Row, *, merge: bool = False) -> str:
        """Replace/merge only if row.etag still matches; raises EtagMismatch otherwise."""
        ...

    def delete(self, table: str, partition_key: str, row_key: str, *, etag: str | None = None) -> None:
        """Delete (if etag given, only when it matches); a missing row is not an error."""
        ...

    def submit(self, table: str, ops: Sequence[BatchOp]) -> None:
        """Upserts and deletes in transactions of ≤100 rows of one partition. A delete whose row carries an ETag
        is conditional; if any condition fails the transaction fails with EtagMismatch (Azure's atomicity)."""
        ...


def batch_chunks(ops: Sequence[BatchOp]) -> Iterator[list[BatchOp]]:
    """Azure transactions: one partition, at most 100 operations, each row once."""
    by_partition: dict[str, list[BatchOp]] = {}
    for op in ops:
        by_partition.setdefault(op.row.partition_key, []).append(op)
    for group in by_partition.values():
        for start in range(0, len(group), 100):
            yield group[start : start + 100]
