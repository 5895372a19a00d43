"""Graph gateway test helpers: settings for a loopback Graph, a recording sleep, a gateway over a fake network."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from shared.graph.client import GraphClient, build_client
from shared.graph.gateway import CalendarGateway
from shared.secrets import EnvironmentSecrets
from shared.settings import GraphSettings

FAKE_GRAPH = "http://127.0.0.1:9/v1.0"  # never contacted: a MockTransport answers


class RecordingSleep:
    """Stands in for asyncio.sleep: records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def graph_settings(base_url: str = FAKE_GRAPH, **values: Any) -> GraphSettings:
    return GraphSettings.model_validate({"GRAPH_BASE_URL": base_url, **values})


def json_response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    content = b"" if body is None else json.dumps(body).encode()
    merged = {"Content-Type": "application/json", **(headers or {})} if body is not None else dict(headers or {})
    return httpx.Response(status, content=content, headers=merged)


Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


GraphFactory = Callable[..., tuple[CalendarGateway, GraphClient]]


@pytest.fixture
async def fake_graph(sleep: RecordingSleep) -> AsyncIterator[GraphFactory]:
    """fake_graph(handler, **settings) -> (gateway, client) on a MockTransport; every wait is recorded."""
    clients: list[GraphClient] = []

    def make(handler: Handler, **values: Any) -> tuple[CalendarGateway, GraphClient]:
        settings = graph_settings(**values)
        client = build_client(settings, EnvironmentSecrets({}), sleep=sleep, transport=httpx.MockTransport(handler))
        clients.append(client)
        return CalendarGateway(client, settings, sleep=sleep), client

    yield make
    for client in clients:
        await client.aclose()


# --- the Graph simulator, in-process on a free loopback port -------------------------------------------------

SIM_TOKEN = "sim-test-token"


@pytest.fixture(scope="session")
def sample_graph() -> dict[str, Any]:
    from sandbox.sample import build

    graph: dict[str, Any] = build()["graph"]
    return graph


@pytest.fixture(scope="session")
def simulator(sample_graph: dict[str, Any]) -> Iterator[Any]:
    """One simulator per session (it requires SIM_TOKEN); each test gets it reset by `sim`."""
    from sandbox.graph import GraphSimulator

    sim = GraphSimulator(sample_graph, token=SIM_TOKEN, allow_http_loopback_webhooks=True)
    sim.start("127.0.0.1", 0)
    yield sim
    sim.stop()


@pytest.fixture
def sim(simulator: Any) -> Iterator[Any]:
    """The simulator back at its start data and default options, with a control client."""
    from sandbox.graph.control import GraphControl

    simulator.reset()
    with GraphControl(simulator.url) as control:
        control.set_options(**DEFAULT_SIM_OPTIONS)
        simulator.control_client = control
        yield simulator


# Options tests change, set back before each test (reset() restores data, not options).
DEFAULT_SIM_OPTIONS: dict[str, Any] = {
    "mailbox_concurrency": 4,
    "concurrency_retry_after_s": 1.0,
    "latency_ms": 0.0,
    "delta_expired_status": 410,
    "delta_expired_code": "syncStateNotFound",
    "max_subscription_minutes": 10_080,
    "mailbox_settings_writable": True,
    "duplicate_transaction_status": 400,
    "removed_outside_window": True,
    "occurrence_delete_signal": True,
}


@pytest.fixture
async def sim_gateway(sim: Any) -> AsyncIterator[CalendarGateway]:
    """The real gateway (real msgraph-sdk) talking HTTP to the simulator."""
    settings = graph_settings(sim.url, GRAPH_DEV_TOKEN=SIM_TOKEN, GRAPH_RETRY_BUDGET_SECONDS="10")
    client = build_client(settings, EnvironmentSecrets({}))
    yield CalendarGateway(client, settings)
    await client.aclose()


def user_in_zone(graph: dict[str, Any], windows_zone: str) -> dict[str, Any]:
    user: dict[str, Any] = next(
        u for u in graph["users"] if u.get("mailboxSettings", {}).get("timeZone") == windows_zone
    )
    return user
