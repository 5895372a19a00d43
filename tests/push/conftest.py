"""The push path end to end: Azurite, both simulators and the local function host, the OpenAir simulator's
"After save" form script pointed at the host's `/api/openair/changed`."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import shared.runtime
from sandbox.azurite import azurite
from sandbox.graph import GraphSimulator
from sandbox.graph.control import GraphControl
from sandbox.host.localhost import LocalHost
from sandbox.offline import map_users, product_settings
from sandbox.openair import OpenAirSimulator, SimulatorControl
from sandbox.sample import build
from shared.domain.mappings import UserMapping
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets
from shared.store.store import SyncStore

ROOT = Path(__file__).resolve().parents[2]
PUSH_SECRET = "test-push-secret"
FUNCTION_KEY = "test-function-key"


@dataclass
class PushWorld:
    host: LocalHost
    store: SyncStore
    openair: SimulatorControl
    graph: GraphControl
    env: dict[str, str]
    mapped: dict[str, UserMapping]

    @property
    def push_url(self) -> str:
        return f"{self.host.base_url}/api/openair/changed"

    def run_timer(self) -> None:
        self.host.fire_timer("export_timer")
        self.host.drain_queues(timeout=60)

    def keys_in(self, mailbox_id: str) -> list[str]:
        return [key_of(e) for e in self.graph.events(mailbox_id)]

    def invocations(self, name: str) -> list[Any]:
        return self.host.invocations.all(name)


def key_of(event: dict[str, Any]) -> str:
    for prop in event.get("singleValueExtendedProperties") or []:
        if str(prop.get("id", "")).endswith("Name OpenAirKey"):
            return str(prop["value"])
    return ""


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> float:
    """Seconds until `condition()` held; AssertionError after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - started


def fast_host_json() -> dict[str, Any]:
    """The committed host.json with a 1 s visibility timeout, so a retried message comes back quickly."""
    document: dict[str, Any] = json.loads((ROOT / "host.json").read_text())
    document["extensions"]["queues"].update(visibilityTimeout="00:00:01", maxPollingInterval="00:00:01")
    return document


@pytest.fixture(scope="module")
def push_world() -> Iterator[PushWorld]:
    mp = pytest.MonkeyPatch()
    data = build(users=6)
    openair = OpenAirSimulator(data["openair"])
    graph = GraphSimulator(data["graph"])
    oa_url, graph_url = openair.start(), graph.start()
    try:
        with azurite() as storage:
            env = product_settings(
                storage.connection_string,
                oa_url,
                graph_url,
                GRAPH_RETRY_BUDGET_SECONDS="1",
                OPENAIR_PUSH_SECRET=PUSH_SECRET,
                FUNCTIONS_FUNCTION_KEY=FUNCTION_KEY,
            )
            for key, value in env.items():
                mp.setenv(key, value)
            mp.setattr(shared.runtime, "_services", None)
            asyncio.run(map_users(env))
            store = Services(env, EnvironmentSecrets(env)).store()
            with LocalHost("function_app:app", env, host_json=fast_host_json(), timers=False) as host:
                control = SimulatorControl(oa_url)
                world = PushWorld(host, store, control, GraphControl(graph_url), env, store.load_mappings().users)
                control.form_script(world.push_url, PUSH_SECRET, FUNCTION_KEY)
                world.run_timer()
                yield world
    finally:
        mp.undo()
        openair.stop()
        graph.stop()
