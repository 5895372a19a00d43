"""The simulator's state: tenant users, each mailbox's events, sent mail, and who to tell about changes.

One re-entrant lock guards all of it; HTTP handler threads, batch workers and the control API share it.
Events are stored as the user set them (local wall-clock time plus the zone name they gave), because that is
what Exchange keeps and what makes DST and all-day behaviour come out right.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Real Exchange ids start with AAMk (bytes 00 03 24); the fourth byte tells us what the id names.
_ID_PREFIX = b"\x00\x03\x24"
_MASTER, _OCCURRENCE = b"\x00", b"\x01"


def new_change_key() -> str:
    return base64.b64encode(secrets.token_bytes(22)).decode()


def new_event_id(mailbox: str) -> str:
    """A long opaque id shaped like Graph's (`AAMkAG...=`), unique per event."""
    try:
        mailbox_bytes = uuid.UUID(mailbox).bytes
    except ValueError:
        mailbox_bytes = uuid.uuid5(uuid.NAMESPACE_OID, mailbox).bytes
    raw = _ID_PREFIX + _MASTER + mailbox_bytes + b"\x46\x00" + secrets.token_bytes(78)
    return base64.urlsafe_b64encode(raw).decode()


def occurrence_id(master_id: str, original_start: dt.datetime) -> str:
    """Deterministic id of one occurrence: the master id and the original start, as Exchange derives it."""
    raw = base64.urlsafe_b64decode(master_id)
    stamp = int(original_start.timestamp()).to_bytes(8, "big")
    return base64.urlsafe_b64encode(_ID_PREFIX + _OCCURRENCE + raw[4:] + b"\x07" + stamp).decode()


def split_occurrence_id(event_id: str) -> tuple[str, dt.datetime] | None:
    """(master id, original start in UTC) for an occurrence id; None for any other id."""
    try:
        raw = base64.urlsafe_b64decode(event_id.encode())
    except (ValueError, TypeError):
        return None
    if not raw.startswith(_ID_PREFIX + _OCCURRENCE) or len(raw) < 14 or raw[-9:-8] != b"\x07":
        return None
    master = base64.urlsafe_b64encode(_ID_PREFIX + _MASTER + raw[4:-9]).decode()
    start = dt.datetime.fromtimestamp(int.from_bytes(raw[-8:], "big"), dt.UTC)
    return master, start


def looks_like_event_id(event_id: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(event_id.encode())
    except (ValueError, TypeError):
        return False
    return raw.startswith(_ID_PREFIX) and len(raw) > 20


@dataclass
class StoredEvent:
    """One event as Exchange keeps it. Occurrences are computed copies of their master (see recurrence.py)."""

    id: str
    mailbox: str
    props: dict[str, Any]
    start_local: dt.datetime
    start_zone: str
    end_local: dt.datetime
    end_zone: str
    created: dt.datetime
    modified: dt.datetime
    change_key: str
    ical_uid: str
    type: str = "singleInstance"
    # normalised property id -> (id as the client spelled it, value)
    extended: dict[str, tuple[str, str]] = field(default_factory=dict)
    series_master_id: str | None = None
    original_start: dt.datetime | None = None  # UTC, occurrences and exceptions only
    # Series masters only: exceptions and cancelled occurrences, keyed by the original start (UTC).
    exceptions: dict[dt.datetime, StoredEvent] = field(default_factory=dict)
    cancelled: set[dt.datetime] = field(default_factory=set)

    def clone(self) -> StoredEvent:
        return copy.deepcopy(self)


@dataclass(frozen=True)
class Change:
    """What subscriptions hear about: one created/updated/deleted event in one mailbox."""

    mailbox: str
    event_id: str
    change_type: str
    change_key: str


class Store:
    """Users and mailboxes of one simulated tenant."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.lock = threading.RLock()
        self._listeners: list[Callable[[Change], None]] = []
        self.load(data)

    def load(self, data: dict[str, Any]) -> None:
        from sandbox.graph.events import import_event  # events.py builds StoredEvents from Graph JSON

        with self.lock:
            self.tenant_id: str = data.get("tenantId") or str(uuid.uuid4())
            self.users: list[dict[str, Any]] = copy.deepcopy(list(data.get("users", [])))
            self._by_key: dict[str, dict[str, Any]] = {}
            for user in self.users:
                for key in (user.get("id"), user.get("userPrincipalName"), user.get("mail")):
                    if key:
                        self._by_key[str(key).lower()] = user
            self.events: dict[str, dict[str, StoredEvent]] = {u["id"]: {} for u in self.users}
            self.transactions: dict[str, dict[str, str]] = {u["id"]: {} for u in self.users}
            self.sent_mail: list[dict[str, Any]] = []
            # Mailboxes that answer every Outlook request with a mailbox-level 404 (licence removed, user
            # deleted), by user id: (state, error code). Their events are kept: a licence given back, or a user
            # restored within 30 days, brings the same calendar back.
            self.mailbox_states: dict[str, tuple[str, str]] = {}
            for user_id, events in (data.get("events") or {}).items():
                owner = self.user(user_id)
                if owner is None:
                    raise ValueError(f"events given for unknown user {user_id!r}")
                for body in events:
                    event = import_event(self, owner, body)
                    self.events[owner["id"]][event.id] = event

    def subscribe(self, listener: Callable[[Change], None]) -> None:
        self._listeners.append(listener)

    def changed(self, change: Change) -> None:
        for listener in list(self._listeners):
            listener(change)

    def user(self, key: str) -> dict[str, Any] | None:
        """A user by id, userPrincipalName or primary mail (case-insensitive, as the directory matches)."""
        return self._by_key.get(key.lower())

    def mailbox(self, user_id: str) -> dict[str, StoredEvent]:
        return self.events.setdefault(user_id, {})

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)
