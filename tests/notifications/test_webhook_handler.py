"""The Graph webhooks called as the worker calls them, with a built request and the in-memory tables: the handshake,
one import message per mailbox, nothing queued for forged, repeated or unknown notifications, 401 for another
route's key, 503 when the Subscriptions table cannot be read. (Through the local host: the import end-to-end test.)"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

import shared.runtime
from blueprints import importing
from shared.jobs.contracts import ImportWork, decode
from shared.notifications import webhook
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets
from shared.store.importing import SubscriptionRecord
from shared.store.store import SyncStore
from shared.store.tables import Row, StoreError
from tests.direct import Output, call, request
from twins.tables import MemoryTables

CLIENT_STATE = "client-state-secret"
GRAPH_KEY = "graph-webhook-key"
JSON = {"Content-Type": "application/json"}


class UnreadableTables(MemoryTables):
    def get(self, table: str, partition_key: str, row_key: str) -> Row | None:
        raise StoreError(f"{table}: storage unreachable")


def use(monkeypatch: pytest.MonkeyPatch, tables: MemoryTables) -> SyncStore:
    env = {"WEBHOOK_CLIENT_STATE": CLIENT_STATE, "WEBHOOK_FUNCTION_KEY": GRAPH_KEY}
    store = SyncStore(tables)
    monkeypatch.setattr(shared.runtime, "_services", Services(env, EnvironmentSecrets(env), _store=store))
    # The blueprint's per-process state: a fresh process for each test.
    monkeypatch.setattr(importing, "_directory", None)
    monkeypatch.setattr(importing, "_max_body", None)
    monkeypatch.setattr(importing, "_recent", webhook.RecentNotifications())
    return store


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> SyncStore:
    found = use(monkeypatch, MemoryTables())
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    found.imports.put_subscription(SubscriptionRecord("sub-a", "u-a", "mbx-a", expires))
    found.imports.put_subscription(SubscriptionRecord("sub-b", "u-b", "mbx-b", expires))
    return found


def change(sub: str, event: str, etag: str = 'W/"v1"', state: str = CLIENT_STATE) -> dict[str, Any]:
    return {"subscriptionId": sub, "clientState": state, "changeType": "updated", "resource": f"Users/x/Events/{event}",
            "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "id": event, "@odata.etag": etag}}  # fmt: skip


def notifications(*items: dict[str, Any], key: str = GRAPH_KEY) -> Any:
    body = json.dumps({"value": list(items)}).encode()
    return request("POST", "graph/notifications", body=body, params={"code": key}, headers=JSON)


async def post(req: Any, route: Any = importing.graph_notifications) -> tuple[int, bytes, list[ImportWork] | None]:
    work: Output[list[str]] = Output()
    answer = await call(route, req, work=work)
    queued = None if work.value is None else [decode(ImportWork, m) for m in work.value]
    return answer.status_code, answer.get_body(), queued


@pytest.mark.usefixtures("store")
async def test_the_validation_handshake_echoes_the_token_as_plain_text() -> None:
    work: Output[list[str]] = Output()
    req = request(
        "POST", "graph/notifications", params={"validationToken": "Validation: token & more", "code": GRAPH_KEY}
    )
    answer = await call(importing.graph_notifications, req, work=work)
    assert (answer.status_code, answer.get_body()) == (200, b"Validation: token & more")
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert work.value is None


@pytest.mark.usefixtures("store")
async def test_one_message_per_mailbox_and_a_repeat_queues_nothing() -> None:
    status, _, queued = await post(notifications(change("sub-a", "e1"), change("sub-a", "e2"), change("sub-b", "e3")))
    assert status == 202
    assert queued is not None
    assert sorted((w.user_id, w.mailbox_id, w.reason, w.subscription_id) for w in queued) == [
        ("u-a", "mbx-a", "notification", "sub-a"), ("u-b", "mbx-b", "notification", "sub-b")]  # fmt: skip
    # The same notification delivered again (a duplicate delivery or a replay): answered, nothing queued.
    assert await post(notifications(change("sub-a", "e1"))) == (202, b"", None)


@pytest.mark.usefixtures("store")
async def test_forged_and_unknown_notifications_queue_nothing() -> None:
    forged = change("sub-a", "e1", state="guessed")
    unknown = change("sub-gone", "e2")
    assert await post(notifications(forged, unknown)) == (202, b"", None)


@pytest.mark.usefixtures("store")
async def test_a_key_of_another_route_is_refused() -> None:
    status, _, queued = await post(notifications(change("sub-a", "e1"), key="the-host-key"))
    assert (status, queued) == (401, None)


@pytest.mark.usefixtures("store")
async def test_a_body_that_is_not_a_notification_is_a_4xx() -> None:
    req = request("POST", "graph/notifications", body=b"value=1", params={"code": GRAPH_KEY}, headers=JSON)
    assert await post(req) == (400, b"body is not JSON", None)
    text = request("POST", "graph/notifications", body=b"{}", params={"code": GRAPH_KEY},
                   headers={"Content-Type": "text/plain"})  # fmt: skip
    assert await post(text) == (415, b"expected application/json", None)


async def test_storage_unavailable_is_a_503_so_graph_delivers_again(monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, UnreadableTables())
    assert await post(notifications(change("sub-a", "e1"))) == (503, b"temporarily unavailable", None)


@pytest.mark.usefixtures("store")
async def test_a_lifecycle_event_becomes_an_import_message() -> None:
    event = {"subscriptionId": "sub-b", "clientState": CLIENT_STATE, "lifecycleEvent": "reauthorizationRequired",
             "subscriptionExpirationDateTime": "2030-01-01T00:00:00Z"}  # fmt: skip
    body = json.dumps({"value": [event]}).encode()
    req = request("POST", "graph/lifecycle", body=body, params={"code": GRAPH_KEY}, headers=JSON)
    status, _, queued = await post(req, importing.graph_lifecycle)
    assert status == 202
    assert queued is not None
    assert [(w.user_id, w.mailbox_id, w.reason) for w in queued] == [("u-b", "mbx-b", "reauthorizationRequired")]
