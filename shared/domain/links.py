"""What the engine knows of a record once it has been written: its link to an event, the write it wants next
(the outbox), and which record types each user has had exported.

A link is the product's memory of one record in one mailbox: the event it became, the change key and hash of what
was written (echo suppression, skipping identical writes), the fields last synced (three-way merges) and the
transaction id that makes a retried create idempotent. How these are kept in Table Storage is `shared/store/state.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared.kinds import RecordKind


class LinkState(StrEnum):
    CREATING = "creating"  # a create was sent (or is about to be); its answer was not recorded yet
    SYNCED = "synced"
    # Cutover: an event of the Exchange Integration Manager may be this record's, but not certainly. Nothing is
    # written for the record (no second copy next to it) until a cutover run finds the question settled.
    HELD = "held"


class Origin(StrEnum):
    OPENAIR = "OpenAir"
    OUTLOOK = "Outlook"


@dataclass(frozen=True)
class Link:
    user_id: str
    key: str  # record key, e.g. booking:123
    mailbox_id: str
    state: LinkState
    transaction_id: str
    generation: int = 0
    event_id: str = ""
    change_key: str = ""
    content_hash: str = ""
    origin: Origin = Origin.OPENAIR
    fields: Mapping[str, Any] = field(default_factory=dict)  # last synced values, for three-way merges
    synced_at: dt.datetime | None = None
    source_updated: dt.datetime | None = None  # OpenAir `updated` of the record version the event shows
    # Copies of the event in mailboxes the user had before, (mailbox id, event id), still to be removed: kept
    # until each removal succeeds, so a previous mailbox that is unavailable for a while keeps no orphan.
    retired: tuple[tuple[str, str], ...] = ()
    etag: str | None = None

    @property
    def kind(self) -> RecordKind:
        return RecordKind(self.key.partition(":")[0])


class Desire(StrEnum):
    WRITE = "write"  # the event should exist and look like `draft`
    REMOVE = "remove"  # the event should not exist


@dataclass(frozen=True)
class OutboxEntry:
    user_id: str
    key: str
    desire: Desire
    reason: str  # why (updated, deleted in OpenAir, out of scope, user out of scope, resync…)
    draft_json: str = ""  # EventDraft as JSON when desire is WRITE
    run_id: str = ""
    source_updated: dt.datetime | None = None  # OpenAir `updated` of the record version rendered
    etag: str | None = None


@dataclass(frozen=True)
class UserState:
    user_id: str
    mailbox_id: str
    exported_kinds: frozenset[RecordKind]
    etag: str | None = None
