"""Admin operations that can outlast an HTTP answer run on a queue: 202 Accepted now, the result later.

Azure's front end cuts an HTTP response after 230 seconds whatever the function timeout
(learn.microsoft.com/azure/azure-functions/functions-scale#timeout). A mapping refresh, an export of the whole
tenant and a resync of every user read every mapped user from OpenAir and Graph, so over HTTP they answer
202 with an operation id and a `Location` (`GET /api/manage/operations/{id}`), and the queue function
`manage_operation` runs them. The operation is one row of the Runs table, written at each step with the same
key: `queued` (by the HTTP call), `running`, then `ok`/`partial` (succeeded) or `failed`, with its counts and
errors; so `runs` and `status` show it like any run. A failed operation is not retried: it is recorded with its
error, and the administrator runs it again once the cause is fixed.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import TYPE_CHECKING, Any

from shared.domain.runs import status_of
from shared.errors import BadMessage
from shared.jobs.contracts import OperationMessage, decode, encode
from shared.jobs.runs import Run, describe
from shared.store.store import SyncStore

if TYPE_CHECKING:
    from shared.admin.endpoints import Answer, Handler, Request
    from shared.runtime import Services

log = logging.getLogger(__name__)

ROUTE = "/api/manage/operations/"
# The endpoint handler an operation runs, and the Runs kind it is recorded under.
KINDS = {"refresh": "admin-mappings-refresh", "export": "admin-sync-export", "resync": "admin-resync"}
STATES = {"queued": "queued", "running": "running", "failed": "failed"}  # any other run status: succeeded


def _run(store: SyncStore, message: OperationMessage) -> Run:
    # `started` stays the time it was queued: every step rewrites the same Runs row.
    return Run(store, KINDS[message.handler], run_id=message.operation_id, started=message.queued)


def accept(store: SyncStore, handler: str, request: Request) -> Answer:
    """Record the operation as queued and answer 202 with where to follow it; the message goes on the queue."""
    from shared.admin.endpoints import Answer

    message = OperationMessage(operation_id=f"op-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}-{secrets.token_hex(4)}",
                               handler=handler, body=request.body.decode("utf-8", "replace"), actor=request.actor,
                               queued=dt.datetime.now(dt.UTC))  # fmt: skip
    store.ensure_tables()
    _run(store, message).record("queued")
    location = ROUTE + message.operation_id
    body = {"operation_id": message.operation_id, "kind": KINDS[handler], "state": "queued", "status_url": location}
    return Answer(202, body, headers={"Location": location}, operation=encode(message))


def _endpoint(handler: str) -> Handler:
    """The admin endpoint an operation runs, named, not looked up by the message's string. Imported here: the admin
    surface is loaded only when an operation message arrives."""
    from shared.admin import endpoints

    handlers: dict[str, Handler] = {
        "refresh": endpoints.refresh,
        "export": endpoints.export,
        "resync": endpoints.resync,
    }
    return handlers[handler]


async def run_operation(services: Services, raw: bytes | str) -> list[str]:
    """Run one queued operation to its end and record it; returns the export work it planned (for the queue)."""
    from shared.admin import endpoints

    try:
        message = decode(OperationMessage, raw)
    except BadMessage as exc:
        log.error("not an admin operation message", extra={"problem": str(exc)})
        return []  # nothing to record it under; a retry could never succeed
    if message.handler not in KINDS:
        log.error("unknown admin operation", extra={"operation": message.operation_id})
        return []
    with _run(services.store(), message) as run:
        await run.record_off_loop("running")
        request = endpoints.Request({}, message.body.encode(), message.actor, in_queue=True)
        try:
            answer = await endpoints.handle(_endpoint(message.handler), services, request)
        except Exception as exc:  # a bug: recorded as the operation's failure rather than retried five times
            log.exception("admin operation failed", extra={"operation": message.operation_id})
            await run.record_off_loop("failed", errors=(describe(exc),))
            return []
        body = answer.body
        if answer.status >= 400:
            await run.record_off_loop("failed", errors=(str(body.get("error", answer.status)),))
            return []
        counts = {k: int(v) for k, v in dict(body.get("counts") or {}).items() if isinstance(v, int)}
        if "mailboxes_queued" in body:
            counts["mailboxes_queued"] = int(body["mailboxes_queued"])
        elif answer.messages:
            counts["mailboxes_queued"] = len(answer.messages)
        errors = [str(e) for e in [*(body.get("errors") or []), *(body.get("problems") or [])]]
        await run.record_off_loop(status_of(problems=bool(errors)), counts=counts, errors=errors,
                                  alerts=[str(a) for a in body.get("alerts") or []])  # fmt: skip
    return answer.messages


def operation_state(store: SyncStore, operation_id: str, *, scan: int = 5000) -> dict[str, Any] | None:
    """What `GET manage/operations/{id}` answers: the state and, once finished, the result."""
    for run in store.recent_runs(scan):
        if run.run_id == operation_id and run.kind in KINDS.values():
            finished = run.status not in ("queued", "running")
            return {"operation_id": run.run_id, "kind": run.kind, "state": STATES.get(run.status, "succeeded"),
                    "status": run.status, "queued": run.started.isoformat(),
                    "finished": run.finished.isoformat() if finished else None,
                    "result": {"counts": dict(run.counts), "errors": list(run.errors), "alerts": list(run.alerts)}
                    if finished else None}  # fmt: skip
    return None
