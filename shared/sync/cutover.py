"""Cutover from the Exchange Integration Manager: which of the incumbent's events becomes which record's event.

Pure decisions over one read of the mailbox (`calendarView` over the records' dates) and the events we would
write (drafts of records that have no event of ours yet). Each of the incumbent's events ends in exactly one of:

- adopted: its signature (kind, amount, names, status, days, times; see `incumbent.py`) equals exactly one
  record's, and no other event's is the same: the record's link will point at it, and the next write updates it
  in place to our rendering and stamps our extended property;
- ambiguous: it could be a record's event but not certainly (two events for one record, two records for one
  event, or only some fields agree: an event edited by hand, or a record changed since), or it must not be
  rewritten (a meeting, a series, a body a person rewrote). It is never touched, the reason is reported, and the
  records it may stand for are held: not written, so no second copy appears next to it;
- stale: no current record is anything like it (deleted in OpenAir; the incumbent never removed events).
  Reported; removed only by a separate, confirmed step.

Events that are not the incumbent's at all (a person's own, even with "OA" in the subject; ours) are counted and
left alone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from shared.domain.events import EventDraft
from shared.domain.links import Desire, Link, LinkState, OutboxEntry
from shared.domain.runs import RunRecord, status_of
from shared.domain.settings import IntegrationSettings
from shared.graph.models import GraphEvent
from shared.kinds import RecordKind, parse_record_key
from shared.ports.mailboxes import CalendarViewer
from shared.store.store import SyncStore
from shared.sync.decide import transaction_id
from shared.sync.incumbent import (
    KIND_NAMES,
    Signature,
    draft_signature,
    event_signature,
    has_incumbent_body,
    not_rewritable,
)

MAX_CANDIDATES_NAMED = 3


@dataclass(frozen=True)
class Adoption:
    key: str  # record key, booking:123
    event_id: str
    change_key: str
    subject: str  # the incumbent's subject, for the report


@dataclass(frozen=True)
class Ambiguity:
    event_id: str
    subject: str
    reason: str
    candidates: tuple[str, ...]  # record keys the event may stand for

    def describe(self) -> str:
        return f"'{self.subject}': {self.reason} (event {self.event_id})"


@dataclass(frozen=True)
class StaleEvent:
    event_id: str
    subject: str
    first_day: dt.date

    def describe(self) -> str:
        return f"'{self.subject}' on {self.first_day.isoformat()}: no current OpenAir record (event {self.event_id})"


@dataclass
class CutoverMatch:
    adopted: list[Adoption] = field(default_factory=list)
    ambiguous: list[Ambiguity] = field(default_factory=list)
    stale: list[StaleEvent] = field(default_factory=list)
    held: set[str] = field(default_factory=set)  # record keys not written while an ambiguous event may be theirs
    foreign: int = 0  # events that are not the incumbent's (a person's own; ours)
    records: int = 0  # records we would write, before matching

    @property
    def to_create(self) -> int:
        return self.records - len(self.adopted) - len(self.held)

    def counts(self) -> dict[str, int]:
        return {
            "incumbent_events": len(self.adopted) + len(self.ambiguous) + len(self.stale),
            "adopted": len(self.adopted),
            "ambiguous": len(self.ambiguous),
            "stale": len(self.stale),
            "held_records": len(self.held),
            "to_create": self.to_create,
            "foreign_untouched": self.foreign,
        }


def window(drafts: Iterable[EventDraft]) -> tuple[dt.datetime, dt.datetime] | None:
    """The calendarView window that meets every draft: from the earliest start to the latest start.

    An event is in a calendar view when it overlaps the window, so this window meets every record's event
    without reaching to the far end of a five-year booking. A day of slack either side absorbs any time zone.
    """
    starts = [d.start for d in drafts]
    if not starts:
        return None
    day = dt.timedelta(days=1)
    first, last = min(starts).date(), max(starts).date()
    return (
        dt.datetime.combine(first - day, dt.time(0), dt.UTC),
        dt.datetime.combine(last + 2 * day, dt.time(0), dt.UTC),
    )


def _order(key: str) -> tuple[str, int, str]:
    kind, record_id = parse_record_key(key)
    return kind.value, int(record_id) if record_id.isdigit() else 0, record_id


def _event_order(event: GraphEvent) -> tuple[dt.datetime, str]:
    return event.created or dt.datetime.min.replace(tzinfo=dt.UTC), event.id


def _suspicion(event: GraphEvent, kind: RecordKind, *, notes_as_is: bool) -> str | None:
    reason = not_rewritable(event)
    if reason is not None:
        return reason
    if kind is RecordKind.BOOKING and notes_as_is:
        return None  # with "Export booking notes as-is" the incumbent's booking bodies are the notes alone
    if not has_incumbent_body(kind, event.body):
        return (
            "the subject follows the Exchange Integration Manager's format but the body does not (rewritten by hand?)"
        )
    return None


def match_incumbent(
    events: Sequence[GraphEvent],
    drafts: Mapping[str, EventDraft],
    zone: str,
    *,
    notes_as_is: bool = False,
    linked: Mapping[str, EventDraft] | None = None,
    kinds: Collection[RecordKind] | None = None,
) -> CutoverMatch:
    """Pair the incumbent's events in one mailbox with the records (`drafts`, by record key) it exported.

    `events` is the mailbox over `window(drafts)`; `drafts` are the records we would write that have no event
    of ours yet; `zone` is the user's zone (timed events are compared at their wall-clock times in it);
    `linked` are records that already have their event (as last written): an incumbent event like one of them
    is a leftover copy, reported as ambiguous, never taken for stale; `kinds` are the record types the user
    exports: an incumbent event of another type (bookings switched off for this user, say) is none of ours to
    judge, so it is counted as foreign, never as stale.
    """
    result = CutoverMatch(records=len(drafts))
    wanted: dict[str, Signature] = {}
    for key, draft in {**(linked or {}), **drafts}.items():
        sig = draft_signature(draft)
        if sig is not None:
            wanted[key] = sig
    ours = set(linked or {}) - set(drafts)  # records that already have their event: never adopt, never hold
    by_what: dict[tuple[RecordKind, str], list[str]] = defaultdict(list)
    by_signature: dict[Signature, list[str]] = defaultdict(list)
    for key in sorted(wanted, key=_order):
        by_what[wanted[key].what].append(key)
        by_signature[wanted[key]].append(key)

    recognised: dict[Signature, list[GraphEvent]] = defaultdict(list)
    suspects: list[tuple[GraphEvent, Signature, str]] = []
    for event in sorted(events, key=_event_order):
        sig = event_signature(event, zone) if event.openair_key is None else None
        if sig is None or (kinds is not None and sig.kind not in kinds):
            result.foreign += 1  # ours (our property), or not in the incumbent's subject format: a person's
            continue
        why = _suspicion(event, sig.kind, notes_as_is=notes_as_is)
        if why is None:
            recognised[sig].append(event)
        else:
            suspects.append((event, sig, why))

    adopted_keys: set[str] = set(ours)
    leftovers: list[tuple[GraphEvent, Signature]] = []
    for sig, group in recognised.items():
        keys = [k for k in by_signature.get(sig, []) if k not in ours]
        if keys and len(keys) == len(group):
            # Equal signatures render equally: whichever pairing, every event ends as its record's rendering.
            for event, key in zip(group, keys, strict=True):
                result.adopted.append(Adoption(key, event.id, event.change_key or "", event.subject or ""))
                adopted_keys.add(key)
        elif keys:
            reason = (
                f"{len(group)} events and {len(keys)} {KIND_NAMES[sig.kind]}s look exactly like this "
                f"({', '.join(keys[:MAX_CANDIDATES_NAMED])}); which is which cannot be told"
            )
            _ambiguous(result, group, reason, keys, adopted_keys)
        else:
            leftovers.extend((event, sig) for event in group)

    for event, sig in leftovers:
        candidates = _closest(sig, by_what.get(sig.what, []), wanted, adopted_keys)
        if not candidates:
            result.stale.append(StaleEvent(event.id, event.subject or "", sig.first_day))
            continue
        named = "; ".join(
            f"{key}: {', '.join(sig.differences(wanted[key])) or 'same'}"
            + (" (it already has its event)" if key in adopted_keys else "")
            for key in candidates[:MAX_CANDIDATES_NAMED]
        )
        _ambiguous(result, [event], f"only partly like {named} (edited by hand, or changed in OpenAir since)",
                   candidates, adopted_keys)  # fmt: skip
    for event, sig, why in suspects:
        candidates = by_what.get(sig.what, [])
        if candidates:
            _ambiguous(result, [event], why, candidates, adopted_keys)
        else:
            result.foreign += 1  # looks like the incumbent's, yet a person's: never reported as removable
    return result


def _closest(sig: Signature, keys: Sequence[str], wanted: Mapping[str, Signature], taken: set[str]) -> list[str]:
    """The records an event may stand for: those with the fewest differences, preferring records still without
    an event (a record that has one is named only when no other is as close)."""
    if not keys:
        return []
    distance = {key: len(sig.differences(wanted[key])) for key in keys}
    free = [k for k in keys if k not in taken]
    pool = free if free and min(distance[k] for k in free) <= min(distance.values()) else list(keys)
    best = min(distance[k] for k in pool)
    return [k for k in pool if distance[k] == best]


def _ambiguous(
    result: CutoverMatch, events: Iterable[GraphEvent], reason: str, keys: Sequence[str], adopted: set[str]
) -> None:
    for event in events:
        result.ambiguous.append(Ambiguity(event.id, event.subject or "", reason, tuple(keys)))
    result.held.update(k for k in keys if k not in adopted)


async def read_and_match(
    calendar: CalendarViewer,
    mailbox_id: str,
    drafts: Mapping[str, EventDraft],
    zone: str,
    *,
    notes_as_is: bool = False,
    linked: Mapping[str, EventDraft] | None = None,
    around: tuple[dt.datetime, dt.datetime] | None = None,
    kinds: Collection[RecordKind] | None = None,
) -> CutoverMatch:
    """One calendarView read of the mailbox over the records' dates, matched (see `match_incumbent`).

    `around` (the import window, WindowPastDays..WindowFutureDays) widens the read, so that stale events of
    deleted records are seen too, also for a user who has no record left to export.
    """
    span = window([*drafts.values(), *(linked or {}).values()])
    if around is not None:
        span = around if span is None else (min(span[0], around[0]), max(span[1], around[1]))
    if span is None:
        return CutoverMatch()
    events = await calendar.calendar_view(mailbox_id, *span)
    return match_incumbent(events, drafts, zone, notes_as_is=notes_as_is, linked=linked, kinds=kinds)


def import_window(settings: IntegrationSettings, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """WindowPastDays before `now` to WindowFutureDays after it."""
    return now - dt.timedelta(days=settings.window_past_days), now + dt.timedelta(days=settings.window_future_days)


def cutover_links(
    match: CutoverMatch, user_id: str, mailbox_id: str, links: Mapping[str, Link]
) -> tuple[list[Link], list[str]]:
    """The Links rows a cutover leaves: (rows to write, keys of holds to release).

    An adopted event's link has no content hash ("content unknown"), so the next write of the record updates the
    event in place to our rendering and stamps our property. A held record gets a `held` link without an event.
    A hold the matching no longer needs is released: the record is then written like any other.
    """
    put: list[Link] = []
    for adoption in match.adopted:
        put.append(Link(user_id=user_id, key=adoption.key, mailbox_id=mailbox_id, state=LinkState.SYNCED,
                        transaction_id=transaction_id(mailbox_id, adoption.key, 0), event_id=adoption.event_id,
                        change_key=adoption.change_key))  # fmt: skip
    for key in sorted(match.held):
        current = links.get(key)
        if current is None or current.state is not LinkState.HELD or current.mailbox_id != mailbox_id:
            put.append(Link(user_id=user_id, key=key, mailbox_id=mailbox_id, state=LinkState.HELD,
                            transaction_id=transaction_id(mailbox_id, key, 0)))  # fmt: skip
    adopted = {a.key for a in match.adopted}
    release = sorted(
        key for key, link in links.items() if link.state is LinkState.HELD and key not in match.held | adopted
    )
    return put, release


def draft_of_link(link: Link) -> EventDraft | None:
    """The event a link says we last wrote (its synced fields), to recognise leftover copies of it."""
    fields = link.fields
    try:
        return EventDraft(openair_key=f"openair:{link.key}", subject=str(fields["subject"]), body="",
                          start=dt.datetime.fromisoformat(str(fields["start"])),
                          end=dt.datetime.fromisoformat(str(fields["end"])), time_zone=str(fields["time_zone"]),
                          is_all_day=str(fields["is_all_day"]) == "true")  # fmt: skip
    except (KeyError, ValueError):
        return None


async def adopt_on_first_export(
    user_id: str, mailbox_id: str, entries: Sequence[OutboxEntry], *, store: SyncStore, calendar: CalendarViewer
) -> dict[str, Link]:
    """A user's first export (no link yet), when `IncumbentEventsInMailboxes` says the mailbox may hold the
    incumbent's events: the same read and matching as the cutover operation, before anything is created.

    Returns the links it recorded (adopted events, held records); empty when the switch is off. A failed read
    raises, so the queue retries the mailbox and nothing is created next to events not looked at.
    """
    drafts = {e.key: EventDraft.model_validate_json(e.draft_json) for e in entries if e.desire is Desire.WRITE}
    if not drafts:
        return {}
    settings, _ = await asyncio.to_thread(store.load_settings)
    if not settings.incumbent_events_in_mailboxes:
        return {}
    started = dt.datetime.now(dt.UTC)
    zone = next(iter(drafts.values())).time_zone  # one user's drafts share the user's zone
    match = await read_and_match(
        calendar,
        mailbox_id,
        drafts,
        zone,
        notes_as_is=settings.export_booking_notes_as_is,
        around=import_window(settings, started),
    )
    put, _ = cutover_links(match, user_id, mailbox_id, {})
    await asyncio.to_thread(store.put_links, put)
    ambiguous = tuple(a.describe() for a in match.ambiguous)
    await asyncio.to_thread(store.record_run, RunRecord(
        run_id=f"cutover-{user_id}-{started:%Y%m%d%H%M%S}", kind="cutover-first-export", started=started,
        finished=dt.datetime.now(dt.UTC), status=status_of(problems=bool(ambiguous)), counts=match.counts(),
        errors=ambiguous, user_id=user_id,
    ))  # fmt: skip
    return {link.key: link for link in put}
