"""The admin operations over the app's `Services`: what the endpoints and the command line both call.

Each function wires the real adapters to one operation of `shared/admin/` and records what it did in the Runs
table; nothing here knows about HTTP or a terminal.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.admin import audit
from shared.admin.csv_import import CsvImportReport, decode, import_mailbox_csv
from shared.admin.cutover import CutoverAction, CutoverReport
from shared.admin.decommission import DecommissionReport
from shared.admin.mappings import MappingReport, refresh_mappings
from shared.admin.resync import ResyncMode, ResyncReport, choose_users
from shared.admin.status import StatusReport, build_status
from shared.domain.runs import status_of
from shared.domain.settings import PauseState
from shared.errors import SyncPaused
from shared.jobs import contracts
from shared.jobs.contracts import ExportWork, ImportWork
from shared.jobs.runs import Run
from shared.logging_setup import counted, log_context
from shared.runtime import Services
from shared.settings import StorageSettings, load
from shared.store.offload import off_loop
from shared.store.store import SyncStore
from shared.sync.planner import ExportPlan

log = logging.getLogger(__name__)


def refuse_while_paused(store: SyncStore, what: str) -> None:
    pause = store.pause_state()
    if pause is not None:
        raise SyncPaused(f"the sync is paused (by {pause.by}{': ' + pause.reason if pause.reason else ''}); {what} "
                         "would write. Resume first (`python -m shared resume`, POST /api/manage/resume), or ask "
                         "for a dry run")  # fmt: skip


@dataclass
class PauseOutcome:
    paused: bool
    was_paused: bool
    state: PauseState | None
    import_passes: list[str] = field(default_factory=list)  # queued by resume: catch up what notifications saw


def pause(services: Services, *, actor: str, reason: str = "") -> PauseOutcome:
    """Stop every write (export, push, import). Notifications are still accepted; nothing is read or lost."""
    store = services.store()
    store.ensure_tables()
    before = store.pause_state()
    if before is None:
        store.set_paused(True, by=actor, reason=reason)
        audit.record(store, actor, "pause", reason)
    return PauseOutcome(True, before is not None, store.pause_state())


def resume(services: Services, *, actor: str) -> PauseOutcome:
    """Writes start again: the next export run reads everything changed meanwhile (its watermarks waited), the
    pending outbox is applied, and one import pass per importing mailbox is queued (their delta links waited)."""
    from shared.sync.importing.subscriptions import importing_users

    store = services.store()
    store.ensure_tables()
    before = store.pause_state()
    messages: list[str] = []
    if before is not None:
        store.set_paused(False, by=actor)
        messages = [contracts.encode(ImportWork(u, m, "resumed")) for u, m in sorted(importing_users(store).items())]
        audit.record(store, actor, "resume", f"paused since {before.since or '?'} by {before.by}",
                     {"import_passes_queued": len(messages)})  # fmt: skip
    return PauseOutcome(False, before is not None, None, messages)


@dataclass
class ExportOutcome:
    run_id: str
    status: str
    counts: dict[str, int]
    users_with_work: list[str]
    alerts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # one per mailbox with work (empty for a dry run)
    preview: list[dict[str, object]] = field(default_factory=list)  # a dry run's creates/updates/deletes per user


@dataclass
class MailboxOutcome:
    user_id: str
    status: str  # ok, partial, failed
    counts: dict[str, int]
    errors: list[str]


def queue_messages(plan: ExportPlan | None) -> list[str]:
    """The export work of a plan, as the export queue expects it (keys only)."""
    if plan is None:
        return []
    return [
        contracts.encode(ExportWork(user_id=u, mailbox_id=plan.mailbox_ids.get(u, ""), run_id=plan.run_id))
        for u in plan.users_with_work
    ]


def status(services: Services, *, user_id: str | None = None, runs: int = 20) -> StatusReport:
    from shared.admin.queues import QueueInspector

    store = services.store()
    inspector = QueueInspector(load(StorageSettings, services.environ))
    try:
        return build_status(store, inspector=inspector, user_id=user_id, runs=runs)
    finally:
        inspector.close()


async def refresh(services: Services, *, dry_run: bool = False, actor: str = "") -> MappingReport:
    with log_context(function="mappings-refresh"):
        store = services.store()
        await off_loop(store.ensure_tables)
        report = await refresh_mappings(store, services.openair(), services.calendar(), dry_run=dry_run)
        log.info("mappings refreshed", extra=counted(report.counts(), dry_run=dry_run))
        if actor and not dry_run:
            await off_loop(audit.record, store, actor, "mappings-refresh", "", report.counts())
        return report


async def import_csv(
    services: Services, data: bytes, *, add_new: bool, replace_existing: bool, dry_run: bool = False, actor: str = ""
) -> CsvImportReport:
    with log_context(function="mappings-import-csv"):
        store = services.store()
        await off_loop(store.ensure_tables)
        text = decode(data)
        report = await import_mailbox_csv(store, text, add_new=add_new, replace_existing=replace_existing,
                                          directory=services.calendar(), dry_run=dry_run)  # fmt: skip
        log.info("mailbox list imported", extra=counted(report.counts(), dry_run=dry_run))
        if actor and not dry_run:
            switches = " and ".join(n for n, on in (("add new", add_new), ("replace existing", replace_existing)) if on)
            await off_loop(audit.record, store, actor, "mappings-import-csv", switches, report.counts())
        return report


async def resync(
    services: Services, *, user: str | None, mode: ResyncMode, dry_run: bool = False, actor: str = ""
) -> ResyncReport:
    from shared.admin.resync import resync as prepare

    with log_context(function=f"resync-{mode.value}", user=user):
        store = services.store()
        await off_loop(store.ensure_tables)
        if not dry_run:
            await off_loop(refuse_while_paused, store, f"a resync ({mode.value})")
        report = await prepare(store, services.openair(), services.calendar(), user_ids=[user] if user else None,
                               mode=mode, dry_run=dry_run)  # fmt: skip
        if actor and not dry_run:
            whom = f"user {user}" if user else "every mapped user"
            await off_loop(audit.record, store, actor, f"resync-{mode.value}", whom, report.counts())
        return report


async def cutover(
    services: Services, *, users: Sequence[str] | None, action: CutoverAction, dry_run: bool, actor: str = ""
) -> CutoverReport:
    """Cut the given users (None: every mapped user) over from the Exchange Integration Manager."""
    from shared.admin.cutover import cutover as run

    with log_context(function=f"cutover-{action.value}", user=users[0] if users and len(users) == 1 else None):
        store = services.store()
        await off_loop(store.ensure_tables)
        if not dry_run:
            await off_loop(refuse_while_paused, store, f"a cutover ({action.value})")
        chosen = await off_loop(choose_users, store, users)
        report = await run(store, services.openair(), services.calendar(), users=chosen, action=action,
                           dry_run=dry_run)  # fmt: skip
        if actor and not dry_run:
            whom = ", ".join(users) if users else "every mapped user"
            await off_loop(audit.record, store, actor, f"cutover-{action.value}", whom, report.counts())
        return report


async def export(
    services: Services, *, user: str | None = None, dry_run: bool = False, actor: str = ""
) -> ExportOutcome:
    """An export run now: the whole tenant from the watermarks, or one user's records in full."""
    outcome = await _export(services, user=user, dry_run=dry_run)
    if actor and not dry_run:
        whom = f"user {user}" if user else "incremental run, every user"
        await off_loop(audit.record, services.store(), actor, "export", whom,
                       {"mailboxes_queued": len(outcome.messages)})  # fmt: skip
    return outcome


async def _export(services: Services, *, user: str | None, dry_run: bool) -> ExportOutcome:
    from shared.jobs import export
    from shared.sync.planner import plan_export

    with log_context(function="export", user=user):
        store = services.store()
        await off_loop(store.ensure_tables)
        if not dry_run:
            await off_loop(refuse_while_paused, store, "an export")
        if user is None:
            result = await export.run_export_timer(services, dry_run=dry_run)
            run = result.run
            outcome = ExportOutcome(run.run_id, run.status, dict(run.counts), [], list(run.alerts), list(run.errors),
                                    result.messages)  # fmt: skip
            if dry_run and result.plan is not None:
                outcome.preview = await off_loop(_preview, store, result.plan.entries, None)
                outcome.users_with_work = [str(p["user"]) for p in outcome.preview]
            return outcome
        await off_loop(choose_users, store, [user])
        started = dt.datetime.now(dt.UTC)
        plan = await plan_export(store=store, openair=services.openair(), now=started, dry_run=dry_run,
                                 only_users=[user], full_resync=True)  # fmt: skip
        run_status = status_of(problems=bool(plan.problems), blocked=plan.deletions_blocked)
        if not dry_run:
            await Run(store, "export-plan-user", run_id=plan.run_id, user_id=user, started=started).record_off_loop(
                run_status, counts=plan.counts, errors=[str(p) for p in plan.problems], alerts=plan.alerts
            )
        outcome = ExportOutcome(plan.run_id, run_status, dict(plan.counts), list(plan.users_with_work), plan.alerts,
                                [str(p) for p in plan.problems], [] if dry_run else queue_messages(plan))  # fmt: skip
        if dry_run:
            outcome.preview = await off_loop(_preview, store, plan.entries, {user})
        return outcome


def _preview(store: SyncStore, planned: dict[str, list[Any]], users: set[str] | None) -> list[dict[str, object]]:
    from shared.sync.preview import preview_writes

    mailboxes = {u: m.mailbox_id for u, m in store.load_mappings().users.items()}
    return [p.as_json() for p in preview_writes(store, planned, mailboxes, users=users)]


async def decommission(services: Services, *, dry_run: bool, actor: str) -> DecommissionReport:
    """Remove every event the product wrote (see shared/admin/decommission.py); pauses the sync first."""
    from shared.admin.decommission import decommission as remove

    with log_context(function="decommission"):
        store = services.store()
        await off_loop(store.ensure_tables)
        report = await remove(store, services.calendar(), dry_run=dry_run, actor=actor)
        if not dry_run:
            await off_loop(audit.record, store, actor, "decommission", "every event the product wrote", report.counts())
        return report


async def apply_outbox(
    services: Services,
    messages: Sequence[str],
    *,
    progress: Callable[[MailboxOutcome], None] | None = None,
) -> list[MailboxOutcome]:
    """Apply planned work now, mailbox by mailbox, in this process (the CLI; the app uses the queue)."""
    from shared.sync.mailbox import MailboxIncomplete, export_mailbox

    store = services.store()
    outcomes: list[MailboxOutcome] = []
    for message in messages:
        work = contracts.decode(ExportWork, message)
        with log_context(function="export-mailbox"), Run(store, "export-mailbox", run_id=work.run_id,
                                                          user_id=work.user_id) as run:  # fmt: skip
            try:
                report = await export_mailbox(work.user_id, store=store, calendar=services.calendar(),
                                              now=run.started)  # fmt: skip
                outcome = MailboxOutcome(work.user_id, status_of(problems=bool(report.errors)), report.counts(),
                                         list(report.errors))  # fmt: skip
            except MailboxIncomplete as exc:
                # The writes that failed transiently stay in the outbox; the next export run retries them.
                outcome = MailboxOutcome(work.user_id, "partial", {}, [str(exc)])
            await run.record_off_loop(outcome.status, run_id=work.run_id or f"cli-{run.started:%H%M%S}",
                                      counts=outcome.counts, errors=outcome.errors)  # fmt: skip
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    return outcomes
