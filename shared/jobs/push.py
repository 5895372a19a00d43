"""What the push functions do, host-agnostic (the blueprint `blueprints/push.py` calls these and nothing else).

`accept_push` judges one `POST /api/openair/changed` and returns the `export-record` queue message; it reads no
table and calls no service, so the person who pressed Save waits only for an HMAC and a queue write.
`run_export_record` is the queue worker. Its save joins the user's saves waiting in this worker
(`shared.push.PendingSaves`), and one pass (`export_saves`) reads all their records in one OpenAir request, plans
each (`sync.targeted`), then applies the user's outbox once (`sync.mailbox.export_mailbox`, the timer's own worker
logic). A transient Graph failure raises for every save of the pass, so the queue retries each message; the retry
re-plans (a no-op when the outbox entry is still pending) and re-applies.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from shared.domain.runs import status_of
from shared.errors import ConfigurationError
from shared.jobs.contracts import RecordWork, decode, encode
from shared.jobs.runs import Run
from shared.kinds import record_key
from shared.logging_setup import log_context
from shared.push import AppliedSaves, PendingSaves, verify_push
from shared.runtime import Services
from shared.settings import PushSettings, load
from shared.store.offload import off_loop

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
    work = RecordWork(
        kind=notice.kind,
        record_id=notice.id,
        user_hint=notice.user_id,
        received_at=now.timestamp(),
        refers_to={str(t): i for t, i in notice.refers_to.items()},
    )
    log.info("push accepted", extra={"record": f"{notice.kind.value}:{notice.id}", "user": notice.user_id})
    return encode(work)


@dataclass(frozen=True)
class RecordExportResult:
    outcome: str
    user_id: str
    written: int  # events created, updated or deleted by this invocation
    seconds: float


async def run_export_record(services: Services, body: bytes | str, *, dequeue_count: int = 1) -> RecordExportResult:
    """Export one record now, in a pass with the other saves of its user waiting in this worker. Raises (so the
    queue retries) on OpenAir or transient Graph failures."""
    # The pass's own run (its id, its rows) is `_export_pass`'s; this one is the message's, recorded if poisoned.
    with Run(services.store(), "export-record") as message_run:
        max_attempts = services.sync_settings.max_dequeue_count
        poison_id = f"push-poison-{message_run.started:%H%M%S}"
        async with message_run.poisoned_when_final(body, attempts=dequeue_count, max_attempts=max_attempts,
                                                   poison_id=poison_id, what="export-record"):  # fmt: skip
            work = decode(RecordWork, body)
            # A save without its user (an older script) gets a pass of its own.
            group = (id(services), work.user_hint or record_key(work.kind, work.record_id))
            result = await PENDING_SAVES.apply(group, work, lambda works: export_saves(services, works))
    return result


async def export_saves(services: Services, works: Sequence[RecordWork]) -> list[RecordExportResult | Exception]:
    """One pass over saves of (usually) one user. A save whose record an earlier pass of this worker read after the
    save arrived is already applied (`AppliedSaves`); the others are read, planned and applied by `_export_pass`.
    """
    covered = [APPLIED_SAVES.covers(record_key(w.kind, w.record_id), w.received_at) for w in works]
    rest = [work for work, done in zip(works, covered, strict=True) if not done]
    # One run id for the pass, chosen first: every line the pass logs carries it (and the user, per mailbox).
    with Run(services.store(), "export-record", run_id="push-" + uuid.uuid4().hex[:8]) as run:
        results = iter(await _export_pass(services, rest, run) if rest else [])
    return [RecordExportResult("covered", w.user_hint, 0, 0.0) if done else next(results)
            for w, done in zip(works, covered, strict=True)]  # fmt: skip


async def _export_pass(
    services: Services, works: Sequence[RecordWork], run: Run
) -> list[RecordExportResult | Exception]:
    """The saves' records read in one OpenAir request (with their user's other records updated in the last
    `LOOKBACK_SECONDS`: saves whose messages are still queued), each planned into the outbox, then each user's
    mailbox applied once. Raises when the read fails (every save is retried); a record that cannot be planned, or
    a mailbox that cannot be written, fails only its own saves."""
    from shared.openair.by_id import OpenAirRecords
    from shared.sync.mailbox import MailboxReport, export_mailbox
    from shared.sync.targeted import Outcome, PlanTables, RecordPlan, plan_record

    clock = time.monotonic()
    store = services.store()
    if await off_loop(store.pause_state) is not None:
        # Not read, not written: the export timer's watermarks did not move either, so its first run after
        # `resume` exports these records.
        log.info(
            "pushed records not exported: the sync is paused",
            extra={"records": [record_key(w.kind, w.record_id) for w in works]},
        )
        return [RecordExportResult("paused", w.user_hint, 0, time.monotonic() - clock) for w in works]
    # The user hint only chooses which reference reads ride in the records' request (one request per pass).
    records = OpenAirRecords(services.openair(), user_hint=works[0].user_hint)
    hints: dict[str, set[str]] = {}
    for work in works:
        for type_name, record_id in work.refers_to.items():
            hints.setdefault(type_name, set()).add(record_id)
    user = works[0].user_hint if all(w.user_hint == works[0].user_hint for w in works) else ""
    read_at = time.time()
    since = dt.datetime.fromtimestamp(min(w.received_at or read_at for w in works) - LOOKBACK_SECONDS, dt.UTC)
    found = await records.read_records(
        [(w.kind, w.record_id) for w in works], hints=hints, user_since=(user, since) if user else None
    )
    # Several records: the administrator's tables are read once for all of them.
    tables = await PlanTables.load(store, {user}) if len(works) + len(found) > 1 else None
    plans: list[RecordPlan | Exception] = []
    for work in works:
        try:
            plans.append(
                await plan_record(
                    work.kind, work.record_id, store=store, openair=records, run_id=run.run_id, tables=tables
                )
            )
        except Exception as exc:  # this save's own failure, retried by its own message
            plans.append(exc)
    # The user's other saves this read saw, unless a pass already applied them as they are: applied now, their
    # messages find them done. Anything else (a failure, a record not to export) is left to their own messages,
    # whose passes record it in Runs as before.
    others: list[RecordPlan] = []
    for kind, record_id, updated in found:
        if APPLIED_SAVES.unchanged(record_key(kind, record_id), updated):
            continue
        try:
            other = await plan_record(kind, record_id, store=store, openair=records, run_id=run.run_id, tables=tables)
        except Exception as exc:  # its own message retries it
            log.warning("a queued save not applied ahead", extra={"record": f"{kind.value}:{record_id}",
                                                                  "error": type(exc).__name__})  # fmt: skip
            continue
        if other.outcome in (Outcome.WRITE, Outcome.REMOVE, Outcome.SETTLED):
            others.append(other)
    by_user: dict[str, list[RecordPlan]] = {}
    for plan in [*plans, *others]:
        if isinstance(plan, RecordPlan):
            by_user.setdefault(plan.user_id, []).append(plan)
    reports: dict[str, MailboxReport | Exception] = {}
    for n, (user_id, user_plans) in enumerate(by_user.items()):
        report: MailboxReport | Exception | None = None
        if any(p.has_work for p in user_plans):
            try:
                with log_context(user=user_id):
                    report = await export_mailbox(user_id, store=store, calendar=services.calendar(), now=run.started)
            except Exception as exc:  # the queue retries this user's saves
                report = exc
            reports[user_id] = report
        notable = [p for p in user_plans if p.outcome not in (Outcome.WRITE, Outcome.REMOVE, Outcome.SETTLED)]
        if isinstance(report, Exception) or (report is None and not notable):
            # A settled push (the timer got there first, or a save that changed nothing) leaves no trace in Runs.
            continue
        await run.record_off_loop(
            status_of(problems=bool(report is not None and report.errors)),
            run_id=run.run_id if n == 0 else f"{run.run_id}-{n}",
            user_id=user_id,
            counts={**(report.counts() if report is not None else {}), "records": len(user_plans)},
            errors=report.errors if report is not None else (),
            alerts=[f"{p.key}: {p.outcome.value}: {p.detail}" for p in notable],
        )
    for plan in [*plans, *others]:
        if isinstance(plan, RecordPlan) and not isinstance(reports.get(plan.user_id), Exception):
            APPLIED_SAVES.applied(plan.key, read_at, records.updated_of.get(plan.key))
    seconds = time.monotonic() - clock
    results: list[RecordExportResult | Exception] = []
    for work, plan in zip(works, plans, strict=True):
        if isinstance(plan, Exception):
            results.append(plan)
            continue
        done = reports.get(plan.user_id)
        if isinstance(done, Exception):
            results.append(done)
            continue
        written = (done.created + done.updated + done.deleted) if done is not None else 0
        if work.received_at:
            lag = dt.datetime.now(dt.UTC).timestamp() - work.received_at
            with log_context(user=plan.user_id):
                log.info("record exported", extra={"record": plan.key, "outcome": plan.outcome.value,
                                                   "push_to_done_s": lag, "pass_records": len(works)})  # fmt: skip
        results.append(RecordExportResult(plan.outcome.value, plan.user_id, written, seconds))
    return results


# One per worker process: the export_record invocations of one host share its event loop.
PENDING_SAVES = PendingSaves()
APPLIED_SAVES = AppliedSaves()
# How far back a pass reads its user's other records: saves whose messages are queued behind this one are seconds
# old; a minute or two also absorbs a clock difference between OpenAir's `updated` stamps and ours.
LOOKBACK_SECONDS = 120.0
