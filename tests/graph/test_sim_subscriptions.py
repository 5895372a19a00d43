"""Subscriptions with the validation handshake and real notification delivery, and sendMail, via the simulator."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.domain.events import CreateEvent, EventDraft
from shared.graph.errors import GraphError
from shared.graph.gateway import CalendarGateway

CLIENT_STATE = "s3cret-client-state"


class Receiver:
    """A tiny webhook on a free loopback port: echoes validationToken, records notification bodies."""

    def __init__(self) -> None:
        self.validations: list[str] = []
        self.notifications: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if "validationToken" in query:
                    token = query["validationToken"][0]
                    receiver.validations.append(token)
                    self._answer(200, token.encode(), "text/plain")
                    return
                receiver.notifications.append(json.loads(body))
                self._answer(202, b"", "text/plain")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        return False


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    webhook = Receiver()
    yield webhook
    webhook.stop()


async def test_subscription_lifecycle_with_validation_and_notifications(
    sim: Any, sim_gateway: CalendarGateway, receiver: Receiver, sample_graph: dict[str, Any]
) -> None:
    user = sample_graph["users"][6]["id"]
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    notify, lifecycle = f"{receiver.url}/api/notify?code=fn-key", f"{receiver.url}/api/lifecycle"

    sub = await sim_gateway.create_subscription(user, notify, lifecycle, CLIENT_STATE, expires)

    assert len(receiver.validations) == 2  # both URLs are validated before the subscription exists
    assert (sub.resource.lower(), sub.change_type) == (f"users/{user}/events".lower(), "created,updated,deleted")
    assert sub.client_state == CLIENT_STATE
    assert sub.lifecycle_notification_url == lifecycle
    assert abs((sub.expiration - expires).total_seconds()) < 1

    draft = EventDraft(openair_key="openair:booking:sub", subject="s", body="", start=dt.datetime(2027, 3, 2, 9),
                       end=dt.datetime(2027, 3, 2, 10), time_zone="Europe/Berlin", is_all_day=False)  # fmt: skip
    created = await sim_gateway.apply(user, [CreateEvent(draft=draft, transaction_id="tx-sub")])
    assert receiver.wait_for(lambda: any(n["value"][0].get("changeType") == "created" for n in receiver.notifications))
    item = next(n["value"][0] for n in receiver.notifications if n["value"][0].get("changeType") == "created")
    assert item["clientState"] == CLIENT_STATE
    assert item["subscriptionId"] == sub.id
    assert item["resourceData"]["id"] == created[0].event_id

    later = expires + dt.timedelta(days=3)
    renewed = await sim_gateway.renew_subscription(sub.id, later)
    assert abs((renewed.expiration - later).total_seconds()) < 1
    assert [s.id for s in await sim_gateway.list_subscriptions()] == [sub.id]
    await sim_gateway.reauthorize_subscription(sub.id)

    assert await sim_gateway.delete_subscription(sub.id) is True
    assert await sim_gateway.delete_subscription(sub.id) is False
    assert await sim_gateway.list_subscriptions() == []


async def test_a_webhook_that_fails_validation_gets_no_subscription(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]
) -> None:
    user = sample_graph["users"][6]["id"]
    dead = "http://127.0.0.1:9/api/notify"  # nothing listens on the discard port
    with pytest.raises(GraphError) as caught:
        await sim_gateway.create_subscription(
            user, dead, None, CLIENT_STATE, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        )
    assert caught.value.status == 400
    assert await sim_gateway.list_subscriptions() == []


async def test_send_mail_delivers_a_text_report(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]
) -> None:
    sender = sample_graph["users"][0]
    await sim_gateway.send_mail(sender["id"], ["it@contoso.com"], "Sync run: 0 errors", "All good.")
    sent = sim.control_client.sent_mail()
    assert len(sent) == 1
    assert json.dumps(sent[0]).count("it@contoso.com") >= 1
    assert "Sync run: 0 errors" in json.dumps(sent[0])
