"""What the push functions do, host-agnostic (the blueprint `blueprints/push.py` calls these and nothing else).

`accept_push` judges one `POST /api/openair/changed` and returns the `export-record` queue message; it reads no
table and calls no service, so the person who pressed Save waits only for an HMAC and a queue write.
`run_export_record` is the queue worker: plan that one record (`sync.targeted`), then apply the user's outbox
(`sync.mailbox.export_mailbox`, the timer's own worker logic). A transient Graph failure raises, so the queue
retries the message; the retry re-plans (a no-op when the outbox entry is still pending) and re-applies.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from shared.errors import BadMessage, ConfigurationError
from shared.jobs.contracts import RecordWork, decode, encode
from shared.push import verify_push
from shared.runtime import Services
from shared.settings import PushSettings, load
from shared.store.state import RunRecord

log = logging.getLogger(__name__)

PUSH_SECRET_SETTING = "OPENAIR_PUSH_SECRET"  # noqa: S105 - the setting's name, not its value


def accept_push(services: Services, body: bytes, signature: str | None, *, now: dt.datetime | None = None) -> str:
    """The queue message for a valid push; PushRefused (4xx, with the reason) or ConfigurationError otherwise."""
    now = now or dt.datetime.now(dt.UTC)
    secret = services.secrets.get(PUSH_SECRET_SETTING)
    if not secret:
        raise ConfigurationError(f"{PUSH_SECRET_SETTING} is not set; the OpenAir form script push is disabled")
    settings: PushSettings = load(PushSettings, services.environ)
    notice = verify_push(body, signature, secret=secret, now=now, max_age_seconds=settings.max_age_seconds)
    work = RecordWork(kind=notice.kind, record_id=notice.id, user_hint=notice.user_id, received_at=now.timestamp())
    log.info("push accepted", extra={"record": f"{notice.kind.value}:{notice.id}", "user": notice.user_id})
    return encode(work)


@dataclass(frozen=True)
class RecordExportResult:
    outcome: str
    user_id: str
    written: int  # events created, updated or deleted by this invocation
    seconds: float


async def run_export_record(services: Services, body: bytes | str, *, dequeue_count: int = 1) -> RecordExportResult:
    """Export one record now. Raises (so the queue retries) on OpenAir or transient Graph failures."""
    from shared.openair.by_id import OpenAirRecords
    from shared.sync.mailbox import export_mailbox
    from shared.sync.targeted import Outcome, plan_record

    started = dt.datetime.now(dt.UTC)
    clock = time.monotonic()
    store = services.store()
    try:
        work = decode(RecordWork, body)
        if store.pause_state() is not None:
            # Not read, not written: the export timer's watermarks did not move either, so its first run after
            # `resume` exports this record.
            log.info("pushed record not exported: the sync is paused", extra={"record": work.record_id})
            return RecordExportResult("paused", work.user_hint or "", 0, time.monotonic() - clock)
        # The user hint only chooses which reference reads ride in the record's request (one request per save).
        records = OpenAirRecords(services.openair(), user_hint=work.user_hint)
        plan = await plan_record(work.kind, work.record_id, store=store, openair=records)
        report = None
        if plan.has_work:
            report = await export_mailbox(plan.user_id, store=store, calendar=services.calendar(), now=started)
    except Exception as exc:
        if isinstance(exc, BadMessage) or dequeue_count >= services.sync_settings.max_dequeue_count:
            store.record_run(
                RunRecord(
                    run_id=f"push-poison-{started:%H%M%S}",
                    kind="export-record",
                    started=started,
                    finished=dt.datetime.now(dt.UTC),
                    status="poison",
                    errors=(f"{type(exc).__name__}: {exc}",),
                    counts={"attempts": dequeue_count},
                )
            )
            log.error("export-record message poisoned", extra={"attempts": dequeue_count})
        raise
    written = (report.created + report.updated + report.deleted) if report else 0
    notable = plan.outcome not in (Outcome.WRITE, Outcome.REMOVE, Outcome.SETTLED)
    if plan.has_work or notable:
        # A settled push (the timer got there first, or a save that changed nothing) leaves no trace in Runs.
        store.record_run(
            RunRecord(
                run_id=plan.run_id,
                kind="export-record",
                started=started,
                finished=dt.datetime.now(dt.UTC),
                status="ok" if report is None or not report.errors else "partial",
                user_id=plan.user_id,
                counts=report.counts() if report else {},
                errors=tuple(report.errors) if report else (),
                alerts=(f"{plan.key}: {plan.outcome.value}: {plan.detail}",) if notable else (),
            )
        )
    seconds = time.monotonic() - clock
    if work.received_at:
        lag = dt.datetime.now(dt.UTC).timestamp() - work.received_at
        log.info("record exported", extra={"record": plan.key, "outcome": plan.outcome.value, "push_to_done_s": lag})
    return RecordExportResult(plan.outcome.value, plan.user_id, written, seconds)
