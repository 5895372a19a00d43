"""The admin endpoints through the function host: a key is required and each operation answers with JSON. (Bad
input, called without a host: test_handlers.py.)"""

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
