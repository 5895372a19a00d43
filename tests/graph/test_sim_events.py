"""The gateway on the real msgraph-sdk against the Graph simulator over HTTP: writes, lookups, zones, limits."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.domain.events import CreateEvent, DeleteEvent, EventDraft, UpdateEvent
from shared.graph.client import build_client
from shared.graph.errors import GraphAuthError
from shared.graph.gateway import CalendarGateway
from shared.secrets import EnvironmentSecrets
from tests.graph.conftest import graph_settings, user_in_zone

BERLIN = ZoneInfo("Europe/Berlin")


def draft(key: str, **changes: Any) -> EventDraft:
    values: dict[str, Any] = {
        "openair_key": key,
        "subject": f"OA Booking: 8 hrs for Contoso : {key}",
        "body": "Customer: Contoso",
        "start": dt.datetime(2027, 3, 26, 9),
        "end": dt.datetime(2027, 3, 26, 17),
        "time_zone": "Europe/Berlin",
        "is_all_day": False,
        "show_as": "busy",
        "categories": ("OpenAir",),
    }
    return EventDraft(**{**values, **changes})


async def test_create_read_update_delete(sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]) -> None:
    user = sample_graph["users"][0]["id"]
    created = await sim_gateway.apply(user, [CreateEvent(draft=draft("openair:booking:1"), transaction_id="tx-1")])
    assert created[0].status == 201
    assert created[0].event_id
    assert created[0].change_key
    event_id = created[0].event_id

    read = await sim_gateway.get_event(user, event_id)
    assert read is not None
    assert (read.subject, read.show_as, read.categories, read.openair_key, read.transaction_id) == (
        "OA Booking: 8 hrs for Contoso : openair:booking:1", "busy", ("OpenAir",), "openair:booking:1", "tx-1"
    )  # fmt: skip

    updated = await sim_gateway.apply(
        user,
        [
            UpdateEvent(
                event_id=event_id, draft=draft("openair:booking:1", subject="moved", categories=(), show_as="oof")
            )
        ],
    )
    assert updated[0].status == 200
    assert updated[0].change_key != created[0].change_key
    read = await sim_gateway.get_event(user, event_id)
    assert read is not None
    assert (read.subject, read.show_as, read.categories) == ("moved", "oof", ())

    deleted = await sim_gateway.apply(user, [DeleteEvent(event_id=event_id)])
    assert deleted[0].status == 204
    assert await sim_gateway.get_event(user, event_id) is None
    again = await sim_gateway.apply(user, [DeleteEvent(event_id=event_id)])
    assert again[0].status == 404
    assert again[0].done


@pytest.mark.parametrize("status", [400, 409])
async def test_a_repeated_create_is_refused_as_a_spent_transaction_and_makes_no_duplicate(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any], status: int
) -> None:
    sim.control_client.set_options(duplicate_transaction_status=status)
    user = sample_graph["users"][1]["id"]
    write = CreateEvent(draft=draft("openair:booking:77"), transaction_id="tx-77")
    first = await sim_gateway.apply(user, [write])
    # The answer is "lost": a retry is refused (ErrorDuplicateTransactionId), and the key lookup finds the event.
    retried = await sim_gateway.apply(user, [write])
    found = await sim_gateway.find_events_by_key(user, "openair:booking:77")

    assert (retried[0].status, retried[0].transaction_spent, retried[0].event_id) == (status, True, None)
    assert [(e.id, e.transaction_id) for e in found] == [(first[0].event_id, "tx-77")]
    stamped = [e for e in sim.control_client.events(user) if e.get("transactionId") == "tx-77"]
    assert len(stamped) == 1
    assert await sim_gateway.find_events_by_key(user, "openair:booking:78") == []


async def test_key_lookup_survives_quotes_in_the_value(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]
) -> None:
    user = sample_graph["users"][2]["id"]
    key = "openair:booking:O'Brien"
    await sim_gateway.apply(user, [CreateEvent(draft=draft(key), transaction_id="tx-q")])
    assert [e.openair_key for e in await sim_gateway.find_events_by_key(user, key)] == [key]


async def test_all_day_event_across_dst_keeps_midnight_in_the_users_zone(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]
) -> None:
    user = user_in_zone(sample_graph, "Eastern Standard Time")["id"]  # DST starts 2027-03-14 in New York
    all_day = draft(
        "openair:task:5",
        start=dt.datetime(2027, 3, 12),
        end=dt.datetime(2027, 3, 16),
        time_zone="America/New_York",
        is_all_day=True,
    )
    result = await sim_gateway.apply(user, [CreateEvent(draft=all_day, transaction_id="tx-ad")])
    assert result[0].status == 201, result[0].error_message

    event_id = result[0].event_id
    assert event_id is not None
    stored = sim.control_client.event(user, event_id)
    assert stored["start"]["dateTime"].startswith("2027-03-12T00:00:00")
    assert stored["end"]["dateTime"].startswith("2027-03-16T00:00:00")
    read = await sim_gateway.get_event(user, event_id)
    assert read is not None
    assert read.is_all_day
    assert read.start is not None
    assert read.end is not None
    # All-day events are floating dates: Graph renders them at midnight in the zone asked for (UTC here).
    assert (read.start.date(), read.start.time(), read.end.date(), read.end.time()) == (
        dt.date(2027, 3, 12), dt.time(0), dt.date(2027, 3, 16), dt.time(0)
    )  # fmt: skip


async def test_timed_event_across_dst_keeps_its_wall_clock_time(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]
) -> None:
    user = user_in_zone(sample_graph, "W. Europe Standard Time")["id"]  # Berlin springs forward 2027-03-28
    timed = draft("openair:booking:dst", start=dt.datetime(2027, 3, 27, 9), end=dt.datetime(2027, 3, 29, 17))
    result = await sim_gateway.apply(user, [CreateEvent(draft=timed, transaction_id="tx-dst")])
    event_id = result[0].event_id
    assert event_id is not None
    read = await sim_gateway.get_event(user, event_id)

    assert read is not None
    assert read.start is not None
    assert read.end is not None
    assert read.start == dt.datetime(2027, 3, 27, 8, tzinfo=dt.UTC)  # CET, UTC+1
    assert read.end == dt.datetime(2027, 3, 29, 15, tzinfo=dt.UTC)  # CEST, UTC+2
    assert read.start.astimezone(BERLIN).time() == dt.time(9)
    assert read.end.astimezone(BERLIN).time() == dt.time(17)


async def test_inner_429s_from_mailbox_concurrency_are_retried_until_all_succeed(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]
) -> None:
    # As if another app held one of the mailbox's four slots: Outlook's four-at-a-time batch earns inner 429s.
    # (With two slots held, an item loses each round with even odds: one in ~30 runs met the 10-attempt cap.)
    sim.control_client.set_options(mailbox_concurrency=3, concurrency_retry_after_s=0.05, latency_ms=5)
    user = sample_graph["users"][3]["id"]
    writes = [CreateEvent(draft=draft(f"openair:booking:c{n}"), transaction_id=f"tx-c{n}") for n in range(30)]

    results = await sim_gateway.apply(user, writes)

    assert [r.status for r in results] == [201] * 30
    assert sim_gateway.throttled_seen > 0
    assert len({r.event_id for r in results}) == 30
    assert len([e for e in sim.control_client.events(user) if str(e.get("transactionId", "")).startswith("tx-c")]) == 30


async def test_a_429_outside_a_batch_is_retried_after_its_decimal_retry_after(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]
) -> None:
    user = sample_graph["users"][0]["id"]
    sim.control_client.add_fault("status", status=429, count=2, retry_after=0.05, path="mailboxSettings")
    before = sim_gateway.requests_made

    assert await sim_gateway.mailbox_time_zone(user) == "Eastern Standard Time"
    assert sim_gateway.requests_made - before == 3
    assert sim_gateway.throttled_seen == 2


async def test_a_wrong_token_is_an_auth_error_with_the_fix(sim: Any) -> None:
    settings = graph_settings(sim.url, GRAPH_DEV_TOKEN="not-the-token")
    client = build_client(settings, EnvironmentSecrets({}))
    try:
        with pytest.raises(GraphAuthError, match="admin") as caught:
            await CalendarGateway(client, settings).list_mailboxes()
        assert caught.value.status == 401
    finally:
        await client.aclose()


async def test_mailboxes_are_listed_with_aliases_and_time_zone(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]
) -> None:
    mailboxes = await sim_gateway.list_mailboxes()
    assert {m.id for m in mailboxes} == {u["id"] for u in sample_graph["users"]}
    first = next(m for m in mailboxes if m.id == sample_graph["users"][0]["id"])
    assert "aanders@newyork.contoso.com" in first.addresses()
