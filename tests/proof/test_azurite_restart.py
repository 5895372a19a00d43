"""Table Storage goes away in the middle of an export and comes back: nothing half-written, then convergence.

Azurite runs with its data on disk, is stopped between two mailbox workers and started again on the same ports.
While it is down a worker fails with a clear StoreError before writing anything to Graph; once it is back, the
remaining work and one more run converge: every record exactly once, nothing left in the outbox, and a further
run writes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.azurite import azurite
from sandbox.graph import GraphSimulator
from sandbox.graph.control import GraphControl
from sandbox.offline import map_users, product_settings
from sandbox.openair import OpenAirSimulator
from sandbox.sample import build
from shared.jobs import export
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets
from shared.store.tables import StoreError


@pytest.fixture
def simulators() -> Iterator[tuple[str, str]]:
    data = build(dt.date(2027, 3, 1), users=8)
    openair, graph = OpenAirSimulator(data["openair"]), GraphSimulator(data["graph"], allow_http_loopback_webhooks=True)
    try:
        yield openair.start(), graph.start()
    finally:
        openair.stop()
        graph.stop()


async def plan(env: dict[str, str]) -> list[str]:
    services = Services(env, EnvironmentSecrets(env))
    try:
        return (await export.run_export_timer(services)).messages
    finally:
        await services.aclose()


async def apply(env: dict[str, str], messages: list[str]) -> None:
    services = Services(env, EnvironmentSecrets(env))
    try:
        for message in messages:
            await export.run_export_mailbox(services, message)
    finally:
        await services.aclose()


def openair_keys(graph: GraphControl, mailbox_ids: list[str]) -> Counter[str]:
    keys: Counter[str] = Counter()
    for mailbox_id in mailbox_ids:
        for event in graph.events(mailbox_id):
            for prop in event.get("singleValueExtendedProperties") or []:
                if str(prop.get("id", "")).endswith("Name OpenAirKey"):
                    keys[prop["value"]] += 1
    return keys


def test_storage_down_between_workers_fails_cleanly_and_the_next_run_converges(
    tmp_path: Path, simulators: tuple[str, str]
) -> None:
    oa_url, graph_url = simulators
    graph = GraphControl(graph_url)
    with azurite(location=tmp_path) as first:
        env = product_settings(first.connection_string, oa_url, graph_url)
        asyncio.run(map_users(env))
        messages = asyncio.run(plan(env))
        assert len(messages) >= 4
        half = len(messages) // 2
        asyncio.run(apply(env, messages[:half]))
        ports = first.table_port, first.queue_port

    # Storage is gone: the next worker stops at its first table read, before any Graph write.
    before = graph.counters()["http_total"]
    with pytest.raises(StoreError, match="Could not read (table|IntegrationSettings row Setting/Paused)"):
        asyncio.run(apply(env, messages[half : half + 1]))
    assert graph.counters()["http_total"] == before

    with azurite(location=tmp_path, table_port=ports[0], queue_port=ports[1]) as second:
        env = product_settings(second.connection_string, oa_url, graph_url)
        asyncio.run(apply(env, messages[half:]))  # the queue redelivers what did not finish
        asyncio.run(apply(env, asyncio.run(plan(env))))
        store = Services(env, EnvironmentSecrets(env)).store()
        mailbox_ids = [m.mailbox_id for m in store.load_mappings().users.values()]
        keys = openair_keys(graph, mailbox_ids)
        assert keys
        assert max(keys.values()) == 1, "no record may have two events"
        assert sum(len(store.links(user)) for user in store.load_mappings().users) == len(keys)
        assert store.outbox_users() == set()
        graph.reset_counters()
        asyncio.run(apply(env, asyncio.run(plan(env))))
        assert graph.counters()["http_total"] == 0, "a converged tenant is not written again"
