"""In-memory twin of Table Storage with Azure's ETag rules; used by unit tests and dry runs."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import itertools
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from shared.store.tables import BatchOp, EtagMismatch, Row, batch_chunks

# The values a table entity can hold (Azure's property types). None of them can be changed in place, so a row
# holding only these is copied with its dict alone; anything else (a test's odd value) is deep-copied, so a
# caller never shares a mutable value with the table.
_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes, dt.datetime, dt.date, uuid.UUID})


def _copy(columns: Mapping[str, Any]) -> dict[str, Any]:
    if all(type(value) in _IMMUTABLE for value in columns.values()):
        return dict(columns)
    return copy.deepcopy(dict(columns))


class BlockingCallOnLoop(AssertionError):
    """A table call made on the event loop's thread (see `shared/store/offload.py`): a bug in the caller."""


class MemoryTables:
    def __init__(self, *, off_loop_only: bool = False) -> None:
        # off_loop_only: refuse any call made on a thread running an event loop, as a real (blocking) table call
        # there would stall every coroutine of the worker; tests of async workers turn it on.
        self.off_loop_only = off_loop_only
        self.calls_on_loop: list[str] = []  # kept even if a caller swallows the error, so a test still sees it
        self._tables: dict[str, dict[tuple[str, str], tuple[dict[str, Any], str]]] = {}
        # Row keys by partition, per table: a partition query reads one partition, as in Azure (a scan of the
        # whole table would make every per-user read cost the tenant's size).
        self._partitions: dict[str, dict[str, set[str]]] = {}
        self._etags = itertools.count(1)
        self._lock = threading.Lock()
        self.operations = 0  # counted like round trips, for tests that assert efficiency

    def _check_thread(self, operation: str, table: str) -> None:
        if not self.off_loop_only:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop on this thread: a worker thread, or synchronous code
        self.calls_on_loop.append(f"{operation} {table}")
        raise BlockingCallOnLoop(f"{operation} on table {table} made on the event loop's thread; use off_loop()")

    @contextlib.contextmanager
    def refusing_calls_on_loop(self) -> Iterator[None]:
        """`off_loop_only` for the duration of the block: a test lets a worker run under it, and sets up and
        checks the tables itself outside it."""
        before, self.off_loop_only = self.off_loop_only, True
        try:
            yield
        finally:
            self.off_loop_only = before

    def _table(self, name: str) -> dict[tuple[str, str], tuple[dict[str, Any], str]]:
        return self._tables.setdefault(name, {})

    def _etag(self) -> str:
        return f'W/"{next(self._etags)}"'

    def ensure_tables(self, names: Sequence[str]) -> None:
        for name in names:
            self._table(name)

    def query(self, table: str, partition_key: str | None = None) -> Iterator[Row]:
        self._check_thread("query", table)
        with self._lock:
            self.operations += 1
            rows = self._table(table)
            if partition_key is None:
                items = sorted(rows.items())
            else:
                keys = self._partitions.get(table, {}).get(partition_key, ())
                items = sorted(((partition_key, rk), rows[(partition_key, rk)]) for rk in keys)
        for (pk, rk), (columns, etag) in items:
            yield Row(pk, rk, _copy(columns), etag)

    def _forget(self, table: str, key: tuple[str, str]) -> None:
        if self._table(table).pop(key, None) is not None:
            rows = self._partitions.get(table, {}).get(key[0])
            if rows is not None:
                rows.discard(key[1])

    def get(self, table: str, partition_key: str, row_key: str) -> Row | None:
        self._check_thread("get", table)
        with self._lock:
            self.operations += 1
            hit = self._table(table).get((partition_key, row_key))
        if hit is None:
            return None
        return Row(partition_key, row_key, _copy(hit[0]), hit[1])

    def _write(self, table: str, row: Row, merge: bool) -> str:
        key = (row.partition_key, row.row_key)
        existing = self._table(table).get(key)
        columns = dict(existing[0]) if (merge and existing) else {}
        columns.update(_copy(row.columns))
        etag = self._etag()
        self._table(table)[key] = (columns, etag)
        self._partitions.setdefault(table, {}).setdefault(key[0], set()).add(key[1])
        return etag

    def upsert(self, table: str, row: Row, *, merge: bool = False) -> str:
        self._check_thread("upsert", table)
        with self._lock:
            self.operations += 1
            return self._write(table, row, merge)

    def insert(self, table: str, row: Row) -> str:
        self._check_thread("insert", table)
        with self._lock:
            self.operations += 1
            if (row.partition_key, row.row_key) in self._table(table):
                raise EtagMismatch(f"{table} row {row.partition_key}/{row.row_key} already exists")
            return self._write(table, row, False)

    def update(self, table: str, row: Row, *, merge: bool = False) -> str:
        self._check_thread("update", table)
        with self._lock:
            self.operations += 1
            existing = self._table(table).get((row.partition_key, row.row_key))
            if existing is None or (row.etag is not None and row.etag != "*" and existing[1] != row.etag):
                raise EtagMismatch(f"{table} row {row.partition_key}/{row.row_key} changed since it was read")
            return self._write(table, row, merge)

    def delete(self, table: str, partition_key: str, row_key: str, *, etag: str | None = None) -> None:
        self._check_thread("delete", table)
        with self._lock:
            self.operations += 1
            existing = self._table(table).get((partition_key, row_key))
            if existing is None:
                return
            if etag is not None and existing[1] != etag:
                raise EtagMismatch(f"{table} row {partition_key}/{row_key} changed since it was read")
            self._forget(table, (partition_key, row_key))

    def submit(self, table: str, ops: Sequence[BatchOp]) -> None:
        self._check_thread("submit", table)
        with self._lock:
            for chunk in batch_chunks(ops):
                self.operations += 1
                # Azure transactions are atomic: one failed condition fails the whole chunk.
                for op in chunk:
                    if op.kind == "delete" and op.row.etag is not None:
                        existing = self._table(table).get((op.row.partition_key, op.row.row_key))
                        if existing is None or existing[1] != op.row.etag:
                            raise EtagMismatch(f"{table} row {op.row.partition_key}/{op.row.row_key} changed")
                for op in chunk:
                    if op.kind == "upsert":
                        self._write(table, op.row, False)
                    else:
                        self._forget(table, (op.row.partition_key, op.row.row_key))

    # Test hooks: edit as an administrator would in Storage Explorer.
    def raw_put(self, table: str, partition_key: str, row_key: str, columns: dict[str, Any]) -> None:
        with self._lock:
            self._write(table, Row(partition_key, row_key, columns), False)
