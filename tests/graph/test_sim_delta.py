"""calendarView/delta through the real SDK against the simulator: pages, changes, removals, expiry, series."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from shared.domain.events import CreateEvent, EventDraft
from shared.graph.errors import DeltaExpired
from shared.graph.gateway import CalendarGateway
from tests.graph.conftest import user_in_zone

WINDOW = (dt.datetime(2027, 3, 1, tzinfo=dt.UTC), dt.datetime(2027, 5, 1, tzinfo=dt.UTC))


def booking(n: int) -> CreateEvent:
    day = dt.datetime(2027, 3, 2) + dt.timedelta(days=n % 40)
    draft = EventDraft(
        openair_key=f"openair:booking:{n}", subject=f"booking {n}", body="", start=day.replace(hour=9),
        end=day.replace(hour=10), time_zone="Europe/Berlin", is_all_day=False,
    )  # fmt: skip
    return CreateEvent(draft=draft, transaction_id=f"tx-{n}")


async def test_delta_pages_changes_removals_and_expiry(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]
) -> None:
    user = sample_graph["users"][4]["id"]
    created = await sim_gateway.apply(user, [booking(n) for n in range(25)])
    ids = {r.event_id for r in created if r.event_id}
    before = sim_gateway.requests_made

    first = await sim_gateway.delta(user, *WINDOW, None, page_size=10)

    assert {e.id for e in first.events} == ids
    assert sim_gateway.requests_made - before >= 3  # 25 events in pages of 10
    assert all(e.openair_key is None or e.openair_key.startswith("openair:") for e in first.events)

    # A person edits one event and deletes another in Outlook.
    edited, removed = sorted(ids)[:2]
    sim.control_client.update_event(user, edited, {"subject": "moved by the user"})
    sim.control_client.delete_event(user, removed)
    second = await sim_gateway.delta(user, *WINDOW, first.delta_link)

    assert removed in second.removed_ids
    assert [e.subject for e in second.events if e.id == edited] == ["moved by the user"]
    assert removed not in {e.id for e in second.events}
    assert second.delta_link
    assert second.delta_link != first.delta_link

    sim.control_client.expire_delta_tokens()
    with pytest.raises(DeltaExpired):
        await sim_gateway.delta(user, *WINDOW, second.delta_link)
    fresh = await sim_gateway.delta(user, *WINDOW, None)  # start over: nothing is treated as deleted
    assert {e.id for e in fresh.events} == ids - {removed}
    assert fresh.removed_ids == ()


@pytest.mark.parametrize("status", [400, 404])
async def test_sync_state_not_found_is_delta_expired_too(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any], status: int
) -> None:
    sim.control_client.set_options(delta_expired_status=status)
    user = sample_graph["users"][5]["id"]
    link = (await sim_gateway.delta(user, *WINDOW, None)).delta_link
    sim.control_client.expire_delta_tokens()
    with pytest.raises(DeltaExpired) as caught:
        await sim_gateway.delta(user, *WINDOW, link)
    assert caught.value.code.lower() == "syncstatenotfound"


@pytest.mark.parametrize("status", [400, 410])
async def test_resync_required_is_delta_expired_too(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any], status: int
) -> None:
    """resyncRequired ("the app must reset the sync state", learn.microsoft.com/graph/errors) ends the chain
    exactly like syncStateNotFound: the caller starts afresh instead of failing on every pass."""
    sim.control_client.set_options(delta_expired_status=status, delta_expired_code="resyncRequired")
    user = sample_graph["users"][5]["id"]
    link = (await sim_gateway.delta(user, *WINDOW, None)).delta_link
    sim.control_client.expire_delta_tokens()
    with pytest.raises(DeltaExpired) as caught:
        await sim_gateway.delta(user, *WINDOW, link)
    assert (caught.value.status, caught.value.code) == (status, "resyncRequired")
    fresh = await sim_gateway.delta(user, *WINDOW, None)
    assert fresh.delta_link
    assert fresh.removed_ids == ()


async def test_recurring_occurrences_arrive_bare_and_are_read_whole_in_bulk(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]
) -> None:
    """Delta carries an occurrence as id, type, seriesMasterId, start, end and etag only (microsoft-graph-docs-contrib
    #34, #5602); `get_events` reads them whole through $batch, 20 per request."""
    user = user_in_zone(sample_graph, "W. Europe Standard Time")["id"]
    series = sim.control_client.create_series(
        user,
        {"subject": "Stand-up", "start": {"dateTime": "2027-03-25T09:00:00", "timeZone": "W. Europe Standard Time"},
         "end": {"dateTime": "2027-03-25T09:15:00", "timeZone": "W. Europe Standard Time"}, "showAs": "busy"},
        {"pattern": {"type": "daily", "interval": 1},
         "range": {"type": "numbered", "startDate": "2027-03-25", "numberOfOccurrences": 26}},
    )  # fmt: skip

    result = await sim_gateway.delta(user, *WINDOW, None)

    occurrences = sorted((e for e in result.events if e.type == "occurrence"), key=lambda e: e.start or WINDOW[0])
    assert len(occurrences) == 26
    assert {e.series_master_id for e in occurrences} == {series["id"]}
    assert all(e.change_key for e in occurrences)  # from the etag
    assert not any(e.is_complete for e in occurrences)
    assert {(e.subject, e.show_as, e.original_start) for e in occurrences} == {(None, None, None)}
    starts = [e.start for e in occurrences]
    assert starts[0] == dt.datetime(2027, 3, 25, 8, tzinfo=dt.UTC)  # 09:00 CET
    assert starts[1] == dt.datetime(2027, 3, 26, 8, tzinfo=dt.UTC)
    assert starts[5] == dt.datetime(2027, 3, 30, 7, tzinfo=dt.UTC)  # 09:00 CEST: wall clock kept across DST

    sim.control_client.reset_counters()
    # 26 ids, one of them asked twice (read once)
    whole = await sim_gateway.get_events(user, [e.id for e in occurrences] + [occurrences[0].id])
    counters = sim.control_client.counters()
    assert counters["http_total"] == 2  # 26 reads: two $batch requests
    assert counters["batch_items"] == {"GET /users/{id}/events/{id}": 26}
    assert len(whole) == 26
    for bare in occurrences:
        read = whole[bare.id]
        assert read is not None
        assert read.is_complete
        assert (read.subject, read.show_as, read.series_master_id) == ("Stand-up", "busy", series["id"])
        assert (read.start, read.original_start, read.change_key) == (bare.start, bare.start, bare.change_key)
    sim.control_client.delete_event(user, occurrences[3].id)
    assert (await sim_gateway.get_events(user, [occurrences[3].id, occurrences[4].id]))[occurrences[3].id] is None


def _utc(day: str, hour: int) -> dict[str, str]:
    return {"dateTime": f"{day}T{hour:02d}:00:00", "timeZone": "UTC"}


async def test_removed_also_names_events_outside_the_window(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]
) -> None:
    """event-delta (learn.microsoft.com/graph/api/event-delta): @removed may also come for events outside the
    window that were added, deleted or updated; an @removed is no proof of a deletion inside it."""
    user = sample_graph["users"][7]["id"]
    inside = sim.control_client.create_event(user, {"subject": "in", "start": _utc("2027-03-10", 9),
                                                    "end": _utc("2027-03-10", 10)})  # fmt: skip
    link = (await sim_gateway.delta(user, *WINDOW, None)).delta_link
    outside = sim.control_client.create_event(user, {"subject": "later", "start": _utc("2027-09-10", 9),
                                                     "end": _utc("2027-09-10", 10)})  # fmt: skip
    sim.control_client.update_event(user, inside["id"], {"start": _utc("2027-08-01", 9), "end": _utc("2027-08-01", 10)})

    result = await sim_gateway.delta(user, *WINDOW, link)

    assert result.events == ()
    assert set(result.removed_ids) == {outside["id"], inside["id"]}  # added outside; moved out
    sim.control_client.set_options(removed_outside_window=False)
    sim.control_client.update_event(user, outside["id"], {"subject": "later still"})
    assert (await sim_gateway.delta(user, *WINDOW, result.delta_link)).removed_ids == ()
    sim.control_client.set_options(removed_outside_window=True)


@pytest.mark.parametrize("signal", [True, False])
async def test_cancelling_one_occurrence_may_leave_no_trace_in_delta(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any], signal: bool
) -> None:
    """Switchable because unconfirmed (microsoft-graph-docs PR #4501): on, the occurrence is @removed and the
    series' other occurrences show its new change key; off, delta shows nothing at all."""
    sim.control_client.set_options(occurrence_delete_signal=signal)
    user = sample_graph["users"][8]["id"]
    sim.control_client.create_series(
        user, {"subject": "Daily", "start": _utc("2027-03-10", 9), "end": _utc("2027-03-10", 10)},
        {"pattern": {"type": "daily", "interval": 1},
         "range": {"type": "numbered", "startDate": "2027-03-10", "numberOfOccurrences": 4}},
    )  # fmt: skip
    first = await sim_gateway.delta(user, *WINDOW, None)
    cancelled = sorted(first.events, key=lambda e: e.start or WINDOW[0])[1]
    sim.control_client.delete_event(user, cancelled.id)

    after = await sim_gateway.delta(user, *WINDOW, first.delta_link)

    if signal:
        assert after.removed_ids == (cancelled.id,)
        assert len(after.events) == 3
    else:
        assert (after.removed_ids, after.events) == ((), ())
    assert cancelled.id not in {e.id for e in (await sim_gateway.delta(user, *WINDOW, None)).events}
