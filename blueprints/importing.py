"""Import bindings (Outlook → OpenAir): the notification and lifecycle webhooks, the subscription and
reconciliation timers, and the per-mailbox import worker. Thin: parse the trigger, call `shared.notifications`.

The webhooks are `function`-level: Graph cannot send a header, so the key rides in the subscription's
notificationUrl as `?code=` (Graph sends a URL's query string back on every POST); clientState is the check
that matters. Their import path is the standard library plus the table client: msgraph loads in the worker only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import azure.functions as func

from blueprints.outputs import QueueMessages
from shared.access import Caller, admits, presented_key
from shared.errors import ConfigurationError
from shared.jobs.contracts import IMPORT_QUEUE
from shared.notifications import webhook
from shared.notifications.directory import SubscriptionDirectory, client_state
from shared.runtime import services
from shared.settings import ImportSettings, load
from shared.store.tables import StoreError

log = logging.getLogger(__name__)

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves __init__ unannotated
_directory: SubscriptionDirectory | None = None
_max_body: int | None = None
_recent = webhook.RecentNotifications()  # per process: Graph's duplicate deliveries and replays queue nothing twice


def _answer(
    req: func.HttpRequest, work: QueueMessages, handler: Callable[..., webhook.WebhookAnswer]
) -> func.HttpResponse:
    global _directory, _max_body
    try:
        app = services()
        if not admits(Caller.GRAPH, presented_key(req.params, req.headers), app.secrets):
            # Another key the host let in (a host key, the admins'): this route is Graph's alone.
            return func.HttpResponse(status_code=401, headers=webhook.SAFE_HEADERS)
        if _directory is None:
            _directory = SubscriptionDirectory(app)
        if _max_body is None:
            _max_body = load(ImportSettings, app.environ).max_body_bytes
        answer = handler(dict(req.params), dict(req.headers), req.get_body(), client_state=client_state(app),
                         lookup=_directory, max_body_bytes=_max_body, recent=_recent)  # fmt: skip
    except (ConfigurationError, StoreError) as exc:
        # Nothing was checked or stored: 503 makes Graph deliver again later (up to 4 hours).
        # The message itself names what to fix (WEBHOOK_CLIENT_STATE not set, storage unreachable): it is the
        # line an administrator sees in Application Insights, where custom dimensions are easy to miss.
        log.error("notification not processed: %s: %s", type(exc).__name__, exc, extra={"error": type(exc).__name__})
        unavailable = "not configured" if isinstance(exc, ConfigurationError) else "temporarily unavailable"
        return func.HttpResponse(unavailable, status_code=503, headers=webhook.SAFE_HEADERS,
                                 mimetype="text/plain")  # fmt: skip
    if answer.messages:
        work.set(answer.messages)  # a failed enqueue fails the invocation: the host answers 500, Graph retries
    return func.HttpResponse(answer.body, status_code=answer.status, headers=answer.headers)


@bp.function_name("graph_notifications")
@bp.route(route="graph/notifications", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.queue_output(arg_name="work", queue_name=IMPORT_QUEUE, connection="AzureWebJobsStorage")
def graph_notifications(req: func.HttpRequest, work: QueueMessages) -> func.HttpResponse:
    """Graph change notifications: handshake, clientState + subscription checks, one message per mailbox, 202."""
    return _answer(req, work, webhook.handle_notifications)


@bp.function_name("graph_lifecycle")
@bp.route(route="graph/lifecycle", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.queue_output(arg_name="work", queue_name=IMPORT_QUEUE, connection="AzureWebJobsStorage")
def graph_lifecycle(req: func.HttpRequest, work: QueueMessages) -> func.HttpResponse:
    """Lifecycle events (reauthorizationRequired, subscriptionRemoved, missed) become import-worker messages."""
    return _answer(req, work, webhook.handle_lifecycle)


@bp.function_name("import_subscriptions")
@bp.timer_trigger(schedule="%IMPORT_SUBSCRIPTION_SCHEDULE%", arg_name="timer", run_on_startup=False)
@bp.queue_output(arg_name="work", queue_name=IMPORT_QUEUE, connection="AzureWebJobsStorage")
async def import_subscriptions(timer: func.TimerRequest, work: QueueMessages) -> None:
    """Create, renew and delete subscriptions; newly subscribed mailboxes get an import pass."""
    from shared.jobs import importing

    work.set(await importing.run_subscription_timer(services()))


@bp.function_name("import_reconcile")
@bp.timer_trigger(schedule="%IMPORT_RECONCILE_SCHEDULE%", arg_name="timer", run_on_startup=False)
@bp.queue_output(arg_name="work", queue_name=IMPORT_QUEUE, connection="AzureWebJobsStorage")
def import_reconcile(timer: func.TimerRequest, work: QueueMessages) -> None:
    """A delta pass for every importing mailbox, for whatever notifications never arrived."""
    from shared.jobs import importing

    work.set(importing.run_reconcile_timer(services()))


@bp.function_name("import_mailbox")
@bp.queue_trigger(arg_name="msg", queue_name=IMPORT_QUEUE, connection="AzureWebJobsStorage")
async def import_mailbox(msg: func.QueueMessage) -> None:
    """One mailbox's Outlook changes into OpenAir; failures retry, then land in import-mailbox-poison."""
    from shared.jobs import importing

    await importing.run_import_mailbox(services(), msg.get_body(), dequeue_count=msg.dequeue_count or 1)
