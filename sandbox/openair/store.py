"""The simulator's records: current and deleted ones per type, ids, and the clock behind `updated`.

Values are kept as seed files write them (strings, `addr` as a dict); created/updated are aware UTC
datetimes. `updated` comes from a logical clock: each change gets max(now, previous + 1 s), so it strictly
increases even for several changes within one second — one stamp per write command, shared by its objects.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.openair.schema import FIELDS, READ_ONLY, standard_fields

Record = dict[str, Any]


# Deleted records are purged 180 days after their deletion (Oracle online help, "Data Deletion",
# section_1521018146): a `deleted="1"` read no longer returns them.
PURGE_AFTER = dt.timedelta(days=180)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class StoreError(Exception):
    """A write the API refuses; `code` is the OpenAir status to answer."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Store:
    def __init__(self, data: Mapping[str, Any], *, clock: Callable[[], dt.datetime] = _utc_now) -> None:
        self.zone = ZoneInfo(str(data.get("company", {}).get("timezone") or "UTC"))
        self._clock = clock
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, Record]] = {name: {} for name in FIELDS}
        self.deleted: dict[str, dict[str, Record]] = {name: {} for name in FIELDS}
        self.custom: dict[str, set[str]] = {name: set() for name in FIELDS}
        self._last = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        self._next_id = 1
        for type_name, rows in (data.get("records") or {}).items():
            if type_name not in FIELDS:
                raise ValueError(f"seed data: unknown record type {type_name!r}")
            for row in rows:
                self._load(type_name, row)

    def _load(self, type_name: str, row: Mapping[str, Any]) -> None:
        record = copy.deepcopy(dict(row))
        record["id"] = str(record.get("id") or self._take_id())
        for name in ("created", "updated"):
            record[name] = self.parse_local(record.get(name)) or self._clock().replace(microsecond=0)
        self._last = max(self._last, record["updated"])
        self._next_id = max(self._next_id, int(record["id"]) + 1 if record["id"].isdigit() else 0)
        self.custom[type_name].update(k for k in record if k not in standard_fields(type_name))
        self.records[type_name][record["id"]] = record

    def parse_local(self, value: Any) -> dt.datetime | None:
        """A seed stamp `YYYY-MM-DD HH:MM:SS` in the company zone (or a datetime) as aware UTC."""
        if isinstance(value, dt.datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=self.zone)
            return moment.astimezone(dt.UTC)
        if not value:
            return None
        return dt.datetime.fromisoformat(str(value)).replace(tzinfo=self.zone).astimezone(dt.UTC)

    def _take_id(self) -> str:
        value = self._next_id
        self._next_id += 1
        return str(value)

    def tick(self) -> dt.datetime:
        """The next `updated` stamp: now, but always at least one second after the previous one."""
        with self.lock:
            now = self._clock().astimezone(dt.UTC).replace(microsecond=0)
            self._last = max(now, self._last + dt.timedelta(seconds=1))
            return self._last

    def get(self, type_name: str, record_id: str) -> Record:
        record = self.records[type_name].get(record_id)
        if record is None:
            raise StoreError(601, f"no {type_name} with id {record_id}")
        return record

    def check_fields(self, type_name: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Writable fields, custom `name__c` stored as `name` (a known custom field may also come plain);
        an unknown plain field is 602."""
        out: dict[str, Any] = {}
        standard = standard_fields(type_name)
        for name, value in fields.items():
            if name in READ_ONLY:
                continue
            if name.endswith("__c"):
                out[name.removesuffix("__c")] = value
            elif name in standard or name in self.custom[type_name]:
                out[name] = value
            else:
                raise StoreError(602, f"invalid field {name} for type {type_name}")
        return out

    def add(self, type_name: str, fields: Mapping[str, Any], stamp: dt.datetime | None = None) -> Record:
        with self.lock:
            values = self.check_fields(type_name, fields)
            stamp = stamp or self.tick()
            record: Record = {"id": self._take_id(), "created": stamp, "updated": stamp, **values}
            self.custom[type_name].update(k for k in values if k not in standard_fields(type_name))
            self.records[type_name][record["id"]] = record
            return record

    def modify(
        self, type_name: str, record_id: str, fields: Mapping[str, Any], stamp: dt.datetime | None = None
    ) -> Record:
        with self.lock:
            record = self.get(type_name, record_id)
            values = self.check_fields(type_name, fields)
            self.custom[type_name].update(k for k in values if k not in standard_fields(type_name))
            record.update(values)
            record["updated"] = stamp or self.tick()
            return record

    def delete(self, type_name: str, record_id: str, stamp: dt.datetime | None = None) -> Record:
        with self.lock:
            record = self.get(type_name, record_id)
            del self.records[type_name][record_id]
            record["updated"] = stamp or self.tick()  # a deleted read's newer-than compares the deletion time
            self.deleted[type_name][record_id] = record
            return record

    def purge(self) -> None:
        """Forget deleted records whose deletion (their last `updated`) is older than `PURGE_AFTER`."""
        with self.lock:
            horizon = self._clock().astimezone(dt.UTC) - PURGE_AFTER
            for pool in self.deleted.values():
                for record_id in [i for i, r in pool.items() if r["updated"] < horizon]:
                    del pool[record_id]

    def age_deletions(self, days: float, type_name: str | None = None, record_id: str | None = None) -> int:
        """Move the deletion time of deleted records (of one type, or one record) `days` into the past, as if they
        had been deleted that much earlier; returns how many moved. Past `PURGE_AFTER` they are purged."""
        with self.lock:
            moved = 0
            for name, pool in self.deleted.items():
                if type_name is not None and name != type_name:
                    continue
                for rid, record in pool.items():
                    if record_id is None or rid == record_id:
                        record["updated"] -= dt.timedelta(days=days)
                        moved += 1
            self.purge()
            return moved

    def find(self, type_name: str, name: str, value: str) -> list[Record]:
        return [r for r in self.records[type_name].values() if str(r.get(name, "")) == value]

    def rows(self, type_name: str, *, deleted: bool, include_nondeleted: bool) -> Iterable[Record]:
        """Rows in id order (stable paging), current ones and/or deleted ones."""
        pools: list[dict[str, Record]] = []
        if deleted:
            self.purge()
        if not deleted or include_nondeleted:
            pools.append(self.records[type_name])
        if deleted:
            pools.append(self.deleted[type_name])
        merged = [r for pool in pools for r in pool.values()]
        return sorted(merged, key=lambda r: (len(r["id"]), r["id"]))

    def to_json(self, record: Record) -> dict[str, Any]:
        """A record as the control API shows it: created/updated as company-zone stamps."""
        out = dict(record)
        for name in ("created", "updated"):
            out[name] = record[name].astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S")
        return out
