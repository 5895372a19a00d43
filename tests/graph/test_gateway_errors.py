"""Single requests over a fake network: Retry-After honoured by our middleware, errors typed, paging, delta."""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from typing import Any

import httpx
import pytest

from shared.graph.errors import DeltaExpired, GraphAuthError, GraphNotFound, GraphThrottled
from tests.graph.conftest import GraphFactory, RecordingSleep, json_response

USER = {"id": "u1", "userPrincipalName": "ava@contoso.com", "mail": "ava@contoso.com", "displayName": "Ava",
        "proxyAddresses": ["SMTP:ava@contoso.com", "smtp:a@contoso.com"]}  # fmt: skip


def throttled(retry_after: str | None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return json_response(429, {"error": {"code": "ApplicationThrottled", "message": "MailboxConcurrency"}}, headers)


async def test_decimal_retry_after_is_honoured_on_single_requests(
    fake_graph: GraphFactory, sleep: RecordingSleep
) -> None:
    answers = iter([throttled("2.128"), json_response(200, {"value": [USER]})])
    gateway, client = fake_graph(lambda request: next(answers))

    mailboxes = await gateway.list_mailboxes()

    assert sleep.waits == [pytest.approx(2.128)]  # kiota's own handler would have waited its back-off instead
    assert [m.id for m in mailboxes] == ["u1"]
    assert mailboxes[0].addresses() == {"ava@contoso.com", "a@contoso.com"}
    assert (gateway.requests_made, gateway.throttled_seen) == (2, 1)
    assert client.traffic.requests == 2


async def test_http_date_and_missing_retry_after_both_wait(fake_graph: GraphFactory, sleep: RecordingSleep) -> None:
    in_five = email.utils.formatdate(time.time() + 5, usegmt=True)
    answers = iter([throttled(in_five), throttled(None), json_response(200, {"timeZone": "W. Europe Standard Time"})])
    gateway, _ = fake_graph(lambda request: next(answers))

    assert await gateway.mailbox_time_zone("u1") == "W. Europe Standard Time"
    assert 3.5 < sleep.waits[0] <= 5.0
    assert 0.5 <= sleep.waits[1] <= 1.0  # back-off step 2 with jitter


async def test_throttling_past_the_budget_raises_graph_throttled(
    fake_graph: GraphFactory, sleep: RecordingSleep
) -> None:
    gateway, _ = fake_graph(lambda request: throttled("3"), GRAPH_RETRY_BUDGET_SECONDS="7")

    with pytest.raises(GraphThrottled, match="GRAPH_RETRY_BUDGET_SECONDS") as caught:
        await gateway.mailbox_time_zone("u1")
    assert sleep.waits == [3.0, 3.0]
    assert caught.value.status == 429
    assert gateway.requests_made == 3


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failures_say_what_to_check(fake_graph: GraphFactory, status: int) -> None:
    body = {"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}}
    gateway, _ = fake_graph(lambda request: json_response(status, body))

    with pytest.raises(GraphAuthError) as caught:
        await gateway.list_mailboxes()
    text = str(caught.value)
    assert "application permissions" in text
    assert "admin" in text
    assert "RBAC for Applications" in text
    assert caught.value.code == "ErrorAccessDenied"


async def test_a_gone_event_is_none_but_an_unknown_mailbox_raises(fake_graph: GraphFactory) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "/users/ghost/" in request.url.path:
            return json_response(404, {"error": {"code": "ErrorInvalidUser", "message": "no such user"}})
        return json_response(404, {"error": {"code": "ErrorItemNotFound", "message": "not found"}})

    gateway, _ = fake_graph(handler)
    assert await gateway.get_event("u1", "AAMk-gone") is None
    with pytest.raises(GraphNotFound, match="ErrorInvalidUser"):
        await gateway.get_event("ghost", "AAMk-any")


async def test_users_are_paged_to_the_end_with_select(fake_graph: GraphFactory) -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if "skiptoken" not in str(request.url):
            next_link = f"{request.url.scheme}://{request.url.host}:{request.url.port}/v1.0/users?$skiptoken=p2"
            return json_response(200, {"value": [USER], "@odata.nextLink": next_link})
        return json_response(200, {"value": [{**USER, "id": "u2", "proxyAddresses": []}]})

    gateway, _ = fake_graph(handler)
    assert [m.id for m in await gateway.list_mailboxes()] == ["u1", "u2"]
    assert seen[0].params["$select"] == "id,mail,userPrincipalName,displayName,proxyAddresses"


def delta_page(
    items: list[dict[str, Any]], *, next_link: str | None = None, delta_link: str | None = None
) -> httpx.Response:
    body: dict[str, object] = {"value": items}
    if next_link:
        body["@odata.nextLink"] = next_link
    if delta_link:
        body["@odata.deltaLink"] = delta_link
    return json_response(200, body)


async def test_delta_follows_next_links_and_collects_removed_ids(fake_graph: GraphFactory) -> None:
    base = "http://127.0.0.1:9/v1.0/users/u1/calendarView/delta"
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if "skiptoken" not in str(request.url):
            event = {
                "id": "e1",
                "subject": "first",
                "start": {"dateTime": "2027-03-29T07:00:00.0000000", "timeZone": "UTC"},
            }
            return delta_page(
                [event, {"id": "gone", "@removed": {"reason": "deleted"}}], next_link=f"{base}?$skiptoken=2"
            )
        occurrence = {"id": "o1", "type": "occurrence", "seriesMasterId": "m1", "originalStart": "2027-03-29T07:00:00Z"}
        return delta_page([occurrence, {"id": "e1", "subject": "edited"}], delta_link=f"{base}?$deltatoken=abc")

    gateway, _ = fake_graph(handler)
    start = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    result = await gateway.delta("u1", start, start + dt.timedelta(days=60), None, page_size=2)

    assert result.delta_link.endswith("$deltatoken=abc")
    assert result.removed_ids == ("gone",)
    by_id = {e.id: e for e in result.events}
    assert by_id["e1"].subject == "edited"  # the later report of an id wins
    assert (by_id["o1"].type, by_id["o1"].series_master_id) == ("occurrence", "m1")
    assert by_id["o1"].original_start == dt.datetime(2027, 3, 29, 7, tzinfo=dt.UTC)
    first = requests[0]
    assert first.url.params["startDateTime"] == "2027-03-01T00:00:00Z"
    assert first.url.params["endDateTime"] == "2027-04-30T00:00:00Z"
    for request in requests:
        prefer = request.headers["Prefer"]
        assert "odata.maxpagesize=2" in prefer
        assert 'outlook.timezone="UTC"' in prefer


@pytest.mark.parametrize(
    ("status", "code"),
    [(410, "Gone"), (400, "SyncStateNotFound"), (404, "syncStateNotFound"), (400, "resyncRequired")],
)
async def test_an_expired_delta_link_raises_delta_expired(fake_graph: GraphFactory, status: int, code: str) -> None:
    gateway, _ = fake_graph(lambda request: json_response(status, {"error": {"code": code, "message": "expired"}}))
    link = "http://127.0.0.1:9/v1.0/users/u1/calendarView/delta?$deltatoken=old"
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(DeltaExpired, match="fresh delta"):
        await gateway.delta("u1", now, now, link)
