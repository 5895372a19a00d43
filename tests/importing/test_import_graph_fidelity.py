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
