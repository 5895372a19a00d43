"""The export's jobs, host-agnostic: the bindings in `blueprints/export.py` call these and nothing else.

The timer plans the tenant and fans out one `export-mailbox` message per mailbox with work (`contracts.ExportWork`:
keys only); the worker applies that user's outbox.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.domain.runs import RunRecord, status_of
from shared.jobs.contracts import ExportWork, decode, encode
from shared.jobs.runs import Run, describe
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

    clock = time.monotonic()
    store = services.store()
    # The plan's id is chosen here, so the planner's own log lines carry it too.
    with Run(store, "export-plan", run_id=uuid.uuid4().hex[:12]) as run:
        await off_loop(store.ensure_tables)
        if not dry_run and (pause := await off_loop(store.pause_state)) is not None:
            # Nothing is read and no watermark moves: the first run after `resume` reads everything changed since.
            log.info("export skipped: the sync is paused", extra={"paused_by": pause.by})
            return ExportRunResult(run.outcome("paused", run_id="paused", finished=run.started), [])
        try:
            if not dry_run:
                from shared.admin.mappings import resolve_edited_mailboxes

                resolved = await resolve_edited_mailboxes(store, lambda: services.calendar())
                if resolved:
                    log.info("mailboxes edited by hand resolved", extra={"rows": len(resolved)})
            plan = await plan_export(store=store, openair=services.openair(), now=run.started, dry_run=dry_run,
                                     run_id=run.run_id)  # fmt: skip
        except Exception as exc:
            failed = await run.record_off_loop("failed", errors=(describe(exc),),
                                               run_id="failed-" + run.started.strftime("%H%M%S"))  # fmt: skip
            log.exception("export run failed before writing anything", extra={"run_id": failed.run_id})
            raise
        recorded = await run.record_off_loop(
            status_of(problems=bool(plan.problems or plan.skipped), blocked=plan.deletions_blocked),
            kind="export-plan" + ("-dry-run" if dry_run else ""),
            counts={
                **plan.counts,
                "mailboxes_with_work": len(plan.users_with_work),
                "openair_requests": plan.openair_requests,
            },
            errors=(*(str(p) for p in plan.problems), *plan.skipped_records()),
            alerts=plan.alerts,
        )
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
    return ExportRunResult(recorded, [] if dry_run else messages, plan)


async def run_export_mailbox(services: Services, body: bytes | str, *, dequeue_count: int = 1) -> None:
    """Apply one user's outbox. On the last allowed attempt, a failure is recorded before the host poisons it."""
    from shared.sync.mailbox import export_mailbox

    store = services.store()
    with Run(store, "export-mailbox") as run:
        max_attempts = services.sync_settings.max_dequeue_count
        poison_id = f"poison-{run.started:%H%M%S}"
        async with run.poisoned_when_final(body, attempts=dequeue_count, max_attempts=max_attempts,
                                           poison_id=poison_id, what="export"):  # fmt: skip
            work = decode(ExportWork, body)
            run.about(run_id=work.run_id or f"mbx-{run.started:%H%M%S}", user_id=work.user_id)
            if await off_loop(store.pause_state) is not None:
                # The outbox keeps this user's work; the first export run after `resume` queues the mailbox again.
                log.info("mailbox not written: the sync is paused", extra={"user": work.user_id})
                return
            report = await export_mailbox(work.user_id, store=store, calendar=services.calendar(), now=run.started)
        await run.record_off_loop(status_of(problems=bool(report.errors)), counts=report.counts(),
                                  errors=report.errors)  # fmt: skip
