"""The subscription manager and lifecycle events against the in-memory Graph."""

from __future__ import annotations

import datetime as dt

from shared.sync.importing.subscriptions import Endpoints, handle_lifecycle, manage_subscriptions
from tests.importing.world import NOW, ImportWorld

ENDPOINTS = Endpoints("https://app.example/api/graph/notifications?code=k", "https://app.example/api/graph/lifecycle?code=k",
                      "client-state")  # fmt: skip


async def manage(w: ImportWorld, now: dt.datetime = NOW) -> tuple[int, int, int, list[str]]:
    report = await manage_subscriptions(store=w.world.store, graph=w.calendar, endpoints=ENDPOINTS, now=now)
    assert report.errors == []
    return report.created, report.renewed, report.deleted, report.resync


async def test_created_once_renewed_within_the_margin_and_deleted_when_switched_off() -> None:
    w = ImportWorld.build(users=("u1", "u2"))
    assert await manage(w) == (2, 0, 0, ["u1", "u2"])
    (sub, _) = w.calendar.subscriptions.values()
    assert sub.lifecycle_notification_url == ENDPOINTS.lifecycle_url
    assert sub.client_state == "client-state"
    assert sub.expiration == NOW + dt.timedelta(minutes=10_070)
    assert await manage(w, NOW + dt.timedelta(days=1)) == (0, 0, 0, [])
    assert await manage(w, NOW + dt.timedelta(days=5, hours=1)) == (0, 2, 0, [])
    w.world.map_user("u2", Import=False)
    assert await manage(w, NOW + dt.timedelta(days=5, hours=2)) == (0, 0, 1, [])
    assert [s.user_id for s in w.world.store.imports.subscriptions()] == ["u1"]
    w.world.setting("ImportEnabled", False)
    assert await manage(w, NOW + dt.timedelta(days=5, hours=3)) == (0, 0, 1, [])
    assert w.calendar.subscriptions == {}


async def test_a_subscription_graph_lost_is_recreated_and_resynced() -> None:
    w = ImportWorld.build()
    await manage(w)
    w.calendar.subscriptions.clear()  # expired or removed on Graph's side
    assert await manage(w, NOW + dt.timedelta(days=6)) == (1, 0, 0, ["u1"])
    assert len(w.calendar.subscriptions) == 1


async def test_lifecycle_events() -> None:
    w = ImportWorld.build()
    await manage(w)
    (sub_id,) = w.calendar.subscriptions
    later = NOW + dt.timedelta(hours=3)
    store = w.world.store
    assert await handle_lifecycle("missed", sub_id, store=store, graph=w.calendar, endpoints=ENDPOINTS) == "u1"
    user = await handle_lifecycle("reauthorizationRequired", sub_id, store=store, graph=w.calendar,
                                  endpoints=ENDPOINTS, now=later)  # fmt: skip
    assert user == "u1"
    assert w.calendar.subscriptions[sub_id].expiration == later + ENDPOINTS.lifetime
    del w.calendar.subscriptions[sub_id]  # Graph removed it, then told us
    user = await handle_lifecycle("subscriptionRemoved", sub_id, store=store, graph=w.calendar, endpoints=ENDPOINTS)
    assert user == "u1"
    (new_id,) = w.calendar.subscriptions
    assert [s.subscription_id for s in w.world.store.imports.subscriptions()] == [new_id]
    assert await handle_lifecycle("missed", "unknown", store=store, graph=w.calendar, endpoints=ENDPOINTS) is None


async def test_a_removal_notice_for_a_subscription_graph_still_has_leaves_one_live_subscription() -> None:
    """A replayed (or mistaken) subscriptionRemoved used to create a second subscription beside the live one:
    two deliveries of every change from then on, and one of them never renewed or deleted."""
    w = ImportWorld.build()
    await manage(w)
    (sub_id,) = w.calendar.subscriptions
    later = NOW + dt.timedelta(hours=5)
    user = await handle_lifecycle("subscriptionRemoved", sub_id, store=w.world.store, graph=w.calendar,
                                  endpoints=ENDPOINTS, now=later)  # fmt: skip
    assert user == "u1", "the mailbox still gets its pass"
    assert list(w.calendar.subscriptions) == [sub_id]
    assert w.calendar.subscriptions[sub_id].expiration == later + ENDPOINTS.lifetime
    assert [s.subscription_id for s in w.world.store.imports.subscriptions()] == [sub_id]
