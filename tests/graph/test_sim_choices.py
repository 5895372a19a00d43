"""Administrators' choices against the Graph simulator through the real gateway: the export category in each
mailbox's master category list, and the subscription lifetime falling back to the older, shorter maximum."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from shared.graph.errors import GraphError
from shared.graph.gateway import CalendarGateway
from shared.graph.models import AutomaticReplies
from shared.store.admin import SETTINGS, SETTINGS_PARTITION, USER_MAPPINGS, USER_PARTITION
from shared.store.importing import ImportStore
from shared.store.store import SyncStore
from shared.sync.importing.subscriptions import SHORTER_LIFETIME, Endpoints, manage_subscriptions, renew_subscription
from tests.sandbox.receiver import receiver
from twins.tables import MemoryTables


async def test_the_category_is_created_once_with_its_colour_and_an_existing_one_is_kept(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]
) -> None:
    user = sample_graph["users"][3]["id"]
    await sim_gateway.ensure_category(user, "OpenAir", "preset19")
    await sim_gateway.ensure_category(user, "openair", "preset0")  # same name to Outlook: nothing more
    categories = sim.store.user(user)["masterCategories"]
    assert [(c["displayName"], c["color"]) for c in categories] == [("OpenAir", "preset19")]

    other = sample_graph["users"][4]["id"]
    sim.store.user(other)["masterCategories"] = [{"id": "x", "displayName": "OPENAIR", "color": "preset3"}]
    await sim_gateway.ensure_category(other, "OpenAir", "preset19")
    assert sim.store.user(other)["masterCategories"] == [{"id": "x", "displayName": "OPENAIR", "color": "preset3"}]


async def test_without_mailbox_settings_write_the_category_cannot_be_created(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]
) -> None:
    sim.control_client.set_options(mailbox_settings_writable=False)
    with pytest.raises(GraphError) as refused:
        await sim_gateway.ensure_category(sample_graph["users"][3]["id"], "OpenAir", "preset7")
    assert refused.value.status == 403


@pytest.mark.parametrize("limit", [4_230, 10_080])
async def test_subscriptions_fall_back_to_the_shorter_maximum_when_graph_refuses_the_longer(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any], limit: int
) -> None:
    sim.control_client.set_options(max_subscription_minutes=limit)
    user = sample_graph["users"][3]
    tables = MemoryTables()
    tables.raw_put(SETTINGS, SETTINGS_PARTITION, "ImportEnabled", {"Value": True})
    tables.raw_put(USER_MAPPINGS, USER_PARTITION, "u1", {"Mailbox": user["userPrincipalName"],
                                                          "MailboxId": user["id"], "Import": True})  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    with receiver() as hook:
        endpoints = Endpoints(f"{hook.url}/api/graph/notifications", f"{hook.url}/api/graph/lifecycle", "state")
        report = await manage_subscriptions(store=SyncStore(tables), graph=sim_gateway, endpoints=endpoints, now=now)
        assert (report.created, report.errors) == (1, [])
        (sub,) = await sim_gateway.list_subscriptions()
        lifetime = endpoints.lifetime if limit == 10_080 else SHORTER_LIFETIME
        assert abs((sub.expiration - (now + lifetime)).total_seconds()) < 5
        # Renewal asks again, and falls back again if it must (the simulator's clock is the real one).
        (record,) = ImportStore(tables).subscriptions()
        assert await renew_subscription(record, store=SyncStore(tables), graph=sim_gateway, endpoints=endpoints,
                                        now=dt.datetime.now(dt.UTC))  # fmt: skip
        (renewed,) = await sim_gateway.list_subscriptions()
        assert renewed.id == sub.id
        assert renewed.expiration > sub.expiration


async def test_automatic_replies_round_trip_through_mailbox_settings(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]
) -> None:
    user = sample_graph["users"][3]["id"]
    assert (await sim_gateway.automatic_replies(user)).status == "disabled"
    start = dt.datetime(2027, 3, 1, 23, tzinfo=dt.UTC)
    wanted = AutomaticReplies(status="scheduled", start=start, end=start + dt.timedelta(days=2),
                              internal_message="Away", external_message="Away (external)")  # fmt: skip
    await sim_gateway.set_automatic_replies(user, wanted)
    assert await sim_gateway.automatic_replies(user) == wanted
    with pytest.raises(GraphError) as backwards:
        await sim_gateway.set_automatic_replies(user, wanted.model_copy(update={"end": start}))
    assert backwards.value.status == 400
    sim.control_client.set_options(mailbox_settings_writable=False)
    with pytest.raises(GraphError) as denied:
        await sim_gateway.set_automatic_replies(user, AutomaticReplies())
    assert denied.value.status == 403
