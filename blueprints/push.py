"""Bindings of the push export (blueprint, registered in `function_app.py`): OpenAir's form script says a record
changed, the product exports that record at once. Thin: parse the trigger, call `shared.jobs.push`, shape the answer.
"""

from __future__ import annotations

import json
import logging

import azure.functions as func

from blueprints.outputs import QueueMessage
from shared.access import Caller, admits, presented_key
from shared.errors import ConfigurationError
from shared.jobs import push
from shared.jobs.contracts import EXPORT_RECORD_QUEUE
from shared.push import SIGNATURE_HEADER, PushRefused
from shared.runtime import services

log = logging.getLogger(__name__)
# Whoever holds the function key reads this: it names no setting, vault or host (the log does, for the admin).
UNAVAILABLE = "push is not available: the function app's configuration is incomplete (details in its log)"

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves __init__ unannotated


def _json(status: int, document: dict[str, object]) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(document), status_code=status, mimetype="application/json")


@bp.function_name("openair_changed")
@bp.route(route="openair/changed", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.queue_output(arg_name="work", queue_name=EXPORT_RECORD_QUEUE, connection="AzureWebJobsStorage")
def openair_changed(req: func.HttpRequest, work: QueueMessage) -> func.HttpResponse:
    """Validate a signed change notice and queue that record's export; 202 at once (someone is waiting on Save)."""
    try:
        app = services()
        if not admits(Caller.OPENAIR, presented_key(req.params, req.headers), app.secrets):
            return _json(401, {"error": "this key does not open the push route"})
        message = push.accept_push(app, req.get_body(), req.headers.get(SIGNATURE_HEADER))
    except PushRefused as refused:
        return _json(refused.status, {"error": refused.message})
    except ConfigurationError as exc:
        log.error("push not accepted: configuration", extra={"error": type(exc).__name__, "detail": str(exc)})
        return _json(503, {"error": UNAVAILABLE})
    work.set(message)
    return _json(202, {"accepted": True})


@bp.function_name("export_record")
@bp.queue_trigger(arg_name="msg", queue_name=EXPORT_RECORD_QUEUE, connection="AzureWebJobsStorage")
async def export_record(msg: func.QueueMessage) -> None:
    """Re-read one record from OpenAir and apply it to its user's mailbox; failures retry, then export-record-poison."""
    await push.run_export_record(services(), msg.get_body(), dequeue_count=msg.dequeue_count or 1)
