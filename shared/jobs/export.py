"""The export's jobs, host-agnostic: the bindings in `blueprints/export.py` call these and nothing else.

The timer plans the tenant and fans out one `export-mailbox` message per mailbox with work (`contracts.ExportWork`:
keys only); the worker applies that user's outbox.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.domain.runs import RunRecord
from shared.errors import BadMessage
from shared.jobs.contracts import ExportWork, decode, encode, user_of
from shared.runtime import Services
from shared.store.offload import off_loop

if TYPE_CHECKING:
    from shared.sync.planner import ExportPlan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportRunResult:
    run: RunRecord
    messages: list[str]
    plan: ExportPlan | None = None


async def run_export_timer(services: Services, *, dry_run: bool = False) -> ExportRunResult:
    """Plan the export for the whole tenant and return one queue message per mailbox with work."""
    from shared.sync.planner import plan_export

    started = dt.datetime.now(dt.UTC)
    clock = time.monotonic()
    store = services.store()
    await off_loop(store.ensure_tables)
    if not dry_run and (pause := await off_loop(store.pause_state)) is not None:
        # Nothing is read and no watermark moves: the first run after `resume` reads everything changed meanwhile.
        log.info("export skipped: the sync is paused", extra={"paused_by": pause.by})
        return ExportRunResult(RunRecord(run_id="paused", kind="export-plan", started=started, finished=started,
                                         status="paused"), [])  # fmt: skip
    try:
        if not dry_run:
            from shared.admin.mappings import resolve_edited_mailboxes

            resolved = await resolve_edited_mailboxes(store, lambda: services.calendar())
            if resolved:
                log.info("mailboxes edited by hand resolved", extra={"rows": len(resolved)})
        plan = await plan_export(store=store, openair=services.openair(), now=started, dry_run=dry_run)
    except Exception as exc:
        run = RunRecord(
            run_id="failed-" + started.strftime("%H%M%S"),
            kind="export-plan",
            started=started,
            finished=dt.datetime.now(dt.UTC),
            status="failed",
            errors=(f"{type(exc).__name__}: {exc}",),
        )
        await off_loop(store.record_run, run)
        log.exception("export run failed before writing anything", extra={"run_id": run.run_id})
        raise
    status = "blocked" if plan.deletions_blocked else ("partial" if plan.problems or plan.skipped else "ok")
    run = RunRecord(
        run_id=plan.run_id,
        kind="export-plan" + ("-dry-run" if dry_run else ""),
        started=started,
        finished=dt.datetime.now(dt.UTC),
        status=status,
        counts={
            **plan.counts,
            "mailboxes_with_work": len(plan.users_with_work),
            "openair_requests": plan.openair_requests,
        },
        errors=(*(str(p) for p in plan.problems), *plan.skipped_records()),
        alerts=tuple(plan.alerts),
    )
    await off_loop(store.record_run, run)
    log.info(
        "export planned",
        extra={
            "run_id": plan.run_id,
            "mailboxes": len(plan.users_with_work),
            "ms": int((time.monotonic() - clock) * 1000),
        },
    )
    messages = [
        encode(ExportWork(user_id=u, mailbox_id=plan.mailbox_ids.get(u, ""), run_id=plan.run_id))
        for u in plan.users_with_work
    ]
    return ExportRunResult(run, [] if dry_run else messages, plan)


async def run_export_mailbox(services: Services, body: bytes | str, *, dequeue_count: int = 1) -> None:
    """Apply one user's outbox. On the last allowed attempt, a failure is recorded before the host poisons it."""
    from shared.sync.mailbox import export_mailbox

    started = dt.datetime.now(dt.UTC)
    store = services.store()
    max_attempts = services.sync_settings.max_dequeue_count
    try:
        work = decode(ExportWork, body)
        if await off_loop(store.pause_state) is not None:
            # The outbox keeps this user's work; the first export run after `resume` queues the mailbox again.
            log.info("mailbox not written: the sync is paused", extra={"user": work.user_id})
            return
        report = await export_mailbox(work.user_id, store=store, calendar=services.calendar(), now=started)
    except Exception as exc:
        final = isinstance(exc, BadMessage) or dequeue_count >= max_attempts
        if final:
            user = user_of(body)
            await off_loop(
                store.record_run,
                RunRecord(
                    run_id=f"poison-{started:%H%M%S}",
                    kind="export-mailbox",
                    started=started,
                    finished=dt.datetime.now(dt.UTC),
                    status="poison",
                    user_id=user,
                    errors=(f"{type(exc).__name__}: {exc}",),
                    counts={"attempts": dequeue_count},
                ),
            )
            log.error("export message poisoned", extra={"user": user, "attempts": dequeue_count})
        raise
    await off_loop(
        store.record_run,
        RunRecord(
            run_id=work.run_id or f"mbx-{started:%H%M%S}",
            kind="export-mailbox",
            started=started,
            finished=dt.datetime.now(dt.UTC),
            status="ok" if not report.errors else "partial",
            user_id=work.user_id,
            counts=report.counts(),
            errors=tuple(report.errors),
        ),
    )
