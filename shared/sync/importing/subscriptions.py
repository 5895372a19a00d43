"""Graph subscriptions, one per importing mailbox: created when missing, renewed before they expire, deleted for
users switched off, recreated when Graph removed them (failure class 10). The Subscriptions table is the state.

Every mailbox whose subscription was (re)created gets an import pass right away: notifications sent between
Graph's create and our row write are dropped by the webhook as unknown, and the pass picks those changes up from
the delta link, which remembers everything since the last pass whatever the notifications did.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from shared.errors import SyncError
from shared.graph.errors import GraphError, GraphNotFound
from shared.ports.mailboxes import SubscriptionPort
from shared.store.importing import ImportStore, SubscriptionRecord
from shared.store.offload import off_loop
from shared.store.store import SyncStore

log = logging.getLogger(__name__)

# Microsoft's pages disagree on the longest lifetime of an Outlook event subscription: 10,080 minutes in the current
# lifetime table (https://learn.microsoft.com/graph/api/resources/subscription#subscription-lifetime), 4,230 in
# older ones. We ask for the longer and, when Graph refuses the expiration, for the shorter (less ten minutes of
# clock skew, as the longer one).
SHORTER_LIFETIME = dt.timedelta(minutes=4_220)
T = TypeVar("T")


async def _with_lifetime(endpoints: Endpoints, now: dt.datetime, call: Callable[[dt.datetime], Awaitable[T]]) -> T:
    """Run a create or renew with the configured lifetime, falling back to the shorter maximum if Graph refuses."""
    try:
        return await call(now + endpoints.lifetime)
    except GraphError as exc:
        refused = exc.status == 400 and "expiration" in exc.message.lower()
        if not refused or endpoints.lifetime <= SHORTER_LIFETIME:
            raise
        log.warning("subscription expiration refused; asking for the shorter maximum",
                    extra={"minutes": int(SHORTER_LIFETIME.total_seconds() // 60)})  # fmt: skip
        return await call(now + SHORTER_LIFETIME)


@dataclass(frozen=True)
class Endpoints:
    """Where Graph posts; the function key rides in the query string (Graph sends it back on every POST)."""

    notification_url: str
    lifecycle_url: str
    client_state: str
    lifetime: dt.timedelta = dt.timedelta(minutes=10_070)
    renew_margin: dt.timedelta = dt.timedelta(days=2)


@dataclass
class SubscriptionReport:
    created: int = 0
    renewed: int = 0
    deleted: int = 0
    unchanged: int = 0
    resync: list[str] = field(default_factory=list)  # user ids that need an import pass now
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"created": self.created, "renewed": self.renewed, "deleted": self.deleted,
                "unchanged": self.unchanged, "errors": len(self.errors)}  # fmt: skip


def importing_users(store: SyncStore) -> dict[str, str]:
    """User id → mailbox id of everyone whose events are imported now (none while ImportEnabled is off)."""
    settings, _ = store.load_settings()
    if not settings.import_enabled:
        return {}
    return {u: m.mailbox_id for u, m in store.load_mappings().users.items() if m.import_events and m.mailbox_id}


async def manage_subscriptions(
    *, store: SyncStore, graph: SubscriptionPort, endpoints: Endpoints, now: dt.datetime | None = None
) -> SubscriptionReport:
    """Make Graph's subscriptions match who imports. A failure for one user is reported; the rest go on."""
    now = now or dt.datetime.now(dt.UTC)
    report = SubscriptionReport()
    imports = store.imports
    wanted, recorded = await off_loop(lambda: (importing_users(store), imports.subscriptions()))
    existing: dict[str, list[SubscriptionRecord]] = defaultdict(list)
    for record in recorded:
        existing[record.user_id].append(record)

    for user_id, records in existing.items():
        keep = max((r for r in records if wanted.get(user_id) == r.mailbox_id), key=lambda r: r.expiration,
                   default=None)  # fmt: skip
        for record in records:
            if record is not keep:
                await _delete(graph, imports, record, report)
    for user_id, mailbox_id in sorted(wanted.items()):
        current = max((r for r in existing.get(user_id, []) if r.mailbox_id == mailbox_id),
                      key=lambda r: r.expiration, default=None)  # fmt: skip
        try:
            if current is None or current.expiration <= now:
                if current is not None:
                    await off_loop(imports.delete_subscription, current.subscription_id)
                await create_subscription(user_id, mailbox_id, store=store, graph=graph, endpoints=endpoints, now=now)
                report.created += 1
                report.resync.append(user_id)
            elif current.expiration - now <= endpoints.renew_margin:
                if await renew_subscription(current, store=store, graph=graph, endpoints=endpoints, now=now):
                    report.renewed += 1
                else:
                    report.created += 1
                    report.resync.append(user_id)
            else:
                report.unchanged += 1
        except SyncError as exc:
            report.errors.append(f"subscription for user {user_id}: {exc}")
            log.warning("subscription not managed", extra={"user": user_id, "error": type(exc).__name__})
    return report


async def create_subscription(
    user_id: str, mailbox_id: str, *, store: SyncStore, graph: SubscriptionPort, endpoints: Endpoints,
    now: dt.datetime,
) -> SubscriptionRecord:  # fmt: skip
    """Subscribe to the mailbox's events (Graph validates our endpoint first) and record it."""
    sub = await _with_lifetime(endpoints, now, lambda expiry: graph.create_subscription(
        mailbox_id, endpoints.notification_url, endpoints.lifecycle_url, endpoints.client_state, expiry,
    ))  # fmt: skip
    record = SubscriptionRecord(sub.id, user_id, mailbox_id, sub.expiration)
    await off_loop(store.imports.put_subscription, record)
    return record


async def renew_subscription(
    record: SubscriptionRecord, *, store: SyncStore, graph: SubscriptionPort, endpoints: Endpoints,
    now: dt.datetime,
) -> bool:  # fmt: skip
    """Extend a subscription; True when renewed, False when Graph had lost it and a new one was created."""
    imports = store.imports
    try:
        sub = await _with_lifetime(
            endpoints, now, lambda expiry: graph.renew_subscription(record.subscription_id, expiry)
        )
    except GraphNotFound:
        await off_loop(imports.delete_subscription, record.subscription_id)
        await create_subscription(record.user_id, record.mailbox_id, store=store, graph=graph, endpoints=endpoints,
                                  now=now)  # fmt: skip
        return False
    renewed = SubscriptionRecord(record.subscription_id, record.user_id, record.mailbox_id, sub.expiration)
    await off_loop(imports.put_subscription, renewed)
    return True


async def _delete(
    graph: SubscriptionPort, imports: ImportStore, record: SubscriptionRecord, report: SubscriptionReport
) -> None:
    try:
        await graph.delete_subscription(record.subscription_id)
    except GraphError as exc:
        report.errors.append(f"subscription {record.subscription_id} of user {record.user_id}: {exc}")
        return
    await off_loop(imports.delete_subscription, record.subscription_id)
    report.deleted += 1


async def handle_lifecycle(
    event: str, subscription_id: str, *, store: SyncStore, graph: SubscriptionPort, endpoints: Endpoints,
    now: dt.datetime | None = None,
) -> str | None:  # fmt: skip
    """Act on a lifecycle event; returns the user id whose mailbox needs an import pass (None: unknown id).

    - reauthorizationRequired → renew (which reauthorizes), recreating the subscription if Graph lost it;
    - subscriptionRemoved → a new subscription, unless Graph still has this one: it is renewed instead, so a
      replayed (or mistaken) removal never leaves a second live subscription for the mailbox;
    - missed → nothing here: the pass the caller runs reads every change from the delta link.
    """
    now = now or dt.datetime.now(dt.UTC)
    imports = store.imports
    record = await off_loop(imports.subscription, subscription_id)
    if record is None:
        return None
    wanted = await off_loop(importing_users, store)
    if wanted.get(record.user_id) != record.mailbox_id:
        await _delete(graph, imports, record, SubscriptionReport())
        return None
    if event in ("reauthorizationRequired", "subscriptionRemoved"):
        # Renewing is the question "does Graph still have it?": a 404 makes renew_subscription create the new one.
        await renew_subscription(record, store=store, graph=graph, endpoints=endpoints, now=now)
    return record.user_id
