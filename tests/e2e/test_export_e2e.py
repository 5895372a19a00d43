"""End to end through `function_app.py` on the local host: Azurite + both simulators over real HTTP.

The timer plans, the queue fans out per mailbox, the real msgraph-sdk writes through $batch, and what lands in
the Graph simulator is what a consultant would see — including a booking across a DST change.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import shared.runtime
from sandbox.azurite import Azurite, azurite
from sandbox.graph import GraphSimulator
from sandbox.graph.control import GraphControl
from sandbox.host.localhost import LocalHost
from sandbox.offline import map_users, product_settings
from sandbox.openair import OpenAirSimulator, SimulatorControl
from sandbox.sample import build
from sandbox.sample.company import OFFICES
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets

OFFICE_ZONES = {windows: iana for iana, windows, _office in OFFICES}  # the mailbox's zone -> the office's
ANCHOR = dt.date(2027, 3, 1)  # the sample's DST-crossing bookings then fall on 2027-03-14 (US) and 03-28 (EU)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with azurite() as storage:
        yield from _world(storage, monkeypatch)


def _world(
    storage: Azurite, monkeypatch: pytest.MonkeyPatch, data: dict[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """The function app on the local host over Azurite and both simulators serving `data` (default: the sample)."""
    data = data or build(ANCHOR, users=12)
    openair = OpenAirSimulator(data["openair"])
    graph = GraphSimulator(data["graph"])
    oa_url, graph_url = openair.start(), graph.start()
    env = product_settings(storage.connection_string, oa_url, graph_url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(shared.runtime, "_services", None)
    asyncio.run(map_users(env))
    store = Services(env, EnvironmentSecrets(env)).store()
    try:
        with LocalHost("function_app:app", env, timers=False) as host:
            yield {"host": host, "store": store, "openair": SimulatorControl(oa_url), "graph": GraphControl(graph_url)}
    finally:
        openair.stop()
        graph.stop()


def run(world: dict[str, Any]) -> None:
    world["host"].fire_timer("export_timer")
    world["host"].drain_queues(timeout=60)


def key_of(event: dict[str, Any]) -> str:
    for prop in event.get("singleValueExtendedProperties") or []:
        if prop["id"].endswith("Name OpenAirKey"):
            return str(prop["value"])
    return ""


def test_export_through_the_function_host(world: dict[str, Any]) -> None:
    store, graph, openair = world["store"], world["graph"], world["openair"]
    mapped = store.load_mappings().users
    assert mapped

    run(world)
    events = {u: graph.events(m.mailbox_id) for u, m in mapped.items()}
    keys = [key_of(e) for evs in events.values() for e in evs]
    assert keys
    assert len(keys) == len(set(keys)), "no duplicate events"
    first_run = graph.counters()

    # Every mapped user's in-scope bookings arrived (Do not export types and zero-hour assignments did not).
    types = {t["id"]: t.get("calendar_export_type", "") for t in openair.records("BookingType")}
    expected = {
        f"openair:booking:{b['id']}" for b in openair.records("Booking")
        if b["userid"] in mapped and types.get(b["booking_typeid"]) != "Do not export"
    }  # fmt: skip
    assert expected <= set(keys)
    assert not any(k.startswith("openair:booking:") and k not in expected for k in keys)

    # The DST-crossing booking is all-day from its first day to the day after its last, in the user's zone.
    dst = next(b for b in openair.records("Booking") if b["notes"] == "Spans the daylight saving change."
               and b["userid"] in mapped)  # fmt: skip
    owner = mapped[dst["userid"]]
    (event,) = [e for e in events[dst["userid"]] if key_of(e) == f"openair:booking:{dst['id']}"]
    assert event["isAllDay"] is True
    assert event["originalStartTimeZone"] == OFFICE_ZONES[owner.mailbox_time_zone]
    assert event["start"]["dateTime"].startswith(f"{dst['startdate']}T00:00:00")
    last = dt.date.fromisoformat(dst["enddate"])
    assert event["end"]["dateTime"].startswith(f"{last + dt.timedelta(days=1)}T00:00:00")

    # Timed bookings land at their wall-clock time in the user's office zone (Graph answers in UTC), also after
    # a DST change for users OpenAir knows only by a fixed offset like -0600: the mailbox's zone wins over it.
    timed = [b for b in openair.records("Booking") if b["starttime"] and b["userid"] in mapped
             and f"openair:booking:{b['id']}" in keys]  # fmt: skip
    offset_users_after_dst = 0
    for booking in timed:
        owner = mapped[booking["userid"]]
        zone = ZoneInfo(OFFICE_ZONES[owner.mailbox_time_zone])
        (event,) = [e for e in events[booking["userid"]] if key_of(e) == f"openair:booking:{booking['id']}"]
        local = dt.datetime.fromisoformat(booking["starttime"]).replace(tzinfo=zone)
        assert event["start"]["timeZone"] == "UTC"
        assert dt.datetime.fromisoformat(event["start"]["dateTime"][:19]).replace(tzinfo=dt.UTC) == local
        offset_users_after_dst += owner.openair_time_zone.startswith(("+", "-")) and local.dst() != dt.timedelta(0)
    assert offset_users_after_dst, "the sample has a timed summer-time booking of a user OpenAir gives an offset for"

    # An idle run writes nothing.
    graph.reset_counters()
    run(world)
    assert graph.counters()["http_total"] == 0

    # An edit updates in place; a deletion removes; both in one run.
    booking = next(b for b in openair.records("Booking") if f"openair:booking:{b['id']}" in keys and b != dst)
    openair.modify("Booking", booking["id"], {"hours": "1.25"})
    openair.delete("Booking", dst["id"])
    run(world)
    after = [e for m in mapped.values() for e in graph.events(m.mailbox_id)]
    (edited,) = [e for e in after if key_of(e) == f"openair:booking:{booking['id']}"]
    assert edited["subject"].startswith("OA Booking: 1.25 hrs")
    assert not any(key_of(e) == f"openair:booking:{dst['id']}" for e in after)
    assert first_run["http_total"] >= len(mapped)
    runs = store.recent_runs(20)
    assert {r.kind for r in runs} >= {"export-plan", "export-mailbox"}
    assert not [r for r in runs if r.status == "poison"]
