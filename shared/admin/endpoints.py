"""The admin HTTP API, host-agnostic: parse a request, run the operation, shape a JSON answer.

The blueprint (`blueprints/admin.py`) only moves bytes between Azure Functions and these handlers, so they are
tested by calling them directly. Routes live under `manage/`, not `admin/`: the Functions host reserves `admin`
for its own API and refuses function routes (and function names) starting with it (azure-functions-host#1781,
#7634). Bad input is a 4xx with a message saying what to fix; an unreachable dependency is a 502/503 naming it;
only a bug is a 500.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.admin import audit, operations
from shared.admin.csv_import import CsvImportError, CsvTooLarge
from shared.admin.cutover import CutoverAction
from shared.admin.resync import ResyncMode, UnknownUser
from shared.errors import ConfigurationError, SyncError, SyncPaused
from shared.jobs import operations as background
from shared.runtime import Services
from shared.store.offload import off_loop


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    messages: list[str] = field(default_factory=list)  # export work for the queue output binding
    headers: dict[str, str] = field(default_factory=dict)
    operation: str = ""  # an operation for the manage-operations queue (shared/jobs/operations.py)

    def json(self) -> str:
        return json.dumps(self.body, default=str, indent=1)


class BadRequest(SyncError, ValueError):
    """The request cannot be run as sent; the message says what to change."""


@dataclass(frozen=True)
class Request:
    """What a handler gets from the binding: the query, the raw body, and who is asking (for the audit trail)."""

    query: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    actor: str = audit.FUNCTION_KEY
    in_queue: bool = False  # run by the operations queue: run it now, do not queue it again


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RefreshRequest(_Body):
    dry_run: bool = Field(default=False, description="Report what the refresh would change, change nothing")


class ResyncRequest(_Body):
    user: str | None = Field(default=None, description="OpenAir user id (or set all)")
    all: bool = Field(default=False, description="Every mapped user; required when user is omitted")
    mode: ResyncMode = Field(default=ResyncMode.UPDATE, description="update (write what differs) or recreate")
    confirm: bool = Field(default=False, description="Required for recreate: it deletes and rewrites the events")
    dry_run: bool = Field(default=False, description="Report what would happen, change nothing")


class DecommissionRequest(_Body):
    dry_run: bool = Field(default=False, description="Count the events and subscriptions, remove nothing")
    confirm: bool = Field(default=False, description="Required: removes every event the product wrote")


class PauseRequest(_Body):
    reason: str = Field(default="", max_length=500, description="Why, shown by status and in the audit trail")


class ExportRequest(_Body):
    user: str | None = Field(default=None, description="Only this OpenAir user (all of their records)")
    dry_run: bool = Field(default=False, description="Plan and report, write nothing")


class CutoverRequest(_Body):
    users: list[str] = Field(default_factory=list, description="OpenAir user ids to cut over")
    all: bool = Field(default=False, description="Every mapped user instead of `users` (must be said explicitly)")
    action: CutoverAction = Field(
        default=CutoverAction.ADOPT,
        description="adopt (the incumbent's events become ours) or remove-stale (delete the incumbent's events "
        "that match no current record)",
    )
    dry_run: bool = Field(default=True, description="Report what the run would do, change nothing (the default)")
    confirm: bool = Field(default=False, description="Required with dry_run false: the real run changes events")


def _flag(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name, "false").strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no", ""):
        return False
    raise BadRequest(f"query parameter {name} is '{value}'; use true or false")


def _body(model: type[_Body], raw: bytes) -> Any:
    if not raw.strip():
        return model()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        fields = ", ".join(model.model_fields)
        raise BadRequest(f"invalid JSON body ({problems}); fields: {fields}") from None


async def status(services: Services, request: Request) -> Answer:
    query = request.query
    limit = query.get("runs", "20")
    if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= 500:
        raise BadRequest(f"query parameter runs is '{limit}'; use a number from 1 to 500")
    report = await off_loop(operations.status, services, user_id=query.get("user") or None, runs=int(limit))  # 404
    return Answer(200, {"healthy": report.healthy, "state": report.state, **report.as_json()})


async def runs(services: Services, request: Request) -> Answer:
    limit = request.query.get("limit", "50")
    if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= 500:
        raise BadRequest(f"query parameter limit is '{limit}'; use a number from 1 to 500")
    from shared.admin.status import UnknownRun, runs_of

    try:
        found = await off_loop(runs_of, services.store(), int(limit), run_id=request.query.get("run") or None)
    except UnknownRun as exc:
        return Answer(404, {"error": str(exc)})
    return Answer(200, {"runs": found})


async def check(services: Services, request: Request) -> Answer:
    from shared.admin.check import failed, run_checks

    results = await run_checks(services, send_test_mail=_flag(request.query, "send_test_mail"))
    return Answer(200, {"ok": not failed(results), "checks": [asdict(r) for r in results]})


async def refresh(services: Services, request: Request) -> Answer:
    body = _body(RefreshRequest, request.body)
    if not body.dry_run and not request.in_queue:  # reads every OpenAir user and Graph mailbox: on the queue
        return await off_loop(background.accept, services.store(), "refresh", request)
    report = await operations.refresh(services, dry_run=body.dry_run, actor=request.actor)
    return Answer(200, {"dry_run": body.dry_run, "counts": report.counts(), **asdict(report)})


async def import_csv(services: Services, request: Request) -> Answer:
    query = request.query
    add_new, replace = _flag(query, "add_new"), _flag(query, "replace_existing")
    report = await operations.import_csv(services, request.body, add_new=add_new, replace_existing=replace,
                                         dry_run=_flag(query, "dry_run"), actor=request.actor)  # fmt: skip
    return Answer(200, {"counts": report.counts(), **asdict(report)})


async def resync(services: Services, request: Request) -> Answer:
    asked = _body(ResyncRequest, request.body)
    if asked.user and asked.all:
        raise BadRequest('give either "user" or "all": true, not both')
    if not asked.user and not asked.all:
        raise BadRequest('say whom to resync: "user": "<OpenAir user id>", or "all": true for every mapped user')
    if asked.mode is ResyncMode.RECREATE and not asked.dry_run and not asked.confirm:
        who = f"user {asked.user}'s" if asked.user else "every mapped user's"
        raise BadRequest(f"recreate deletes {who} events written by the product and writes them again; add "
                         '"confirm": true to go ahead, or "dry_run": true to see how many')  # fmt: skip
    if asked.all and not asked.dry_run and not request.in_queue:  # every user: on the queue
        await off_loop(operations.refuse_while_paused, services.store(), f"a resync ({asked.mode.value})")
        return await off_loop(background.accept, services.store(), "resync", request)
    report = await operations.resync(services, user=asked.user, mode=asked.mode, dry_run=asked.dry_run,
                                      actor=request.actor)  # fmt: skip
    body = {"run_id": report.run_id, "mode": report.mode.value, "dry_run": report.dry_run, "users": report.users,
            "skipped": report.skipped, "counts": report.counts(), "writes": report.preview(),
            "errors": report.delete_failures, "alerts": report.plan.alerts if report.plan else []}  # fmt: skip
    return Answer(202 if not asked.dry_run else 200, body, operations.queue_messages(report.plan))


async def export(services: Services, request: Request) -> Answer:
    asked = _body(ExportRequest, request.body)
    if asked.user is None and not asked.dry_run and not request.in_queue:  # the whole tenant: on the queue
        await off_loop(operations.refuse_while_paused, services.store(), "an export")
        return await off_loop(background.accept, services.store(), "export", request)
    outcome = await operations.export(services, user=asked.user, dry_run=asked.dry_run, actor=request.actor)
    body = {"run_id": outcome.run_id, "dry_run": asked.dry_run, "status": outcome.status, "counts": outcome.counts,
            "writes": outcome.preview, "mailboxes_queued": len(outcome.messages), "alerts": outcome.alerts,
            "problems": outcome.problems}  # fmt: skip
    return Answer(200 if asked.dry_run else 202, body, outcome.messages)


async def cutover(services: Services, asked: Request) -> Answer:
    request = _body(CutoverRequest, asked.body)
    if request.all == bool(request.users):
        raise BadRequest("name the users to cut over (users: [...]) or say all: true, not both")
    if not request.dry_run and not request.confirm:
        raise BadRequest(f"a real {request.action.value} run changes events in mailboxes; run it with dry_run "
                         "true first, review, then send dry_run false with confirm true")  # fmt: skip
    report = await operations.cutover(services, users=None if request.all else request.users,
                                      action=request.action, dry_run=request.dry_run, actor=asked.actor)  # fmt: skip
    body = {"run_id": report.run_id, "action": report.action.value, "dry_run": report.dry_run, "users": report.users,
            "counts": report.counts(), "ambiguous": report.ambiguous(), "stale": report.stale(),
            "errors": report.errors(), "alerts": report.plan.alerts if report.plan else []}  # fmt: skip
    return Answer(200 if request.dry_run else 202, body, operations.queue_messages(report.plan))


def _pause_json(outcome: operations.PauseOutcome) -> dict[str, Any]:
    state = outcome.state
    return {"paused": outcome.paused, "changed": outcome.paused != outcome.was_paused,
            "since": str(state.since or "") if state else "", "by": state.by if state else "",
            "reason": state.reason if state else "",
            "import_passes_queued": len(outcome.import_passes)}  # fmt: skip


async def pause(services: Services, request: Request) -> Answer:
    """Stop every write; notifications are still accepted and nothing is lost."""
    asked = _body(PauseRequest, request.body)
    outcome = await off_loop(operations.pause, services, actor=request.actor, reason=asked.reason.strip())
    return Answer(200, _pause_json(outcome))


async def resume(services: Services, request: Request) -> Answer:
    if request.body.strip() not in (b"", b"{}"):
        raise BadRequest("this route takes no body")
    outcome = await off_loop(operations.resume, services, actor=request.actor)
    return Answer(200, _pause_json(outcome), outcome.import_passes)


async def decommission(services: Services, request: Request) -> Answer:
    """Remove every event the product wrote from every mailbox, before `azd down`."""
    asked = _body(DecommissionRequest, request.body)
    if not asked.dry_run and not asked.confirm:
        raise BadRequest('decommission pauses the sync and deletes every event the product wrote in every mailbox; '
                         'send "dry_run": true to see how many, then "confirm": true to go ahead')  # fmt: skip
    report = await operations.decommission(services, dry_run=asked.dry_run, actor=request.actor)
    body = {"dry_run": asked.dry_run, "complete": report.complete, "counts": report.counts(),
            "mailboxes": [asdict(m) for m in report.mailboxes]}  # fmt: skip
    return Answer(200, body)


async def operation(services: Services, request: Request) -> Answer:
    """A queued operation (refresh, export of the tenant, resync of everyone): its state, then its result."""
    found = await off_loop(background.operation_state, services.store(), request.query.get("id", ""))
    if found is None:
        return Answer(404, {"error": f"no operation {request.query.get('id', '')} among the recent runs"})
    return Answer(200, found)


async def audit_trail(services: Services, request: Request) -> Answer:
    limit = request.query.get("limit", "50")
    if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= 500:
        raise BadRequest(f"query parameter limit is '{limit}'; use a number from 1 to 500")
    entries = await off_loop(audit.recent, services.store(), int(limit))
    return Answer(200, {"entries": [e.as_json() for e in entries]})


async def renew_subscriptions(services: Services, request: Request) -> Answer:
    """The import's subscription job, now: create missing subscriptions, renew expiring ones, drop stale ones."""
    from shared.jobs.importing import run_subscription_timer

    if request.body.strip() not in (b"", b"{}"):
        raise BadRequest("this route takes no body")
    messages = await run_subscription_timer(services)
    latest = await off_loop(services.store().recent_runs, 1)
    run = latest[0] if latest and latest[0].kind == "import-subscriptions" else None
    body = {"counts": dict(run.counts) if run else {}, "errors": list(run.errors) if run else [],
            "mailboxes_resynced": len(messages)}  # fmt: skip
    await off_loop(
        audit.record, services.store(), request.actor, "subscriptions-renew", "", dict(run.counts) if run else {}
    )
    return Answer(200, body, messages)


Handler = Callable[[Services, Request], Awaitable[Answer]]


async def handle(handler: Handler, services: Services, request: Request) -> Answer:
    """Run a handler and turn the product's errors into answers that say what to fix."""
    try:
        return await handler(services, request)
    except CsvTooLarge as exc:
        return Answer(413, {"error": str(exc)})
    except (BadRequest, CsvImportError) as exc:
        return Answer(400, {"error": str(exc)})
    except UnknownUser as exc:
        return Answer(404, {"error": str(exc)})
    except SyncPaused as exc:
        return Answer(409, {"error": str(exc)})
    except ConfigurationError as exc:
        return Answer(503, {"error": f"the function app is misconfigured: {exc}"})
    except SyncError as exc:  # OpenAir, Graph or Table Storage refused or failed: a dependency, not the request
        return Answer(502, {"error": f"{type(exc).__name__}: {exc}"})
