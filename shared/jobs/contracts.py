"""The queues and their messages: every name and every message shape the functions exchange, in one place.

Messages carry keys only (user id, mailbox id, run id, record id), never payloads: the outbox table holds the
work, and a message stays far below the 64 KB queue limit whatever a user's backlog is. A message that can be
read but is not one of these raises `BadMessage`, which the workers treat as final (poisoned at once, no retry).

Standard library only at import: the Graph webhook writes import messages from here on a cold start and must
answer within Graph's 3 s (pydantic is imported by `decode`, which only the queue workers call).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from shared.errors import BadMessage
from shared.kinds import RecordKind

if TYPE_CHECKING:
    from pydantic import TypeAdapter

EXPORT_QUEUE = "export-mailbox"  # export one user's outbox to their mailbox (the export timer fans out here)
EXPORT_RECORD_QUEUE = "export-record"  # export one record now (the OpenAir push)
IMPORT_QUEUE = "import-mailbox"  # one delta pass of one mailbox into OpenAir (notifications, timers)
OPERATIONS_QUEUE = "manage-operations"  # long admin operations: 202 now, the result later in Runs
POISON_SUFFIX = "-poison"  # the host moves a message here after maxDequeueCount failed attempts (host.json)

_RECORD_ID = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class ExportWork:
    """`export-mailbox`: export this user's outbox to their mailbox."""

    about: ClassVar[str] = "an export"
    user_id: str
    mailbox_id: str = ""
    run_id: str = ""


@dataclass(frozen=True)
class RecordWork:
    """`export-record`: export this record now."""

    about: ClassVar[str] = "an export-record"
    kind: RecordKind
    record_id: str
    user_hint: str = ""  # what the form said; the worker trusts only what it re-reads from OpenAir
    received_at: float = 0.0  # Unix seconds when the endpoint accepted it (latency figures)
    # What the form said the record names ({"Project": "3", ...}): reads to put in the record's request, no more.
    refers_to: dict[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _RECORD_ID.fullmatch(self.record_id):
            raise ValueError(f"record_id {self.record_id[:40]!r} is not an OpenAir id (1 to 18 digits)")


@dataclass(frozen=True)
class ImportWork:
    """`import-mailbox`: run an import pass for this user's mailbox."""

    about: ClassVar[str] = "an import"
    user_id: str
    mailbox_id: str = ""
    reason: str = "notification"  # notification, reconcile, subscribed, resumed, or a lifecycle event
    subscription_id: str = ""
    received_at: dt.datetime | None = None  # when the notification arrived (the import's latency)


@dataclass(frozen=True)
class OperationMessage:
    """`manage-operations`: run this admin handler with this body on behalf of this actor."""

    about: ClassVar[str] = "an admin operation"
    operation_id: str
    handler: str
    queued: dt.datetime
    body: str = ""
    actor: str = ""


Message = ExportWork | RecordWork | ImportWork | OperationMessage


class _Message(Protocol):
    about: ClassVar[str]  # how the message is named in a BadMessage
    __dataclass_fields__: ClassVar[dict[str, Any]]


M = TypeVar("M", bound=_Message)


def encode(message: _Message) -> str:
    """The queue text of a message: compact JSON, every field, times in ISO 8601."""
    return json.dumps(dataclasses.asdict(message), separators=(",", ":"), default=_iso)


def decode(message_type: type[M], body: bytes | str) -> M:
    """The message in `body`; BadMessage when it is not one (a retry could never succeed)."""
    from pydantic import ValidationError

    try:
        message: M = _adapter(message_type).validate_json(body)
    except ValidationError as exc:
        raise BadMessage(f"not {message_type.about} message: {exc.errors(include_url=False)[:1]}") from None
    return message


def user_of(body: bytes | str) -> str:
    """Whom a message is about, read leniently: a poisoned message is recorded under its user when it has one."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # a hostile body must not stop the poison record
        return ""
    return str(value.get("user_id", "")) if isinstance(value, dict) else ""


@functools.cache
def _adapter(message_type: type[Any]) -> TypeAdapter[Any]:
    from pydantic import TypeAdapter

    return TypeAdapter(message_type)


def _iso(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a queue message value")
