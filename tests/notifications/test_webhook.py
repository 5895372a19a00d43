"""The webhook's logic without a host: hostile bodies are 4xx, a POST has a ceiling, repeats queue nothing twice."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.notifications.webhook import (
    MAX_JSON_DEPTH,
    MAX_NOTIFICATIONS_PER_POST,
    RecentNotifications,
    SubscriptionRef,
    WebhookAnswer,
    handle_lifecycle,
    handle_notifications,
)

STATE = "client-state-secret"
JSON = {"Content-Type": "application/json"}
OWNERS = {"sub-a": SubscriptionRef("u-a", "mbx-a"), "sub-b": SubscriptionRef("u-b", "mbx-b")}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def change(sub: str = "sub-a", event: str = "e1", etag: str | None = 'W/"v1"', kind: str = "updated") -> dict[str, Any]:
    data: dict[str, Any] = {"@odata.type": "#Microsoft.Graph.Event", "id": event}
    if etag is not None:
        data["@odata.etag"] = etag
    return {"subscriptionId": sub, "clientState": STATE, "changeType": kind, "resource": f"Users/x/Events/{event}",
            "resourceData": data}  # fmt: skip


def post(body: bytes | dict[str, Any], recent: RecentNotifications | None = None, *, lifecycle: bool = False
         ) -> WebhookAnswer:  # fmt: skip
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    handler = handle_lifecycle if lifecycle else handle_notifications
    return handler({}, JSON, raw, client_state=STATE, lookup=OWNERS.get, max_body_bytes=10_000_000, recent=recent)


@pytest.mark.parametrize("lifecycle", [False, True])
@pytest.mark.parametrize(
    "body",
    [
        b'{"value":' + b"[" * 100_000,  # the reported one: a RecursionError, answered 500
        b'{"value":' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # well-formed, and just as deep
        b'{"value":[' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"]}",
        b"[" * 1_000_000,
    ],
    ids=["unclosed", "closed", "objects", "bare"],
)
def test_json_nested_absurdly_deep_is_400_never_a_recursion_error(body: bytes, lifecycle: bool) -> None:
    answer = post(body, lifecycle=lifecycle)
    assert answer.status == 400
    assert answer.messages == []


def test_the_depth_bound_leaves_room_for_every_notification_graph_sends() -> None:
    def nested_to(depth: int) -> dict[str, Any]:
        inner: Any = {"deep": 1}
        for _ in range(depth - 5):  # {"value": [ {item {resourceData {"extra": ...}}}]} is 4 levels above it
            inner = {"n": inner}
        return {"value": [{**change(), "resourceData": {**change()["resourceData"], "extra": inner}}]}

    assert post(nested_to(MAX_JSON_DEPTH)).status == 202
    assert post(nested_to(MAX_JSON_DEPTH + 1)).status == 400
    # Brackets inside strings are text, not nesting.
    assert post({"value": [change(event="[[[[" * 5_000 + "{{{{" * 5_000)]}).status == 202


def test_more_notifications_than_graph_sends_in_one_post_are_refused_unread() -> None:
    looked_up: list[str] = []

    def lookup(sub: str) -> SubscriptionRef | None:
        looked_up.append(sub)
        return OWNERS.get(sub)

    many = json.dumps({"value": [change(event=f"e{i}") for i in range(MAX_NOTIFICATIONS_PER_POST + 1)]}).encode()
    answer = handle_notifications({}, JSON, many, client_state=STATE, lookup=lookup, max_body_bytes=10_000_000)
    assert (answer.status, answer.messages, looked_up) == (413, [], [])
    assert str(MAX_NOTIFICATIONS_PER_POST) in answer.body
    at_most = json.dumps({"value": [change(event=f"e{i}") for i in range(MAX_NOTIFICATIONS_PER_POST)]}).encode()
    answer = handle_notifications({}, JSON, at_most, client_state=STATE, lookup=lookup, max_body_bytes=10_000_000)
    assert (answer.status, answer.accepted, len(answer.messages)) == (202, MAX_NOTIFICATIONS_PER_POST, 1)


def test_the_same_notification_again_within_the_window_queues_nothing() -> None:
    clock = Clock()
    recent = RecentNotifications(window_seconds=10, clock=clock)
    first = post({"value": [change()]}, recent)
    assert (first.accepted, len(first.messages)) == (1, 1)
    replayed = post({"value": [change()]}, recent)  # Graph delivering again, or a captured POST replayed
    assert (replayed.status, replayed.repeated, replayed.messages) == (202, 1, [])
    # A new version of the event, another event, another change type or subscription: each is news.
    news = post({"value": [change(etag='W/"v2"'), change(event="e2"), change(kind="deleted"), change("sub-b")]},
                recent)  # fmt: skip
    assert (news.accepted, news.repeated, len(news.messages)) == (4, 0, 2)
    clock.now += 10.5
    assert len(post({"value": [change()]}, recent).messages) == 1, "after the window it is queued again"


def test_notifications_without_an_etag_are_never_collapsed() -> None:
    recent = RecentNotifications(window_seconds=10, clock=Clock())
    for _ in range(3):  # two updates of one event would look alike: each must reach a pass
        assert len(post({"value": [change(etag=None)]}, recent).messages) == 1


def test_forged_and_unknown_notifications_are_not_remembered() -> None:
    recent = RecentNotifications(window_seconds=10, clock=Clock())
    assert post({"value": [{**change(), "clientState": "forged"}]}, recent).forged == 1
    assert post({"value": [change()]}, recent).accepted == 1  # a forgery cannot pre-empt the real one


def test_a_replayed_lifecycle_event_is_acted_on_once() -> None:
    recent = RecentNotifications(window_seconds=10, clock=Clock())
    event = {"value": [{"subscriptionId": "sub-a", "clientState": STATE, "lifecycleEvent": "subscriptionRemoved",
                        "subscriptionExpirationDateTime": "2027-01-01T00:00:00Z"}]}  # fmt: skip
    assert len(post(event, recent, lifecycle=True).messages) == 1
    again = post(event, recent, lifecycle=True)
    assert (again.repeated, again.messages) == (1, [])


def test_the_memory_is_bounded() -> None:
    clock = Clock()
    recent = RecentNotifications(window_seconds=10, capacity=3, clock=clock)
    assert all(recent.first_time(k) for k in "abcd")  # d pushes a out
    assert recent.first_time("a")
    assert not recent.first_time("d")
