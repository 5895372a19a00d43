"""The import's jobs, host-agnostic: the bindings in `blueprints/importing.py` call these and nothing else.

Queue messages (`import-mailbox`, `contracts.ImportWork`) carry keys only: the OpenAir user id, the mailbox id, why
(a notification, a lifecycle event, the reconciliation, a new subscription) and when the notification arrived.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse

from shared.domain.runs import status_of
from shared.errors import ConfigurationError
from shared.jobs.contracts import ImportWork, decode, encode
from shared.jobs.runs import Run
from shared.logging_setup import counted
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
    store = services.store()
    with Run(store, "import-subscriptions") as run:
        run.about(run_id=f"subs-{run.started:%H%M%S}")
        await off_loop(store.ensure_tables)
        report = await manage_subscriptions(store=store, graph=services.calendar(), endpoints=endpoints(services),
                                            now=run.started)  # fmt: skip
        await run.record_off_loop(status_of(problems=bool(report.errors)), counts=report.counts(),
                                  errors=report.errors)  # fmt: skip
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

    store = services.store()
    with Run(store, "import-mailbox") as run:
        run.about(run_id=f"imp-{run.started:%H%M%S%f}")
        max_attempts = services.sync_settings.max_dequeue_count
        poison_id = f"poison-{run.started:%H%M%S}"
        async with run.poisoned_when_final(body, attempts=dequeue_count, max_attempts=max_attempts,
                                           poison_id=poison_id, what="import"):  # fmt: skip
            work = decode(ImportWork, body)
            run.about(user_id=work.user_id)
            calendar = services.calendar()
            if work.reason in SUBSCRIPTION_EVENTS:  # kept alive while paused: notifications keep arriving
                await handle_lifecycle(work.reason, work.subscription_id, store=store, graph=calendar,
                                       endpoints=endpoints(services), now=run.started)  # fmt: skip
            if await off_loop(store.pause_state) is not None:
                # The delta link stays where it is: the pass `resume` queues sees every change made meanwhile.
                log.info("import pass skipped: the sync is paused", extra={"user": work.user_id})
                return {"paused": 1}
            bookings = OpenAirBookings(services.openair_client())
            graph_before, openair_before = calendar.requests_made, bookings.requests_made
            # The reconciliation lists the window afresh: it catches what delta never signalled, not only news.
            report = await import_mailbox(work.user_id, store=store, calendar=calendar, bookings=bookings,
                                          now=run.started, full=work.reason == "reconcile",
                                          notified=work.received_at)  # fmt: skip
            if report.covered:
                # A pass that began after this notification arrived has read it: no pass, no run row.
                log.info("import pass covered by an earlier one", extra={"user": work.user_id, "reason": work.reason})
                return {"covered": 1}
        finished = dt.datetime.now(dt.UTC)
        counts = dict(report.counts())
        # Requests are counted on the process's shared clients: exact when one pass runs at a time, else a bound.
        counts["graph_requests"] = calendar.requests_made - graph_before
        counts["openair_requests"] = bookings.requests_made - openair_before
        if work.received_at is not None and (report.created or report.updated or report.deleted or report.retyped):
            counts["latency_ms"] = int((finished - work.received_at).total_seconds() * 1000)
        if report.busy:
            counts["collapsed"] = 1
        await run.record_off_loop(status_of(problems=bool(report.errors), blocked=bool(report.alerts)),
                                  counts=counts, errors=report.errors, alerts=report.alerts,
                                  finished=finished)  # fmt: skip
        log.info("import pass done", extra=counted(counts, user=work.user_id, reason=work.reason))
    return counts
