"""The OpenAPI 3 description of the admin API, built from one table; `docs/openapi.json` is its committed output.

`python -m shared openapi > docs/openapi.json` regenerates it; a test checks the committed file is current and
that it describes exactly the routes the blueprint declares (no route undocumented, no documented route missing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.admin.endpoints import (
    CutoverRequest,
    DecommissionRequest,
    ExportRequest,
    PauseRequest,
    RefreshRequest,
    ResyncRequest,
)

ROUTE_PREFIX = "/api/"


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # string, integer, boolean
    description: str


@dataclass(frozen=True)
class RouteDoc:
    method: str
    route: str  # as in the decorator, without the /api prefix
    summary: str
    description: str
    query: tuple[Param, ...] = ()
    body: type[Any] | None = None
    text_body: str = ""  # media type of a raw (non-JSON) body
    answers: dict[str, str] = field(default_factory=dict)
    media: str = "application/json"  # of the answers
    path: tuple[Param, ...] = ()  # the route's {parameters}


_USER = Param("user", "string", "OpenAir user id: only this user")
_BAD = {"400": "Bad input; `error` says what to change"}
_QUEUED = (
    "202: queued (Azure cuts an HTTP answer after 230 s); the answer carries `operation_id` and `Location`: "
    "GET it (manage/operations/{id}) for the state and the result, also in `runs`"
)
_DEPENDENCY = {"502": "OpenAir, Graph or storage failed; `error` names it", "503": "App settings are wrong"}

ROUTES: tuple[RouteDoc, ...] = (
    RouteDoc("GET", "manage/status", "Status of users, subscriptions, cursors, queues and rejected rows",
             "Per user: mapping, switches, last export/import, counts, last error, pending writes. Also Graph "
             "subscriptions and their expiry, cursors, messages in poison queues, rows rejected by validation, "
             "recent runs and alerts, users whose row is rejected and why. `paused` says who paused the sync and "
             "why. `state`: paused, failing (poison, alerts, users in error), warnings (rows rejected) or healthy; "
             "`healthy` is true only in the last.",
             query=(_USER, Param("runs", "integer", "How many recent runs to include (1-500, default 20)")),
             answers={"200": "The status", **_BAD, "404": "No UserMappings row for that user"}),
    RouteDoc("GET", "manage/runs", "Run history, newest first, one row per run",
             "An export run's plan and its mailbox workers are one row: counts summed, errors counted, the worst "
             "status; `per_mailbox` drills down.",
             query=(Param("limit", "integer", "1-500, default 50"),
                    Param("run", "string", "One run id: that run with every mailbox it wrote")),
             answers={"200": "Runs", **_BAD, "404": "No such run"}),
    RouteDoc("GET", "manage/check", "Try every dependency for real",
             "OpenAir credentials and API access, the Graph token and each permission (by trying the calls), a "
             "mailbox, Table and Queue storage, Key Vault, the webhook URL, and credential expiry (warns 30 days "
             "ahead). `ok` is false when a check failed.",
             query=(Param("send_test_mail", "boolean", "Also try Mail.Send by sending a test report"),),
             answers={"200": "One result per check", **_BAD}),
    RouteDoc("POST", "manage/mappings/refresh", "Refresh mappings (the incumbent's File > Update)",
             "Maps active OpenAir users to mailboxes by email and aliases; never overwrites a Manual row nor maps "
             "one mailbox to two users. Reports new, changed, unmatched and conflicting users. The real refresh "
             "reads every OpenAir user and mailbox, so it is queued: 202 with an operation to follow (kind "
             "admin-mappings-refresh). A dry run answers at once with the full report.",
             body=RefreshRequest, answers={"200": "Dry run: what would change", "202": _QUEUED, **_BAD,
                                           **_DEPENDENCY}),
    RouteDoc("POST", "manage/mappings/import-csv", "Import a mailbox list (CSV: email,exchange server[,OpenAir user])",
             "Good lines are applied, bad lines reported by line number, in line order. Choose add_new and/or "
             "replace_existing. The optional third column names the OpenAir user (id or OpenAir email) when the "
             "mailbox is not their OpenAir email. Users mapped for the first time get the NewUsers* switches. A "
             "header line is skipped with a warning; an empty file is a 400.",
             query=(Param("add_new", "boolean", "Map users without a mailbox to the mailbox on their line"),
                    Param("replace_existing", "boolean", "Update or re-point users already mapped"),
                    Param("dry_run", "boolean", "Report, change nothing")),
             text_body="text/csv", answers={"200": "Per-line results", **_BAD, "413": "The file is over 5 MB",
                                            **_DEPENDENCY}),
    RouteDoc("POST", "manage/resync", "Resync one user or everyone",
             "update: re-render and write only what differs (including events edited or deleted in Outlook). "
             "recreate: delete the product's own events in the window and write them again (needs confirm). "
             "Name a user, or set all for everyone; `skipped` names users everyone's resync left out and why. "
             "`writes` lists the creates, updates and deletes per mailbox (a dry run: what the real run will do). "
             "The writes are queued. Refused with 409 while the sync is paused (dry runs excepted). One user: "
             "planned now, 202 with the plan. all (not a dry run): the planning itself is queued, 202 with an "
             "operation to follow (kind admin-resync).",
             body=ResyncRequest, answers={"200": "Dry run", "202": "One user: planned and queued. all: " + _QUEUED,
                                          **_BAD, "404": "Unknown or unmapped user", "409": "Paused",
                                          **_DEPENDENCY}),
    RouteDoc("POST", "manage/sync/export", "Run an export now (or preview it with dry_run)",
             "Without user: the regular incremental run. With user: all of that user's records, writing only what "
             "differs. dry_run reports what would be created, updated and deleted, changing nothing. Without user "
             "(not a dry run) the run is queued: 202 with an operation to follow (kind admin-sync-export).",
             body=ExportRequest, answers={"200": "Dry run", "202": "One user: planned and queued. Everyone: " + _QUEUED,
                                          **_BAD, "404": "Unknown or unmapped user", "409": "Paused",
                                          **_DEPENDENCY}),
    RouteDoc("GET", "manage/operations/{id}", "A queued operation: its state, then its result",
             "For the operation id a 202 answered (refresh, export of everyone, resync of all). `state`: queued, "
             "running, succeeded or failed; once finished, `result` holds its counts, errors and alerts. The "
             "same row is in `runs` (run id = operation id). A failed operation is not retried: run it again.",
             path=(Param("id", "string", "The operation id (operation_id of the 202 answer)"),),
             answers={"200": "The operation", "404": "No such operation among the recent runs"}),
    RouteDoc("POST", "manage/cutover", "Cut users over from the Exchange Integration Manager",
             "adopt: read each user's calendar once over their records' dates, recognise the incumbent's events "
             "(subject and body formats) and match each to the record it shows; matched events are adopted (our "
             "property, a link, then updated in place), ambiguous ones are reported with why and never touched "
             "(their records are held, so no second copy appears), a person's own events are left alone. The "
             "users' export is then queued. remove-stale: delete the incumbent's events that match no current "
             "record. A dry run (the default) changes nothing; a real run needs confirm: true.",
             body=CutoverRequest, answers={"200": "Dry run", "202": "Done; writes queued", **_BAD,
                                          "404": "Unknown or unmapped user", **_DEPENDENCY}),
    RouteDoc("POST", "manage/subscriptions/renew", "Create, renew and drop Graph subscriptions now",
             "Runs the import's subscription job at once (it also runs on its timer): subscribes importing "
             "mailboxes that have none, renews those close to expiry, deletes those no longer needed; newly "
             "subscribed mailboxes get an import pass.", answers={"200": "What the job did", **_BAD, **_DEPENDENCY}),
    RouteDoc("GET", "manage/status-page", "The status page administrators open in a browser",
             "One HTML page (stylesheet and script inlined, nothing from elsewhere) showing what `manage/status` "
             "and `manage/runs` answer: paused or running, the last runs, every user with filter and sort, rejected "
             "rows, subscriptions, poison messages, alerts, a chart of writes and errors per run. Its actions: a "
             "dry run then a resync of one user, and renewing subscriptions, each after a confirmation. Open it "
             "with `?code=<admin key>`: the page takes the key out of the address bar and sends it in the "
             "x-functions-key header.", answers={"200": "The page"}, media="text/html"),
    RouteDoc("POST", "manage/pause", "Pause the sync (the incumbent's Stop Engine)",
             "Stops every write: the export timer, the mailbox workers, the push and the import. Change "
             "notifications are still accepted and subscriptions renewed; watermarks and delta links stay where "
             "they are, so resume catches up with nothing lost. Recorded in the audit trail.",
             body=PauseRequest, answers={"200": "Paused (changed false when it already was)", **_BAD}),
    RouteDoc("POST", "manage/resume", "Resume the sync",
             "Writes start again: the next export run reads everything changed meanwhile and applies what waited; "
             "one import pass per importing mailbox is queued now.", answers={"200": "Resumed", **_BAD}),
    RouteDoc("POST", "manage/decommission", "Remove every event the product wrote (before azd down)",
             "Pauses the sync, switches ImportEnabled off, deletes the import's Graph subscriptions, then deletes "
             "from every mailbox the events linked as the product's own (never a person's own event or copy, nor "
             "an event imported from Outlook) and drops their links. OpenAir is not changed. Needs confirm; "
             "dry_run counts. A mailbox that refuses keeps its links and is named: run it again.",
             body=DecommissionRequest, answers={"200": "What was (or would be) removed", **_BAD, **_DEPENDENCY}),
    RouteDoc("GET", "manage/audit", "Audit trail of administrative changes, newest first",
             "Who (signed-in principal, function key, or command-line user), what, when, with counts.",
             query=(Param("limit", "integer", "1-500, default 50"),), answers={"200": "Entries", **_BAD}),
    RouteDoc("GET", "manage/openapi.json", "This description", "", answers={"200": "OpenAPI 3.0 document"}),
)  # fmt: skip


def _parameter(param: Param, where: str = "query") -> dict[str, Any]:
    return {"name": param.name, "in": where, "required": where == "path", "description": param.description,
            "schema": {"type": param.kind}}  # fmt: skip


def _answer(text: str, media: str) -> dict[str, Any]:
    schema = {"type": "object"} if media == "application/json" else {"type": "string"}
    return {"description": text, "content": {media: {"schema": schema}}}


def build_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for doc in ROUTES:
        operation: dict[str, Any] = {
            "operationId": doc.route.removeprefix("manage/")
            .replace("/", "_")
            .replace("-", "_")
            .replace(".", "_")
            .replace("{", "")
            .replace("}", ""),
            "summary": doc.summary,
            "description": doc.description,
            "parameters": [*(_parameter(p, "path") for p in doc.path), *(_parameter(p) for p in doc.query)],
            "responses": {
                **{code: _answer(text, doc.media) for code, text in doc.answers.items()},
                "401": {"description": "No or wrong function key"},
            },
        }
        if doc.body is not None:
            operation["requestBody"] = {
                "required": False,
                "content": {"application/json": {"schema": doc.body.model_json_schema()}},
            }
        elif doc.text_body:
            operation["requestBody"] = {"required": True, "content": {doc.text_body: {"schema": {"type": "string"}}}}
        paths.setdefault(ROUTE_PREFIX + doc.route, {})[doc.method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "OpenAir ↔ Microsoft 365 calendar sync: admin API",
            "version": "1.0.0",
            "description": "Function-key protected (x-functions-key header or ?code=). JSON in and out.",
        },
        "security": [{"functionKeyHeader": []}, {"functionKeyQuery": []}],
        "components": {
            "securitySchemes": {
                "functionKeyHeader": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
            }
        },
        "paths": paths,
    }
