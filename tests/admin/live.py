"""A live admin world for integration tests: Azurite, both simulators, the function host — over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
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
from shared.runtime import Services, table_backend
from shared.secrets import EnvironmentSecrets
from shared.settings import StorageSettings, load
from shared.store.store import SyncStore
from shared.store.tables import TableBackend

# Unique, greppable values: the no-secrets test searches every log record for them.
SECRETS = {
    "FUNCTIONS_FUNCTION_KEY": "fnkey-5b1d0c7e9a2f4e61",
    "FUNCTIONS_HOST_KEY": "hostkey-a8c3e1f0d2b94c57",
    "FUNCTIONS_MASTER_KEY": "masterkey-7f2e9d1c4b6a8e03",
    "GRAPH_DEV_TOKEN": "graph-token-c4e8a1f7b3d9",
    "WEBHOOK_CLIENT_STATE": "client-state-9e7d5c3b1a",
}


@dataclass
class Live:
    env: dict[str, str]
    host: LocalHost
    store: SyncStore
    openair: SimulatorControl
    graph: GraphControl
    tables: TableBackend  # the storage account as an administrator edits it (Storage Explorer)

    @property
    def url(self) -> str:
        return self.host.base_url + "/api/manage"

    @property
    def key(self) -> dict[str, str]:
        return {"x-functions-key": self.host.keys.function}


@contextlib.contextmanager
def live_world(*, users: int = 6, mapped: bool = True, extra: dict[str, str] | None = None) -> Iterator[Live]:
    data: dict[str, Any] = build(dt.date(2027, 3, 1), users=users)
    openair, graph = OpenAirSimulator(data["openair"]), GraphSimulator(data["graph"], allow_http_loopback_webhooks=True)
    with azurite() as storage, pytest.MonkeyPatch.context() as patch:
        env = product_settings(storage.connection_string, openair.start(), graph.start(), **SECRETS, **(extra or {}))
        for key, value in env.items():
            patch.setenv(key, value)
        patch.setattr(shared.runtime, "_services", None)
        store = Services(env, EnvironmentSecrets(env)).store()
        store.ensure_tables()
        if mapped:
            asyncio.run(map_users(env))
        try:
            with LocalHost("function_app:app", env, timers=False) as host:
                yield Live(env, host, store, SimulatorControl(env["OPENAIR_BASE_URL"]),
                           GraphControl(env["GRAPH_BASE_URL"]),
                           table_backend(load(StorageSettings, env)))  # fmt: skip
        finally:
            openair.stop()
            graph.stop()
