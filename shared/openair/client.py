"""`OpenAirClient`: paged reads (several commands per request), writes in batches of 1,000, whoami.

Every public coroutine either returns what OpenAir said or raises a typed `OpenAirError`; an unreadable
OpenAir is never reported as an empty one.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from xml.etree.ElementTree import Element

import httpx

from shared.openair.dates import company_zone, date_element, read_date
from shared.openair.errors import OpenAirError, OpenAirProtocolError, OpenAirResponseTooLarge, error_for
from shared.openair.fields import CUSTOM_SUFFIX, FieldReader
from shared.openair.models import (
    Booking,
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
from shared.openair.reads import MAX_PAGE, ReadSpec
from shared.openair.transport import MAX_RESPONSE_BYTES, Sleep, Transport, default_sleep
from shared.openair.typed import Batch, TypedRead, read_types
from shared.openair.xml import (
    Command,
    Raw,
    Reply,
    Unreadable,
    object_element,
    record_from_element,
    records,
    records_each,
)
from shared.secrets import SecretProvider
from shared.settings import OpenAirSettings

log = logging.getLogger(__name__)

WriteObject = Record | Mapping[str, Any]


@dataclass(frozen=True)
class WriteResult:
    """One written object as OpenAir returned it (id, created/updated), or its per-object error."""

    id: str | None
    created: dt.datetime | None
    updated: dt.datetime | None
    raw: Raw
    error: OpenAirError | None = None


class OpenAirClient:
    """The OpenAir XML API. Use as `async with OpenAirClient(settings, secrets) as client:`."""

    def __init__(
        self,
        settings: OpenAirSettings,
        secrets: SecretProvider,
        *,
        http: httpx.AsyncClient | None = None,
        sleep: Sleep = default_sleep,
        rng: Callable[[], float] = random.random,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.zone = company_zone(settings.company_timezone)
        self._transport = Transport(
            settings, secrets, http=http, sleep=sleep, rng=rng, max_response_bytes=max_response_bytes
        )
        # Records read with characters XML 1.0 does not allow (replaced by U+FFFD so the read went on), in order.
        self.repaired_records: list[str] = []
        # Records `read_many(lenient=True)` left out because a value in them could not be read, in order.
        self.unreadable_records: list[Unreadable] = []
        self.server_now: dt.datetime | None = None  # OpenAir's clock at the last `read_many(clock=True)`
        self.read_users = TypedRead(self, User)
        self.read_bookings = TypedRead(self, Booking)
        self.read_booking_types = TypedRead(self, BookingType)
        self.read_projects = TypedRead(self, Project)
        self.read_customers = TypedRead(self, Customer)
        self.read_project_tasks = TypedRead(self, Projecttask)
        self.read_schedule_request_items = TypedRead(self, SchedulerequestItem)
        self.read_time_types = TypedRead(self, Timetype)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this client created it."""
        await self._transport.aclose()

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far, retries included (what OpenAir counts against the account's limits)."""
        return self._transport.requests_made

    # Reads ---------------------------------------------------------------------------------------------

    async def read(self, spec: ReadSpec) -> list[Raw]:
        """Every row of one Read, paging by `spec.page_size` until a short page."""
        (rows,) = await self.read_many([spec])
        return rows

    async def read_many(
        self, specs: Sequence[ReadSpec], *, clock: bool = False, lenient: bool = False
    ) -> list[list[Raw]]:
        """Several Reads in one HTTP request per round; later rounds carry only the Reads whose page was full.

        With `clock`, the first request also asks OpenAir the time (`Time`), kept in `server_now`. With `lenient`,
        a record holding a value that cannot be read (an impossible `<Date>`) is left out and named in
        `unreadable_records` instead of failing the read; a response that is not XML, or whose envelope or status
        is wrong, still fails it."""
        results: list[list[Raw]] = [[] for _ in specs]
        offsets = [0] * len(specs)
        pending = list(range(len(specs)))
        while pending:
            commands = [specs[i].command(offsets[i], self.zone) for i in pending]
            if clock:
                commands.append(Command(Element("Time"), "Time"))
            replies = await self._send_reads(commands)
            if clock:
                self.server_now = _server_time(replies.pop())
                clock = False
            still: list[int] = []
            for i, reply in zip(pending, replies, strict=True):
                self._note_repairs(reply)
                rows, bad = _read_rows_each(reply, specs[i]) if lenient else (_read_rows(reply, specs[i]), [])
                results[i].extend(rows)
                for record in bad:
                    log.warning("OpenAir record cannot be read; left out", extra={"record": str(record)})
                self.unreadable_records.extend(bad)
                if len(rows) + len(bad) >= specs[i].page_size:  # a full page, counting what could not be read
                    offsets[i] += specs[i].page_size
                    still.append(i)
            pending = still
        return results

    def _note_repairs(self, reply: Reply) -> None:
        for record in reply.repaired:
            log.warning("OpenAir record holds characters XML does not allow; read with U+FFFD in their place",
                        extra={"record": record})  # fmt: skip
            self.repaired_records.append(
                f"OpenAir {record}: holds characters XML 1.0 does not allow (control characters); they were replaced "
                "by U+FFFD and the record was read; correct the text in OpenAir"
            )

    async def _send_reads(self, commands: Sequence[Command]) -> list[Reply]:
        """The replies to these Reads, in halves (and halves of those) when the whole answer is over the size cap."""
        if self._transport.token_auth:
            # Under an OAuth token OpenAir reads from the token's filter-set cache, which lacks every object created
            # after the token was issued (Oracle, "Filter Set Cache Refresh"): new bookings would be missed for good
            # once the watermark passes them. One refresh per request, on its first Read, serves the Reads after
            # it; more would only slow OpenAir down.
            commands[0].element.set("clear_filter_cache", "1")
        try:
            return await self._transport.send(commands)
        except OpenAirResponseTooLarge:
            if len(commands) == 1:
                raise
            half = len(commands) // 2
            return [*await self._send_reads(commands[:half]), *await self._send_reads(commands[half:])]

    async def read_types(
        self,
        models: Sequence[type[Record]],
        *,
        since: dt.datetime | Mapping[str, dt.datetime | None] | None = None,
        deleted: bool = False,
        user_id: str | None = None,
    ) -> Batch:
        """Several record types (plus their deletions when `deleted`) in one request per page round."""
        return await read_types(self, models, since=since, deleted=deleted, user_id=user_id)

    async def server_time(self) -> dt.datetime:
        """OpenAir's clock (`Time`): wall-clock time in the zone it stamps in (aware when it gives an offset)."""
        (reply,) = await self._transport.send([Command(Element("Time"), "Time")])
        self.server_now = _server_time(reply)
        return self.server_now

    async def requests_left_today(self) -> int | None:
        """Requests left in the account's 24-hour window (`Read type="RateLimit"`, Oracle article_76114759800;
        the read itself costs one). None when OpenAir reports no number."""
        spec = ReadSpec(type="RateLimit", page_size=1, enable_custom=False)
        (reply,) = await self._transport.send([spec.command(0, self.zone)])  # one object: no paging
        rows = _read_rows(reply, spec)
        text = str(rows[0].get("remain_24h_error") or "").strip() if rows else ""
        if not text:
            return None
        if not text.isdigit():
            raise OpenAirProtocolError(0, "Read RateLimit", f"remain_24h_error is {text!r}, not a number")
        return int(text)

    async def whoami(self) -> User:
        """The API user itself (admin checks: credentials, key and namespace all work)."""
        (reply,) = await self._transport.send([Command(Element("Whoami"), "Whoami")])
        _raise_for(reply, "Whoami")
        rows = records(reply.element, "User", "Whoami")
        if not rows:
            raise OpenAirProtocolError(0, "Whoami", "response holds no <User>")
        return User.from_raw(rows[0], self.zone)

    # Writes --------------------------------------------------------------------------------------------

    async def add(self, type_name: str, objects: Sequence[WriteObject], lookup: str | None = None) -> list[WriteResult]:
        """Create objects (ids assigned by OpenAir). With `lookup="externalid"` an object whose externalid
        matches one record updates it instead, which makes a retried Add safe."""
        attributes = {"type": type_name}
        if lookup:
            attributes["lookup"] = lookup
        fields = [_fields(o, include_id=False) for o in objects]
        return await self._write("Add", type_name, attributes, fields, idempotent=bool(lookup))

    async def modify(self, type_name: str, objects: Sequence[WriteObject]) -> list[WriteResult]:
        """Change the given fields of existing objects (each needs its `id`)."""
        fields = [_fields(o, include_id=True) for o in objects]
        for f in fields:
            if not str(f.get("id") or ""):
                raise ValueError(f"Modify {type_name}: every object needs an id")
        return await self._write("Modify", type_name, {"type": type_name}, fields, idempotent=True)

    async def modify_on_condition(
        self, type_name: str, obj: WriteObject, not_updated_since: dt.datetime
    ) -> WriteResult:
        """Modify only if the record was not updated after `not_updated_since` (else OpenAirConditionFailed)."""
        if not_updated_since.tzinfo is None:
            raise ValueError("not_updated_since must be an aware datetime")
        element = Element("ModifyOnCondition", {"type": type_name, "condition": "if-not-updated"})
        fields = _fields(obj, include_id=True)
        _mark_custom(element, [fields])
        element.append(object_element(type_name, fields, zone=self.zone))
        date_element(element, not_updated_since, zone=self.zone)
        label = f"ModifyOnCondition {type_name}"
        (reply,) = await self._transport.send([Command(element, label)])
        return self._results(reply, type_name, label)[0]

    async def delete(self, type_name: str, ids: Sequence[str]) -> list[WriteResult]:
        """Delete records by id (they then show up in `deleted="1"` reads)."""
        return await self._write("Delete", type_name, {"type": type_name}, [{"id": i} for i in ids], idempotent=True)

    async def _write(
        self,
        verb: str,
        type_name: str,
        attributes: dict[str, str],
        objects: Sequence[Mapping[str, Any]],
        *,
        idempotent: bool,
    ) -> list[WriteResult]:
        label = f"{verb} {type_name}"
        out: list[WriteResult] = []
        for start in range(0, len(objects), MAX_PAGE):
            batch = objects[start : start + MAX_PAGE]
            element = Element(verb, attributes)
            _mark_custom(element, batch)
            for fields in batch:
                element.append(object_element(type_name, fields, zone=self.zone))
            (reply,) = await self._transport.send([Command(element, label)], idempotent=idempotent)
            out.extend(self._results(reply, type_name, label))
        return out

    def _results(self, reply: Reply, type_name: str, label: str) -> list[WriteResult]:
        _raise_for(reply, label)
        out: list[WriteResult] = []
        for child in reply.element:
            if child.tag != type_name:
                continue
            raw = record_from_element(child, label)
            f = FieldReader(type_name, raw, self.zone)
            status = int(child.get("status") or "0")
            error = error_for(status, label, " ".join(child.itertext()).strip()) if status else None
            out.append(WriteResult(f.text("id"), f.instant("created"), f.instant("updated"), raw, error))
        return out


def _read_rows(reply: Reply, spec: ReadSpec) -> list[Raw]:
    if reply.status == 601:  # "no results": an empty page, not an error
        return []
    _raise_for(reply, spec.label)
    return records(reply.element, spec.type, spec.label)


def _read_rows_each(reply: Reply, spec: ReadSpec) -> tuple[list[Raw], list[Unreadable]]:
    if reply.status == 601:
        return [], []
    _raise_for(reply, spec.label)
    return records_each(reply.element, spec.type, spec.label, deleted=spec.deleted)


def _server_time(reply: Reply) -> dt.datetime:
    """OpenAir's clock from a `Time` reply: wall-clock time (aware when an offset is given)."""
    _raise_for(reply, "Time")
    date = reply.element.find("Date")
    value = read_date(date) if date is not None else None
    if not isinstance(value, dt.datetime):
        raise OpenAirProtocolError(0, "Time", "reply holds no date and time")
    return value


def _raise_for(reply: Reply, label: str) -> None:
    if reply.status != 0:
        raise error_for(reply.status, label, reply.text())


def _fields(obj: WriteObject, *, include_id: bool) -> dict[str, Any]:
    if isinstance(obj, Record):
        return obj.to_fields(include_id=include_id)
    return dict(obj)


def _mark_custom(element: Element, objects: Sequence[Mapping[str, Any]]) -> None:
    # Custom fields are only accepted on writes that ask for them.
    if any(str(k).endswith(CUSTOM_SUFFIX) for o in objects for k in o):
        element.set("enable_custom", "1")


__all__ = ["DeletedRecord", "OpenAirClient", "ReadSpec", "WriteResult"]
