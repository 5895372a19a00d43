"""The tables the import owns: subscriptions, the imported-event index and the per-mailbox delta cursor.

- Subscriptions (PK `Subscription`, RK Graph subscription id): whose mailbox it watches and until when. The
  webhook reads one row by id (a point read) to accept a notification; the subscription timer reads them all.
- ImportedEvents (PK OpenAir user id, RK a hash of the event's identity): which booking an Outlook event
  became. The identity of an occurrence is its series id + original start (failure class 7), of any other event
  its id; the change key of the last version imported makes a replayed delta item a no-op.
- Cursors (PK `Delta`, RK OpenAir user id): the mailbox's delta link and window, and the lease that lets one
  worker at a time run a delta pass. A worker that finds the lease taken sets `Pending`; the holder's release is
  ETag-conditional, so it sees the flag and runs again: concurrent notifications collapse into one more pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace

from shared.store.state import CURSORS
from shared.store.tables import EtagMismatch, Row, TableBackend

SUBSCRIPTIONS = "Subscriptions"
IMPORTED_EVENTS = "ImportedEvents"
SUBSCRIPTION_PARTITION = "Subscription"
DELTA_SCOPE = "Delta"


@dataclass(frozen=True)
class SubscriptionRecord:
    subscription_id: str
    user_id: str
    mailbox_id: str
    expiration: dt.datetime
    etag: str | None = None

    def to_row(self) -> Row:
        return Row(
            SUBSCRIPTION_PARTITION,
            self.subscription_id,
            {"UserId": self.user_id, "MailboxId": self.mailbox_id, "Expiration": self.expiration},
            self.etag,
        )

    @classmethod
    def from_row(cls, row: Row) -> SubscriptionRecord:
        c = row.columns
        expiration = c.get("Expiration")
        if not isinstance(expiration, dt.datetime):
            expiration = dt.datetime.min.replace(tzinfo=dt.UTC)  # unreadable: treated as expired, so renewed
        return cls(row.row_key, str(c.get("UserId", "")), str(c.get("MailboxId", "")), expiration, row.etag)


def identity_key(identity: str) -> str:
    """A Table-safe RowKey for an event identity (Graph ids may hold `/` and are long)."""
    return hashlib.sha256(identity.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class ImportedEvent:
    user_id: str
    identity: str  # "occ|<series id>|<original start>" or "evt|<event id>"
    event_id: str
    record_key: str = ""  # booking:123 once the booking exists
    external_id: str = ""  # the booking's externalid: a retried Add updates instead of duplicating
    change_key: str = ""  # of the event version last imported
    etag: str | None = None

    def to_row(self) -> Row:
        return Row(
            self.user_id,
            identity_key(self.identity),
            {
                "Identity": self.identity,
                "EventId": self.event_id,
                "RecordKey": self.record_key,
                "ExternalId": self.external_id,
                "ChangeKey": self.change_key,
            },
            self.etag,
        )

    @classmethod
    def from_row(cls, row: Row) -> ImportedEvent:
        c = row.columns
        return cls(
            user_id=row.partition_key,
            identity=str(c.get("Identity", "")),
            event_id=str(c.get("EventId", "")),
            record_key=str(c.get("RecordKey", "")),
            external_id=str(c.get("ExternalId", "")),
            change_key=str(c.get("ChangeKey", "")),
            etag=row.etag,
        )


@dataclass(frozen=True)
class Covered:
    """A pass that began reading after the change was notified has been (or is being) run: nothing to do."""

    by_pass_started: dt.datetime


@dataclass(frozen=True)
class DeltaCursor:
    """A mailbox's delta chain and its lease, as read (with the ETag every change is conditional on)."""

    user_id: str
    delta_link: str = ""
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    lease_until: dt.datetime | None = None
    holder: str = ""
    pending: bool = False
    # When the holder's pass began reading, and when the last pass that stored its delta link began: a change
    # notified before either is in that pass (coalescing, see `ImportStore.acquire`).
    pass_started: dt.datetime | None = None
    covered: dt.datetime | None = None
    etag: str | None = None

    def to_row(self) -> Row:
        return Row(
            DELTA_SCOPE,
            self.user_id,
            {
                "Value": self.delta_link,
                "WindowStart": self.window_start,
                "WindowEnd": self.window_end,
                "LeaseUntil": self.lease_until,
                "Holder": self.holder,
                "Pending": self.pending,
                "PassStarted": self.pass_started,
                "Covered": self.covered,
            },
            self.etag,
        )

    @classmethod
    def from_row(cls, row: Row) -> DeltaCursor:
        c = row.columns
        return cls(
            user_id=row.row_key,
            delta_link=str(c.get("Value") or ""),
            window_start=c.get("WindowStart"),
            window_end=c.get("WindowEnd"),
            lease_until=c.get("LeaseUntil"),
            holder=str(c.get("Holder") or ""),
            pending=bool(c.get("Pending", False)),
            pass_started=c.get("PassStarted"),
            covered=c.get("Covered"),
            etag=row.etag,
        )


class ImportStore:
    """Typed access to the import's tables over any TableBackend (Azure or the in-memory twin)."""

    def __init__(self, backend: TableBackend) -> None:
        self._tables = backend

    # ------------------------------------------------------------ subscriptions
    def subscriptions(self) -> list[SubscriptionRecord]:
        return [SubscriptionRecord.from_row(r) for r in self._tables.query(SUBSCRIPTIONS, SUBSCRIPTION_PARTITION)]

    def subscription(self, subscription_id: str) -> SubscriptionRecord | None:
        row = self._tables.get(SUBSCRIPTIONS, SUBSCRIPTION_PARTITION, subscription_id)
        return SubscriptionRecord.from_row(row) if row else None

    def put_subscription(self, record: SubscriptionRecord) -> None:
        self._tables.upsert(SUBSCRIPTIONS, replace(record, etag=None).to_row())

    def delete_subscription(self, subscription_id: str) -> None:
        self._tables.delete(SUBSCRIPTIONS, SUBSCRIPTION_PARTITION, subscription_id)

    # ------------------------------------------------------------ imported events
    def imported_events(self, user_id: str) -> dict[str, ImportedEvent]:
        """The user's imported events by identity."""
        rows = (ImportedEvent.from_row(r) for r in self._tables.query(IMPORTED_EVENTS, user_id))
        return {e.identity: e for e in rows}

    def put_imported(self, event: ImportedEvent) -> None:
        self._tables.upsert(IMPORTED_EVENTS, replace(event, etag=None).to_row())

    def delete_imported(self, event: ImportedEvent) -> None:
        self._tables.delete(IMPORTED_EVENTS, event.user_id, identity_key(event.identity))

    # ------------------------------------------------------------ delta cursor and lease
    def delta_cursor(self, user_id: str) -> DeltaCursor:
        row = self._tables.get(CURSORS, DELTA_SCOPE, user_id)
        return DeltaCursor.from_row(row) if row else DeltaCursor(user_id)

    def delta_cursors(self) -> dict[str, DeltaCursor]:
        return {r.row_key: DeltaCursor.from_row(r) for r in self._tables.query(CURSORS, DELTA_SCOPE)}

    def acquire(
        self, user_id: str, holder: str, now: dt.datetime, lease: dt.timedelta, *,
        notified: dt.datetime | None = None, started: dt.datetime | None = None,
    ) -> DeltaCursor | Covered | None:  # fmt: skip
        """Take the mailbox's lease; None when another worker holds it (it is then told to run again).

        `notified`: when the change that asks for this pass was notified. A pass that began reading after that
        (`started`, the wall clock) sees the change: if the last stored pass or the holder's running one did,
        this one is `Covered` and nothing is written. A running pass that fails is retried by its own message,
        one that holds its delta link back is run again by the next notification or the reconciliation.
        """
        for _ in range(20):
            cursor = self.delta_cursor(user_id)
            if notified is not None and cursor.covered is not None and cursor.covered >= notified:
                return Covered(cursor.covered)
            held = cursor.holder and cursor.holder != holder and cursor.lease_until and cursor.lease_until > now
            if held and notified is not None and cursor.pass_started is not None and cursor.pass_started >= notified:
                return Covered(cursor.pass_started)
            wanted = (
                replace(cursor, pending=True)
                if held
                else replace(cursor, holder=holder, lease_until=now + lease, pending=False, pass_started=started)
            )
            try:
                etag = self._write_cursor(wanted)
            except EtagMismatch:
                continue  # someone changed the row between our read and write: read again
            return None if held else replace(wanted, etag=etag)
        raise EtagMismatch(f"Cursors row {DELTA_SCOPE}/{user_id}: lease contended 20 times in a row")

    def release(
        self, cursor: DeltaCursor, *, delta_link: str | None, next_start: dt.datetime | None = None
    ) -> DeltaCursor | None:
        """Store the pass's delta link (None: keep the old one) and give the lease back.

        Returns None when released, or the renewed cursor (still ours) when another worker asked for a pass
        meanwhile: the caller runs again from that cursor (its pass starting at `next_start`).
        """
        link = cursor.delta_link if delta_link is None else delta_link
        covered = cursor.pass_started if delta_link is not None and cursor.pass_started else cursor.covered
        released = replace(cursor, delta_link=link, holder="", lease_until=None, pending=False, covered=covered)
        try:
            self._write_cursor(released)
            return None
        except EtagMismatch:
            pass
        current = self.delta_cursor(cursor.user_id)
        if current.holder != cursor.holder:
            return None  # our lease expired and someone else took over; their pass covers the work
        again = replace(current, delta_link=link, window_start=cursor.window_start, window_end=cursor.window_end,
                        pending=False, covered=covered, pass_started=next_start)  # fmt: skip
        etag = self._write_cursor(again)
        return replace(again, etag=etag)

    def drop_lease(self, user_id: str, holder: str) -> None:
        """Give the lease back without touching the delta link (after a failure, or at the pass limit)."""
        for _ in range(20):
            cursor = self.delta_cursor(user_id)
            if cursor.holder != holder or cursor.etag is None:
                return
            try:
                self._write_cursor(replace(cursor, holder="", lease_until=None))
                return
            except EtagMismatch:
                continue

    def reset_chain(self, user_id: str) -> None:
        """Forget a mailbox's delta link (resync): the next pass starts a fresh chain, deleting nothing."""
        cursor = self.delta_cursor(user_id)
        if cursor.etag is not None:
            self._tables.upsert(CURSORS, replace(cursor, delta_link="", window_start=None, etag=None).to_row())

    def _write_cursor(self, cursor: DeltaCursor) -> str:
        if cursor.etag is None:
            return self._tables.insert(CURSORS, cursor.to_row())
        return self._tables.update(CURSORS, cursor.to_row())


IMPORT_TABLES = (SUBSCRIPTIONS, IMPORTED_EVENTS)
