"""Import passes against Graph as it really answers (the simulator), through the real gateway."""

from __future__ import annotations

from typing import Any

import pytest

from shared.graph.gateway import CalendarGateway
from tests.importing.live_graph import LiveImport, graph_time, today_at


@pytest.fixture
def live(sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]) -> LiveImport:
    return LiveImport.build(sim, sim_gateway, sample_graph["users"][4]["id"])


def meeting(subject: str, hour: int, days: int = 1, **extra: Any) -> dict[str, Any]:
    return {"subject": subject, "start": graph_time(today_at(hour, days)), "end": graph_time(today_at(hour + 1, days)),
            "showAs": "busy", **extra}  # fmt: skip


@pytest.mark.parametrize("status", [400, 410])
async def test_resync_required_restarts_the_chain_instead_of_failing_every_pass(live: LiveImport, status: int) -> None:
    live.control.create_event(live.mailbox, meeting("Planning", 9))
    assert (await live.sync()).created == 1
    live.control.set_options(delta_expired_status=status, delta_expired_code="resyncRequired")
    live.control.expire_delta_tokens()
    live.control.create_event(live.mailbox, meeting("Review", 13))

    report = await live.sync()

    assert report.restarted == 1
    assert report.created == 1
    assert report.deleted == 0
    assert not report.errors
    assert sorted(b.notes for b in live.imported()) == ["Planning", "Review"]
    assert (await live.sync()).restarted == 0  # the fresh chain's link was kept: the next pass just continues


def daily_series(live: LiveImport, subject: str, first_day: int, **extra: Any) -> dict[str, Any]:
    start = today_at(9, first_day)
    result: dict[str, Any] = live.control.create_series(
        live.mailbox,
        meeting(subject, 9, first_day, **extra),
        {"pattern": {"type": "daily", "interval": 1},
         "range": {"type": "noEnd", "startDate": start.date().isoformat()}},
    )  # fmt: skip
    return result


async def test_a_daily_series_over_the_default_window_is_read_in_bulk_not_one_request_per_occurrence(
    live: LiveImport,
) -> None:
    """Delta sends each occurrence bare (id, type, seriesMasterId, start, end, etag); the pass reads them whole
    through $batch, so the cost is one request per 20 occurrences plus the delta pages, not one per occurrence."""
    daily_series(live, "Daily stand-up", first_day=-10)  # the default window: 30 days back, 180 ahead
    live.control.reset_counters()

    report = await live.sync()

    occurrences = len(live.imported())
    assert occurrences >= 189  # every day from 10 days ago to the window's end
    assert report.created == occurrences
    assert {b.notes for b in live.imported()} == {"Daily stand-up"}  # read whole: a bare item has no subject
    delta_pages = -(-occurrences // 100)  # the gateway asks for pages of 100
    assert live.graph_requests() <= delta_pages + -(-occurrences // 20)
    counters = live.control.counters()
    assert "GET /users/{id}/events/{id}" not in counters["routes"]  # no single reads

    live.control.reset_counters()
    again = await live.sync()
    assert (again.created, again.updated, live.graph_requests()) == (0, 0, 1)  # nothing changed: one delta page


async def test_an_event_moved_out_of_the_window_is_neither_imported_again_nor_deleted(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]
) -> None:
    """@removed means "deleted" or "no longer in the window", and may name events that were never in it
    (learn.microsoft.com/graph/api/event-delta): a re-read that finds the event outside is not an edit to import."""
    live = LiveImport.build(sim, sim_gateway, sample_graph["users"][9]["id"],
                            OnOutlookDeletion="Delete booking regardless of origin")  # fmt: skip
    moved = live.control.create_event(live.mailbox, meeting("Workshop", 9, days=5))
    await live.sync()
    (booking,) = live.imported()
    live.control.update_event(live.mailbox, moved["id"], {"start": graph_time(today_at(9, 300)),
                                                          "end": graph_time(today_at(11, 300))})  # fmt: skip
    live.control.create_event(live.mailbox, meeting("Next year", 9, days=400))  # never in the window

    report = await live.sync()

    assert (report.created, report.updated, report.deleted) == (0, 0, 0)
    assert report.skipped["outside the import window"] == 1
    (still,) = live.imported()
    assert (still.id, still.startdate, still.notes) == (booking.id, booking.startdate, "Workshop")


@pytest.mark.parametrize("signal", [True, False], ids=["delta-signals", "no-delta-signal"])
async def test_a_cancelled_occurrence_is_deleted_even_when_delta_never_says_so(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any], signal: bool
) -> None:
    """Deleting one occurrence may give no delta signal at all (microsoft-graph-docs PR #4501): the reconciliation
    lists the window afresh, reads the imported occurrence that is missing, and finds it gone."""
    live = LiveImport.build(sim, sim_gateway, sample_graph["users"][10]["id"],
                            OnOutlookDeletion="Delete bookings created from Outlook")  # fmt: skip
    live.control.set_options(occurrence_delete_signal=signal)
    series = live.control.create_series(
        live.mailbox, meeting("Daily check-in", 9, days=2),
        {"pattern": {"type": "daily", "interval": 1},
         "range": {"type": "numbered", "startDate": today_at(9, 2).date().isoformat(), "numberOfOccurrences": 5}},
    )  # fmt: skip
    assert (await live.sync()).created == 5
    third = today_at(9, 4)
    (cancelled,) = [b for b in live.imported() if b.startdate == third.date()]
    occurrence_id = next(
        e.id for e in (await live.gateway.delta(live.mailbox, today_at(0, -1), today_at(0, 30), None)).events
        if e.series_master_id == series["id"] and e.start == third
    )  # fmt: skip
    live.control.delete_event(live.mailbox, occurrence_id)

    notified = await live.sync()  # the pass a notification starts: the delta link
    assert notified.deleted == (1 if signal else 0)

    reconciled = await live.sync_full()
    assert notified.deleted + reconciled.deleted == 1
    assert sorted(b.startdate for b in live.imported()) == [today_at(9, d).date() for d in (2, 3, 5, 6)]
    assert cancelled.id not in {b.id for b in live.imported()}
    assert (await live.sync_full()).deleted == 0  # nothing else is missing
