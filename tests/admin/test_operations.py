"""Long admin operations answer 202 and finish on the operations queue, through the local host (issue 12).

Azure's front end cuts an HTTP answer after 230 s (learn.microsoft.com/azure/azure-functions/
functions-scale#timeout), so a mapping refresh, an export of the whole tenant and a resync of every user are
queued: 202 with an operation id and a Location, the queue function `manage_operation` runs them, and
`GET manage/operations/{id}` and `runs` show the state and the result. Dry runs and one-user operations still
answer at once; confirmations are still asked before anything is queued.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.admin.live import Live, live_world

GRAPH_KEY = "graph-key-0d4b7e2a9c1f6358"
PUSH_KEY = "push-key-6e2c9a1d7b3f4085"


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    with live_world(users=4, extra={"WEBHOOK_FUNCTION_KEY": GRAPH_KEY, "OPENAIR_PUSH_KEY": PUSH_KEY}) as world:
        yield world


def _post(live: Live, route: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{live.url}/{route}", json=body, headers=live.key, timeout=60)


def _follow(live: Live, accepted: httpx.Response) -> dict[str, Any]:
    """The operation a 202 named, after the queues drained."""
    assert accepted.status_code == 202, accepted.text
    location = accepted.headers["location"]
    assert location == "/api/manage/operations/" + accepted.json()["operation_id"]
    live.host.drain_queues(timeout=120)
    answer = httpx.get(live.host.base_url + location, headers=live.key, timeout=60)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _run(live: Live, run_id: str) -> dict[str, Any]:
    runs = httpx.get(f"{live.url}/runs", params={"run": run_id}, headers=live.key, timeout=60)
    assert runs.status_code == 200, runs.text
    found: dict[str, Any] = runs.json()["runs"][0]
    return found


def test_a_refresh_is_queued_and_its_result_is_in_the_operation_and_in_runs(live: Live) -> None:
    accepted = _post(live, "mappings/refresh", {})
    assert accepted.json()["state"] == "queued"
    assert accepted.json()["kind"] == "admin-mappings-refresh"
    done = _follow(live, accepted)
    assert done["state"] == "succeeded", done
    assert done["result"]["counts"]["unchanged"] >= 1
    run = _run(live, done["operation_id"])
    assert (run["kind"], run["status"]) == ("admin-mappings-refresh", "ok")
    assert run["counts"]["unchanged"] == done["result"]["counts"]["unchanged"]

    dry = _post(live, "mappings/refresh", {"dry_run": True})  # a dry run still answers with the full report
    assert dry.status_code == 200
    assert "operation_id" not in dry.json()
    assert dry.json()["counts"]["unchanged"] >= 1


def test_an_export_of_everyone_is_queued_and_writes_the_mailboxes(live: Live) -> None:
    done = _follow(live, _post(live, "sync/export", {}))
    assert done["state"] == "succeeded", done
    assert done["result"]["counts"]["mailboxes_queued"] >= 1
    assert _run(live, done["operation_id"])["kind"] == "admin-sync-export"
    runs = httpx.get(f"{live.url}/runs", params={"limit": "20"}, headers=live.key, timeout=60).json()["runs"]
    assert any(r["kind"].startswith("export-") for r in runs)  # its plan and mailbox runs, written by the queue
    mailboxes = [m.mailbox_id for m in live.store.load_mappings().users.values()]
    assert any(live.graph.events(m) for m in mailboxes)


def test_a_resync_of_everyone_is_queued_and_its_confirmation_is_still_asked_first(live: Live) -> None:
    refused = _post(live, "resync", {"all": True, "mode": "recreate"})
    assert refused.status_code == 400
    assert "confirm" in refused.json()["error"]
    dry = _post(live, "resync", {"all": True, "dry_run": True})
    assert dry.status_code == 200
    assert "run_id" in dry.json()
    user = sorted(live.store.load_mappings().users)[0]
    one = _post(live, "resync", {"user": user})
    assert one.status_code == 202
    assert "run_id" in one.json()
    live.host.drain_queues(timeout=120)

    done = _follow(live, _post(live, "resync", {"all": True}))
    assert done["state"] == "succeeded", done
    assert "to_write" in done["result"]["counts"]
    assert _run(live, done["operation_id"])["kind"] == "admin-resync"


def test_a_failing_operation_is_recorded_as_failed_with_its_error(live: Live) -> None:
    live.openair.inject("auth", count=50, status=401)
    try:
        done = _follow(live, _post(live, "mappings/refresh", {}))
    finally:
        live.openair.clear_faults()
    assert done["state"] == "failed", done
    assert done["result"]["errors"]
    assert done["result"]["errors"][0]
    run = _run(live, done["operation_id"])
    assert run["status"] == "failed"


def test_operations_need_the_admin_key_and_refuse_the_outsiders_keys(live: Live) -> None:
    accepted = _post(live, "mappings/refresh", {})
    live.host.drain_queues(timeout=120)
    url = live.host.base_url + accepted.headers["location"]
    assert httpx.get(url, timeout=60).status_code == 401  # no key: the host refuses
    for key in (GRAPH_KEY, PUSH_KEY):
        assert httpx.get(url, params={"code": key}, timeout=60).status_code == 401
        assert httpx.post(f"{live.url}/mappings/refresh", json={}, params={"code": key}, timeout=60).status_code == 401
    assert httpx.get(url, headers=live.key, timeout=60).json()["state"] == "succeeded"
    missing = httpx.get(f"{live.url}/operations/op-nothing", headers=live.key, timeout=60)
    assert missing.status_code == 404
