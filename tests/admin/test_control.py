"""Control over HTTP and the command line: pause stops every write and loses nothing, destructive operations need
an explicit confirmation, and every change lands in the audit trail with who made it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.admin import operations
from shared.cli.main import main
from shared.jobs import export
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets
from shared.store.store import CURSOR_SCOPE
from tests.admin.live import Live, live_world


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    with live_world(users=4) as world:
        assert httpx.post(f"{world.url}/sync/export", json={}, headers=world.key, timeout=60).status_code == 202
        world.host.drain_queues(timeout=60)
        yield world


def _booked(live: Live) -> tuple[str, str, str, str]:
    """(user, booking id, mailbox id, event id) of an exported booking."""
    mappings = live.store.load_mappings().users
    for booking in live.openair.records("Booking"):
        user = str(booking["userid"])
        link = live.store.links(user).get(f"booking:{booking['id']}") if user in mappings else None
        if link is not None and link.event_id:
            return user, str(booking["id"]), mappings[user].mailbox_id, link.event_id
    raise AssertionError("no exported booking")


def _post(live: Live, route: str, body: Any = None, **headers: str) -> httpx.Response:
    return httpx.post(f"{live.url}/{route}", json=body, headers={**live.key, **headers}, timeout=60)


def test_pause_stops_every_write_and_resume_catches_up(live: Live) -> None:
    user, booking, mailbox, event_id = _booked(live)
    before = live.graph.event(mailbox, event_id)["changeKey"]
    cursors = live.store.cursors(CURSOR_SCOPE)

    paused = _post(live, "pause", {"reason": "cutover rehearsal"}, **{"X-MS-CLIENT-PRINCIPAL-NAME": "ops@contoso.com"})
    assert paused.status_code == 200
    assert (paused.json()["paused"], paused.json()["changed"], paused.json()["by"]) == (
        True, True, "ops@contoso.com (signed in)")  # fmt: skip
    status = httpx.get(f"{live.url}/status", headers=live.key, timeout=60).json()
    assert (status["state"], status["healthy"]) == ("paused", False)
    assert status["paused"]["reason"] == "cutover rehearsal"
    check = httpx.get(f"{live.url}/check", headers=live.key, timeout=60).json()
    (sync,) = [c for c in check["checks"] if c["name"] == "Sync"]
    assert sync["outcome"] == "warning"
    assert sync["message"].startswith("PAUSED")

    live.openair.modify("Booking", booking, {"notes": "changed while paused"})
    live.host.fire_timer("export_timer")
    live.host.drain_queues(timeout=60)
    assert live.graph.event(mailbox, event_id)["changeKey"] == before  # not written
    assert live.store.cursors(CURSOR_SCOPE) == cursors  # not read: the watermarks wait
    refused = _post(live, "sync/export", {})
    assert refused.status_code == 409
    assert "paused" in refused.json()["error"]
    assert _post(live, "resync", {"user": user}).status_code == 409
    dry = _post(live, "resync", {"user": user, "dry_run": True})
    assert dry.status_code == 200  # a dry run writes nothing: allowed

    resumed = _post(live, "resume")
    assert (resumed.status_code, resumed.json()["paused"], resumed.json()["changed"]) == (200, False, True)
    live.host.fire_timer("export_timer")
    live.host.drain_queues(timeout=60)
    assert live.graph.event(mailbox, event_id)["changeKey"] != before  # caught up
    assert httpx.get(f"{live.url}/status", headers=live.key, timeout=60).json()["paused"] is None

    trail = httpx.get(f"{live.url}/audit", headers=live.key, timeout=60).json()["entries"]
    assert [(e["action"], e["who"]) for e in trail[:2]] == [
        ("resume", "function key"), ("pause", "ops@contoso.com (signed in)")]  # fmt: skip
    assert trail[1]["detail"] == "cutover rehearsal"


def test_work_queued_before_a_pause_waits_in_the_outbox(live: Live) -> None:
    user, booking, mailbox, event_id = _booked(live)
    before = live.graph.event(mailbox, event_id)["changeKey"]
    services = Services(live.env, EnvironmentSecrets(live.env))

    async def scenario() -> None:
        live.openair.modify("Booking", booking, {"notes": "queued, then paused"})
        planned = await export.run_export_timer(services)  # the timer ran; its messages are in the queue
        assert planned.messages
        operations.pause(services, actor="test", reason="incident")
        for message in planned.messages:
            await export.run_export_mailbox(services, message)  # the worker meets the pause
        await services.aclose()

    asyncio.run(scenario())
    assert live.graph.event(mailbox, event_id)["changeKey"] == before
    assert f"booking:{booking}" in {e.key for e in live.store.outbox(user)}  # kept, not lost
    assert main(["resume"], environ=live.env) == 0
    live.host.fire_timer("export_timer")
    live.host.drain_queues(timeout=60)
    assert live.graph.event(mailbox, event_id)["changeKey"] != before
    assert live.store.outbox(user) == []
    assert main(["--json", "audit", "--limit", "2"], environ=live.env) == 0


def test_a_resync_of_everyone_names_those_it_leaves_out(live: Live) -> None:
    """(Without the confirmation it asks first, it is a 400 before anything is read: test_handlers.py.)"""
    live.store.put_mapping_row("unmapped-1", {"Mailbox": "", "OpenAirUserName": "Nobody"})
    live.store.put_mapping_row("bad-1", {"Mailbox": "x@contoso.com", "ExportBookings": "yes"})
    answer = _post(live, "resync", {"all": True, "dry_run": True})
    assert answer.status_code == 200, answer.text
    skipped = answer.json()["skipped"]
    assert "no mailbox yet" in skipped["unmapped-1"]
    assert "ExportBookings" in skipped["bad-1"]
    assert answer.json()["counts"]["users_skipped"] == 2
    live.tables.delete("UserMappings", "User", "unmapped-1")
    live.tables.delete("UserMappings", "User", "bad-1")


def test_cli_pause_is_shown_by_status(live: Live, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pause", "--reason", "upgrade"], environ=live.env) == 0
    capsys.readouterr()
    assert main(["status"], environ=live.env) == 1
    shown = capsys.readouterr().out
    assert shown.lstrip().startswith("PAUSED")
    assert "upgrade" in shown
    assert main(["--json", "sync", "export"], environ=live.env) == 2
    assert "paused" in json.loads(capsys.readouterr().out)["error"]
    assert main(["resume"], environ=live.env) == 0
    capsys.readouterr()
    assert main(["--json", "audit"], environ=live.env) == 0
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert [e["action"] for e in entries[:2]] == ["resume", "pause"]
    assert entries[0]["who"].endswith("(command line)")
    assert entries[1]["detail"] == "upgrade"


def test_decommission_removes_every_event_the_product_wrote_and_nothing_else(
    live: Live, capsys: pytest.CaptureFixture[str]
) -> None:
    mappings = live.store.load_mappings().users
    mailbox = next(iter(mappings.values())).mailbox_id
    own = live.graph.create_event(mailbox, {
        "subject": "Dentist", "start": {"dateTime": "2027-03-03T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2027-03-03T10:00:00", "timeZone": "UTC"}})  # fmt: skip
    ours = sum(1 for link in live.store.all_links() if link.event_id)
    assert ours > 0

    assert main(["decommission"], environ=live.env) == 2
    assert "add --yes" in capsys.readouterr().err
    assert main(["--json", "decommission", "--dry-run"], environ=live.env) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["events"] == ours
    refused = _post(live, "decommission", {})
    assert refused.status_code == 400
    assert '"confirm": true' in refused.json()["error"]
    assert sum(1 for link in live.store.all_links() if link.event_id) == ours  # nothing removed yet

    done = _post(live, "decommission", {"confirm": True})
    assert done.status_code == 200, done.text
    assert done.json()["complete"] is True
    assert done.json()["counts"]["events_removed"] == ours
    left = {u: live.graph.events(m.mailbox_id) for u, m in mappings.items()}
    assert [e["id"] for events in left.values() for e in events] == [own["id"]]  # the person's own event stays
    assert list(live.store.all_links()) == []
    live.host.fire_timer("export_timer")
    live.host.drain_queues(timeout=60)
    assert sum(len(live.graph.events(m.mailbox_id)) for m in mappings.values()) == 1  # paused: nothing comes back
    status = httpx.get(f"{live.url}/status", headers=live.key, timeout=60).json()
    assert status["paused"]["reason"].startswith("decommissioned")
    trail = httpx.get(f"{live.url}/audit", headers=live.key, timeout=60).json()["entries"]
    assert (trail[0]["action"], trail[0]["counts"]["events_removed"]) == ("decommission", ours)


def test_check_names_the_id_of_a_show_as_row_keyed_by_name(live: Live, capsys: pytest.CaptureFixture[str]) -> None:
    from shared.store.tables import Row

    booking_type = live.openair.records("BookingType")[0]
    live.tables.upsert("BookingTypeShowAs", Row("BookingType", booking_type["name"],
                                                       {"ShowAs": "Set event time as busy"}))  # fmt: skip
    try:
        checks = httpx.get(f"{live.url}/check", headers=live.key, timeout=60).json()["checks"]
        (found,) = [c for c in checks if c["name"] == "Booking types (BookingTypeShowAs)"]
        assert found["outcome"] == "warning"
        assert f"booking type '{booking_type['name']}' has id {booking_type['id']}" in found["message"]
        status = httpx.get(f"{live.url}/status", headers=live.key, timeout=60).json()
        assert any("not a booking type id" in r for r in status["rejected_rows"])
        assert status["state"] in ("warnings", "paused", "failing")
        assert status["healthy"] is False
    finally:
        live.tables.delete("BookingTypeShowAs", "BookingType", booking_type["name"])
