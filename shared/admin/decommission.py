"""Decommission: take the product's events out of every mailbox before the app is removed (`azd down`).

What is removed is what the product wrote: events linked in the `Links` table with origin OpenAir (a record's
event, created under the product's transaction id). Never a person's own event, never their copy of one of ours,
never an event an Outlook import turned into a booking (that event is theirs; the booking stays in OpenAir).
Writes nothing to OpenAir.

Order matters: the sync is paused first (so no export re-creates what is being removed) and `ImportEnabled` is
switched off, the import's Graph subscriptions are deleted (so Graph stops calling a webhook that is about to
disappear, and the subscription timer does not make new ones), then each mailbox's
events are deleted and their links dropped. An event already gone counts as removed. A mailbox that refuses
(licence removed, access revoked) keeps its links and is named, so a second run can finish the job. The
deletion guard (`MaxDeletionsPerRun`) does not apply: this operation exists to delete, and is confirmed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from shared.domain.events import DeleteEvent
from shared.domain.links import Link, LinkState, Origin, OutboxEntry
from shared.domain.runs import status_of
from shared.jobs.runs import Run
from shared.ports.mailboxes import DecommissionCalendar
from shared.store.offload import off_loop
from shared.store.store import SyncStore

log = logging.getLogger(__name__)

DECOMMISSION_REASON = "decommissioned: the product's events were removed"


@dataclass
class MailboxRemoval:
    user_id: str
    mailbox_id: str
    events: int  # the product's events found in the Links table
    removed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class DecommissionReport:
    dry_run: bool
    mailboxes: list[MailboxRemoval] = field(default_factory=list)
    subscriptions: int = 0
    subscriptions_deleted: int = 0
    kept_outlook_events: int = 0  # events imported from Outlook: the person's own, left in place
    pending_writes_dropped: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "mailboxes": len(self.mailboxes),
            "events": sum(m.events for m in self.mailboxes),
            "events_removed": sum(m.removed for m in self.mailboxes),
            "mailboxes_failed": sum(1 for m in self.mailboxes if m.errors),
            "subscriptions": self.subscriptions,
            "subscriptions_deleted": self.subscriptions_deleted,
            "outlook_events_kept": self.kept_outlook_events,
            "pending_writes_dropped": self.pending_writes_dropped,
        }

    @property
    def complete(self) -> bool:
        return not self.dry_run and not any(m.errors for m in self.mailboxes)


def _ours(link: Link) -> bool:
    return link.origin is Origin.OPENAIR and link.state is LinkState.SYNCED and bool(link.event_id)


async def decommission(
    store: SyncStore, calendar: DecommissionCalendar, *, dry_run: bool, actor: str, now: dt.datetime | None = None
) -> DecommissionReport:
    """Remove every event the product created (or, with `dry_run`, count them). Pauses the sync first."""
    now = now or dt.datetime.now(dt.UTC)
    report = DecommissionReport(dry_run=dry_run)
    by_mailbox: dict[tuple[str, str], list[Link]] = defaultdict(list)
    imports = store.imports
    links_now, subscriptions, pending = await off_loop(lambda: (
        list(store.all_links()), imports.subscriptions(), {u: store.outbox(u) for u in store.outbox_users()}
    ))  # fmt: skip
    for link in links_now:
        if _ours(link):
            by_mailbox[(link.user_id, link.mailbox_id)].append(link)
        elif link.origin is Origin.OUTLOOK:
            report.kept_outlook_events += 1
    report.mailboxes = [MailboxRemoval(u, m, len(links)) for (u, m), links in sorted(by_mailbox.items())]
    report.subscriptions = len(subscriptions)
    report.pending_writes_dropped = sum(len(entries) for entries in pending.values())
    if dry_run:
        return report

    await off_loop(_stop_everything, store, actor, now, pending)
    for subscription in subscriptions:
        await calendar.delete_subscription(subscription.subscription_id)  # False: Graph had already dropped it
        await off_loop(imports.delete_subscription, subscription.subscription_id)
        report.subscriptions_deleted += 1
    for removal in report.mailboxes:
        links = by_mailbox[(removal.user_id, removal.mailbox_id)]
        results = await calendar.apply(removal.mailbox_id, [DeleteEvent(event_id=link.event_id) for link in links])
        gone: list[str] = []
        for link, result in zip(links, results, strict=True):
            if result.done:
                gone.append(link.key)
            else:
                removal.errors.append(f"{link.key}: {result.status} {result.error_code or ''}".strip())
        if gone:
            await off_loop(store.delete_links, removal.user_id, gone)
        removal.removed = len(gone)
    errors = tuple(f"user {m.user_id}: {e}" for m in report.mailboxes for e in m.errors)
    await Run(store, "decommission", run_id=f"decommission-{now:%H%M%S}", started=now).record_off_loop(
        status_of(problems=not report.complete), counts=report.counts(), errors=errors
    )
    log.info("decommissioned", extra=report.counts())
    return report


def _stop_everything(store: SyncStore, actor: str, now: dt.datetime, pending: dict[str, list[OutboxEntry]]) -> None:
    """Paused, import off, nothing queued left to write an event back (table calls: run off the event loop)."""
    if store.pause_state() is None:
        store.set_paused(True, by=actor, reason=DECOMMISSION_REASON, now=now)
    store.put_setting("ImportEnabled", False)
    for entries in pending.values():
        for entry in entries:
            store.settle_outbox(entry)
