"""`POST /api/openair/changed` and the `export-record` worker through `function_app.py` on the local host. (The
endpoint's answers to bad pushes, called without a host: test_push_handler.py.)"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from shared.jobs.contracts import RecordWork, encode
from shared.jobs.push import RecordExportResult, run_export_record
from shared.kinds import RecordKind
from shared.push import notice_body, sign
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets
from tests.push.conftest import FUNCTION_KEY, PUSH_SECRET, PushWorld, key_of, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def post(world: PushWorld, body: bytes, signature: str | None, *, key: str | None = FUNCTION_KEY) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-OpenAir-Signature"] = signature
    if key is not None:
        headers["x-functions-key"] = key
    return httpx.post(world.push_url, content=body, headers=headers, timeout=10)


def a_user(world: PushWorld, index: int = 0) -> tuple[str, str]:
    user_id = sorted(world.mapped)[index]
    return user_id, world.mapped[user_id].mailbox_id


def new_booking(world: PushWorld, user_id: str, day: str, notes: str) -> dict[str, Any]:
    """Save a booking "in the OpenAir UI": the simulator's form script posts it to the host."""
    template = next(b for b in world.openair.records("Booking") if b["userid"] == user_id)
    fields = {k: template[k] for k in ("projectid", "customerid", "booking_typeid", "userid", "approval_status")}
    return world.openair.create("Booking", {**fields, "startdate": day, "enddate": day, "hours": "4.00",
                                            "percentage": "50", "notes": notes})  # fmt: skip


def test_a_booking_saved_in_openair_reaches_outlook_in_seconds(push_world: PushWorld) -> None:
    user_id, mailbox = a_user(push_world)
    before = push_world.openair.form_script_state()["posted"]
    started = time.monotonic()
    booking = new_booking(push_world, user_id, "2027-06-01", "pushed")
    saved = time.monotonic() - started
    key = f"openair:booking:{booking['id']}"
    seconds = wait_for(lambda: key in push_world.keys_in(mailbox), timeout=15)
    assert push_world.openair.form_script_state()["posted"] == before + 1
    print(f"save with its form script {saved:.2f} s, event in Outlook after {seconds:.2f} s")  # bench.push_latency
    assert push_world.keys_in(mailbox).count(key) == 1


def test_the_endpoint_answers_202_without_waiting_for_openair_or_graph(push_world: PushWorld) -> None:
    """The form script's NSOA.https.post gives up after 45 s: the endpoint only checks and enqueues. With OpenAir
    answering in 10 s, a client that waits 5 s still gets every 202 (latency figures: bench.push_latency)."""
    user_id, _ = a_user(push_world)
    booking = next(b for b in push_world.openair.records("Booking") if b["userid"] == user_id)
    push_world.openair.configure(latency_ms=10_000)
    try:
        for _ in range(3):
            body = notice_body("Booking", booking["id"], user_id, int(time.time()))
            headers = {"Content-Type": "application/json", "X-OpenAir-Signature": sign(PUSH_SECRET, body),
                       "x-functions-key": FUNCTION_KEY}  # fmt: skip
            response = httpx.post(push_world.push_url, content=body, headers=headers, timeout=5)
            assert response.status_code == 202, response.text
            assert response.json() == {"accepted": True}
    finally:
        push_world.openair.configure(latency_ms=0)
    push_world.host.drain_queues(timeout=60)


def test_push_and_timer_both_firing_write_once(push_world: PushWorld) -> None:
    user_id, mailbox = a_user(push_world)
    booking = new_booking(push_world, user_id, "2027-06-02", "push and timer")
    key = f"openair:booking:{booking['id']}"
    wait_for(lambda: key in push_world.keys_in(mailbox))
    push_world.host.drain_queues(timeout=30)

    # An edit: the form script pushes it, and the timer runs right behind; then the same push again (a replay).
    push_world.graph.reset_counters()
    push_world.openair.modify("Booking", booking["id"], {"hours": "1.50"})
    push_world.run_timer()
    body = notice_body("Booking", booking["id"], user_id, int(time.time()))
    assert post(push_world, body, sign(PUSH_SECRET, body)).status_code == 202
    push_world.host.drain_queues(timeout=30)
    push_world.run_timer()

    events = [e for e in push_world.graph.events(mailbox) if key_of(e) == key]
    assert len(events) == 1
    assert events[0]["subject"].startswith("OA Booking: 1.50 hrs")
    counters = push_world.graph.counters()
    writes = {k: v for k, v in counters["batch_items"].items() if not k.startswith("GET")}
    direct = {k: v for k, v in counters["routes"].items() if k.split()[0] in ("POST", "PATCH", "DELETE")
              and "$batch" not in k}  # fmt: skip
    assert sum(writes.values()) == 1, counters
    assert direct == {}, counters


def test_a_push_for_a_user_not_mapped_is_recorded_and_writes_nothing(push_world: PushWorld) -> None:
    user_id, _ = a_user(push_world, -1)
    push_world.store.write_mapping_status(user_id, Mailbox="", MailboxId="")
    try:
        push_world.graph.reset_counters()
        booking = new_booking(push_world, user_id, "2027-06-03", "nobody's mailbox")
        push_world.host.drain_queues(timeout=30)
        assert push_world.graph.counters()["http_total"] == 0
        runs = [r for r in push_world.store.recent_runs(20) if r.kind == "export-record"]
        assert any(f"booking:{booking['id']}: user not mapped" in a for r in runs for a in r.alerts), runs
    finally:
        mapping = push_world.mapped[user_id]
        push_world.store.write_mapping_status(user_id, Mailbox=mapping.mailbox, MailboxId=mapping.mailbox_id)


def test_a_push_while_graph_throttles_is_retried_and_lands_once(push_world: PushWorld) -> None:
    user_id, mailbox = a_user(push_world, 1)
    push_world.host.drain_queues(timeout=30)
    failed_before = push_world.host.invocations.count("export_record", succeeded=False)
    # Every Graph write for this mailbox answers 429 for longer than the gateway's retry budget (1 s here).
    push_world.graph.add_fault("status", status=429, count=12, retry_after=0.2, mailbox=mailbox, method="POST",
                               code="ApplicationThrottled")  # fmt: skip
    booking = new_booking(push_world, user_id, "2027-06-04", "while throttled")
    key = f"openair:booking:{booking['id']}"
    wait_for(lambda: key in push_world.keys_in(mailbox), timeout=40)
    push_world.host.drain_queues(timeout=30)
    assert push_world.keys_in(mailbox).count(key) == 1
    assert push_world.host.invocations.count("export_record", succeeded=False) > failed_before
    push_world.graph.clear_faults()


def test_xml_api_writes_and_deletions_run_no_form_script(push_world: PushWorld) -> None:
    user_id, _ = a_user(push_world)
    posted = push_world.openair.form_script_state()["posted"]
    booking = new_booking(push_world, user_id, "2027-06-05", "to delete")
    push_world.openair.delete("Booking", booking["id"])
    assert push_world.openair.form_script_state()["posted"] == posted + 1  # the save only
    state = push_world.openair.form_script_state()
    assert state["secret_set"]
    assert PUSH_SECRET not in json.dumps(state)  # the control API never shows the secret


def saved_without_the_script(world: PushWorld, user_id: str, days: list[str]) -> list[dict[str, Any]]:
    """Bookings saved in OpenAir with the form script off: their messages are handed to a worker by the test."""
    mailbox = world.mapped[user_id].mailbox_id
    world.host.drain_queues(timeout=30)
    world.openair.form_script("")
    try:
        shown = set(world.keys_in(mailbox))
        template = next(b for b in world.openair.records("Booking") if f"openair:booking:{b['id']}" in shown)
        fields = {k: template[k] for k in ("projectid", "customerid", "booking_typeid", "userid", "approval_status")}
        saved = {"hours": "2.00", "percentage": "25", "notes": "waiting"}
        return [world.openair.create("Booking", {**fields, **saved, "startdate": d, "enddate": d}) for d in days]
    finally:
        world.openair.form_script(world.push_url, PUSH_SECRET, FUNCTION_KEY)


def run_worker(world: PushWorld, works: list[RecordWork]) -> list[RecordExportResult]:
    """These export-record messages handed at once to one worker (one event loop), as the host hands a batch."""

    async def worker() -> list[RecordExportResult]:
        services = Services(world.env, EnvironmentSecrets(world.env))
        try:
            return await asyncio.gather(*(run_export_record(services, encode(w)) for w in works))
        finally:
            await services.aclose()

    return asyncio.run(worker())


def message(booking: dict[str, Any], received_at: float = 0.0) -> RecordWork:
    refers_to = {"Project": booking["projectid"], "Customer": booking["customerid"]}  # as the form script sends
    return RecordWork(RecordKind.BOOKING, booking["id"], booking["userid"], received_at, refers_to)


def batches(world: PushWorld) -> int:
    return sum(n for route, n in world.graph.counters()["routes"].items() if "$batch" in route)


def test_ten_saves_of_one_user_waiting_in_a_worker_are_one_openair_request_and_one_batch(
    push_world: PushWorld,
) -> None:
    """The worker applies a user's pending saves in one pass: one OpenAir request reads all ten records (with what
    they refer to), and one `$batch` writes the ten events. Each save's message gets its own answer."""
    user_id, mailbox = a_user(push_world, 2)
    bookings = saved_without_the_script(push_world, user_id, [f"2027-01-{n + 11:02d}" for n in range(10)])
    before = push_world.openair.stats()["requests"]
    push_world.graph.reset_counters()
    results = run_worker(push_world, [message(b) for b in bookings])
    assert push_world.openair.stats()["requests"] - before == 1
    assert batches(push_world) == 1
    assert [r.outcome for r in results] == ["write"] * 10
    keys = push_world.keys_in(mailbox)
    assert [keys.count(f"openair:booking:{b['id']}") for b in bookings] == [1] * 10


def test_a_pass_applies_the_users_saves_still_queued_and_their_messages_then_find_them_done(
    push_world: PushWorld,
) -> None:
    """ "A pass that started after this save arrived covers it": the first message's pass also reads the user's
    other records updated in the last minutes and applies them; the nine messages behind it cost nothing."""
    user_id, mailbox = a_user(push_world, 3)
    bookings = saved_without_the_script(push_world, user_id, [f"2027-01-{n + 11:02d}" for n in range(10)])
    received = time.time()
    time.sleep(1.1)  # the pass starts after the messages arrived (AppliedSaves allows 1 s of clock difference)
    before = push_world.openair.stats()["requests"]
    push_world.graph.reset_counters()
    (first,) = run_worker(push_world, [message(bookings[0], received)])
    assert first.outcome == "write"
    assert push_world.openair.stats()["requests"] - before == 1
    assert batches(push_world) == 1
    keys = push_world.keys_in(mailbox)
    assert [keys.count(f"openair:booking:{b['id']}") for b in bookings] == [1] * 10
    push_world.graph.reset_counters()
    before = push_world.openair.stats()["requests"]
    rest = run_worker(push_world, [message(b, received) for b in bookings[1:]])
    assert [r.outcome for r in rest] == ["covered"] * 9
    assert push_world.openair.stats()["requests"] == before
    assert push_world.graph.counters()["http_total"] == 0
    # A save after that pass's read is not covered: its message runs a pass of its own.
    push_world.openair.form_script("")
    try:
        push_world.openair.modify("Booking", bookings[1]["id"], {"hours": "3.00"})
    finally:
        push_world.openair.form_script(push_world.push_url, PUSH_SECRET, FUNCTION_KEY)
    (again,) = run_worker(push_world, [message(bookings[1], time.time())])
    assert again.outcome == "write"
    assert push_world.openair.stats()["requests"] == before + 1
