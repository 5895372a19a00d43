"""A live tenant for the fault suite: Azurite + the OpenAir and Graph simulators over real HTTP, driven
through the real adapters and `shared.jobs.export` (the queue modelled in the test: a failed message stays and
is redelivered)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import shared.runtime
from sandbox.azurite import Azurite, azurite
from sandbox.graph import GraphSimulator
from sandbox.graph.control import GraphControl
from sandbox.offline import map_users, product_settings
from sandbox.openair import OpenAirSimulator, SimulatorControl
from sandbox.sample import build
from shared.jobs import export
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets

ANCHOR = dt.date(2027, 3, 1)
# Small budgets so a storm or a hang fails a run quickly instead of waiting it out; the next run converges.
FAST = {
    "GRAPH_RETRY_BUDGET_SECONDS": "3",
    "GRAPH_TIMEOUT_SECONDS": "1.5",
    "OPENAIR_RETRY_BUDGET_SECONDS": "2",
    "OPENAIR_TIMEOUT_SECONDS": "1.5",
}


@dataclass
class LiveTenant:
    env: dict[str, str]
    services: Services
    openair: SimulatorControl
    graph: GraphControl
    openair_sim: OpenAirSimulator
    storage: Azurite
    loop: asyncio.AbstractEventLoop  # one worker process: its clients live on one loop, as on Azure
    queue: list[tuple[str, int]] = field(default_factory=list)  # (message, deliveries so far)
    failures: list[str] = field(default_factory=list)

    @property
    def mailboxes(self) -> dict[str, str]:
        return {u: m.mailbox_id for u, m in self.services.store().load_mappings().users.items()}

    def export(self, *, attempts: int = 1) -> None:
        """A timer run, then every queued message delivered up to `attempts` times (failures stay queued)."""
        try:
            result = self.loop.run_until_complete(export.run_export_timer(self.services))
            self.queue += [(m, 0) for m in result.messages]
        except Exception as exc:  # a failed run is the point of a fault; it is recorded
            self.failures.append(f"timer: {type(exc).__name__}: {exc}")
        for _ in range(attempts):
            pending, self.queue = self.queue, []
            for message, delivered in pending:
                try:
                    self.loop.run_until_complete(
                        export.run_export_mailbox(self.services, message, dequeue_count=delivered + 1)
                    )
                except Exception as exc:  # the queue keeps the message for redelivery
                    self.failures.append(f"mailbox: {type(exc).__name__}: {exc}")
                    self.queue.append((message, delivered + 1))

    def snapshot(self) -> dict[str, dict[str, tuple[Any, ...]]]:
        """Per user, what each exported event looks like; asserts there is at most one event per record."""
        out: dict[str, dict[str, tuple[Any, ...]]] = {}
        for user, mailbox in sorted(self.mailboxes.items()):
            events: dict[str, tuple[Any, ...]] = {}
            for event in self.graph.events(mailbox):
                key = openair_key(event)
                if not key:
                    continue
                assert key not in events, f"duplicate event for {key} in {user}'s mailbox"
                events[key] = (event["subject"], event["start"]["dateTime"][:19], event["end"]["dateTime"][:19],
                               event["isAllDay"], event["showAs"])  # fmt: skip
            out[user] = events
        return out


def openair_key(event: dict[str, Any]) -> str:
    for prop in event.get("singleValueExtendedProperties") or []:
        if prop["id"].endswith("Name OpenAirKey"):
            return str(prop["value"])
    return ""


@dataclass
class Backbone:
    """Azurite and both simulators, started once per module; each scenario resets them (`tenant`)."""

    storage: Azurite
    openair_sim: OpenAirSimulator
    graph_sim: GraphSimulator
    env: dict[str, str]


@contextlib.contextmanager
def backbone(*, users: int = 4, extra: dict[str, str] | None = None) -> Iterator[Backbone]:
    data: dict[str, Any] = build(ANCHOR, users=users)
    openair, graph = OpenAirSimulator(data["openair"]), GraphSimulator(data["graph"], allow_http_loopback_webhooks=True)
    try:
        with azurite() as storage:
            env = product_settings(
                storage.connection_string, openair.start(), graph.start(), **{**FAST, **(extra or {})}
            )
            yield Backbone(storage, openair, graph, env)
    finally:
        openair.stop()
        graph.stop()


def wipe_storage(env: dict[str, str]) -> None:
    """Every table and queue of the Azurite emptied (deleted): the next tenant starts from nothing."""
    from azure.data.tables import TableServiceClient
    from azure.storage.queue import QueueServiceClient

    connection = env["AzureWebJobsStorage"]
    with TableServiceClient.from_connection_string(connection) as tables:
        for table in list(tables.list_tables()):
            tables.delete_table(table.name)
    with QueueServiceClient.from_connection_string(connection) as queues:
        for queue in list(queues.list_queues()):
            queues.delete_queue(queue.name)


@contextlib.contextmanager
def tenant(bb: Backbone) -> Iterator[LiveTenant]:
    """A fresh tenant on the shared backbone: simulators back to their seed data, storage empty, users mapped."""
    openair, graph = SimulatorControl(bb.env["OPENAIR_BASE_URL"]), GraphControl(bb.env["GRAPH_BASE_URL"])
    openair.reset()
    graph.reset()
    wipe_storage(bb.env)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in bb.env.items():
            patch.setenv(key, value)
        patch.setattr(shared.runtime, "_services", None)
        asyncio.run(map_users(bb.env))
        services = Services(bb.env, EnvironmentSecrets(bb.env))
        loop = asyncio.new_event_loop()
        try:
            yield LiveTenant(bb.env, services, openair, graph, bb.openair_sim, bb.storage, loop)
        finally:
            loop.run_until_complete(services.aclose())
            loop.close()
            graph.close()


def edit_in_openair(tenant: LiveTenant) -> None:
    """The same edits in every scenario: one booking changed, one deleted, one added (all for mapped users)."""
    mapped = set(tenant.mailboxes)
    bookings = sorted((b for b in tenant.openair.records("Booking") if b["userid"] in mapped), key=lambda b: b["id"])
    tenant.openair.modify("Booking", bookings[0]["id"], {"hours": "3.5"})
    tenant.openair.delete("Booking", bookings[1]["id"])
    template = {k: v for k, v in bookings[2].items() if k not in ("id", "created", "updated")}
    tenant.openair.create("Booking", {**template, "startdate": "2027-03-26", "enddate": "2027-03-29"})
