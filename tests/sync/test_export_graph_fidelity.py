"""The export against Graph as it really answers (the simulator), through the real gateway: a create that repeats
a used transactionId is refused with ErrorDuplicateTransactionId (alcionai/corso#2490), never answered with the
first event, and the id stays used after the event is deleted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from shared.domain.links import LinkState
from shared.graph.gateway import CalendarGateway
from tests.sync.world import World

D = dt.date
KEY = "openair:booking:b1"


@pytest.fixture
def world(sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]) -> World:
    world = World.build(("u1",))
    world.map_user("u1", MailboxId=sample_graph["users"][6]["id"])
    world.calendar = sim_gateway  # type: ignore[assignment]  # the real gateway, not the twin
    return world


def mailbox(world: World) -> str:
    row = world.tables.get("UserMappings", "User", "u1")
    assert row is not None
    return str(row.columns["MailboxId"])


def ours(sim: Any, world: World) -> list[dict[str, Any]]:
    events = sim.control_client.events(mailbox(world))
    return [e for e in events if any(p["value"] == KEY for p in e["singleValueExtendedProperties"])]


@pytest.mark.parametrize("status", [400, 409])
async def test_a_batch_resent_after_its_answer_was_lost_links_the_event_it_made(
    sim: Any, world: World, status: int
) -> None:
    sim.control_client.set_options(duplicate_transaction_status=status)
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    sim.control_client.add_fault("lose", method="POST", path=r"\$batch")  # created, then the connection drops

    await world.run(swallow=False)

    (report,) = world.reports
    assert (report.failed, report.errors, report.recovered) == (0, [], 1)
    (event,) = ours(sim, world)
    link = world.store.links("u1")["booking:b1"]
    assert (link.state, link.event_id) == (LinkState.SYNCED, event["id"])
    assert world.store.outbox("u1") == []
    await world.run(swallow=False)
    assert len(ours(sim, world)) == 1


async def test_an_event_deleted_before_its_create_was_recorded_is_made_again_under_a_new_transaction_id(
    sim: Any, world: World
) -> None:
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    # Every answer of this run is lost (the resends too), so the link stays `creating`.
    sim.control_client.add_fault("lose", method="POST", path=r"\$batch", count=20)
    await world.run()
    sim.control_client.clear_faults()
    (made,) = ours(sim, world)
    first_transaction = world.store.links("u1")["booking:b1"].transaction_id
    assert world.store.links("u1")["booking:b1"].state is LinkState.CREATING
    sim.control_client.delete_event(mailbox(world), made["id"])  # the person deletes it meanwhile

    await world.run(swallow=False)

    assert world.reports[-1].errors == []
    (again,) = ours(sim, world)
    link = world.store.links("u1")["booking:b1"]
    assert (link.state, link.event_id) == (LinkState.SYNCED, again["id"])
    assert link.transaction_id != first_transaction
    assert again["transactionId"] == link.transaction_id
