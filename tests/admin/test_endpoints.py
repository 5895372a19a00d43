"""The admin endpoints through the function host: a key is required, bad input is a 4xx that says what to fix,
and each operation answers with JSON."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.admin.live import Live, live_world

ROUTES = [
    ("GET", "status"), ("GET", "runs"), ("GET", "check"), ("POST", "mappings/refresh"),
    ("POST", "mappings/import-csv"), ("POST", "resync"), ("POST", "sync/export"), ("GET", "openapi.json"),
    ("POST", "subscriptions/renew"), ("POST", "pause"), ("POST", "resume"), ("GET", "audit"),
    ("POST", "decommission"),
]  # fmt: skip


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    with live_world() as world:
        yield world


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_every_route_needs_a_function_key(live: Live, method: str, route: str) -> None:
    assert httpx.request(method, f"{live.url}/{route}", timeout=30).status_code == 401
    wrong = httpx.request(method, f"{live.url}/{route}", headers={"x-functions-key": "guess"}, timeout=30)
    assert wrong.status_code == 401


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
    ],
)
def test_bad_input_is_a_4xx_with_a_message(
    live: Live, method: str, route: str, params: dict[str, str], body: bytes, status: int, says: str
) -> None:
    answer = httpx.request(method, f"{live.url}/{route}", params=params, content=body, headers=live.key, timeout=30)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["error"]


def test_operations_answer_json(live: Live) -> None:
    refresh = httpx.post(f"{live.url}/mappings/refresh", json={"dry_run": True}, headers=live.key, timeout=60)
    assert refresh.status_code == 200
    assert refresh.json()["counts"]["unchanged"] >= 1

    export = httpx.post(f"{live.url}/sync/export", json={}, headers=live.key, timeout=60)
    assert export.status_code == 202  # the whole tenant: queued as an operation (tests/admin/test_operations.py)
    live.host.drain_queues(timeout=60)
    done = httpx.get(live.host.base_url + export.headers["location"], headers=live.key, timeout=60).json()
    assert done["state"] == "succeeded", done
    assert done["result"]["counts"]["mailboxes_queued"] >= 1

    user = sorted(live.store.load_mappings().users)[0]
    resync = httpx.post(f"{live.url}/resync", json={"user": user, "mode": "update"}, headers=live.key, timeout=60)
    assert resync.status_code == 202
    assert resync.json()["counts"]["to_write"] == 0  # nothing drifted

    status = httpx.get(f"{live.url}/status", params={"user": user}, headers=live.key, timeout=60).json()
    assert [u["user_id"] for u in status["users"]] == [user]
    assert status["users"][0]["links"] > 0
    assert status["users"][0]["last_export"]

    runs = httpx.get(f"{live.url}/runs", params={"limit": "5"}, headers=live.key, timeout=30).json()["runs"]
    assert runs[0]["kind"] == "resync-update"

    check = httpx.get(f"{live.url}/check", headers=live.key, timeout=60).json()
    assert check["ok"] is True
    assert {c["name"] for c in check["checks"] if c["outcome"] == "ok"} >= {
        "OpenAir API", "OpenAir time zone", "OpenAir API limits", "Table storage", "Queue storage", "Graph: list users",
        "Graph: mailbox calendar"}  # fmt: skip

    csv = httpx.post(f"{live.url}/mappings/import-csv", params={"replace_existing": "true", "dry_run": "true"},
                     content=b"\xef\xbb\xbfnot-an-email,x\n", headers=live.key, timeout=30)  # fmt: skip
    assert csv.status_code == 200
    assert csv.json()["problems"] == ["line 1: 'not-an-email' is not an email address — the file has no header "
                                      "row; remove it"]  # fmt: skip
