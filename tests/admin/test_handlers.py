"""The admin functions called as the worker calls them, with a built request and the in-memory tables: bad input is a
4xx whose message says what to fix, and nothing is queued. (The host's key check and the operations end to end:
test_endpoints.py, test_key_separation.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.functions.decorators.function_app import FunctionBuilder

import shared.runtime
from blueprints import admin
from sandbox.offline import product_settings
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets
from shared.store.store import SyncStore
from tests.direct import Output, call, request
from twins.tables import MemoryTables

# A complete configuration whose services are never reached: bad input is refused before any call.
NOWHERE = product_settings(
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=bm90LWEta2V5;"
    "QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;",
    "http://127.0.0.1:9",
    "http://127.0.0.1:9",
    GRAPH_DEV_TOKEN="not-a-token",
)

# Route -> the function and the output bindings it declares.
FUNCTIONS: dict[str, tuple[FunctionBuilder, tuple[str, ...]]] = {
    "status": (admin.manage_status, ()),
    "runs": (admin.manage_runs, ()),
    "resync": (admin.manage_resync, ("work", "ops")),
    "sync/export": (admin.manage_sync_export, ("work", "ops")),
    "mappings/import-csv": (admin.manage_mappings_import_csv, ()),
    "mappings/refresh": (admin.manage_mappings_refresh, ("ops",)),
    "decommission": (admin.manage_decommission, ()),
}


@pytest.fixture(autouse=True)
def app(monkeypatch: pytest.MonkeyPatch) -> None:
    store = SyncStore(MemoryTables())
    store.ensure_tables()
    monkeypatch.setattr(shared.runtime, "_services", Services(NOWHERE, EnvironmentSecrets(NOWHERE), _store=store))


@pytest.mark.parametrize(
    ("method", "route", "params", "body", "status", "says"),
    [
        ("POST", "resync", {}, b'{"mode": "sideways"}', 400, "mode: Input should be 'update' or 'recreate'"),
        ("POST", "resync", {}, b"{not json", 400, "invalid JSON body"),
        ("POST", "resync", {}, b'{"user": "1080", "colour": "red"}', 400, "colour: Extra inputs are not permitted"),
        ("POST", "resync", {}, b'{"user": "no-such-user"}', 404, "OpenAir user no-such-user has no row"),
        ("POST", "sync/export", {}, b'{"dry_run": "perhaps"}', 400, "dry_run: Input should be a valid boolean"),
        ("POST", "mappings/import-csv", {}, b"a@contoso.com,x", 400, "choose what to do"),
        ("POST", "mappings/import-csv", {"add_new": "maybe"}, b"", 400, "add_new is 'maybe'; use true or false"),
        ("POST", "mappings/import-csv", {"add_new": "true"}, "é".encode("latin-1"), 400, "not UTF-8"),
        ("POST", "mappings/import-csv", {"add_new": "true"}, b"", 400, "the file is empty"),
        ("POST", "mappings/import-csv", {"add_new": "true"}, b"a@contoso.com,x\n" * 400_000, 413, "the limit is"),
        ("GET", "status", {"runs": "lots"}, b"", 400, "runs is 'lots'"),
        ("GET", "status", {"user": "nobody"}, b"", 404, "OpenAir user nobody has no row in UserMappings"),
        ("POST", "sync/export", {}, b'{"user": "nobody", "dry_run": true}', 404, "OpenAir user nobody has no row"),
        ("GET", "runs", {"run": "no-such-run"}, b"", 404, "run no-such-run is not among"),
        ("POST", "decommission", {}, b"{}", 400, '"confirm": true'),
        ("GET", "runs", {"limit": "0"}, b"", 400, "limit is '0'"),
        ("POST", "mappings/refresh", {}, b"[]", 400, "invalid JSON body"),
        # Destructive requests need an explicit confirmation, asked before anything is read or written.
        ("POST", "resync", {}, b"{}", 400, '"all": true'),
        ("POST", "resync", {}, b'{"user": "1080", "mode": "recreate"}', 400, '"confirm": true'),
        ("POST", "resync", {}, b'{"user": "1080", "all": true}', 400, "either"),
    ],
)
async def test_bad_input_is_a_4xx_with_a_message_and_queues_nothing(
    method: str, route: str, params: dict[str, str], body: bytes, status: int, says: str
) -> None:
    function, output_names = FUNCTIONS[route]
    outputs: dict[str, Output[Any]] = {name: Output() for name in output_names}
    answer = await call(function, request(method, f"manage/{route}", body=body, params=params,
                                          headers={"x-functions-key": "the-host-key"}), **outputs)  # fmt: skip
    assert answer.status_code == status, answer.get_body()
    assert answer.mimetype == "application/json"
    assert says in json.loads(answer.get_body())["error"]
    assert not any(output.value for output in outputs.values()), "a refused request queued work"


async def test_pause_then_resume_answer_json_and_the_audit_log_names_the_caller() -> None:
    headers = {"x-functions-key": "the-host-key", "x-ms-client-principal-name": "ops@contoso.com"}
    paused = await call(admin.manage_pause, request("POST", "manage/pause", body=b'{"reason": "cutover"}',
                                                    headers=headers))  # fmt: skip
    assert paused.status_code == 200, paused.get_body()
    assert json.loads(paused.get_body())["paused"] is True
    assert json.loads(paused.get_body())["reason"] == "cutover"
    work: Output[list[str]] = Output()
    resumed = await call(admin.manage_resume, request("POST", "manage/resume", headers=headers), work=work)
    assert resumed.status_code == 200, resumed.get_body()
    assert json.loads(resumed.get_body())["paused"] is False
    assert not work.value  # no user imports: no pass to queue
    audit = await call(admin.manage_audit, request("GET", "manage/audit", headers=headers))
    assert audit.status_code == 200, audit.get_body()
    assert "ops@contoso.com" in audit.get_body().decode()


@pytest.mark.parametrize("setting", ["WEBHOOK_FUNCTION_KEY", "OPENAIR_PUSH_KEY"])
async def test_an_outsiders_key_opens_no_admin_route(monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    """Graph's and OpenAir's keys open their own routes only, whatever kind of key the host took them for."""
    env = {**NOWHERE, setting: "an-outsiders-key"}
    monkeypatch.setattr(shared.runtime, "_services", Services(env, EnvironmentSecrets(env), _store=None))
    answer = await call(admin.manage_status, request("GET", "manage/status",
                                                     headers={"x-functions-key": "an-outsiders-key"}))  # fmt: skip
    assert answer.status_code == 401
    assert "does not open the admin API" in json.loads(answer.get_body())["error"]


async def test_an_operation_is_read_by_the_id_in_its_route_and_an_unknown_one_is_404() -> None:
    headers = {"x-functions-key": "the-host-key"}
    answer = await call(admin.manage_operations_get, request("GET", "manage/operations/op-nothing", headers=headers,
                                                             route_params={"id": "op-nothing"}))  # fmt: skip
    assert answer.status_code == 404, answer.get_body()
    assert "op-nothing" in json.loads(answer.get_body())["error"]


async def test_the_openapi_document_describes_the_admin_routes() -> None:
    answer = await call(admin.manage_openapi, request("GET", "manage/openapi.json",
                                                      headers={"x-functions-key": "the-host-key"}))  # fmt: skip
    assert answer.status_code == 200
    document = json.loads(answer.get_body())
    assert "/api/manage/status" in document["paths"]
