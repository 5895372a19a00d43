"""One delta pass's events applied to OpenAir: create, merge, delete, or leave alone, each idempotently.

Recognising our own writes (echo suppression, failure class 9), in order:
1. the event id is a link's event id and its change key is the one the link recorded (the export's write, or
   the version this import already handled) → nothing to do;
2. the event carries a transactionId a link knows (an export create whose answer is not recorded yet) → ours;
3. an unknown transactionId → the event is read with our extended property expanded (delta cannot $expand);
   stamped → ours (a lost link; the export's recovery finds it);
4. and whatever slips through merges to nothing: an event that equals its booking changes nothing.

Crash safety: an Add is preceded by an ImportedEvents row holding the booking's externalid, and the Add uses
`lookup=externalid`, so replaying a pass after a crash updates the booking it made instead of adding another.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field

from shared.domain.links import Link, LinkState, Origin
from shared.domain.settings import IntegrationSettings, OutlookDeletion
from shared.errors import SyncError
from shared.graph.models import GraphEvent
from shared.kinds import RecordKind, parse_record_key, record_key
from shared.openair.bookings import UserDefaults
from shared.openair.errors import OpenAirConditionFailed, OpenAirError, is_retryable
from shared.openair.models import Booking
from shared.ports.mailboxes import MailboxReader
from shared.ports.openair import BookingPort
from shared.store.importing import ImportedEvent
from shared.store.offload import off_loop
from shared.store.store import SyncStore
from shared.sync.importing.merge import merge
from shared.sync.importing.report import ImportReport as ImportReport
from shared.sync.importing.rules import (
    MADE_PRIVATE,
    PRIVATE_NOTE,
    Gone,
    ImportFilter,
    Skip,
    Snapshot,
    booking_snapshot,
    booking_values,
    changed_values,
    classify,
    event_identity,
    event_snapshot,
    external_id,
)

log = logging.getLogger(__name__)

TOMBSTONE = "-"  # ImportedEvents.RecordKey of an event whose booking was deleted in OpenAir: never re-created
CONDITION_RETRIES = 3


class MissingDefaults(SyncError):
    """The user has no booking type or project for imported bookings: the administrator must set one."""


@dataclass(frozen=True)
class Merged:
    """A three-way merge's outcome: what was written to the booking (empty when it already held the merge), and
    the new base, the merged values with Outlook's own value where OpenAir won a conflict (`outlook_<field>`)."""

    changes: dict[str, object]
    base: Snapshot


def merged_base(merged: Snapshot, outlook: Snapshot) -> Snapshot:
    base = dict(merged)
    base.update({f"outlook_{k}": v for k, v in outlook.items() if merged.get(k) != v})
    return base


@dataclass
class EventImporter:
    """Applies one pass. `hold` turns true when something must be tried again: the delta link is then kept."""

    user_id: str
    mailbox_id: str
    zone: str
    settings: IntegrationSettings
    store: SyncStore
    calendar: MailboxReader
    bookings: BookingPort
    report: ImportReport
    now: dt.datetime
    window: tuple[dt.datetime, dt.datetime] | None = None  # the delta's [start, end): what this pass may import
    hold: bool = False
    rules: ImportFilter = field(default_factory=ImportFilter)  # the user's import filter and detail
    _defaults: UserDefaults | None = None
    # Removals (deletes and re-types) decided in this pass, applied together after the budget check.
    deferred: list[tuple[Link, ImportedEvent | None, str, bool]] = field(default_factory=list)
    _read_updated: dict[str, dt.datetime] = field(default_factory=dict)  # record key -> `updated` last read
    links: dict[str, Link] = field(default_factory=dict)  # the user's links, as `load` read them
    imported: dict[str, ImportedEvent] = field(default_factory=dict)  # the user's imported events, by identity

    def __post_init__(self) -> None:
        self.imports = self.store.imports
        self.by_event = {link.event_id: link for link in self.links.values() if link.event_id}
        self.by_transaction = {link.transaction_id: link for link in self.links.values() if link.transaction_id}
        self.imported_by_event = {e.event_id: e for e in self.imported.values()}

    @classmethod
    async def load(
        cls, user_id: str, mailbox_id: str, zone: str, settings: IntegrationSettings, store: SyncStore,
        calendar: MailboxReader, bookings: BookingPort, report: ImportReport, now: dt.datetime, *,
        rules: ImportFilter, window: tuple[dt.datetime, dt.datetime],
    ) -> EventImporter:  # fmt: skip
        """An importer for one pass, over the user's links and imported events read (off the loop) as it starts."""
        links, imported = await off_loop(lambda: (store.links(user_id), store.imports.imported_events(user_id)))
        return cls(user_id, mailbox_id, zone, settings, store, calendar, bookings, report, now, window=window,
                   rules=rules, links=links, imported=imported)  # fmt: skip

    # ------------------------------------------------------------ a pass
    async def apply(
        self, events: list[GraphEvent], removed: list[str], *, full_listing_since: dt.date | None = None
    ) -> None:
        """Apply a delta pass. `full_listing_since`: the pass was a fresh chain listing everything in the window
        from that day, so an imported event missing from it may have been deleted while the chain was dead; each
        such event is read, and only one that is not found counts as deleted (never the listing's silence)."""
        seen = {e.id for e in events}
        if full_listing_since is not None:
            removed = removed + [e for e in self._unlisted(seen, full_listing_since) if e not in removed]
        # An Add interrupted before its link was stored leaves an intent row; its event may not come again in
        # this chain (created and deleted in between), so every pass settles the intents it did not see.
        intents = [e.event_id for e in self.imported.values() if e.record_key == "" and e.event_id not in seen]
        removed = removed + [e for e in intents if e not in removed]
        # Ids never imported are skipped, or not ours to care about: @removed also names events outside the window.
        known = [e for e in removed if e in self.by_event or e in self.imported_by_event]
        found = await self.calendar.get_events(self.mailbox_id, known) if known else {}
        for event_id in known:
            # @removed also means "moved out of the window": only a read that finds nothing is a deletion.
            still = found.get(event_id)
            if still is None:
                await self._guarded(self._deleted_in_outlook, event_id, "deleted")
            elif not self._in_window(still):
                # Moved out of the window (or never in it: @removed also names events outside it). Not an edit to
                # import, since the import watches the window only, and not a deletion: the booking stays.
                self.report.skipped["outside the import window"] += 1
            elif still.id not in seen:
                events.append(still)
        for event in await self._whole(events):
            await self._guarded(self._one, event)
        await self._settle_removals()

    async def _whole(self, events: list[GraphEvent]) -> list[GraphEvent]:
        """The events with every property: partial delta items (bare occurrences, updates carrying only what
        changed) are read in bulk, except a version this import already handled (its change key is known)."""
        partial = [e.id for e in events if not e.is_complete and not self._handled(e)]
        found = await self.calendar.get_events(self.mailbox_id, partial) if partial else {}
        out: list[GraphEvent] = []
        for event in events:
            if event.is_complete:
                out.append(event)
            elif event.id not in found:
                self.report.echoes += 1  # the version handled before (a replay, or a fresh chain's listing)
            elif (whole := found[event.id]) is not None:
                out.append(whole)  # None: deleted since delta listed it; its @removed comes with the next pass
        return out

    def _handled(self, event: GraphEvent) -> bool:
        if not event.change_key:
            return False
        known = self.imported_by_event.get(event.id)
        if known is not None and known.record_key != "" and known.change_key == event.change_key:
            return True
        link = self.by_event.get(event.id)
        return link is not None and link.change_key == event.change_key

    def _in_window(self, event: GraphEvent) -> bool:
        if self.window is None or event.start is None or event.end is None:
            return True
        start, end = self.window
        if event.start == event.end:
            return start <= event.start < end
        return event.start < end and event.end > start

    async def _settle_removals(self) -> None:
        """The deletion guard, as the export's: a pass that would remove more bookings than the budget removes
        none, keeps its delta link (the same removals come back next pass) and raises an alert."""
        budget = self.settings.max_import_deletions_per_pass
        if len(self.deferred) > budget:
            self.hold = True
            self.report.deletions_blocked += len(self.deferred)
            self.report.alerts.append(
                f"Import: Deletion guard: a pass over user {self.user_id}'s mailbox would delete or re-type "
                f"{len(self.deferred)} bookings, more than MaxImportDeletionsPerPass ({budget}). No booking was "
                "changed. If Outlook really lost these events, raise MaxImportDeletionsPerPass in IntegrationSettings "
                "for one pass; otherwise check the mailbox."
            )
            log.error("import deletion budget exceeded", extra={"user": self.user_id, "deletions": len(self.deferred)})
            return
        for link, known, reason, still_exists in self.deferred:
            await self._guarded(self._remove_booking, link, known, reason, still_exists)

    def _unlisted(self, listed: set[str], since: dt.date) -> list[str]:
        out = []
        for known in self.imported.values():
            link = self.links.get(known.record_key)
            if known.event_id in listed or (link is None and known.record_key != ""):
                continue
            end = str(link.fields.get("end", "")) if link is not None else ""
            if end and dt.date.fromisoformat(end[:10]) < since:
                continue  # ended before the window: not listed because it is outside, not because it is gone
            out.append(known.event_id)
        return out

    async def _guarded(self, step: object, *args: object) -> None:
        try:
            await step(*args)  # type: ignore[operator]
        except MissingDefaults as exc:
            self.hold = True
            self.report.errors.append(str(exc))
        except OpenAirConditionFailed as exc:
            self.hold = True
            self.report.errors.append(f"booking kept changing in OpenAir; tried {CONDITION_RETRIES} times ({exc})")
        except OpenAirError as exc:
            if is_retryable(exc):
                raise  # the whole pass is retried later, from the same delta link
            # This event cannot be written as it is (OpenAir refused it): say so, keep the link so it is retried.
            self.hold = True
            self.report.errors.append(f"Import: user {self.user_id}: {exc}")

    # ------------------------------------------------------------ one live event
    async def _one(self, event: GraphEvent) -> None:
        identity = event_identity(event)
        known = self.imported.get(identity)
        link = self.by_event.get(event.id)
        if link is None and known is not None and known.record_key not in ("", TOMBSTONE):
            link = self.links.get(known.record_key)
        if link is None and event.transaction_id:
            link = self.by_transaction.get(event.transaction_id)
            if link is None and known is None:
                stamped = await self.calendar.get_event(self.mailbox_id, event.id)
                if stamped is not None and stamped.openair_key:
                    self.report.echoes += 1
                    return
        if link is not None and link.origin is Origin.OPENAIR:
            await self._exported(event, link)
            return
        if known is not None and known.record_key == TOMBSTONE:
            self.report.skipped["booking deleted in OpenAir"] += 1
            return
        if link is not None and known is not None and known.change_key == event.change_key:
            self.report.echoes += 1  # a replayed or duplicated delta item
            return
        verdict = classify(event, self.settings, linked=link is not None, rules=self.rules)
        if isinstance(verdict, Gone):
            if link is not None:
                if verdict.reason == MADE_PRIVATE:
                    link = await self._hide_subject(link)
                    if link is None:
                        return
                await self._apply_deletion(link, known, verdict.reason, still_exists=True)
            else:
                self.report.skipped[verdict.reason] += 1
            return
        if isinstance(verdict, Skip):
            self.report.skipped[verdict.reason] += 1
            return
        if link is None:
            await self._create(event, identity, known)
        else:
            await self._merge(event, link, known)

    async def _defaults_for_user(self) -> tuple[str, str]:
        if self._defaults is None:
            self._defaults = await self.bookings.user_defaults(self.user_id)
        booking_type = self._defaults.booking_type_id or self.settings.default_booking_type_id
        project = self._defaults.project_id or self.settings.default_project_id
        if not booking_type or not project:
            missing = " and ".join(n for n, v in (("booking type", booking_type), ("project", project)) if not v)
            raise MissingDefaults(
                f"Import: user {self.user_id} has no {missing} for imported bookings; set the OpenAir user's custom "
                "fields exchDefault_booking_type / exchDefault_project, or DefaultBookingTypeId / DefaultProjectId "
                "in IntegrationSettings"
            )
        return booking_type, project

    def _snapshot(self, event: GraphEvent, zone: str, *, notes: bool = True) -> Snapshot:
        return event_snapshot(event, zone, with_notes=notes, rules=self.rules)

    async def _create(self, event: GraphEvent, identity: str, known: ImportedEvent | None) -> None:
        booking_type, project = await self._defaults_for_user()
        snapshot = self._snapshot(event, self.zone)
        external = known.external_id if known and known.external_id else external_id(self.mailbox_id, identity)
        intent = ImportedEvent(self.user_id, identity, event.id, "", external, "")
        await off_loop(self.imports.put_imported, intent)
        booking = Booking(id="", userid=self.user_id, booking_typeid=booking_type, projectid=project,
                          externalid=external, **booking_values(snapshot))  # fmt: skip
        written = await self.bookings.add_booking(booking)
        key = record_key(RecordKind.BOOKING, written.id)
        link = Link(user_id=self.user_id, key=key, mailbox_id=self.mailbox_id, state=LinkState.SYNCED,
                    transaction_id=external, event_id=event.id, change_key=event.change_key or "",
                    origin=Origin.OUTLOOK, fields=snapshot, synced_at=self.now)  # fmt: skip
        imported = dataclasses.replace(intent, record_key=key, change_key=event.change_key or "")

        def remember() -> None:
            self.store.put_links([link])
            self.imports.put_imported(imported)

        await off_loop(remember)
        self.links[key] = link
        self.by_event[event.id] = link
        self.report.created += 1

    # ------------------------------------------------------------ merges
    async def _merge(self, event: GraphEvent, link: Link, known: ImportedEvent | None) -> None:
        """An imported booking's event changed in Outlook."""
        base = {k: str(v) for k, v in link.fields.items()}
        zone = base.get("time_zone") or self.zone
        outlook = self._snapshot(event, zone, notes="notes" in base)
        merged = await self._merge_into_booking(link, base, outlook, zone)
        if merged is None:
            return
        identity = known.identity if known else event_identity(event)
        seen = ImportedEvent(self.user_id, identity, event.id, link.key, link.transaction_id, event.change_key or "")
        await off_loop(self.imports.put_imported, seen)

    async def _exported(self, event: GraphEvent, link: Link) -> None:
        """One of our exported events. Only a booking's times are imported; task assignments and schedule
        requests are OpenAir's mirrors, and Outlook edits to them are not imported."""
        if (event.change_key and event.change_key == link.change_key) or link.state is LinkState.CREATING:
            self.report.echoes += 1  # our write, or a create of ours whose answer the export has not recorded yet
            return
        if link.kind is not RecordKind.BOOKING:
            self.report.skipped["OpenAir-owned mirror"] += 1
            return
        verdict = classify(event, self.settings, linked=True)
        if isinstance(verdict, Gone):
            await self._apply_deletion(link, None, verdict.reason, still_exists=True)
            return
        base = {k: str(v) for k, v in link.fields.items() if k in ("start", "end", "is_all_day", "time_zone")}
        if len(base) < 4:
            self.report.skipped["no synced values to merge against"] += 1
            return
        outlook = self._snapshot(event, base["time_zone"], notes=False)
        merged = await self._merge_into_booking(link, base, outlook, base["time_zone"])
        # Remember the version handled (a replay is then an echo); the export's next write replaces all of it.
        handled = dataclasses.replace(link, change_key=event.change_key or "", etag=None)
        if merged is not None:
            # Until that write, the merged times are the base of the next merge: both sides now hold them (or
            # Outlook its own, kept as outlook_<field>, where OpenAir won). Left at the values last exported, a
            # second Outlook edit before the export ran would be merged against a base neither side still holds:
            # a move back to the exported time equals that stale base, looks unchanged, and is lost.
            kept = {k: v for k, v in link.fields.items() if k not in base and not k.startswith("outlook_")}
            handled = dataclasses.replace(handled, fields={**kept, **merged.base})
        read = self._read_updated.get(link.key)
        if merged is not None and merged.changes and read is not None:
            # The booking now holds the Outlook edit: an export planned from the version read before it is older
            # than what the event shows and must not be written over it (the merged booking is planned next).
            handled = dataclasses.replace(handled, source_updated=read + dt.timedelta(microseconds=1))
        await off_loop(self.store.put_links, [handled])
        self.links[link.key] = handled
        self.by_event[handled.event_id] = handled

    async def _merge_into_booking(self, link: Link, base: Snapshot, outlook: Snapshot, zone: str) -> Merged | None:
        """Three-way merge into the booking with ModifyOnCondition; None when the booking no longer exists."""
        _, booking_id = parse_record_key(link.key)
        for _attempt in range(CONDITION_RETRIES):
            found = await self.bookings.read_bookings([booking_id])
            booking = found.get(booking_id)
            if booking is None:
                await self._booking_gone(link)
                return None
            if booking.updated is not None:
                self._read_updated[link.key] = booking.updated
            current = booking_snapshot(booking, zone, with_notes="notes" in base)
            # Outlook's side of the base: where OpenAir won a conflict earlier, Outlook kept its own value.
            outlook_base = {k: str(link.fields.get(f"outlook_{k}", v)) for k, v in base.items()}
            result = merge(outlook_base, outlook, current, self.settings.conflict_resolution)
            for name in result.from_outlook:
                outlook_base[name] = outlook[name]
            changes = changed_values(result.values, current)
            self.report.conflicts += len(result.conflicts)
            if not changes:
                self.report.unchanged += 1
                if link.origin is Origin.OUTLOOK:
                    await self._relink(link, result.values, outlook)
                return Merged({}, merged_base(result.values, outlook))
            try:
                await self.bookings.modify_booking(booking_id, changes, booking.updated or self.now)
            except OpenAirConditionFailed:
                continue  # changed in OpenAir meanwhile: read it again and merge against what it is now
            self.report.updated += 1
            if link.origin is Origin.OUTLOOK:
                await self._relink(link, result.values, outlook)
            return Merged(changes, merged_base(result.values, outlook))
        raise OpenAirConditionFailed(1200, f"ModifyOnCondition Booking {booking_id}")

    async def _hide_subject(self, link: Link) -> Link | None:
        """The event became private: the booking's notes, which still hold its subject, become "Private
        appointment" before the OnOutlookDeletion policy runs (a kept booking must not show the subject either).
        Notes someone wrote in OpenAir since (not the synced subject) are theirs and stay. None: booking gone."""
        _, booking_id = parse_record_key(link.key)
        synced = str(link.fields.get("notes", ""))
        for _attempt in range(CONDITION_RETRIES):
            booking = (await self.bookings.read_bookings([booking_id])).get(booking_id)
            if booking is None:
                await self._booking_gone(link)
                return None
            if "notes" not in link.fields or (booking.notes or "") != synced or synced == PRIVATE_NOTE:
                return link
            try:
                await self.bookings.modify_booking(booking_id, {"notes": PRIVATE_NOTE}, booking.updated or self.now)
            except OpenAirConditionFailed:
                continue
            hidden = dataclasses.replace(link, fields={**link.fields, "notes": PRIVATE_NOTE}, etag=None)
            await off_loop(self.store.put_links, [hidden])
            self.links[link.key] = hidden
            self.by_event[hidden.event_id] = hidden
            self.report.updated += 1
            return hidden
        raise OpenAirConditionFailed(1200, f"ModifyOnCondition Booking {booking_id}")

    async def _relink(self, link: Link, merged: Snapshot, outlook: Snapshot) -> None:
        fields = merged_base(merged, outlook)
        updated = dataclasses.replace(link, fields=fields, synced_at=self.now, etag=None)
        await off_loop(self.store.put_links, [updated])
        self.links[link.key] = updated

    async def _booking_gone(self, link: Link) -> None:
        """Deleted in OpenAir: forget the link, and never re-create the booking from the same event."""
        tombstones = [dataclasses.replace(e, record_key=TOMBSTONE) for e in self.imported.values()
                      if e.record_key == link.key]  # fmt: skip

        def forget() -> None:
            self.store.delete_links(self.user_id, [link.key])
            for known in tombstones:
                self.imports.put_imported(known)

        await off_loop(forget)
        self.links.pop(link.key, None)
        self.report.skipped["booking deleted in OpenAir"] += 1

    # ------------------------------------------------------------ deletions
    async def _deleted_in_outlook(self, event_id: str, reason: str) -> None:
        link = self.by_event.get(event_id)
        known = self.imported_by_event.get(event_id)
        if link is None and known is not None and known.record_key not in ("", TOMBSTONE):
            link = self.links.get(known.record_key)
        if link is None and known is not None and known.record_key == "" and known.external_id:
            # An Add whose answer was lost: the booking may exist without a link. Find it by its externalid.
            found = await self.bookings.booking_by_external_id(known.external_id)
            if found is not None:
                link = Link(self.user_id, record_key(RecordKind.BOOKING, found.id), self.mailbox_id, LinkState.SYNCED,
                            known.external_id, event_id=event_id, origin=Origin.OUTLOOK)  # fmt: skip
        if link is None:
            if known is not None:
                await off_loop(self.imports.delete_imported, known)
            return
        deferred = await self._apply_deletion(link, known, reason, still_exists=False)
        if not deferred and known is not None and known.record_key == "":
            # The event is gone: the intent has nothing left to finish.
            await off_loop(self.imports.delete_imported, known)

    async def _apply_deletion(
        self, link: Link, known: ImportedEvent | None, reason: str, *, still_exists: bool
    ) -> bool:
        """Decide what the policy does; a removal is deferred to `_settle_removals` (True) for the budget."""
        policy = self.settings.on_outlook_deletion
        from_outlook = link.origin is Origin.OUTLOOK
        if policy is OutlookDeletion.IGNORE or (
            policy is OutlookDeletion.DELETE_BOOKINGS_FROM_OUTLOOK and not from_outlook
        ):
            self.report.skipped[f"{reason}; OnOutlookDeletion keeps the booking"] += 1
            return False
        if link.kind is not RecordKind.BOOKING:
            self.report.skipped["OpenAir-owned mirror"] += 1
            return False
        if policy is OutlookDeletion.CHANGE_BOOKING_TYPE and not self.settings.deleted_booking_type_id:
            raise MissingDefaults("Import: OnOutlookDeletion is 'Change booking type' but DeletedBookingTypeId "
                                  "is empty; set it in IntegrationSettings")  # fmt: skip
        if all(pending[0].key != link.key for pending in self.deferred):
            self.deferred.append((link, known, reason, still_exists))
        return True

    async def _remove_booking(self, link: Link, known: ImportedEvent | None, reason: str, still_exists: bool) -> None:
        policy = self.settings.on_outlook_deletion
        _, booking_id = parse_record_key(link.key)
        if policy is OutlookDeletion.CHANGE_BOOKING_TYPE:
            target = self.settings.deleted_booking_type_id
            found = await self.bookings.read_bookings([booking_id])
            booking = found.get(booking_id)
            if booking is None:
                await self._booking_gone(link)
                return
            if booking.booking_typeid != target:
                await self.bookings.modify_booking(booking_id, {"booking_typeid": target}, booking.updated or self.now)
                self.report.retyped += 1
            if known is not None and not still_exists:
                await off_loop(self.imports.delete_imported, known)
            return
        await self.bookings.delete_booking(booking_id)
        entries = [e for e in self.imported.values() if e.record_key == link.key] + ([known] if known else [])

        def forget() -> None:
            self.store.delete_links(self.user_id, [link.key])
            for entry in entries:
                self.imports.delete_imported(entry)

        await off_loop(forget)
        self.links.pop(link.key, None)
        self.by_event.pop(link.event_id, None)
        for entry in entries:
            self.imported.pop(entry.identity, None)
        self.report.deleted += 1
        log.info("booking deleted after Outlook", extra={"user": self.user_id, "record": link.key, "why": reason})
