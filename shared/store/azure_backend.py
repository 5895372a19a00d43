"""Azure Table Storage (and Azurite) behind the store's table interface, on azure-data-tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableServiceClient, UpdateMode

from shared.store.tables import BatchOp, EtagMismatch, Row, StoreError, batch_chunks

_SYSTEM = {"PartitionKey", "RowKey", "Timestamp", "etag"}


def _columns(entity: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in entity.items():
        if key in _SYSTEM:
            continue
        # azure-data-tables returns Edm.Int64 as EntityProperty and datetimes as a TablesEntityDatetime subclass.
        if hasattr(value, "edm_type") and hasattr(value, "value"):
            value = value.value
        if isinstance(value, dt.datetime):
            value = dt.datetime.fromtimestamp(value.timestamp(), tz=dt.UTC) if value.tzinfo else value
        out[key] = value
    return out


def _entity(row: Row) -> dict[str, Any]:
    return {"PartitionKey": row.partition_key, "RowKey": row.row_key, **row.columns}


class AzureTables:
    """Tables in one storage account. The service client is thread-safe and long-lived."""

    def __init__(self, service: TableServiceClient) -> None:
        self._service = service
        self.operations = 0

    @classmethod
    def from_connection_string(cls, connection_string: str) -> AzureTables:
        return cls(TableServiceClient.from_connection_string(connection_string))

    @classmethod
    def from_endpoint(cls, endpoint: str, credential: Any) -> AzureTables:
        return cls(TableServiceClient(endpoint=endpoint, credential=credential))

    def _client(self, table: str) -> Any:
        return self._service.get_table_client(table)

    def ensure_tables(self, names: Sequence[str]) -> None:
        for name in names:
            try:
                self._service.create_table_if_not_exists(name)
            except AzureError as exc:
                raise StoreError(f"Could not create table {name}: {exc}") from exc

    def query(self, table: str, partition_key: str | None = None) -> Iterator[Row]:
        self.operations += 1
        client = self._client(table)
        try:
            if partition_key is None:
                entities = client.list_entities()
            else:
                entities = client.query_entities(
                    "PartitionKey eq @pk", parameters={"pk": partition_key}
                )  # property on the left: the form both Azure and Azurite accept
            for entity in entities:
                yield Row(entity["PartitionKey"], entity["RowKey"], _columns(entity), entity.metadata.get("etag"))
        except ResourceNotFoundError:
            return
        except AzureError as exc:
            raise StoreError(f"Could not read table {table}: {exc}") from exc

    def get(self, table: str, partition_key: str, row_key: str) -> Row | None:
        self.operations += 1
        try:
            entity = self._client(table).get_entity(partition_key, row_key)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise StoreError(f"Could not read {table} row {partition_key}/{row_key}: {exc}") from exc
        return Row(partition_key, row_key, _columns(entity), entity.metadata.get("etag"))

    def upsert(self, table: str, row: Row, *, merge: bool = False) -> str:
        self.operations += 1
        mode = UpdateMode.MERGE if merge else UpdateMode.REPLACE
        try:
            meta = self._client(table).upsert_entity(_entity(row), mode=mode)
        except AzureError as exc:
            raise StoreError(f"Could not write {table} row {row.partition_key}/{row.row_key}: {exc}") from exc
        return str(meta.get("etag", ""))

    def insert(self, table: str, row: Row) -> str:
        self.operations += 1
        try:
            meta = self._client(table).create_entity(_entity(row))
        except ResourceExistsError as exc:
            raise EtagMismatch(f"{table} row {row.partition_key}/{row.row_key} already exists") from exc
        except AzureError as exc:
            raise StoreError(f"Could not write {table} row {row.partition_key}/{row.row_key}: {exc}") from exc
        return str(meta.get("etag", ""))

    def update(self, table: str, row: Row, *, merge: bool = False) -> str:
        self.operations += 1
        mode = UpdateMode.MERGE if merge else UpdateMode.REPLACE
        try:
            meta = self._client(table).update_entity(
                _entity(row), mode=mode, etag=row.etag, match_condition=MatchConditions.IfNotModified
            )
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise EtagMismatch(f"{table} row {row.partition_key}/{row.row_key} changed since it was read") from exc
        except HttpResponseError as exc:
            if exc.status_code == 412:
                raise EtagMismatch(f"{table} row {row.partition_key}/{row.row_key} changed since it was read") from exc
            raise StoreError(f"Could not write {table} row {row.partition_key}/{row.row_key}: {exc}") from exc
        return str(meta.get("etag", ""))

    def delete(self, table: str, partition_key: str, row_key: str, *, etag: str | None = None) -> None:
        self.operations += 1
        client = self._client(table)
        try:
            if etag is None:
                client.delete_entity(partition_key, row_key)
            else:
                client.delete_entity(partition_key, row_key, etag=etag, match_condition=MatchConditions.IfNotModified)
        except ResourceNotFoundError:
            return
        except ResourceModifiedError as exc:
            raise EtagMismatch(f"{table} row {partition_key}/{row_key} changed since it was read") from exc
        except HttpResponseError as exc:
            if exc.status_code == 412:
                raise EtagMismatch(f"{table} row {partition_key}/{row_key} changed since it was read") from exc
            raise StoreError(f"Could not delete {table} row {partition_key}/{row_key}: {exc}") from exc

    def submit(self, table: str, ops: Sequence[BatchOp]) -> None:
        client = self._client(table)
        for chunk in batch_chunks(ops):
            self.operations += 1
            operations: list[Any] = []
            for op in chunk:
                if op.kind == "upsert":
                    operations.append(("upsert", _entity(op.row), {"mode": UpdateMode.REPLACE}))
                elif op.row.etag is not None:
                    operations.append((
                        "delete",
                        {"PartitionKey": op.row.partition_key, "RowKey": op.row.row_key},
                        {"etag": op.row.etag, "match_condition": MatchConditions.IfNotModified},
                    ))  # fmt: skip
                else:
                    operations.append(("delete", {"PartitionKey": op.row.partition_key, "RowKey": op.row.row_key}))
            try:
                client.submit_transaction(operations)
            except AzureError as exc:
                if any(op.kind == "delete" and op.row.etag is not None for op in chunk):
                    # A condition failed somewhere in the transaction (atomic): the caller sorts it out row by row.
                    raise EtagMismatch(f"a conditional delete in a batch to {table} did not match") from exc
                # A delete of a missing row fails the whole transaction; fall back to one call per row.
                if any(op.kind == "delete" for op in chunk):
                    for op in chunk:
                        if op.kind == "delete":
                            self.delete(table, op.row.partition_key, op.row.row_key)
                        else:
                            self.upsert(table, op.row)
                    continue
                raise StoreError(f"Could not write a batch to {table}: {exc}") from exc
