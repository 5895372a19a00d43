"""$batch writes over a fake network: chunking, request shape, inner retries, per-item failures, order."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from typing import Any

import httpx
import pytest

from shared.domain.events import CreateEvent, DeleteEvent, EventDraft, EventWrite, UpdateEvent
from shared.graph.batch import batch_size, slots_taken
from shared.graph.models import OPENAIR_PROPERTY_ID
from tests.graph.conftest import GraphFactory, RecordingSleep, json_response


def draft(n: int, **changes: Any) -> EventDraft:
    values: dict[str, Any] = {
        "openair_key": f"openair:booking:{n}",
        "subject": f"OA Booking: 8 hrs for Contoso : Project {n}",
        "body": "Customer: Contoso",
        "start": dt.datetime(2027, 3, 26),
        "end": dt.datetime(2027, 3, 30),
        "time_zone": "Europe/Berlin",
        "is_all_day": True,
        "show_as": "oof",
        "sensitivity": "private",
        "categories": ("OpenAir",),
    }
    return EventDraft(**{**values, **changes})


def creates(count: int) -> list[EventWrite]:
    return [CreateEvent(draft=draft(n), transaction_id=f"tx-{n}") for n in range(count)]


def batch_items(request: httpx.Request) -> list[dict[str, Any]]:
    assert request.method == "POST"
    assert request.url.path == "/v1.0/$batch"
    items: list[dict[str, Any]] = json.loads(request.content)["requests"]
    return items


def answer(items: list[dict[str, Any]], status_for: Any = None) -> httpx.Response:
    """A $batch answer: 201 with an id per create unless `status_for(item)` says otherwise; reversed order."""
    responses = []
    for item in items:
        status, headers, body = (status_for(item) if status_for else None) or (201, {}, None)
        if body is None and status < 300 and item["method"] != "DELETE":
            body = {"id": f"ev-{item['body']['transactionId'] if 'transactionId' in item.get('body', {}) else 'x'}",
                    "changeKey": "ck"}  # fmt: skip
        responses.append({"id": item["id"], "status": status, "headers": headers, "body": body})
    return json_response(200, {"responses": list(reversed(responses))})


def test_batch_size_keeps_one_batch_within_the_mailbox_limit() -> None:
    assert batch_size(4) == 20
    assert [batch_size(n) for n in (1, 2, 3)] == [1, 2, 3]
    assert [slots_taken(n) for n in (1, 3, 4, 20)] == [1, 3, 4, 4]


async def test_writes_are_chunked_into_batches_of_20_with_full_event_bodies(fake_graph: GraphFactory) -> None:
    seen: list[list[dict[str, Any]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(batch_items(request))
        return answer(seen[-1])

    gateway, _ = fake_graph(handler)
    results = await gateway.apply("u1", creates(45))

    assert [len(items) for items in seen] == [20, 20, 5]
    assert gateway.requests_made == 3
    assert [r.event_id for r in results] == [f"ev-tx-{n}" for n in range(45)]
    assert all(r.status == 201 and r.ok and r.change_key == "ck" for r in results)
    first = seen[0][0]
    assert first["method"] == "POST"
    assert first["url"] == "/users/u1/events"
    body = first["body"]
    assert body["transactionId"] == "tx-0"
    assert body["singleValueExtendedProperties"] == [{"id": OPENAIR_PROPERTY_ID, "value": "openair:booking:0"}]
    assert body["start"] == {"dateTime": "2027-03-26T00:00:00", "timeZone": "Europe/Berlin"}
    assert body["end"] == {"dateTime": "2027-03-30T00:00:00", "timeZone": "Europe/Berlin"}
    assert body["isAllDay"] is True
    assert body["showAs"] == "oof"
    assert body["sensitivity"] == "private"
    assert body["categories"] == ["OpenAir"]
    assert body["body"] == {"contentType": "text", "content": "Customer: Contoso"}


async def test_updates_patch_full_fields_and_deletes_are_sent(fake_graph: GraphFactory) -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        items = batch_items(request)
        seen.extend(items)
        patched: Any = (200, {}, {"id": "e1", "changeKey": "ck2"})
        return answer(items, lambda item: patched if item["method"] == "PATCH" else (204, {}, None))

    gateway, _ = fake_graph(handler)
    results = await gateway.apply(
        "u1", [UpdateEvent(event_id="e1", draft=draft(1, categories=())), DeleteEvent(event_id="e2")]
    )

    assert [(i["method"], i["url"]) for i in seen] == [
        ("PATCH", "/users/u1/events/e1"),
        ("DELETE", "/users/u1/events/e2"),
    ]
    assert "transactionId" not in seen[0]["body"]  # cannot change after create
    assert seen[0]["body"]["categories"] == []  # the full rendering clears what OpenAir no longer has
    assert [(r.status, r.event_id, r.change_key) for r in results] == [(200, "e1", "ck2"), (204, "e2", None)]


async def test_inner_failures_come_back_per_item_in_order_and_only_throttled_items_are_resent(
    fake_graph: GraphFactory, sleep: RecordingSleep
) -> None:
    sent: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        items = batch_items(request)
        sent.append([i["method"] + " " + i["url"] for i in items])

        def status_for(item: dict[str, Any]) -> Any:
            body = item.get("body") or {}
            if body.get("transactionId") == "tx-1" and len(sent) == 1:
                return (
                    429,
                    {"Retry-After": "2.128"},
                    {"error": {"code": "ApplicationThrottled", "message": "slow down"}},
                )
            if body.get("transactionId") == "tx-2":
                return 400, {}, {"error": {"code": "ErrorInvalidRequest", "message": "bad zone"}}
            if item["method"] == "DELETE":
                return 404, {}, {"error": {"code": "ErrorItemNotFound", "message": "gone"}}
            return None

        return answer(items, status_for)

    gateway, _ = fake_graph(handler)
    writes = [*creates(3), DeleteEvent(event_id="old")]
    results = await gateway.apply("u1", writes)

    assert sleep.waits == [pytest.approx(2.128)]
    assert sent[1] == ["POST /users/u1/events"]  # only the throttled create went again
    assert [r.write for r in results] == writes
    assert [r.status for r in results] == [201, 201, 400, 404]
    assert (results[2].error_code, results[2].error_message) == ("ErrorInvalidRequest", "bad zone")
    assert results[3].done
    assert not results[3].ok
    assert results[3].event_id == "old"
    assert not results[2].done
    assert gateway.throttled_seen == 1


async def test_inner_429_beyond_the_budget_is_the_items_result(fake_graph: GraphFactory, sleep: RecordingSleep) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        no = (429, {"Retry-After": "4"}, {"error": {"code": "TooManyRequests", "message": "no"}})
        return answer(batch_items(request), lambda _: no)

    gateway, _ = fake_graph(handler, GRAPH_RETRY_BUDGET_SECONDS="10")
    results = await gateway.apply("u1", creates(2))

    assert sleep.waits == [4.0, 4.0]  # a third wait would pass the 10 s budget
    assert [(r.status, r.error_code) for r in results] == [(429, "TooManyRequests")] * 2
    assert gateway.requests_made == 3


async def test_a_failed_batch_request_fails_its_items_and_the_unsent_ones_without_losing_any(
    fake_graph: GraphFactory,
) -> None:
    calls = Counter[str]()

    def handler(request: httpx.Request) -> httpx.Response:
        calls["batch"] += 1
        if calls["batch"] == 2:
            return json_response(500, {"error": {"code": "InternalServerError", "message": "boom"}})
        return answer(batch_items(request))

    gateway, _ = fake_graph(handler)
    results = await gateway.apply("u1", creates(50))

    assert len(results) == 50
    assert all(r.status == 201 for r in results[:20])
    assert all(r.status == 500 and r.error_code == "InternalServerError" for r in results[20:])
    assert calls["batch"] == 2  # the third chunk was not sent after the mailbox failed


async def test_at_most_four_requests_in_flight_per_mailbox_counting_batch_items(fake_graph: GraphFactory) -> None:
    """One $batch (run four at a time by Outlook) per mailbox; single reads fill only the free slots."""
    in_flight: Counter[str] = Counter()
    peak: Counter[str] = Counter()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("$batch"):
            items = batch_items(request)
            mailbox, weight = items[0]["url"].split("/")[2], min(len(items), 4)
        else:
            mailbox, weight, items = request.url.path.split("/")[3], 1, []
        in_flight[mailbox] += weight
        peak[mailbox] = max(peak[mailbox], in_flight[mailbox])
        await asyncio.sleep(0.002)
        in_flight[mailbox] -= weight
        if items:
            return answer(items)
        return json_response(200, {"id": "e", "subject": "s"})

    gateway, _ = fake_graph(handler)
    writes = [gateway.apply(m, creates(60)) for m in ("a", "b")] * 2
    reads = [gateway.get_event(m, f"e{n}") for m in ("a", "b") for n in range(10)]
    await asyncio.gather(*writes, *reads)

    assert peak["a"] == 4
    assert peak["b"] == 4
    assert gateway.peak_in_flight("a") == 4


async def test_a_lower_in_flight_setting_shrinks_the_batches(fake_graph: GraphFactory) -> None:
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sizes.append(len(batch_items(request)))
        return answer(batch_items(request))

    gateway, _ = fake_graph(handler, GRAPH_MAX_IN_FLIGHT_PER_MAILBOX="2")
    await gateway.apply("u1", creates(5))
    assert sizes == [2, 2, 1]


async def test_a_batch_that_got_no_answer_is_sent_again_since_every_write_is_idempotent(
    fake_graph: GraphFactory, sleep: RecordingSleep
) -> None:
    calls = Counter[str]()

    def handler(request: httpx.Request) -> httpx.Response:
        calls["batch"] += 1
        if calls["batch"] == 1:
            raise httpx.ReadError("connection reset by peer")
        return answer(batch_items(request))

    gateway, _ = fake_graph(handler)
    results = await gateway.apply("u1", creates(3))
    assert [r.status for r in results] == [201] * 3
    assert len(sleep.waits) == 1


async def test_a_mailbox_that_never_answers_fails_every_item_within_the_budget(
    fake_graph: GraphFactory, sleep: RecordingSleep
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    gateway, _ = fake_graph(handler, GRAPH_RETRY_BUDGET_SECONDS="3")
    results = await gateway.apply("u1", creates(25))
    assert [(r.status, r.error_code) for r in results] == [(0, "ConnectError")] * 25
    assert sum(sleep.waits) <= 3
