"""Resync one user or everyone — the administrator's repair tool.

- `update`: bring the product's events back to what OpenAir says, writing only what differs. Two kinds of drift
  are found: what OpenAir now renders differently (settings or show-as changed; found by re-rendering every
  record and comparing with the hash of what was written), and what someone changed in Outlook (found by one
  `calendarView/delta` pass per mailbox over the window: an event whose change key is not the one we stored was
  edited, an event missing from the window was deleted). Drifted links lose their hash, so the mailbox worker
  rewrites exactly those; a deleted event is written again.
- `recreate`: delete the product's own events in the window and write them again. "Own" means linked in the
  `Links` table with origin OpenAir: an event the product did not write is never touched, whatever it carries.

Both plan through the export planner (`full_resync` for the chosen users only, watermarks untouched) and leave
the work in the outbox; the caller applies it (the CLI inline with progress, the endpoint through the queue).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from shared.domain.events import DeleteEvent
from shared.domain.links import Link, LinkState, Origin
from shared.domain.runs import status_of
from shared.domain.settings import IntegrationSettings
from shared.errors import SyncError
from shared.jobs.runs import Run
from shared.ports.mailboxes import ResyncCalendar
from shared.ports.openair import OpenAirPort
from shared.store.offload import off_loop
from shared.store.store import SyncStore
from shared.sync.planner import ExportPlan, plan_export
from shared.sync.preview import MailboxPreview, preview_writes

log = logging.getLogger(__name__)


class ResyncMode(StrEnum):
    UPDATE = "update"
    RECREATE = "recreate"


class UnknownUser(SyncError):
    """An OpenAir user id that has no usable mapping (missing, unmapped, bad row, mailbox not resolved)."""


@dataclass
class ResyncReport:
    run_id: str
    mode: ResyncMode
    users: list[str]
    dry_run: bool = False
    edited_in_outlook: int = 0
    deleted_in_outlook: int = 0
    events_deleted: int = 0
    delete_failures: list[str] = field(default_factory=list)
    plan: ExportPlan | None = None
    recreating: dict[str, set[str]] = field(default_factory=dict)  # user id -> record keys whose event was deleted
    skipped: dict[str, str] = field(default_factory=dict)  # user id -> why everyone's resync left them out
    # user id -> record key -> gone from Outlook (True) or edited there (False); what a dry run cannot mark
    stale: dict[str, dict[str, bool]] = field(default_factory=dict)
    writes: list[MailboxPreview] = field(default_factory=list)

    def preview(self) -> list[dict[str, object]]:
        return [p.as_json() for p in self.writes]

    @property
    def users_with_work(self) -> list[str]:
        return self.plan.users_with_work if self.plan else []

    def counts(self) -> dict[str, int]:
        planned = self.plan.counts if self.plan else {}
        return {
            "users": len(self.users),
            "edited_in_outlook": self.edited_in_outlook,
            "deleted_in_outlook": self.deleted_in_outlook,
            "events_deleted": self.events_deleted,
            "delete_failures": len(self.delete_failures),
            "unchanged": planned.get("unchanged", 0),
            "to_write": sum(p.writes for p in self.writes),
            "to_create": sum(len(p.create) for p in self.writes),
            "to_update": sum(len(p.update) for p in self.writes),
            "to_delete": sum(len(p.delete) for p in self.writes),
            "mailboxes_with_work": len(self.writes),
            "users_skipped": len(self.skipped),
        }


def window(settings: IntegrationSettings, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The import window (WindowPastDays / WindowFutureDays around now): what resync looks at in mailboxes."""
    return now - dt.timedelta(days=settings.window_past_days), now + dt.timedelta(days=settings.window_future_days)


def _in_window(link: Link, start: dt.datetime, end: dt.datetime) -> bool:
    """From the link's last synced wall-clock times; a day of slack either side absorbs any time zone."""
    try:
        first = dt.datetime.fromisoformat(str(link.fields["start"])).date()
        last = dt.datetime.fromisoformat(str(link.fields["end"])).date()
    except (KeyError, ValueError):
        return False
    return first <= (end + dt.timedelta(days=1)).date() and last >= (start - dt.timedelta(days=1)).date()


def _ours(link: Link) -> bool:
    return link.origin is Origin.OPENAIR and link.state is LinkState.SYNCED and bool(link.event_id)


def skipped_users(store: SyncStore) -> dict[str, str]:
    """Users with a UserMappings row that a resync of everyone leaves out, and why (to name them, not drop them)."""
    mappings = store.load_mappings()
    why = {p.row_key: f"row rejected: {p}" for p in mappings.problems}
    why.update({u: "no mailbox yet (map it: mappings refresh, or by hand)" for u in mappings.unmapped})
    why.update({u: f"mailbox {m.mailbox} not resolved yet (run mappings refresh)"
                for u, m in mappings.users.items() if not m.mailbox_id})  # fmt: skip
    return dict(sorted(why.items()))


def choose_users(store: SyncStore, user_ids: Sequence[str] | None) -> dict[str, str]:
    """User id → mailbox id of the users to resync; an unusable id raises UnknownUser naming the fix."""
    mappings = store.load_mappings()
    if not user_ids:
        return {u: m.mailbox_id for u, m in sorted(mappings.users.items()) if m.mailbox_id}
    chosen: dict[str, str] = {}
    problems = {p.row_key: str(p) for p in mappings.problems}
    for user_id in user_ids:
        mapping = mappings.users.get(user_id)
        if user_id in problems:
            raise UnknownUser(f"OpenAir user {user_id} cannot be resynced: {problems[user_id]}")
        if mapping is None:
            hint = "has no mailbox yet" if user_id in mappings.unmapped else "has no row in UserMappings"
            raise UnknownUser(f"OpenAir user {user_id} {hint}; map it first (mappings refresh, or by hand)")
        if not mapping.mailbox_id:
            raise UnknownUser(
                f"OpenAir user {user_id}: mailbox {mapping.mailbox} is not resolved yet; run mappings refresh"
            )
        chosen[user_id] = mapping.mailbox_id
    return chosen


async def resync(
    store: SyncStore,
    openair: OpenAirPort,
    calendar: ResyncCalendar,
    *,
    user_ids: Sequence[str] | None,
    mode: ResyncMode,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> ResyncReport:
    """Prepare a resync of `user_ids` (None or empty: every mapped user); the outbox then holds the writes."""
    now = now or dt.datetime.now(dt.UTC)
    chosen = await off_loop(choose_users, store, user_ids)
    settings, _ = await off_loop(store.load_settings)
    start, end = window(settings, now)
    report = ResyncReport(run_id=uuid.uuid4().hex[:12], mode=mode, users=list(chosen), dry_run=dry_run)
    if not user_ids:
        report.skipped = await off_loop(skipped_users, store)
    for user_id, mailbox_id in chosen.items():
        mine = await off_loop(store.links, user_id)
        links = [link for link in mine.values() if _ours(link) and _in_window(link, start, end)]
        if not links:
            continue
        if mode is ResyncMode.UPDATE:
            await _find_drift(store, calendar, report, mailbox_id, links, start, end)
        else:
            await _delete_events(store, calendar, report, links)
    report.plan = await plan_export(
        store=store,
        openair=openair,
        now=now,
        run_id=report.run_id,
        dry_run=dry_run,
        only_users=list(chosen),
        full_resync=True,
        stale={u: set(keys) for u, keys in report.stale.items()},
    )
    report.writes = await off_loop(preview_writes, store, report.plan.entries, chosen, users=set(chosen),
                                   stale=report.stale)  # fmt: skip
    if mode is ResyncMode.RECREATE and not dry_run:
        await off_loop(_forget_unplanned, store, report.recreating)
    if not dry_run:
        user = report.users[0] if len(report.users) == 1 else ""
        # A resync is partial when its plan raised an alert (the deletion budget): the alert is the problem.
        await Run(store, f"resync-{mode.value}", run_id=report.run_id, user_id=user, started=now).record_off_loop(
            status_of(problems=bool(report.delete_failures or report.plan.alerts)),
            counts=report.counts(),
            errors=report.delete_failures,
            alerts=report.plan.alerts,
        )
    log.info("resync planned", extra={"run_id": report.run_id, "mode": mode.value, "users": len(chosen)})
    return report


async def _find_drift(
    store: SyncStore,
    calendar: ResyncCalendar,
    report: ResyncReport,
    mailbox_id: str,
    links: list[Link],
    start: dt.datetime,
    end: dt.datetime,
) -> None:
    seen = await calendar.delta(mailbox_id, start, end, None)
    change_keys = {event.id: event.change_key for event in seen.events}
    drifted: list[Link] = []
    for link in links:
        if link.event_id not in change_keys:
            report.deleted_in_outlook += 1
            report.stale.setdefault(link.user_id, {})[link.key] = True
        elif change_keys[link.event_id] != link.change_key:
            report.edited_in_outlook += 1
            report.stale.setdefault(link.user_id, {})[link.key] = False
        else:
            continue
        # No hash = "unknown content": the worker writes it (and re-creates it when the update finds it gone).
        drifted.append(dataclasses.replace(link, content_hash="", etag=None))
    if drifted and not report.dry_run:
        await off_loop(store.put_links, drifted)


async def _delete_events(store: SyncStore, calendar: ResyncCalendar, report: ResyncReport, links: list[Link]) -> None:
    if report.dry_run:
        report.events_deleted += len(links)
        for link in links:  # the real run deletes them, and the worker then creates them again
            report.stale.setdefault(link.user_id, {})[link.key] = True
        return
    by_mailbox: dict[str, list[Link]] = {}
    for link in links:
        by_mailbox.setdefault(link.mailbox_id, []).append(link)
    for mailbox_id, group in by_mailbox.items():
        results = await calendar.apply(mailbox_id, [DeleteEvent(event_id=link.event_id) for link in group])
        tombstones: list[Link] = []
        for link, result in zip(group, results, strict=True):
            if not result.done:
                report.delete_failures.append(
                    f"{link.user_id} {link.key}: delete failed with {result.status} {result.error_code or ''}".strip()
                )
                continue
            report.events_deleted += 1
            report.stale.setdefault(link.user_id, {})[link.key] = True
            # The link keeps the deleted event's id and loses its hash: the worker's update meets a 404 and takes
            # the engine's own "deleted in Outlook" path, a create under a new generation (a transaction id of its
            # own). Never a lookup by our property: that could adopt a person's copy of the event.
            tombstones.append(dataclasses.replace(link, content_hash="", etag=None))
            report.recreating.setdefault(link.user_id, set()).add(link.key)
        if tombstones:
            await off_loop(store.put_links, tombstones)


def _forget_unplanned(store: SyncStore, recreating: dict[str, set[str]]) -> None:
    """Links of events this resync deleted whose record no longer exports (nothing planned): nothing to recreate."""
    for user_id, keys in recreating.items():
        planned = {entry.key for entry in store.outbox(user_id)}
        stale = sorted(keys - planned)
        if stale:
            store.delete_links(user_id, stale)
