"""`import_mailbox`: one user's Outlook changes since the last pass, applied to OpenAir. Host-agnostic.

- One worker per mailbox at a time: the delta cursor row is a lease (ETag-conditional). A worker that finds it
  taken asks the holder for another pass and returns at once, so a burst of notifications for one mailbox
  collapses into at most one extra pass.
- The delta link is stored only after a pass completed without anything to retry: a crash or a transient failure
  replays the same changes, and every step is idempotent (change keys, externalid lookups, deletes of the gone).
- A dead delta link (410, syncStateNotFound, resyncRequired) starts a fresh chain over the window. A fresh chain
  lists what is there and nothing as removed, so it can only create or update: it never deletes (failure class 11).
- The window moves with the days: a chain older than today's window is replaced by a fresh one (same rule).
- The reconciliation (`full`) lists the window afresh instead of following the link: delta may never signal a
  change (deleting one occurrence of a series can leave no trace in it), but an imported event missing from a
  fresh listing is read, and one that is gone is a deletion.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Callable

from shared.domain.settings import IntegrationSettings
from shared.errors import Incomplete
from shared.graph.errors import DeltaExpired, MailboxUnavailable
from shared.ports.mailboxes import MailboxReader
from shared.ports.openair import BookingPort
from shared.store.importing import Covered, DeltaCursor
from shared.store.offload import off_loop
from shared.store.store import SyncStore
from shared.sync.importing.events import EventImporter, ImportReport
from shared.sync.importing.rules import import_filter
from shared.sync.mailbox import load_mapping
from shared.sync.planner import user_zone

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=5)


def _wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


MAX_PASSES = 5  # passes one invocation runs for requests that arrived during its own passes


class ImportIncomplete(Incomplete):
    """Something failed that may pass (throttling, an outage): the queue retries the message."""


def import_window(now: dt.datetime, settings: IntegrationSettings) -> tuple[dt.datetime, dt.datetime]:
    """Whole UTC days around today: the chain keeps one window for a day, then a fresh chain takes over."""
    today = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(0), dt.UTC)
    return today - dt.timedelta(days=settings.window_past_days), today + dt.timedelta(days=settings.window_future_days)


async def import_mailbox(
    user_id: str,
    *,
    store: SyncStore,
    calendar: MailboxReader,
    bookings: BookingPort,
    now: dt.datetime | None = None,
    holder: str | None = None,
    full: bool = False,
    notified: dt.datetime | None = None,
    clock: Callable[[], dt.datetime] = _wall_clock,
) -> ImportReport:
    """Bring one user's Outlook changes into OpenAir. Raises ImportIncomplete when a retry may finish the job.

    `full`: the first pass lists the whole window (a fresh chain) rather than the changes since the stored link.
    `notified`: when Graph's notification for this pass arrived. A burst of notifications for one mailbox needs one
    pass, not one each: a pass that began reading after the notification (`clock`, the wall clock) covers it.
    """
    now = now or dt.datetime.now(dt.UTC)
    holder = holder or uuid.uuid4().hex
    report = ImportReport(user_id)
    mapping, (settings, _problems) = await off_loop(lambda: (load_mapping(store, user_id), store.load_settings()))
    if mapping is None or not mapping.import_events or not settings.import_enabled:
        report.skipped["import is off for this user"] += 1
        return report
    imports = store.imports
    taken = await off_loop(imports.acquire, user_id, holder, now, LEASE, notified=notified, started=clock())
    if isinstance(taken, Covered):
        report.covered = True
        return report
    cursor: DeltaCursor | None = taken
    if cursor is None:
        report.busy = True
        return report
    zone = user_zone(mapping, settings)
    try:
        while cursor is not None:
            report.passes += 1
            start, end = import_window(now, settings)
            same_window = cursor.window_start == start and cursor.window_end == end
            relist = full and report.passes == 1
            link = cursor.delta_link if same_window and cursor.delta_link and not relist else None
            try:
                result = await calendar.delta(mapping.mailbox_id, start, end, link)
            except DeltaExpired:
                report.restarted += 1
                log.warning("delta link expired; starting a fresh chain", extra={"user": user_id})
                result = await calendar.delta(mapping.mailbox_id, start, end, None)
                link = None
            importer = await EventImporter.load(user_id, mapping.mailbox_id, zone, settings, store, calendar,
                                                bookings, report, now, rules=import_filter(settings, mapping),
                                                window=(start, end))  # fmt: skip
            fresh = start.date() if link is None else None
            await importer.apply(list(result.events), list(result.removed_ids), full_listing_since=fresh)
            keep = importer.hold
            cursor = dataclasses.replace(cursor, window_start=start, window_end=end) if not keep else cursor
            cursor = await off_loop(imports.release, cursor, delta_link=None if keep else result.delta_link,
                                    next_start=clock())  # fmt: skip
            if cursor is not None and report.passes >= MAX_PASSES:
                # Still asked for more under a flood: the flood's next message runs it, not this invocation.
                await off_loop(imports.drop_lease, user_id, holder)
                cursor = None
    except MailboxUnavailable as error:
        # The whole mailbox is away (licence removed, user deleted): nothing about its events is known, so nothing
        # is imported or deleted; the delta link is kept and the reconciliation tries again.
        await off_loop(imports.drop_lease, user_id, holder)
        report.errors.append(f"Import: mailbox unavailable ({error.status} {error.code}); retried on every pass")
    except BaseException:
        # Given back even when the worker is cancelled: the thread finishes the write while the error propagates.
        await asyncio.shield(off_loop(imports.drop_lease, user_id, holder))
        raise
    await off_loop(_record_status, store, report, now)
    return report


def _record_status(store: SyncStore, report: ImportReport, now: dt.datetime) -> None:
    """Per-user status in the mapping row; an import error is prefixed `Import:` so a clean pass can clear it."""
    columns: dict[str, object] = {
        "LastImport": now,
        "LastImportCounts": ", ".join(f"{k} {v}" for k, v in report.counts().items()),
    }
    if report.errors or report.alerts:
        columns.update(LastError=(report.alerts or report.errors)[-1], LastErrorAt=now)
    else:
        row = store.mapping_row(report.user_id)
        if row is not None and str(row.columns.get("LastError") or "").startswith("Import:"):
            columns.update(LastError="", LastErrorAt=None)
    store.write_mapping_status(report.user_id, **columns)
