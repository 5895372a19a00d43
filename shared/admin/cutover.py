"""Cutover from the Exchange Integration Manager, for chosen users or everyone: dry run, adopt, remove stale.

- `adopt` (dry run first): for each user, the records we would export (the export planner, for these users in
  full, writing nothing), one calendarView read of their mailbox over those records' dates (widened to the
  import window, WindowPastDays..WindowFutureDays, where stale events of deleted records are), and the matching
  of `shared/sync/cutover.py`. For real, it then records the links (adopted events, held records), plans the
  users' export (`full_resync`) and leaves the work in the outbox: the mailbox worker updates each adopted event
  in place ($batch), stamping our property, and creates only what the incumbent never wrote.
- `remove-stale` (a separate, confirmed step): the same read and matching; the incumbent's events that match no
  current record are deleted ($batch). Nothing else is ever deleted: not an ambiguous event, not a person's.

A dry run changes nothing and reports exactly what the real run would do, counts and reasons alike.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from shared.domain.events import DeleteEvent, EventDraft
from shared.domain.links import Desire, Link, LinkState
from shared.domain.runs import status_of
from shared.errors import SyncError
from shared.jobs.runs import Run
from shared.ports.mailboxes import CutoverCalendar
from shared.ports.openair import OpenAirPort
from shared.store.offload import off_loop
from shared.store.store import SyncStore
from shared.sync.cutover import CutoverMatch, cutover_links, draft_of_link, import_window, read_and_match
from shared.sync.planner import ExportPlan, plan_export, user_zone

log = logging.getLogger(__name__)


class CutoverAction(StrEnum):
    ADOPT = "adopt"
    REMOVE_STALE = "remove-stale"


@dataclass
class MailboxCutover:
    user_id: str
    mailbox_id: str
    match: CutoverMatch
    removed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class CutoverReport:
    run_id: str
    action: CutoverAction
    dry_run: bool
    mailboxes: list[MailboxCutover] = field(default_factory=list)
    plan: ExportPlan | None = None

    @property
    def users(self) -> list[str]:
        return [m.user_id for m in self.mailboxes]

    def counts(self) -> dict[str, int]:
        totals: dict[str, int] = {"users": len(self.mailboxes)}
        for mailbox in self.mailboxes:
            for name, value in mailbox.match.counts().items():
                totals[name] = totals.get(name, 0) + value
        if self.action is CutoverAction.REMOVE_STALE:
            totals["stale_removed"] = sum(m.removed for m in self.mailboxes)
        if self.plan is not None:
            totals["mailboxes_with_work"] = len(self.plan.users_with_work)
        return totals

    def ambiguous(self) -> list[str]:
        return [f"user {m.user_id}: {a.describe()}" for m in self.mailboxes for a in m.match.ambiguous]

    def stale(self) -> list[str]:
        return [f"user {m.user_id}: {s.describe()}" for m in self.mailboxes for s in m.match.stale]

    def errors(self) -> list[str]:
        return [f"user {m.user_id}: {e}" for m in self.mailboxes for e in m.errors]


def _drafts(plan: ExportPlan, user_id: str, links: dict[str, Link]) -> dict[str, EventDraft]:
    """Records we would write that have no event of ours yet (a held one is still waiting for its event)."""
    drafts: dict[str, EventDraft] = {}
    for entry in plan.entries.get(user_id, []):
        link = links.get(entry.key)
        # A link being created (a create in flight) is ours already: its event is never another's to adopt.
        if entry.desire is Desire.WRITE and (link is None or link.state is LinkState.HELD):
            drafts[entry.key] = EventDraft.model_validate_json(entry.draft_json)
    return drafts


def _linked(links: dict[str, Link], drafts: dict[str, EventDraft]) -> dict[str, EventDraft]:
    found = {}
    for key, link in links.items():
        if key not in drafts and link.state is LinkState.SYNCED and link.event_id:
            draft = draft_of_link(link)
            if draft is not None:
                found[key] = draft
    return found


async def cutover(
    store: SyncStore,
    openair: OpenAirPort,
    calendar: CutoverCalendar,
    *,
    users: dict[str, str],
    action: CutoverAction = CutoverAction.ADOPT,
    dry_run: bool = True,
    now: dt.datetime | None = None,
) -> CutoverReport:
    """Cut `users` (OpenAir user id → mailbox id, see `resync.choose_users`) over from the incumbent."""
    now = now or dt.datetime.now(dt.UTC)
    report = CutoverReport(run_id=uuid.uuid4().hex[:12], action=action, dry_run=dry_run)
    (settings, _), loaded = await off_loop(lambda: (store.load_settings(), store.load_mappings()))
    mappings = loaded.users
    # The records we would export for these users, all of them, rendered as the export would: writes nothing.
    wanted = await plan_export(store=store, openair=openair, now=now, run_id=report.run_id, dry_run=True,
                               only_users=list(users), full_resync=True)  # fmt: skip
    for user_id, mailbox_id in users.items():
        links = await off_loop(store.links, user_id)
        drafts = _drafts(wanted, user_id, links)
        mapping = mappings.get(user_id)
        zone = user_zone(mapping, settings) if mapping else settings.default_time_zone
        mailbox = MailboxCutover(user_id, mailbox_id, CutoverMatch())
        report.mailboxes.append(mailbox)
        try:
            mailbox.match = await read_and_match(calendar, mailbox_id, drafts, zone, linked=_linked(links, drafts),
                                                 notes_as_is=settings.export_booking_notes_as_is,
                                                 around=import_window(settings, now),
                                                 kinds=mapping.export_kinds if mapping else None)  # fmt: skip
        except SyncError as exc:  # one unreadable mailbox is reported; the others are cut over
            mailbox.errors.append(f"calendar could not be read: {exc}")
            log.warning("cutover read failed", extra={"user": user_id, "error": type(exc).__name__})
            continue
        if dry_run:
            continue
        if action is CutoverAction.ADOPT:
            put, release = cutover_links(mailbox.match, user_id, mailbox_id, links)
            await off_loop(_adopt, store, user_id, put, release)
        else:
            await _remove_stale(calendar, mailbox)
    if not dry_run and action is CutoverAction.ADOPT:
        ready = [m.user_id for m in report.mailboxes if not m.errors]
        if ready:
            report.plan = await plan_export(store=store, openair=openair, now=now, run_id=report.run_id,
                                            only_users=ready, full_resync=True)  # fmt: skip
    if not dry_run:
        await off_loop(_record, store, report, now)
    log.info("cutover", extra={"run_id": report.run_id, "action": action.value, "dry_run": dry_run,
                               **report.counts()})  # fmt: skip
    return report


async def _remove_stale(calendar: CutoverCalendar, mailbox: MailboxCutover) -> None:
    stale = mailbox.match.stale
    results = await calendar.apply(mailbox.mailbox_id, [DeleteEvent(event_id=s.event_id) for s in stale])
    for event, result in zip(stale, results, strict=True):
        if result.done:
            mailbox.removed += 1
        else:
            mailbox.errors.append(f"'{event.subject}' could not be removed: {result.status} {result.error_code or ''}")


def _adopt(store: SyncStore, user_id: str, put: list[Link], release: list[str]) -> None:
    """The incumbent's events become ours (links written), the holds nothing matched are released."""
    store.put_links(put)
    store.delete_links(user_id, release)


def _record(store: SyncStore, report: CutoverReport, now: dt.datetime) -> None:
    problems = report.errors() + report.ambiguous()
    user = report.users[0] if len(report.users) == 1 else ""
    Run(store, f"cutover-{report.action.value}", run_id=report.run_id, user_id=user, started=now).record(
        status_of(problems=bool(problems)),
        counts=report.counts(),
        errors=problems,
        alerts=report.plan.alerts if report.plan else (),
    )
