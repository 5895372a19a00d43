"""The OpenAir form script's push: what it sends, how it is signed, and how a request is judged.

Wire format (what `form_script/after_save.js` posts after a save, and what the simulator's form-script hook posts):

    POST /api/openair/changed
    Content-Type: application/json
    x-functions-key: <function key>
    X-OpenAir-Signature: sha256=<hex HMAC-SHA256 of the raw body, key = OPENAIR_PUSH_SECRET (UTF-8)>

    {"type":"Booking","id":"123","user_id":"45","timestamp":1764590400,
     "refers_to":{"Projecttask":"9","Project":"3","Customer":"7"}}

`type` is the OpenAir XML API type name of the saved record (`Booking`, `Projecttaskassign`, `Schedulerequest`);
`user_id` is the record's `userid` as the form saw it; `timestamp` is Unix seconds at the save; `refers_to`
(optional: scripts before it, and records naming none, leave it out) the task, project and customer ids the
record names. The body is a hint: the worker re-reads the record from OpenAir and never uses these values as
data (`refers_to` only chooses which reads ride in the record's request, so a user's first save is one request).
The timestamp is inside the signed body, so it cannot be changed without the secret; a replay inside the
freshness window only causes one more (idempotent) export of that record.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import SyncError
from shared.kinds import KIND_OF_TYPE, RecordKind

SIGNATURE_HEADER = "X-OpenAir-Signature"
SIGNATURE_PREFIX = "sha256="
MAX_BODY_BYTES = 4096  # the script sends ~100 bytes; anything large is not ours

# What a record may refer to, by XML API type name (`refers_to`): the reads that complete its rendering.
ReferenceType = Literal["Projecttask", "Project", "Customer"]


class PushRefused(SyncError):
    """A push that will never be accepted as sent: answered with `status` and this message, nothing enqueued."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ChangeNotice(BaseModel):
    """The body of one push, as the form script sends it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    type: str
    # OpenAir internal ids are numbers; the pattern also keeps the id safe as part of a table key.
    id: str = Field(pattern=r"^[0-9]{1,18}$")
    user_id: str = Field(default="", pattern=r"^[0-9]{0,18}$")
    timestamp: int = Field(ge=0)
    refers_to: dict[ReferenceType, Annotated[str, Field(pattern=r"^[0-9]{1,18}$")]] = Field(default_factory=dict)

    @property
    def kind(self) -> RecordKind:
        # Wire names are the XML API's type names (`KindSpec.openair_type`), as the administrator sees them in
        # OpenAir's API and logs.
        return KIND_OF_TYPE[self.type]


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notice_body(
    type_name: str, record_id: str, user_id: str, timestamp: int, refers_to: Mapping[str, str] | None = None
) -> bytes:
    """The body exactly as the script's `JSON.stringify` writes it (key order, no spaces)."""
    document: dict[str, object] = {"type": type_name, "id": record_id, "user_id": user_id, "timestamp": timestamp}
    if refers_to:
        document["refers_to"] = dict(refers_to)
    return json.dumps(document, separators=(",", ":")).encode()


def verify_push(
    body: bytes, signature: str | None, *, secret: str, now: dt.datetime, max_age_seconds: int
) -> ChangeNotice:
    """The notice if `body` is signed with `secret`, well formed, of a known type and fresh; PushRefused otherwise.

    The signature is checked first (constant time), so nothing about an unsigned body is parsed or echoed back.
    """
    if len(body) > MAX_BODY_BYTES:
        raise PushRefused(413, f"body is {len(body)} bytes; a change notice is at most {MAX_BODY_BYTES}")
    if not signature:
        raise PushRefused(401, f"missing {SIGNATURE_HEADER} header (sha256=<hex HMAC-SHA256 of the body>)")
    if not hmac.compare_digest(sign(secret, body).encode(), signature.strip().lower().encode()):
        raise PushRefused(
            401, f"{SIGNATURE_HEADER} does not match the body; check that the script's PushSecret parameter "
            "equals the product's OPENAIR_PUSH_SECRET"
        )  # fmt: skip
    try:
        notice = ChangeNotice.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise PushRefused(400, f"malformed change notice: {where}: {first['msg']}") from None
    if notice.type not in KIND_OF_TYPE:
        raise PushRefused(422, f"unknown record type {notice.type!r}; expected one of {', '.join(KIND_OF_TYPE)}")
    age = now.timestamp() - notice.timestamp
    if abs(age) > max_age_seconds:
        raise PushRefused(
            401, f"timestamp is {int(age)} s from now (allowed ±{max_age_seconds} s): a replay, or a clock to fix"
        )
    return notice


R = TypeVar("R")
W = TypeVar("W")
# One pass over saves: a result or an exception per save, in the order given.
Pass = Callable[[list[W]], Awaitable[Sequence[R | Exception]]]


class PendingSaves:
    """The saves this worker process holds, grouped (by user), applied together: a pass takes every save of its
    group waiting when it starts, and a save waits for the first pass that starts after it arrived.

    Ten saves of one user in the queue are then one OpenAir read and one mailbox write, not ten: the host hands a
    batch of messages to one worker at once, and the first pass waits `gather_seconds` for the batch to arrive
    before it starts. One pass at a time per group, so the next pass sees what the previous one wrote. Each save
    gets its own result, or the exception its pass raised (then the queue retries that message: nothing is lost,
    and a repeated save is one more idempotent export). Saves held by other processes or instances are applied by
    their own passes; the outbox and the mailbox lease keep those from writing an event twice.
    """

    def __init__(self, *, gather_seconds: float = 0.05) -> None:
        self.gather_seconds = gather_seconds
        # Per event loop (futures belong to one loop), per group: the saves waiting for the next pass.
        self._waiting: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[Hashable, list[tuple[Any, asyncio.Future[Any]]]]
        ] = weakref.WeakKeyDictionary()
        self._running: set[asyncio.Task[None]] = set()

    async def apply(self, group: Hashable, work: W, run_pass: Pass[W, R]) -> R:
        """`work`'s result from the pass that applied it (`run_pass` runs the pass; one of the saves' is used)."""
        loop = asyncio.get_running_loop()
        groups = self._waiting.setdefault(loop, {})
        future: asyncio.Future[R] = loop.create_future()
        if group in groups:
            groups[group].append((work, future))
        else:
            groups[group] = [(work, future)]
            task = loop.create_task(self._passes(groups, group, run_pass))
            self._running.add(task)  # the loop holds tasks weakly
            task.add_done_callback(self._running.discard)
        return await future

    async def _passes(
        self, groups: dict[Hashable, list[tuple[Any, asyncio.Future[Any]]]], group: Hashable, run_pass: Pass[Any, R]
    ) -> None:
        batch: list[tuple[Any, asyncio.Future[Any]]] = []
        try:
            await asyncio.sleep(self.gather_seconds)
            while groups[group]:
                batch, groups[group] = groups[group], []
                try:
                    results: Sequence[R | Exception] = await run_pass([work for work, _ in batch])
                except Exception as exc:  # the pass as a whole failed: every save in it is retried
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():  # its invocation was cancelled (timeout); the pass still applied it
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            # Left undone only when this task itself was cancelled (shutdown): their invocations end with it.
            for _, future in [*batch, *groups.pop(group, [])]:
                if not future.done():
                    future.cancel()


class AppliedSaves:
    """Which records this worker's passes read and applied, and when: the import's rule "a pass that started after
    this message arrived already covers it", for saves.

    A pass reads, besides its own saves' records, its user's records updated in the last minutes (saves whose
    messages are still in the queue) and applies them too. A message whose record such a pass read after the
    message arrived is then already in the mailbox: it completes without a pass of its own. Only this process's
    passes count (memory, bounded); a message another instance holds runs its pass as before, and the outbox and
    the lease keep that from writing twice. `margin_seconds` absorbs clock differences between the instance that
    accepted the push and this one.
    """

    def __init__(self, *, margin_seconds: float = 1.0, max_records: int = 50_000) -> None:
        self.margin_seconds = margin_seconds
        self.max_records = max_records
        # record key -> (Unix seconds the pass's read started, the record's `updated` as that read saw it)
        self._applied: OrderedDict[str, tuple[float, dt.datetime | None]] = OrderedDict()

    def applied(self, key: str, read_at: float, updated: dt.datetime | None) -> None:
        known = self._applied.get(key)
        if known is not None and known[0] >= read_at:
            return  # a later pass already recorded it
        self._applied[key] = (read_at, updated)
        self._applied.move_to_end(key)
        while len(self._applied) > self.max_records:
            self._applied.popitem(last=False)

    def covers(self, key: str, received_at: float) -> bool:
        """True when a pass that read `key` started after a push received at `received_at` (Unix seconds)."""
        known = self._applied.get(key)
        return known is not None and received_at > 0 and known[0] > received_at + self.margin_seconds

    def unchanged(self, key: str, updated: dt.datetime | None) -> bool:
        """True when a pass already applied this record as last updated at `updated`: nothing new to plan."""
        known = self._applied.get(key)
        return known is not None and updated is not None and known[1] == updated
