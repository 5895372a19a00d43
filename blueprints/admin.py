"""Admin bindings: the HTTP admin API (`/api/manage/...`, function key required) and the run-report timer.

Bindings only: each function hands the request to `shared.admin.endpoints` and shapes its answer. The admin
modules are imported inside the functions, so the webhook's cold start never pays for them. Routes and function
names avoid the prefix `admin`, which the Functions host reserves for its own API.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import azure.functions as func

from blueprints.outputs import QueueMessage, QueueMessages
from shared.access import Caller, admits, presented_key
from shared.errors import ConfigurationError
from shared.jobs.contracts import EXPORT_QUEUE, IMPORT_QUEUE, OPERATIONS_QUEUE
from shared.logging_setup import log_context
from shared.runtime import services

if TYPE_CHECKING:
    from shared.admin.endpoints import Handler

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves __init__ unannotated

JSON = "application/json"
# Every five minutes (UTC): cheap when reports are off (one table read), and the granularity of "Daily at HH:MM".
REPORT_SCHEDULE = "0 */5 * * * *"


def _refused(req: func.HttpRequest) -> func.HttpResponse | None:
    """401 for a key handed to Graph or OpenAir: those open their own routes only (shared/access.py)."""
    try:
        if admits(Caller.ADMINISTRATOR, presented_key(req.params, req.headers), services().secrets):
            return None
        status, error = 401, "this key does not open the admin API; use the function app's host key"
    except ConfigurationError:
        # The outsiders' keys cannot be read, so this key cannot be told apart from them: closed, and why.
        status, error = 503, "secrets cannot be read; run `python -m shared check` from a workstation"
    return func.HttpResponse(json.dumps({"error": error}), status_code=status, mimetype=JSON)


async def _answer(
    function: str,
    handler: Handler,
    req: func.HttpRequest,
    out: QueueMessages | None = None,
    ops: QueueMessage | None = None,
) -> func.HttpResponse:
    """Hand the request to `handler` (a `shared.admin.endpoints` function) and shape its answer."""
    from shared.admin import endpoints
    from shared.admin.audit import http_actor

    refused = _refused(req)
    if refused is not None:
        return refused
    query = {**dict(req.params), **dict(req.route_params or {})}
    request = endpoints.Request(query, req.get_body() or b"", http_actor(dict(req.headers)))
    with log_context(function=function):
        answer = await endpoints.handle(handler, services(), request)
    if out is not None:
        out.set(answer.messages)
    if ops is not None and answer.operation:
        ops.set(answer.operation)
    return func.HttpResponse(answer.json(), status_code=answer.status, headers=answer.headers, mimetype=JSON)


@bp.function_name("manage_status")
@bp.route(route="manage/status", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def manage_status(req: func.HttpRequest) -> func.HttpResponse:
    from shared.admin import endpoints

    return await _answer("manage_status", endpoints.status, req)


@bp.function_name("manage_runs")
@bp.route(route="manage/runs", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def manage_runs(req: func.HttpRequest) -> func.HttpResponse:
    from shared.admin import endpoints

    return await _answer("manage_runs", endpoints.runs, req)


@bp.function_name("manage_check")
@bp.route(route="manage/check", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def manage_check(req: func.HttpRequest) -> func.HttpResponse:
    from shared.admin import endpoints

    return await _answer("manage_check", endpoints.check, req)


@bp.function_name("manage_mappings_refresh")
@bp.route(route="manage/mappings/refresh", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.queue_output(arg_name="ops", queue_name=OPERATIONS_QUEUE, connection="AzureWebJobsStorage")
async def manage_mappings_refresh(req: func.HttpRequest, ops: QueueMessage) -> func.HttpResponse:
    from shared.admin import endpoints

    return await _answer("manage_refresh", endpoints.refresh, req, ops=ops)


@bp.function_name("manage_mappings_import_csv")
@bp.route(route="manage/mappings/import-csv", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
async def manage_mappings_import_csv(req: func.HttpRequest) -> func.HttpResponse:
    from shared.admin import endpoints

    return await _answer("manage_import_csv", endpoints.import_csv, req)


@bp.function_name("manage_resync")
@bp.route(route="manage/resync", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.queue_output(arg_name="work", queue_name=EXPORT_QUEUE, connection="AzureWebJobsStorage")
@bp.queue_output(arg_name="ops", queue_name=OPERATIONS_QUEUE, connection="AzureWebJobsStorage")
async def manage_resync(req: func.HttpRequest, work: QueueMessages, ops: QueueMessage) -> func.HttpResponse:
    from shared.admin import endpoints

    return await _answer("manage_resync", endpoints.resync, req, work, ops)


@bp.function_name("manage_sync_export")
@bp.route(route="manage/sync/export", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.queue_output(arg_name="work", queue_name=EXPORT_QUEUE, connection="AzureWebJobsStorage")
@bp.queue_output(arg_name="ops", queue_name=OPERATIONS_QUEUE, connection="AzureWebJobsStorage")
async def manage_sync_export(req: func.HttpRequest, work: QueueMessages, ops: QueueMessage) -> func.HttpResponse:
    from shared.admin import endpoints

    return await _answer("manage_export", endpoints.export, req, work, ops)


@bp.function_name("manage_operations_get")
@bp.route(route="manage/operations/{id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def manage_operations_get(req: func.HttpRequest) -> func.HttpResponse:
    from shared.admin import endpoints

    return await _answer("manage_operation", endpoints.operation, req)


@bp.function_name("manage_operation")
@bp.queue_trigger(arg_name="msg", queue_name=OPERATIONS_QUEUE, connection="AzureWebJobsStorage")
@bp.queue_output(arg_name="work", queue_name=EXPORT_QUEUE, connection="AzureWebJobsStorage")
async def manage_operation(msg: func.QueueMessage, work: QueueMessages) -> None:
    """Run a queued admin operation (202 from its route), record its result in Runs (shared/jobs/operations.py)."""
    from shared.jobs.operations import run_operation

    with log_context(function="manage_operation"):
        work.set(await run_operation(services(), msg.get_body()))


@bp.function_name("manage_cutover")
@bp.route(route="manage/cutover", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.queue_output(arg_name="work", queue_name=EXPORT_QUEUE, connection="AzureWebJobsStorage")
async def manage_cutover(req: func.HttpRequest, work: QueueMessages) -> func.HttpResponse:
    from shared.admin import endpoints

    return await _answer("manage_cutover", endpoints.cutover, req, work)


@bp.function_name("manage_subscriptions_renew")
@bp.route(route="manage/subscriptions/renew", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.queue_output(arg_name="work", queue_name=IMPORT_QUEUE, connection="AzureWebJobsStorage")
async def manage_subscriptions_renew(req: func.HttpRequest, work: QueueMessages) -> func.HttpResponse:
    from shared.admin import endpoints

    return await _answer("manage_renew_subscriptions", endpoints.renew_subscriptions, req, work)


@bp.function_name("manage_status_page")
@bp.route(route="manage/status-page", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def manage_status_page(req: func.HttpRequest) -> func.HttpResponse:
    """The status page (HTML): its script reads `manage/status` and `manage/runs` with the same key."""
    from shared.admin.status_page import MEDIA_TYPE, status_page

    refused = _refused(req)  # the page opens with the administrators' key only, like the routes it reads
    if refused is not None:
        return refused
    body, headers = status_page().answer(req.headers.get("accept-encoding", ""))
    return func.HttpResponse(body, status_code=200, headers=headers, mimetype=MEDIA_TYPE, charset="utf-8")


@bp.function_name("manage_pause")
@bp.route(route="manage/pause", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
async def manage_pause(req: func.HttpRequest) -> func.HttpResponse:
    from shared.admin import endpoints

    return await _answer("manage_pause", endpoints.pause, req)


@bp.function_name("manage_resume")
@bp.route(route="manage/resume", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.queue_output(arg_name="work", queue_name=IMPORT_QUEUE, connection="AzureWebJobsStorage")
async def manage_resume(req: func.HttpRequest, work: QueueMessages) -> func.HttpResponse:
    from shared.admin import endpoints

    return await _answer("manage_resume", endpoints.resume, req, work)


@bp.function_name("manage_decommission")
@bp.route(route="manage/decommission", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
async def manage_decommission(req: func.HttpRequest) -> func.HttpResponse:
    from shared.admin import endpoints

    return await _answer("manage_decommission", endpoints.decommission, req)


@bp.function_name("manage_audit")
@bp.route(route="manage/audit", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def manage_audit(req: func.HttpRequest) -> func.HttpResponse:
    from shared.admin import endpoints

    return await _answer("manage_audit_trail", endpoints.audit_trail, req)


@bp.function_name("manage_openapi")
@bp.route(route="manage/openapi.json", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def manage_openapi(req: func.HttpRequest) -> func.HttpResponse:
    from shared.admin.openapi import build_document

    refused = _refused(req)
    if refused is not None:
        return refused
    return func.HttpResponse(json.dumps(build_document(), indent=1), mimetype=JSON)


@bp.function_name("report_timer")
@bp.timer_trigger(schedule=REPORT_SCHEDULE, arg_name="timer", run_on_startup=False)
async def report_timer(timer: func.TimerRequest) -> None:
    """Send the run report ReportWhen asks for, when one is due (never twice: see shared/admin/reports.py)."""
    from shared.admin.reports import send_due_reports

    with log_context(function="report_timer"):
        app = services()
        await send_due_reports(app.store(), app.calendar())
