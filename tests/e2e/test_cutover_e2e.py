"""Cutover end to end through `function_app.py` on the local host: the sample tenant's mailboxes hold what the
Exchange Integration Manager left (sandbox/sample/incumbent.py); the administrator runs the cutover over HTTP,
dry run first, and the export that follows writes no second copy and touches no event of a person's.

Measured here too: Graph requests per mailbox for the cutover (one calendarView read) and for the writes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.azurite import azurite
from sandbox.sample import build
from tests.e2e.test_export_e2e import ANCHOR, _world, key_of

USERS = 12


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with azurite() as storage:
        yield from _world(storage, monkeypatch, build(ANCHOR, users=USERS, incumbent=True))


def cutover(world: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
    host = world["host"]
    return httpx.post(f"{host.base_url}/api/manage/cutover", json=body,
                      headers={"x-functions-key": host.keys.function}, timeout=120)  # fmt: skip


def test_cutover_through_the_function_host(world: dict[str, Any]) -> None:
    store, graph, host = world["store"], world["graph"], world["host"]
    mailboxes = {u: m.mailbox_id for u, m in store.load_mappings().users.items()}
    before = {m: {e["id"]: e for e in graph.events(m)} for m in mailboxes.values()}
    incumbent_total = sum(len(v) for v in before.values())
    assert incumbent_total > 0

    # Without a function key: refused. A real run without confirm, or "all" not said: refused.
    assert httpx.post(f"{host.base_url}/api/manage/cutover", json={"all": True}, timeout=30).status_code == 401
    assert cutover(world, {"all": True, "dry_run": False}).status_code == 400
    assert cutover(world, {}).status_code == 400

    graph.reset_counters()
    dry = cutover(world, {"all": True})
    assert dry.status_code == 200, dry.text
    counts = dry.json()["counts"]
    dry_reads = graph.counters()["http_total"]
    assert dry_reads == len(mailboxes)  # one calendarView request per mailbox, nothing written
    assert {m: {e["id"]: e["changeKey"] for e in graph.events(m)} for m in mailboxes.values()} == {
        m: {i: e["changeKey"] for i, e in events.items()} for m, events in before.items()}  # fmt: skip
    assert counts["adopted"] > 0
    assert counts["ambiguous"] >= 3  # the double write (2 events) and the moved event, the rewritten body
    assert counts["stale"] >= 1
    assert counts["foreign_untouched"] >= 1
    reasons = " | ".join(dry.json()["ambiguous"])
    assert "look exactly like this" in reasons
    assert "in Outlook" in reasons
    assert "the body does not" in reasons

    graph.reset_counters()
    real = cutover(world, {"all": True, "dry_run": False, "confirm": True})
    assert real.status_code == 202, real.text
    assert {k: v for k, v in real.json()["counts"].items() if k != "mailboxes_with_work"} == counts
    host.drain_queues(timeout=120)
    cutover_requests = graph.counters()["http_total"]
    assert max(len(events) for events in before.values()) <= 20  # each mailbox's writes fit one $batch
    assert cutover_requests == 2 * len(mailboxes)  # per mailbox: one calendarView read, one $batch

    after = {m: {e["id"]: e for e in graph.events(m)} for m in mailboxes.values()}
    keys = Counter(key_of(e) for events in after.values() for e in events.values() if key_of(e))
    assert keys
    assert max(keys.values()) == 1  # zero duplicates among our events
    adopted = [i for m, events in after.items() for i, e in events.items() if key_of(e) and i in before[m]]
    assert len(adopted) == counts["adopted"]  # adopted in place: the incumbent's event ids carry our property
    created = sum(keys.values()) - len(adopted)
    assert created == counts["to_create"]
    # Every event that is not ours now was there before and is exactly as it was (a person's, ambiguous, stale).
    for mailbox, events in after.items():
        for event_id, event in events.items():
            if not key_of(event):
                assert before[mailbox][event_id]["changeKey"] == event["changeKey"]
    # No record has both its own event and an incumbent copy that matched it exactly.
    untouched_subjects = Counter(
        (m, e["subject"], e["start"]["dateTime"]) for m, events in after.items() for e in events.values()
        if not key_of(e)
    )  # fmt: skip
    ours_subjects = {(m, e["subject"], e["start"]["dateTime"]) for m, events in after.items()
                     for e in events.values() if key_of(e)}  # fmt: skip
    duplicates_next_to_ours = [s for s in untouched_subjects if s in ours_subjects]
    assert duplicates_next_to_ours == []

    # The timer's next run finds nothing to do; stale events are removed only when asked, and only they.
    graph.reset_counters()
    host.fire_timer("export_timer")
    host.drain_queues(timeout=60)
    assert graph.counters()["http_total"] == 0
    removal = cutover(world, {"all": True, "action": "remove-stale", "dry_run": False, "confirm": True})
    assert removal.status_code == 202, removal.text
    assert removal.json()["counts"]["stale_removed"] == counts["stale"]
    final = {m: {e["id"] for e in graph.events(m)} for m in mailboxes.values()}
    assert sum(len(v) for v in final.values()) == sum(len(v) for v in after.values()) - counts["stale"]
    durations: dict[str, list[float]] = {}
    for invocation in host.invocations.all():
        durations.setdefault(invocation.function, []).append(invocation.duration)
    print(
        f"cutover of {len(mailboxes)} mailboxes: dry run {dry_reads} Graph requests; real run + writes "
        f"{cutover_requests} ({cutover_requests / len(mailboxes):.2f} per mailbox); counts {counts}; invocations "
        + ", ".join(f"{name} {len(d)}× max {max(d):.2f} s" for name, d in sorted(durations.items()))
    )
