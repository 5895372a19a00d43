"""The in-memory twin and Azure Table Storage (Azurite) behave alike: the same test runs on both."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.azurite import Azurite
from shared.store.azure_backend import AzureTables
from shared.store.tables import BatchOp, EtagMismatch, Row, TableBackend
from twins.tables import MemoryTables


@pytest.fixture(params=["memory", "azurite"])
def backend(request: pytest.FixtureRequest) -> Iterator[TableBackend]:
    if request.param == "memory":
        yield MemoryTables()
    else:
        service: Azurite = request.getfixturevalue("azurite_service")
        yield AzureTables.from_connection_string(service.connection_string)


@pytest.fixture
def table(backend: TableBackend) -> str:
    name = "t" + uuid.uuid4().hex[:12]
    backend.ensure_tables([name])
    return name


def test_types_round_trip(backend: TableBackend, table: str) -> None:
    when = dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)
    backend.upsert(table, Row("p", "r", {"flag": True, "count": 3, "text": "x", "when": when, "ratio": 0.5}))
    row = backend.get(table, "p", "r")
    assert row is not None
    assert row.columns["flag"] is True
    assert row.columns["count"] == 3
    assert row.columns["text"] == "x"
    assert row.columns["when"] == when
    assert row.columns["ratio"] == 0.5
    assert row.etag


def test_etags_guard_concurrent_writers(backend: TableBackend, table: str) -> None:
    backend.insert(table, Row("p", "r", {"v": 1}))
    with pytest.raises(EtagMismatch):
        backend.insert(table, Row("p", "r", {"v": 2}))
    first = backend.get(table, "p", "r")
    assert first is not None
    backend.update(table, Row("p", "r", {"v": 2}, first.etag))
    with pytest.raises(EtagMismatch):
        backend.update(table, Row("p", "r", {"v": 3}, first.etag))  # stale ETag
    with pytest.raises(EtagMismatch):
        backend.delete(table, "p", "r", etag=first.etag)
    current = backend.get(table, "p", "r")
    assert current is not None
    assert current.columns["v"] == 2
    backend.delete(table, "p", "r", etag=current.etag)
    assert backend.get(table, "p", "r") is None
    backend.delete(table, "p", "r")  # already gone: not an error


def test_merge_keeps_other_columns(backend: TableBackend, table: str) -> None:
    backend.upsert(table, Row("p", "r", {"Mailbox": "a@contoso.com", "ExportBookings": True}))
    backend.upsert(table, Row("p", "r", {"LastError": "boom"}), merge=True)
    row = backend.get(table, "p", "r")
    assert row is not None
    assert row.columns == {"Mailbox": "a@contoso.com", "ExportBookings": True, "LastError": "boom"}


def test_batches_split_by_partition_and_size_and_queries_filter_by_partition(backend: TableBackend, table: str) -> None:
    ops = [BatchOp("upsert", Row(f"p{i % 2}", f"r{i:03d}", {"i": i})) for i in range(230)]
    backend.submit(table, ops)
    assert len(list(backend.query(table))) == 230
    assert {r.row_key for r in backend.query(table, "p1")} == {f"r{i:03d}" for i in range(1, 230, 2)}
    backend.submit(
        table,
        [BatchOp("delete", Row("p0", f"r{i:03d}")) for i in range(0, 230, 2)]
        + [BatchOp("delete", Row("p0", "never-existed"))],
    )
    assert list(backend.query(table, "p0")) == []
    assert len(list(backend.query(table, "p1"))) == 115


def test_a_missing_table_reads_as_empty(backend: TableBackend) -> None:
    assert list(backend.query("nosuchtable" + uuid.uuid4().hex[:6])) == []


def test_conditional_deletes_in_a_batch_are_atomic(backend: TableBackend, table: str) -> None:
    etags = [backend.upsert(table, Row("p", f"r{i}", {"v": i})) for i in range(3)]
    backend.upsert(table, Row("p", "r1", {"v": 10}))  # r1 changed since we read it
    with pytest.raises(EtagMismatch):
        backend.submit(table, [BatchOp("delete", Row("p", f"r{i}", {}, etags[i])) for i in range(3)])
    assert len(list(backend.query(table, "p"))) == 3  # nothing was deleted
    backend.submit(table, [BatchOp("delete", Row("p", f"r{i}", {}, etags[i])) for i in (0, 2)])
    assert [r.row_key for r in backend.query(table, "p")] == ["r1"]


def test_rows_read_or_written_share_no_value_with_the_table(backend: TableBackend, table: str) -> None:
    """A caller that edits what it wrote or read changes nothing stored (the twin copies a row of scalars with its
    dict alone, anything else deeply)."""
    columns = {"Name": "a", "When": dt.datetime(2026, 1, 2, tzinfo=dt.UTC), "Count": 1}
    backend.upsert(table, Row("p", "r", columns))
    columns["Name"] = "changed after writing"
    read = stored(backend, table)
    assert isinstance(read, dict)
    read["Count"] = 99
    assert stored(backend, table) == {"Name": "a", "When": dt.datetime(2026, 1, 2, tzinfo=dt.UTC), "Count": 1}
    assert next(iter(backend.query(table, "p"))).columns["Count"] == 1


def test_the_twin_deep_copies_a_value_that_can_change_in_place() -> None:
    tables = MemoryTables()
    tags = ["x"]
    tables.upsert("T", Row("p", "r", {"Tags": tags}))
    tags.append("y")
    stored(tables, "T")["Tags"].append("z")
    assert stored(tables, "T")["Tags"] == ["x"]


def stored(backend: TableBackend, table: str) -> Any:
    row = backend.get(table, "p", "r")
    assert row is not None
    return row.columns
