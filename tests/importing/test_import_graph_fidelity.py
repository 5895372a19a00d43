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
