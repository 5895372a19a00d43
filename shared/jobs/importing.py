"""The import's jobs, host-agnostic: the bindings in `blueprints/importing.py` call these and nothing else.

Queue messages (`import-mailbox`, `contracts.ImportWork`) carry keys only: the OpenAir user id, the mailbox id, why
(a notification, a lifecycle event, the reconciliation, a new subscription) and when the notification arrived.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse

from shared.domain.runs import RunRecord
from shared.errors import BadMessage, ConfigurationError
from shared.jobs.contracts import ImportWork, decode, encode, user_of
from shared.notifications.directory import client_state
from shared.runtime import Services
from shared.settings import ImportSettings, load
from shared.store.offload import off_loop
from shared.sync.importing.subscriptions import Endpoints, handle_lifecycle, importing_users, manage_subscriptions

log = logging.getLogger(__name__)

NOTIFICATIONS_ROUTE = "graph/notifications"
LIFECYCLE_ROUTE = "graph/lifecycle"
ROUTE_PREFIX = "api"  # host.json sets no routePrefix: the platform default
SUBSCRIPTION_EVENTS = ("reauthorizationRequired", "subscriptionRemoved")


def endpoints(services: Services) -> Endpoints:
    """Where subscriptions point: WEBHOOK_BASE_URL + our routes, with WEBHOOK_FUNCTION_KEY as `?code=`."""
    settings: ImportSettings = load(ImportSettings, services.environ)
    if not settings.webhook_base_url:
        raise ConfigurationError("WEBHOOK_BASE_URL is not set: Graph has nowhere to send notifications")
    key = services.secrets.get("WEBHOOK_FUNCTION_KEY")
    query = "?" + urllib.parse.urlencode({"code": key}) if key else ""
    root = f"{settings.webhook_base_url}/{ROUTE_PREFIX}"
    return Endpoints(
        notification_url=f"{root}/{NOTIFICATIONS_ROUTE}{query}",
        lifecycle_url=f"{root}/{LIFECYCLE_ROUTE}{query}",
        client_state=client_state(services),
        lifetime=dt.timedelta(minutes=settings.subscription_minutes),
        renew_margin=dt.timedelta(minutes=settings.renew_margin_minutes),
    )


# ------------------------------------------------------------ timers


async def run_subscription_timer(services: Services) -> list[str]:
    """Create, renew and delete subscriptions; returns import messages for mailboxes newly subscribed."""
    started = dt.datetime.now(dt.UTC)
    store = services.store()
    await off_loop(store.ensure_tables)
    report = await manage_subscriptions(store=store, graph=services.calendar(), endpoints=endpoints(services),
                                        now=started)  # fmt: skip
    run = RunRecord(run_id=f"subs-{started:%H%M%S}", kind="import-subscriptions", started=started,
                    finished=dt.datetime.now(dt.UTC), status="partial" if report.errors else "ok",
                    counts=report.counts(), errors=tuple(report.errors))  # fmt: skip
    await off_loop(store.record_run, run)
    mailboxes = await off_loop(importing_users, store)
    return [encode(ImportWork(u, mailboxes.get(u, ""), "subscribed")) for u in report.resync]


def run_reconcile_timer(services: Services) -> list[str]:
    """One import message per importing mailbox: whatever notifications missed is caught within the interval."""
    store = services.store()
    store.ensure_tables()
    if store.pause_state() is not None:
        return []  # `resume` queues a pass for every importing mailbox
    return [encode(ImportWork(u, m, "reconcile")) for u, m in sorted(importing_users(store).items())]


# ------------------------------------------------------------ the queue worker


async def run_import_mailbox(services: Services, body: bytes | str, *, dequeue_count: int = 1) -> dict[str, int]:
    """One delta pass for one mailbox (after acting on a lifecycle event). Failures retry; the last is recorded."""
    from shared.openair.bookings import OpenAirBookings
    from shared.sync.importing.engine import import_mailbox

    started = dt.datetime.now(dt.UTC)
    store = services.store()
    try:
        work = decode(ImportWork, body)
        calendar = services.calendar()
        if work.reason in SUBSCRIPTION_EVENTS:  # kept alive while paused: notifications keep arriving
            await handle_lifecycle(work.reason, work.subscription_id, store=store, graph=calendar,
                                   endpoints=endpoints(services), now=started)  # fmt: skip
        if await off_loop(store.pause_state) is not None:
            # The delta link stays where it is: the pass `resume` queues sees every change made meanwhile.
            log.info("import pass skipped: the sync is paused", extra={"user": work.user_id})
            return {"paused": 1}
        bookings = OpenAirBookings(services.openair_client())
        graph_before, openair_before = calendar.requests_made, bookings.requests_made
        # The reconciliation lists the window afresh: it catches what delta never signalled, not only missed news.
        report = await import_mailbox(work.user_id, store=store, calendar=calendar, bookings=bookings, now=started,
                                      full=work.reason == "reconcile", notified=work.received_at)  # fmt: skip
        if report.covered:
            # A pass that began after this notification arrived has read it: no pass, no run row.
            log.info("import pass covered by an earlier one", extra={"user": work.user_id, "reason": work.reason})
            return {"covered": 1}
    except Exception as exc:
        if isinstance(exc, BadMessage) or dequeue_count >= services.sync_settings.max_dequeue_count:
            poisoned = RunRecord(run_id=f"poison-{started:%H%M%S}", kind="import-mailbox", started=started,
                                 finished=dt.datetime.now(dt.UTC), status="poison", user_id=user_of(body),
                                 errors=(f"{type(exc).__name__}: {exc}",),
                                 counts={"attempts": dequeue_count})  # fmt: skip
            await off_loop(store.record_run, poisoned)
            log.error("import message poisoned", extra={"user": user_of(body), "attempts": dequeue_count})
        raise
    finished = dt.datetime.now(dt.UTC)
    counts = dict(report.counts())
    # Requests are counted on the process's shared clients: exact when one pass runs at a time, an upper bound else.
    counts["graph_requests"] = calendar.requests_made - graph_before
    counts["openair_requests"] = bookings.requests_made - openair_before
    if work.received_at is not None and (report.created or report.updated or report.deleted or report.retyped):
        counts["latency_ms"] = int((finished - work.received_at).total_seconds() * 1000)
    if report.busy:
        counts["collapsed"] = 1
    status = "blocked" if report.alerts else ("partial" if report.errors else "ok")
    run = RunRecord(run_id=f"imp-{started:%H%M%S%f}", kind="import-mailbox", started=started, finished=finished,
                    status=status, user_id=work.user_id, counts=counts, errors=tuple(report.errors),
                    alerts=tuple(report.alerts))  # fmt: skip
    await off_loop(store.record_run, run)
    log.info("import pass done", extra={"user": work.user_id, "reason": work.reason, **counts})
    return counts
