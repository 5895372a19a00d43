"""Apply one user's outbox to their mailbox: the queue worker's whole job, host-agnostic.

Crash-safety, in order: a create's link is stored (state `creating`, with its transaction id) before the create
is sent; the answer turns it `synced`; only then is the outbox entry settled (ETag-conditional, so a newer plan
written meanwhile survives). Interrupted anywhere, the next attempt finds the event by transaction id or by our
extended property instead of creating a second one.

Graph refuses a create that repeats a used transactionId (ErrorDuplicateTransactionId), also after the event it
made was deleted. So a create refused that way is looked up by our extended property: found, it is linked (a retry
after a lost answer); not found, the person deleted it, and it is created again under a new transaction id.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from shared.domain.events import DeleteEvent, EventDraft, WriteResult
from shared.domain.links import Desire, Link, LinkState, OutboxEntry
from shared.domain.mappings import UserMapping
from shared.domain.settings import IntegrationSettings
from shared.errors import Incomplete
from shared.graph.errors import GraphError, MailboxUnavailable
from shared.kinds import RecordKind, openair_event_key, parse_record_key
from shared.ports.mailboxes import CalendarPort
from shared.store.offload import off_loop
from shared.store.store import SyncStore
from shared.sync import conflicts, time_off
from shared.sync.cutover import adopt_on_first_export
from shared.sync.decide import Action, Step, content_hash, decide, new_link

log = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class MailboxIncomplete(Incomplete):
    """Some writes failed for reasons that pass (throttling, outages): retry the message later."""


@dataclass
class Settlement:
    """Store writes collected during a round and flushed in batches (one table transaction per 100 rows)."""

    put: list[Link] = field(default_factory=list)
    drop: list[Link] = field(default_factory=list)
    settled: list[OutboxEntry] = field(default_factory=list)
    retiring: list[tuple[OutboxEntry, Link]] = field(default_factory=list)  # copies in previous mailboxes to remove

    async def flush(self, store: SyncStore, user_id: str) -> None:
        put, drop, settled = self.put, self.drop, self.settled
        self.put, self.drop, self.settled = [], [], []
        await off_loop(store.put_links, put)
        await off_loop(store.delete_links, user_id, [link.key for link in drop])
        await off_loop(store.settle_outbox_many, settled)


@dataclass
class MailboxReport:
    user_id: str
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    recovered: int = 0
    failed: int = 0
    transient_failures: int = 0
    errors: list[str] = field(default_factory=list)
    mailbox_unavailable: str = ""  # set when Graph answered a mailbox-level 404: what to tell the administrator
    conflicts: int | None = None  # bookings on days Outlook shows out of office or fully busy (ConflictReport)
    awaiting_import: int = 0  # updates held until the import has merged an Outlook edit of the same event

    def counts(self) -> dict[str, int]:
        counts = {
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "recovered": self.recovered,
            "failed": self.failed,
            "awaiting_import": self.awaiting_import,
        }
        if self.conflicts is not None:
            counts["conflicts"] = self.conflicts
        return counts


@dataclass
class _RunSettings:
    """IntegrationSettings read at most once per worker run, and only when a step needs them."""

    store: SyncStore
    _value: IntegrationSettings | None = None

    async def get(self) -> IntegrationSettings:
        if self._value is not None:
            return self._value
        loaded, _ = await off_loop(self.store.load_settings)
        self._value = loaded
        return loaded


def load_mapping(store: SyncStore, user_id: str) -> UserMapping | None:
    """The user's mapping row if it parses and has a resolved mailbox (one row read, not the whole table;
    the planner has already refused mailboxes mapped twice)."""
    mapping = store.user_mapping(user_id)
    return mapping if isinstance(mapping, UserMapping) and mapping.mailbox_id else None


def synced_fields(draft: EventDraft) -> dict[str, str]:
    """What we wrote, field by field: the base of later three-way merges."""
    return {
        "subject": draft.subject,
        "body": draft.body,
        "start": draft.start.isoformat(),
        "end": draft.end.isoformat(),
        "time_zone": draft.time_zone,
        "is_all_day": str(draft.is_all_day).lower(),
        "show_as": draft.show_as,
    }


async def export_mailbox(
    user_id: str, *, store: SyncStore, calendar: CalendarPort, now: dt.datetime | None = None
) -> MailboxReport:
    """Make the user's mailbox match their outbox. Raises MailboxIncomplete when a retry may finish the job.

    One worker per user at a time (`store.lease`): the timer's message and a push's for the same user would
    otherwise both read an entry before either settled it, and both write it.
    """
    if not await off_loop(store.outbox, user_id):
        # Nothing to apply (another worker already took care of it): no lease, no table writes. An entry written
        # after this read comes with its own message, whose worker will apply it.
        await time_off.when_due(user_id, store=store, calendar=calendar, now=now or dt.datetime.now(dt.UTC))
        return MailboxReport(user_id)
    async with store.mailbox_lease(user_id):
        return await _export_mailbox(user_id, store=store, calendar=calendar, now=now)


async def _export_mailbox(
    user_id: str, *, store: SyncStore, calendar: CalendarPort, now: dt.datetime | None = None
) -> MailboxReport:
    now = now or dt.datetime.now(dt.UTC)
    report = MailboxReport(user_id)
    entries = await off_loop(store.outbox, user_id)
    if not entries:
        return report
    mapping = await off_loop(load_mapping, store, user_id)
    mailbox_id = mapping.mailbox_id if mapping else ""
    links = await off_loop(store.links, user_id)
    if not links and mailbox_id:  # a first export: the incumbent's events may be there already (cutover.py)
        links = await adopt_on_first_export(user_id, mailbox_id, entries, store=store, calendar=calendar)
    steps = [decide(entry, links.get(entry.key), mailbox_id) for entry in entries]
    steps = [
        await _recover(step, calendar, mailbox_id, report) if step.action is Action.RECOVER else step for step in steps
    ]
    steps = [_superseded(step) for step in steps]
    settings = _RunSettings(store)
    importing = mapping is not None and mapping.import_events and any(_mergeable(s) for s in steps)
    if importing and (await settings.get()).import_enabled:
        steps = [await _unseen_outlook_edit(step, calendar, report) if _mergeable(step) else step for step in steps]

    await _ensure_categories(settings, calendar, steps, report)

    await off_loop(store.put_links, _intents(steps))
    second: list[Step] = []  # what the answers of the first round call for
    settlement = Settlement()
    for step, result in await _apply(calendar, [s for s in steps if s.write() is not None]):
        outcome = _record(step, result, settlement, report, now)
        if outcome == "gone":
            # The event was deleted in Outlook: OpenAir is the source of truth for exported records, so write it
            # again under a new generation (a new transaction id; the old one belongs to the deleted event).
            second.append(_recreate(step, user_id, mailbox_id))
        elif outcome == "spent":
            second.append(await _recover(step, calendar, mailbox_id, report, spent=True))
    await settlement.flush(store, user_id)

    if second:
        await off_loop(store.put_links, _intents(second))
        for step, result in await _apply(calendar, [s for s in second if s.write() is not None]):
            _record(step, result, settlement, report, now, last_round=True)
        await settlement.flush(store, user_id)

    for step in [*steps, *second]:
        if step.action is Action.SUPERSEDED:
            settlement.settled.append(step.entry)
        if step.action is Action.UNCHANGED:
            report.unchanged += 1
            if step.link is not None and step.link.retired:
                settlement.retiring.append((step.entry, step.link))
            else:
                settlement.settled.append(step.entry)
        elif step.action is Action.NOTHING:
            if step.link is not None and step.entry.desire is Desire.REMOVE:
                settlement.drop.append(step.link)
            settlement.settled.append(step.entry)
    if settlement.retiring:
        await _retire(calendar, settlement, report)
    await settlement.flush(store, user_id)

    unavailable = report.mailbox_unavailable
    if not unavailable and any(entry.key.startswith(f"{RecordKind.SCHEDULE_REQUEST.value}:") for entry in entries):
        note = await time_off.after_export(user_id, mapping, store=store, calendar=calendar, now=now,
                                           settings=await settings.get())  # fmt: skip
        if note:
            report.errors.append(note)
    if (
        not unavailable
        and mailbox_id
        and any(entry.key.startswith(f"{RecordKind.BOOKING.value}:") for entry in entries)
    ):
        try:
            report.conflicts = await conflicts.report_conflicts(user_id, mailbox_id, await settings.get(),
                                                                store=store, calendar=calendar,
                                                                now=now)  # fmt: skip
        except GraphError as exc:
            report.errors.append(f"conflict report: the calendar could not be read ({exc})")
    await off_loop(
        store.write_mapping_status,
        user_id,
        LastExport=now,
        LastExportCounts=", ".join(f"{k} {v}" for k, v in report.counts().items() if v),
        LastError=unavailable or (report.errors[-1] if report.errors else ""),
        LastErrorAt=now if report.errors or unavailable else None,
    )
    if report.transient_failures:
        raise MailboxIncomplete(
            f"{report.transient_failures} write(s) for user {user_id} failed transiently; they stay queued"
        )
    return report


async def _ensure_categories(
    settings: _RunSettings, calendar: CalendarPort, steps: list[Step], report: MailboxReport
) -> None:
    """The administrator's export category is in each mailbox's master list before events carry it: Outlook colours
    a category only when the list has it."""
    wanted = {(s.mailbox_id, name) for s in steps if s.action in (Action.CREATE, Action.UPDATE) and s.draft
              for name in s.draft.categories if s.mailbox_id}  # fmt: skip
    if not wanted:
        return
    color = (await settings.get()).export_category_color
    for mailbox_id, name in sorted(wanted):
        try:
            await calendar.ensure_category(mailbox_id, name, color)
        except MailboxUnavailable:
            return  # the writes that follow find the mailbox gone and mark the user
        except GraphError as exc:
            # The events still carry the category, uncoloured: worth an administrator's fix, not a stopped export.
            report.errors.append(f"category '{name}' could not be added to the mailbox's category list ({exc}); "
                                 "grant the app MailboxSettings.ReadWrite, or add the category in Outlook")  # fmt: skip


def _superseded(step: Step) -> Step:
    """An entry older than the version the link already shows (the import merged an Outlook edit into the booking
    after this entry was planned): writing it would put the old values back. The newer version is planned anyway."""
    link, entry = step.link, step.entry
    if (
        step.action is Action.UPDATE
        and link is not None
        and link.source_updated is not None
        and entry.source_updated is not None
        and entry.source_updated < link.source_updated
    ):
        return Step(entry, Action.SUPERSEDED, link)
    return step


def _mergeable(step: Step) -> bool:
    """Updates of bookings: the only exported events whose Outlook edits the import brings back to OpenAir."""
    return step.action is Action.UPDATE and step.link is not None and step.link.kind is RecordKind.BOOKING


async def _unseen_outlook_edit(step: Step, calendar: CalendarPort, report: MailboxReport) -> Step:
    """For a user whose Outlook edits are imported: an event changed since our last write (its change key moved)
    holds an edit the import has not merged yet. Writing now would overwrite it (a move in Outlook undone by a notes
    edit in OpenAir), so the update waits for the import's three-way merge, which writes both sides' changes into
    the booking; the next plan then renders the merged booking."""
    link = step.link
    assert link is not None
    try:
        current = await calendar.get_event(link.mailbox_id, link.event_id)
    except MailboxUnavailable:
        return step  # the write meets the same 404 and is kept for later
    if current is None or not current.change_key or not link.change_key or current.change_key == link.change_key:
        return step
    report.awaiting_import += 1
    return Step(step.entry, Action.WAIT, link)


async def _retire(calendar: CalendarPort, settlement: Settlement, report: MailboxReport) -> None:
    """Remove the copies an event left in the user's previous mailboxes, then settle its entry.

    A copy whose removal fails (the old mailbox unavailable, a transient error) stays on the link and the entry
    stays queued: the next run tries again. For a record that should not exist at all, a copy that could not be
    removed becomes the link's current event, so the pending removal goes on deleting it.
    """
    retiring, settlement.retiring = settlement.retiring, []
    by_mailbox: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for index, (_, link) in enumerate(retiring):
        for mailbox, event_id in link.retired:
            by_mailbox[mailbox].append((index, event_id))
    left: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for mailbox, items in by_mailbox.items():
        results = await calendar.apply(mailbox, [DeleteEvent(event_id=event_id) for _, event_id in items])
        for (index, event_id), result in zip(items, results, strict=True):
            if result.done:
                continue
            left[index].append((mailbox, event_id))
            entry = retiring[index][0]
            _note_failure(report, result, f"{entry.key}: could not remove the event from the previous mailbox "
                                          f"{mailbox}")  # fmt: skip
    for index, (entry, link) in enumerate(retiring):
        remaining = tuple(left.get(index, ()))
        if entry.desire is Desire.REMOVE:
            if not remaining:
                settlement.drop.append(link)
                settlement.settled.append(entry)
                report.deleted += 1
            else:
                (mailbox, event_id), rest = remaining[0], remaining[1:]
                settlement.put.append(dataclasses.replace(
                    link, mailbox_id=mailbox, event_id=event_id, change_key="", content_hash="", retired=rest,
                    state=LinkState.SYNCED, etag=None,
                ))  # fmt: skip
        else:
            settlement.put.append(dataclasses.replace(link, retired=remaining, etag=None))
            if not remaining:
                settlement.settled.append(entry)


def _note_failure(report: MailboxReport, result: WriteResult, what: str) -> None:
    """Count one failed write: transient ones make the message retry soon; a mailbox-level 404 marks the user."""
    report.failed += 1
    if result.mailbox_unavailable:
        report.mailbox_unavailable = (
            f"Mailbox unavailable: Graph answers {result.status} {result.error_code} for the whole mailbox (licence "
            "removed or user deleted). Links and pending changes are kept and retried on every run; give the "
            "licence back, restore the user, or map the OpenAir user to their new mailbox."
        )
    elif result.status in TRANSIENT_STATUSES:
        report.transient_failures += 1
    message = f"{what}: {result.status} {result.error_code or ''}".strip()
    if result.error_message:
        message += f" ({result.error_message})"
    report.errors.append(message)


def _intents(steps: list[Step]) -> list[Link]:
    """Links to store before writing. A create's link (state creating, transaction id) makes a crash after the send
    recoverable; an update's or a delete's link loses its hash, so if the answer is lost the event counts as unknown
    and is written again rather than assumed to match what the link remembered."""
    return [
        s.link if s.action is Action.CREATE else dataclasses.replace(s.link, content_hash="", etag=None)
        for s in steps
        if s.action in (Action.CREATE, Action.UPDATE, Action.DELETE) and s.link is not None
    ]


def _recreate(step: Step, user_id: str, mailbox_id: str) -> Step:
    """A create under the next generation's transaction id (copies still to retire stay on the link)."""
    generation = (step.link.generation if step.link else 0) + 1
    link = new_link(user_id, step.entry.key, step.mailbox_id or mailbox_id, generation)
    return dataclasses.replace(
        step, action=Action.CREATE, link=dataclasses.replace(link, retired=step.link.retired if step.link else ())
    )


async def _recover(
    step: Step, calendar: CalendarPort, mailbox_id: str, report: MailboxReport, *, spent: bool = False
) -> Step:
    """A create was sent but its answer was lost (`spent`: Graph refused it again as a used transactionId): find
    the event by our extended property before deciding anything else."""
    link = step.link
    assert link is not None
    kind, record_id = parse_record_key(step.entry.key)
    try:
        found = await calendar.find_events_by_key(link.mailbox_id, openair_event_key(kind, record_id))
    except MailboxUnavailable as error:
        # Whether the create happened is unknowable until the mailbox is back: decide nothing, keep it all.
        report.failed += 1
        report.mailbox_unavailable = (
            f"Mailbox unavailable: Graph answers {error.status} {error.code} for the whole mailbox (licence removed "
            "or user deleted). Links and pending changes are kept and retried on every run."
        )
        report.errors.append(f"{step.entry.key}: {report.mailbox_unavailable}")
        return Step(step.entry, Action.WAIT, link)
    # Copies of an event carry our property too; the one with our transaction id is ours.
    ours = [e for e in found if e.transaction_id == link.transaction_id] or found[:1]
    if ours:
        report.recovered += 1
        recovered = dataclasses.replace(
            link, state=LinkState.SYNCED, event_id=ours[0].id, change_key=ours[0].change_key or "", content_hash=""
        )
        return decide(step.entry, recovered, mailbox_id)
    if step.entry.desire is Desire.REMOVE:
        return Step(step.entry, Action.NOTHING, link)
    if spent:
        # Made once and deleted since: Graph keeps the id used for good, so only a new one can create it again.
        return _recreate(step, link.user_id, mailbox_id)
    if mailbox_id and link.mailbox_id != mailbox_id:
        # Never created in the previous mailbox, which is no longer the user's: create in theirs, under its own id.
        return _recreate(dataclasses.replace(step, mailbox_id=mailbox_id), link.user_id, mailbox_id)
    # Never created: create now, under the same transaction id.
    return Step(step.entry, Action.CREATE, link, step.draft, mailbox_id or link.mailbox_id)


async def _apply(calendar: CalendarPort, steps: list[Step]) -> list[tuple[Step, WriteResult]]:
    by_mailbox: dict[str, list[Step]] = defaultdict(list)
    for step in steps:
        by_mailbox[step.mailbox_id].append(step)
    pairs: list[tuple[Step, WriteResult]] = []
    for mailbox, group in by_mailbox.items():
        writes = [s.write() for s in group]
        results = await calendar.apply(mailbox, [w for w in writes if w is not None])
        pairs.extend(zip(group, results, strict=True))
    return pairs


def _record(
    step: Step,
    result: WriteResult,
    settlement: Settlement,
    report: MailboxReport,
    now: dt.datetime,
    *,
    last_round: bool = False,
) -> str:
    """Collect the outcome of one write; returns 'done', 'gone' (update hit a deleted event), 'spent' (a create's
    transactionId was used before: look the event up; not in the `last_round`) or 'failed'.

    Only an event-level 404 (ErrorItemNotFound) means "gone"; a mailbox-level 404 (licence removed, user
    deleted) keeps the link and the entry, so nothing is dropped or re-created for a mailbox that will come back.
    """
    link = step.link
    assert link is not None
    if step.action is Action.DELETE:
        if result.done:
            if link.retired:
                settlement.retiring.append((step.entry, dataclasses.replace(link, event_id="", etag=None)))
                return "done"
            settlement.drop.append(link)
            settlement.settled.append(step.entry)
            report.deleted += 1
            return "done"
    elif result.ok and step.draft is not None:
        written = dataclasses.replace(
            link,
            state=LinkState.SYNCED,
            event_id=result.event_id or link.event_id,
            change_key=result.change_key or "",
            content_hash=content_hash(step.draft),
            fields=synced_fields(step.draft),
            synced_at=now,
            source_updated=step.entry.source_updated,
            etag=None,
        )
        settlement.put.append(written)
        if written.retired:
            settlement.retiring.append((step.entry, written))
        else:
            settlement.settled.append(step.entry)
        if step.action is Action.CREATE:
            report.created += 1
        else:
            report.updated += 1
        return "done"
    elif step.action is Action.UPDATE and result.event_gone:
        return "gone"
    elif result.transaction_spent and not last_round:
        return "spent"
    _note_failure(report, result, f"{step.entry.key}: {step.action.value} failed")
    log.warning("event write failed", extra={"user": link.user_id, "record": step.entry.key, "status": result.status})
    return "failed"
