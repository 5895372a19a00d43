"""The Graph simulator over real HTTP on loopback (httpx), checked against reference/graph.md."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import email.utils
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.graph import GraphSimulator
from sandbox.graph.control import GraphControl
from sandbox.processes import run_printing_url
from sandbox.sample import build
from tests.sandbox.receiver import receiver

PROP = "String {66f5a359-4659-4638-81f0-7cd4e4b8c4ce} Name OpenAirKey"
DATA = build(dt.date(2027, 3, 1), users=4)["graph"]
ALICE = DATA["users"][0]["id"]
BOB = DATA["users"][1]["id"]


@pytest.fixture
def sim() -> Iterator[GraphSimulator]:
    simulator = GraphSimulator(DATA, notification_backoff_s=0.05, allow_http_loopback_webhooks=True)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def graph(sim: GraphSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, headers={"Authorization": "Bearer t"}, trust_env=False, timeout=10) as client:
        yield client


@pytest.fixture
def control(sim: GraphSimulator) -> Iterator[GraphControl]:
    with GraphControl(sim.url) as client:
        yield client


def event(subject: str = "OA Booking", day: str = "2027-03-10", start: str = "09:00", end: str = "10:00",
          zone: str = "W. Europe Standard Time", **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "subject": subject,
        "start": {"dateTime": f"{day}T{start}:00", "timeZone": zone},
        "end": {"dateTime": f"{day}T{end}:00", "timeZone": zone},
        **extra,
    }


def tagged(key: str) -> list[dict[str, str]]:
    return [{"id": PROP, "value": key}]


# ----- auth and users -------------------------------------------------------------------------------------------


def test_missing_or_wrong_bearer_token_is_graphs_401() -> None:
    with GraphSimulator(DATA, token="secret") as sim:
        anonymous = httpx.get(sim.url + "/users", headers={"client-request-id": "abc"})
        assert anonymous.status_code == 401
        error = anonymous.json()["error"]
        assert error["code"] == "InvalidAuthenticationToken"
        assert error["innerError"]["client-request-id"] == "abc"
        assert error["innerError"]["request-id"] == anonymous.headers["request-id"]
        assert httpx.get(sim.url + "/users", headers={"Authorization": "Bearer other"}).status_code == 401
        ok = httpx.get(sim.url + "/users", headers={"Authorization": "Bearer secret"})
        assert ok.status_code == 200
        assert ok.headers["content-type"].startswith("application/json")


def test_users_page_with_skiptoken_select_and_filter(graph: httpx.Client) -> None:
    first = graph.get("/users", params={"$top": "2", "$select": "id,mail,proxyAddresses"}).json()
    assert [set(u) for u in first["value"]] == [{"id", "mail", "proxyAddresses"}] * 2
    assert "$skiptoken=" in first["@odata.nextLink"]
    rest = graph.get(first["@odata.nextLink"]).json()
    seen = [u["id"] for u in first["value"] + rest["value"]]
    assert len(seen) == len(set(seen))
    assert len(seen) >= 4
    mail = DATA["users"][1]["mail"]
    found = graph.get("/users", params={"$filter": f"mail eq '{mail}'"}).json()["value"]
    assert [u["id"] for u in found] == [BOB]
    by_upn = graph.get(f"/users/{mail.upper()}").json()
    assert by_upn["id"] == BOB
    assert graph.get("/users/nobody@contoso.com").json()["error"]["code"] == "Request_ResourceNotFound"
    zone = graph.get(f"/users/{BOB}/mailboxSettings/timeZone").json()["value"]
    assert zone == DATA["users"][1]["mailboxSettings"]["timeZone"]
    assert graph.get(f"/users/{BOB}/mailboxSettings").json()["timeZone"] == zone
    assert graph.get("/users/nobody@contoso.com/events").json()["error"]["code"] == "ErrorInvalidUser"


# ----- events ---------------------------------------------------------------------------------------------------


def test_event_crud_moves_change_key_and_modified_time(graph: httpx.Client) -> None:
    created = graph.post(f"/users/{ALICE}/events", json=event(showAs="tentative", categories=["OpenAir"]))
    assert created.status_code == 201
    body = created.json()
    assert len(body["id"]) > 100
    assert body["id"].startswith("AAMk")
    assert body["@odata.etag"] == f'W/"{body["changeKey"]}"'
    assert body["iCalUId"]
    assert body["createdDateTime"].endswith("Z")
    assert body["start"] == {"dateTime": "2027-03-10T08:00:00.0000000", "timeZone": "UTC"}
    assert (body["showAs"], body["type"], body["sensitivity"]) == ("tentative", "singleInstance", "normal")
    url = f"/users/{ALICE}/events/{body['id']}"
    patched = graph.patch(url, json={"subject": "moved", "sensitivity": "private"}).json()
    assert patched["changeKey"] != body["changeKey"]
    assert patched["lastModifiedDateTime"] > body["lastModifiedDateTime"]
    assert (patched["subject"], patched["showAs"], patched["sensitivity"]) == ("moved", "tentative", "private")
    again = graph.patch(url, json={"isAllDay": False}).json()
    assert again["changeKey"] != patched["changeKey"]
    assert graph.get(url).json()["changeKey"] == again["changeKey"]
    assert graph.get(f"/users/{ALICE}/calendar/events/{body['id']}").status_code == 200
    assert graph.delete(url).status_code == 204
    gone = graph.get(url)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "ErrorItemNotFound"
    assert graph.post(f"/users/{ALICE}/events", json={**event(), "colour": "red"}).status_code == 400
    assert graph.post(f"/users/{ALICE}/events", json=event(showAs="sleepy")).status_code == 400


def test_a_used_transaction_id_is_refused_even_after_its_event_was_deleted(
    graph: httpx.Client, control: GraphControl
) -> None:
    """A repeated transactionId answers ErrorDuplicateTransactionId (400; some clients see 409), never the first
    event (alcionai/corso#2490); the id stays used after the event is deleted."""
    first = graph.post(f"/users/{ALICE}/events", json=event(transactionId="oa-booking-1"))
    replay = graph.post(f"/users/{ALICE}/events", json=event(subject="retry", transactionId="oa-booking-1"))
    assert (first.status_code, replay.status_code) == (201, 400)
    assert replay.json()["error"]["code"] == "ErrorDuplicateTransactionId"
    assert replay.json()["error"]["innerError"]["request-id"]
    assert len(control.events(ALICE)) == 1
    other_mailbox = graph.post(f"/users/{BOB}/events", json=event(transactionId="oa-booking-1"))
    assert other_mailbox.status_code == 201
    assert graph.delete(f"/users/{ALICE}/events/{first.json()['id']}").status_code == 204
    control.set_options(duplicate_transaction_status=409)
    after_delete = graph.post(f"/users/{ALICE}/events", json=event(transactionId="oa-booking-1"))
    assert after_delete.status_code == 409
    assert after_delete.json()["error"]["code"] == "ErrorDuplicateTransactionId"
    assert control.events(ALICE) == []
    changed = graph.patch(f"/users/{BOB}/events/{other_mailbox.json()['id']}", json={"transactionId": "other"})
    assert changed.status_code == 400


def test_a_lost_answer_fault_carries_the_request_out(graph: httpx.Client, control: GraphControl) -> None:
    control.add_fault("lose", method="POST", path="events")
    with pytest.raises(httpx.TransportError):
        graph.post(f"/users/{ALICE}/events", json=event(subject="made, answer lost"))
    assert [e["subject"] for e in control.events(ALICE)] == ["made, answer lost"]


def test_extended_property_is_found_by_filter_and_returned_only_when_expanded(graph: httpx.Client) -> None:
    made = graph.post(f"/users/{ALICE}/events", json=event(singleValueExtendedProperties=tagged("openair:booking:1")))
    graph.post(f"/users/{ALICE}/events", json=event(singleValueExtendedProperties=tagged("openair:booking:2")))
    graph.post(f"/users/{ALICE}/events", json=event(subject="personal"))
    event_id = made.json()["id"]
    assert "singleValueExtendedProperties" not in made.json()

    def find(prop_id: str, value: str) -> list[dict[str, Any]]:
        query = f"singleValueExtendedProperties/Any(ep: ep/id eq '{prop_id}' and ep/value eq '{value}')"
        answer = graph.get(f"/users/{ALICE}/events", params={"$filter": query})
        assert answer.status_code == 200
        return list(answer.json()["value"])

    assert [e["id"] for e in find(PROP, "openair:booking:1")] == [event_id]
    assert find(PROP.replace("OpenAirKey", "openairkey"), "openair:booking:1") == []  # the name is case-sensitive
    assert [e["id"] for e in find(PROP.replace("66f5a359", "66F5A359"), "openair:booking:1")] == [event_id]
    expand = f"singleValueExtendedProperties($filter=id eq '{PROP}')"
    got = graph.get(f"/users/{ALICE}/events/{event_id}", params={"$expand": expand}).json()
    assert got["singleValueExtendedProperties"] == [{"id": PROP, "value": "openair:booking:1"}]
    assert "singleValueExtendedProperties" not in graph.get(f"/users/{ALICE}/events/{event_id}").json()
    listed = graph.get(f"/users/{ALICE}/events", params={"$expand": expand, "$select": "subject"}).json()["value"]
    assert sorted(e.get("singleValueExtendedProperties", [{}])[0].get("value", "") for e in listed) == [
        "", "openair:booking:1", "openair:booking:2"]  # fmt: skip
    assert set(listed[0]) >= {"id", "subject"}
    assert "body" not in listed[0]
    graph.patch(
        f"/users/{ALICE}/events/{event_id}", json={"singleValueExtendedProperties": tagged("openair:booking:9")}
    )
    assert [e["id"] for e in find(PROP, "openair:booking:9")] == [event_id]
    bad = graph.get(f"/users/{ALICE}/events", params={"$filter": "contains(subject, 'x')"})
    assert bad.status_code == 400


def test_time_validation_answers_like_graph(graph: httpx.Client) -> None:
    url = f"/users/{ALICE}/events"
    not_midnight = graph.post(url, json=event(start="00:00", end="12:00", isAllDay=True))
    assert not_midnight.status_code == 400
    assert not_midnight.json()["error"]["code"] == "ErrorPropertyValidationFailure"
    assert "midnight" in not_midnight.json()["error"]["message"]
    two_zones = {
        "isAllDay": True,
        "start": {"dateTime": "2027-03-10T00:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2027-03-12T00:00:00", "timeZone": "Pacific Standard Time"},
    }
    assert graph.post(url, json=two_zones).status_code == 400
    all_day = graph.post(
        url,
        json=event(start="00:00", end="00:00", day="2027-03-28", isAllDay=True, zone="Europe/Berlin")
        | {"end": {"dateTime": "2027-03-30T00:00:00", "timeZone": "Europe/Berlin"}},
    )
    assert all_day.status_code == 201
    assert all_day.json()["start"]["dateTime"] == "2027-03-28T00:00:00.0000000"  # floating: midnight in any zone
    backwards = graph.post(url, json=event(start="10:00", end="09:00"))
    assert backwards.status_code == 400
    assert backwards.json()["error"]["code"] == "ErrorInvalidRequest"
    unknown = graph.post(url, json=event(zone="Mars/Olympus Mons"))
    assert unknown.json()["error"]["code"] == "TimeZoneNotSupportedException"


def test_prefer_timezone_converts_across_the_berlin_dst_change(graph: httpx.Client) -> None:
    for day in ("2027-03-27", "2027-03-29"):
        graph.post(f"/users/{ALICE}/events", json=event(day=day, zone="Europe/Berlin"))
    window = {"startDateTime": "2027-03-26T00:00:00Z", "endDateTime": "2027-03-31T00:00:00Z"}
    utc = graph.get(f"/users/{ALICE}/calendarView", params=window).json()["value"]
    assert [e["start"]["dateTime"] for e in utc] == ["2027-03-27T08:00:00.0000000", "2027-03-29T07:00:00.0000000"]
    assert {e["start"]["timeZone"] for e in utc} == {"UTC"}
    prefer = {"Prefer": 'outlook.timezone="W. Europe Standard Time"'}
    local = graph.get(f"/users/{ALICE}/calendarView", params=window, headers=prefer)
    assert local.headers["Preference-Applied"] == 'outlook.timezone="W. Europe Standard Time"'
    assert [e["start"] for e in local.json()["value"]] == [
        {"dateTime": "2027-03-27T09:00:00.0000000", "timeZone": "W. Europe Standard Time"},
        {"dateTime": "2027-03-29T09:00:00.0000000", "timeZone": "W. Europe Standard Time"},
    ]
    text = graph.get(
        f"/users/{ALICE}/calendarView", params=window, headers={"Prefer": 'outlook.body-content-type="text"'}
    )
    assert text.json()["value"][0]["body"]["contentType"] == "text"


def test_recurring_series_expands_with_exceptions_and_cancellations(graph: httpx.Client, control: GraphControl) -> None:
    recurrence = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday", "wednesday"]},
        "range": {"type": "numbered", "startDate": "2027-03-22", "numberOfOccurrences": 6},
    }
    master = graph.post(
        f"/users/{ALICE}/events", json=event(day="2027-03-22", zone="Europe/Berlin", recurrence=recurrence)
    ).json()
    assert master["type"] == "seriesMaster"
    assert master["recurrence"]["pattern"]["type"] == "weekly"
    window = {"startDateTime": "2027-03-01T00:00:00Z", "endDateTime": "2027-05-01T00:00:00Z"}
    view = graph.get(f"/users/{ALICE}/calendarView", params=window | {"$top": "50"}).json()["value"]
    assert [e["type"] for e in view] == ["occurrence"] * 6
    assert {e["seriesMasterId"] for e in view} == {master["id"]}
    # 09:00 Berlin on both sides of the DST change (28 March 2027): 08:00 UTC then 07:00 UTC.
    assert [e["start"]["dateTime"][11:16] for e in view] == ["08:00", "08:00", "07:00", "07:00", "07:00", "07:00"]
    assert view[0]["originalStart"] == "2027-03-22T08:00:00Z"
    again = graph.get(f"/users/{ALICE}/calendarView", params=window | {"$top": "50"}).json()["value"]
    assert [e["id"] for e in again] == [e["id"] for e in view]  # occurrence ids are deterministic
    moved = graph.patch(f"/users/{ALICE}/events/{view[1]['id']}", json={"subject": "moved one"}).json()
    assert moved["type"] == "exception"
    assert moved["id"] == view[1]["id"]
    control.delete_event(ALICE, view[2]["id"])
    after = graph.get(f"/users/{ALICE}/calendarView", params=window | {"$top": "50"}).json()["value"]
    assert [e["type"] for e in after] == ["occurrence", "exception", "occurrence", "occurrence", "occurrence"]
    assert after[1]["subject"] == "moved one"
    assert view[2]["id"] not in {e["id"] for e in after}
    assert graph.get(f"/users/{ALICE}/events/{view[2]['id']}").status_code == 404
    instances = graph.get(f"/users/{ALICE}/events/{master['id']}/instances", params=window).json()["value"]
    assert len(instances) == 5
    listed = graph.get(f"/users/{ALICE}/events").json()["value"]
    assert [e["type"] for e in listed] == ["seriesMaster"]  # /events lists masters, not occurrences
    stored = control.event(ALICE, master["id"])
    assert len(stored["exceptions"]) == 1
    assert len(stored["cancelledOccurrences"]) == 1


# ----- delta ----------------------------------------------------------------------------------------------------


def test_calendar_view_delta_pages_tracks_changes_and_expires(graph: httpx.Client, control: GraphControl) -> None:
    ids = [graph.post(f"/users/{ALICE}/events", json=event(day=f"2027-03-1{i}")).json()["id"] for i in range(5)]
    url = f"/users/{ALICE}/calendarView/delta"
    window = {"startDateTime": "2027-03-01T00:00:00Z", "endDateTime": "2027-04-01T00:00:00Z"}
    small = {"Prefer": "odata.maxpagesize=2"}
    page = graph.get(url, params=window, headers=small)
    assert page.headers["Preference-Applied"] == "odata.maxpagesize=2"
    seen, pages = [e["id"] for e in page.json()["value"]], 1
    body = page.json()
    while "@odata.nextLink" in body:
        assert "$skiptoken=" in body["@odata.nextLink"]
        body = graph.get(body["@odata.nextLink"], headers=small).json()
        seen += [e["id"] for e in body["value"]]
        pages += 1
    assert pages == 3
    assert sorted(seen) == sorted(ids)
    delta_link = body["@odata.deltaLink"]
    assert "$deltatoken=" in delta_link
    assert graph.get(delta_link).json()["value"] == []
    graph.patch(f"/users/{ALICE}/events/{ids[0]}", json={"subject": "changed"})
    graph.delete(f"/users/{ALICE}/events/{ids[1]}")
    moved_out = event(day="2027-06-01")
    graph.patch(f"/users/{ALICE}/events/{ids[2]}", json={"start": moved_out["start"], "end": moved_out["end"]})
    new = graph.post(f"/users/{ALICE}/events", json=event(day="2027-03-20")).json()["id"]
    changes = graph.get(delta_link).json()
    removed = {e["id"] for e in changes["value"] if "@removed" in e}
    updated = {e["id"]: e for e in changes["value"] if "@removed" not in e}
    assert removed == {ids[1], ids[2]}
    assert set(updated) == {ids[0], new}
    assert updated[ids[0]]["subject"] == "changed"
    assert all(e["@removed"] == {"reason": "deleted"} for e in changes["value"] if "@removed" in e)
    assert graph.get(url + "()", params=window).status_code == 200  # msgraph-sdk calls it as delta()
    refused = graph.get(url, params=window | {"$select": "subject"})
    assert refused.status_code == 400
    control.expire_delta_tokens()
    expired = graph.get(changes["@odata.deltaLink"])
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "syncStateNotFound"
    assert expired.headers["Location"].endswith("$deltatoken=")
    restarted = graph.get(url, params=window).json()
    assert len(restarted["value"]) == 4
    assert "@odata.deltaLink" in restarted
    control.set_options(delta_expired_status=400)
    control.expire_delta_tokens()
    as_400 = graph.get(restarted["@odata.deltaLink"])
    assert as_400.status_code == 400
    assert as_400.json()["error"]["code"] == "SyncStateNotFound"


# ----- batch and throttling -------------------------------------------------------------------------------------


def test_batch_limits_content_type_and_dependencies(graph: httpx.Client, control: GraphControl) -> None:
    too_many = [{"id": str(i), "method": "GET", "url": f"/users/{ALICE}/events"} for i in range(21)]
    assert graph.post("/$batch", json={"requests": too_many}).status_code == 400
    control.reset_counters()
    requests = [
        {"id": "1", "method": "GET", "url": f"users/{ALICE}/events/AAMkAGnotthere"},
        {"id": "2", "method": "GET", "url": f"/users/{ALICE}/events", "dependsOn": ["1"]},
        {"id": "3", "method": "POST", "url": f"/users/{ALICE}/events", "body": event()},
        {"id": "4", "method": "POST", "url": f"/users/{ALICE}/events", "body": event(subject="ok"),
         "headers": {"Content-Type": "application/json"}},
        {"id": "5", "method": "GET", "url": f"/users/{ALICE}/events", "dependsOn": ["4"]},
    ]  # fmt: skip
    answer = graph.post("/$batch", json={"requests": requests})
    assert answer.status_code == 200
    by_id = {r["id"]: r for r in answer.json()["responses"]}
    assert by_id["1"]["status"] in (400, 404)
    assert by_id["2"]["status"] == 424
    assert by_id["3"]["status"] == 400  # a body needs a Content-Type
    assert by_id["4"]["status"] == 201
    assert by_id["4"]["body"]["subject"] == "ok"
    assert by_id["5"]["status"] == 200
    assert len(by_id["5"]["body"]["value"]) == 1
    counts = control.counters()
    assert counts["routes"] == {"POST /$batch": 1}
    assert counts["batch_items"]["POST /users/{id}/events"] == 1
    assert counts["http_total"] == 1
    # Graph wants item URLs relative to /v1.0; msgraph-core 1.5 sends absolute ones, which Graph refuses.
    absolute = [{"id": "a", "method": "GET", "url": f"{graph.base_url}users/{ALICE}/events"}]
    assert graph.post("/$batch", json={"requests": absolute}).json()["responses"][0]["status"] == 400


def test_batch_items_are_throttled_one_by_one(graph: httpx.Client, control: GraphControl) -> None:
    control.set_options(mailbox_budget=3, budget_window_s=60, retry_after_format="decimal")
    requests = [{"id": str(i), "method": "GET", "url": f"/users/{ALICE}/events"} for i in range(5)]
    requests.append({"id": "other", "method": "GET", "url": f"/users/{BOB}/events"})
    answer = graph.post("/$batch", json={"requests": requests})
    assert answer.status_code == 200
    statuses = {r["id"]: r for r in answer.json()["responses"]}
    throttled = [r for r in statuses.values() if r["status"] == 429]
    assert len(throttled) == 2
    assert all(float(r["headers"]["Retry-After"]) > 0 for r in throttled)
    assert throttled[0]["body"]["error"]["code"] == "TooManyRequests"
    assert statuses["other"]["status"] == 200  # one throttled mailbox does not affect another


@pytest.mark.parametrize("style", ["integer", "decimal", "http-date"])
def test_mailbox_budget_answers_429_with_retry_after_in_each_format(
    graph: httpx.Client, control: GraphControl, style: str
) -> None:
    control.set_options(mailbox_budget=2, budget_window_s=30, retry_after_format=style)
    codes = [graph.get(f"/users/{ALICE}/events").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    third = graph.get(f"/users/{ALICE}/events")
    value = third.headers["Retry-After"]
    if style == "integer":
        assert value.isdigit()
        assert 1 <= int(value) <= 30
    elif style == "decimal":
        assert 0 < float(value) <= 30
        assert "." in value
    else:
        assert email.utils.parsedate_to_datetime(value) > dt.datetime.now(dt.UTC)


def test_fifth_concurrent_request_to_a_mailbox_is_429_mailbox_concurrency(
    sim: GraphSimulator, control: GraphControl
) -> None:
    # Long enough that the six requests overlap even on a loaded machine.
    control.set_options(latency_ms=2500)

    def call(user: str) -> httpx.Response:
        with httpx.Client(base_url=sim.url, headers={"Authorization": "Bearer t"}, trust_env=False) as client:
            return client.get(f"/users/{user}/events")

    with concurrent.futures.ThreadPoolExecutor(7) as pool:
        alice = [pool.submit(call, ALICE) for _ in range(6)]
        bob = pool.submit(call, BOB)
        answers = [f.result() for f in alice]
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 429, 429]
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["error"]["code"] == "ApplicationThrottled"
    assert "MailboxConcurrency" in refused.json()["error"]["message"]
    assert float(refused.headers["Retry-After"]) > 0
    assert bob.result().status_code == 200


def test_injected_faults_answer_hang_or_drop_the_connection(graph: httpx.Client, control: GraphControl) -> None:
    control.add_fault("status", status=503, count=2, method="GET", path="/events")
    assert [graph.get(f"/users/{ALICE}/events").status_code for _ in range(3)] == [503, 503, 200]
    assert graph.get("/users").status_code == 200
    control.add_fault("status", status=429, retry_after=2.5, mailbox=BOB)
    assert graph.get(f"/users/{ALICE}/events").status_code == 200
    throttled = graph.get(f"/users/{BOB}/events")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2.5"
    control.add_fault("close")
    with pytest.raises(httpx.RemoteProtocolError):
        graph.get("/users")
    control.add_fault("hang", seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        graph.get("/users", timeout=0.2)
    assert graph.get("/users").status_code == 200


# ----- subscriptions and notifications --------------------------------------------------------------------------


def subscription(url: str, **extra: Any) -> dict[str, Any]:
    expiry = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    return {
        "changeType": "created,updated,deleted",
        "notificationUrl": url,
        "resource": f"users/{ALICE}/events",
        "expirationDateTime": expiry.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
        "clientState": "s3cret",
        **extra,
    }


def test_subscription_needs_the_validation_handshake(graph: httpx.Client) -> None:
    with receiver() as good:
        made = graph.post("/subscriptions", json=subscription(good.url + "/api/notify?code=fnkey"))
        assert made.status_code == 201, made.text
        assert made.json()["clientState"] == "s3cret"
        assert len(made.json()["id"]) == 36
        assert good.validations
        assert good.validations[0].startswith("Validation: Testing client")
        assert graph.get(f"/subscriptions/{made.json()['id']}").status_code == 200
        assert [s["id"] for s in graph.get("/subscriptions").json()["value"]] == [made.json()["id"]]
    with receiver(echo="wrong") as wrong:
        refused = graph.post("/subscriptions", json=subscription(wrong.url))
        assert refused.status_code == 400
        assert "validation" in refused.json()["error"]["message"].lower()
    with receiver(echo="500") as broken:
        assert graph.post("/subscriptions", json=subscription(broken.url)).status_code == 400
    assert graph.post("/subscriptions", json=subscription("http://example.com/hook")).status_code == 400
    with receiver() as ok:
        too_long = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10_081)
        late = subscription(ok.url, expirationDateTime=too_long.isoformat())
        assert graph.post("/subscriptions", json=late).status_code == 400
        assert graph.post("/subscriptions", json=subscription(ok.url, clientState="x" * 129)).status_code == 400
        assert graph.post("/subscriptions", json=subscription(ok.url, resource="users/x/messages")).status_code == 400
        assert (
            graph.post("/subscriptions", json=subscription(ok.url, resource=f"/Users/{ALICE}/Events")).status_code
            == 201
        )
        assert not ok.validations[:0]


def test_changes_are_notified_with_client_state_batched_and_retried(
    graph: httpx.Client, control: GraphControl, sim: GraphSimulator
) -> None:
    with receiver(fail_first=1) as hook:
        sub = graph.post("/subscriptions", json=subscription(hook.url + "/api/notify?code=fnkey")).json()
        created = graph.post(f"/users/{ALICE}/events", json=event()).json()
        control.update_event(ALICE, created["id"], {"subject": "edited in Outlook"})
        graph.post(f"/users/{BOB}/events", json=event())  # another mailbox: not subscribed
        assert control.wait_notifications(5)
        items = hook.wait_for(2)
        assert [i["changeType"] for i in items] == ["created", "updated"]
        first = items[0]
        assert first["clientState"] == "s3cret"
        assert first["subscriptionId"] == sub["id"]
        assert first["tenantId"] == DATA["tenantId"]
        assert first["resource"] == f"Users/{ALICE}/Events/{created['id']}"
        assert first["resourceData"] == {
            "@odata.type": "#Microsoft.Graph.Event",
            "@odata.id": f"Users/{ALICE}/Events/{created['id']}",
            "@odata.etag": created["@odata.etag"],
            "id": created["id"],
        }
        assert hook.posts[0]["query"] == {"code": "fnkey"}
        attempts = [d for d in control.notifications() if d["kind"] == "notification"]
        assert [d["status"] for d in attempts][:2] == [500, 202]  # the 500 was retried
        control.expire_subscription(sub["id"])
        graph.delete(f"/users/{ALICE}/events/{created['id']}")
        assert control.wait_notifications(5)
        assert len(hook.items()) == 2  # expired subscriptions stop notifying
        assert graph.get(f"/subscriptions/{sub['id']}").status_code == 404


def test_lifecycle_events_reach_the_lifecycle_url(graph: httpx.Client, control: GraphControl) -> None:
    with receiver() as hook, receiver() as lifecycle:
        sub = graph.post("/subscriptions", json=subscription(hook.url, lifecycleNotificationUrl=lifecycle.url)).json()
        assert len(lifecycle.validations) == 1
        control.lifecycle(sub["id"], "missed")
        control.lifecycle(sub["id"], "subscriptionRemoved")
        items = lifecycle.wait_for(2)
        assert [i["lifecycleEvent"] for i in items] == ["missed", "subscriptionRemoved"]
        assert set(items[0]) == {
            "subscriptionId",
            "subscriptionExpirationDateTime",
            "tenantId",
            "clientState",
            "lifecycleEvent",
        }
        assert items[0]["clientState"] == "s3cret"
        assert graph.get(f"/subscriptions/{sub['id']}").status_code == 404
        assert hook.items() == []


def test_subscription_renew_reauthorize_and_delete(graph: httpx.Client) -> None:
    with receiver() as hook:
        sub = graph.post("/subscriptions", json=subscription(hook.url)).json()
        later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
        renewed = graph.patch(f"/subscriptions/{sub['id']}", json={"expirationDateTime": later})
        assert renewed.status_code == 200
        assert renewed.json()["expirationDateTime"].startswith(later[:19])
        past = graph.patch(f"/subscriptions/{sub['id']}", json={"expirationDateTime": "2020-01-01T00:00:00Z"})
        assert past.status_code == 400
        assert graph.post(f"/subscriptions/{sub['id']}/reauthorize").status_code == 204
        assert graph.delete(f"/subscriptions/{sub['id']}").status_code == 204
        assert graph.delete(f"/subscriptions/{sub['id']}").status_code == 404


# ----- control API and the entry point --------------------------------------------------------------------------


def test_control_api_acts_as_the_user_and_inspects(graph: httpx.Client, control: GraphControl) -> None:
    invite = control.create_event(BOB, event(singleValueExtendedProperties=tagged("x"), isOrganizer=False,
                                             responseStatus={"response": "accepted"}))  # fmt: skip
    declined = control.decline(BOB, invite["id"])
    assert declined["responseStatus"]["response"] == "declined"
    assert declined["changeKey"] != invite["changeKey"]
    assert control.make_private(BOB, invite["id"])["sensitivity"] == "private"
    stored = control.events(BOB)
    assert stored[0]["singleValueExtendedProperties"] == [{"id": PROP, "value": "x"}]
    api_view = graph.get(f"/users/{BOB}/events/{invite['id']}").json()
    assert (api_view["sensitivity"], api_view["responseStatus"]["response"]) == ("private", "declined")
    mail = {"message": {"subject": "Sync report", "toRecipients": [{"emailAddress": {"address": "it@contoso.com"}}]}}
    assert graph.post(f"/users/{BOB}/sendMail", json=mail).status_code == 202
    assert control.sent_mail()[0]["message"]["subject"] == "Sync report"
    control.reset()
    assert control.events(BOB) == []
    assert control.sent_mail() == []


def test_entry_point_prints_its_url_first_and_stops_on_sigterm() -> None:
    with run_printing_url([sys.executable, "-m", "sandbox.graph", "--host", "127.0.0.1", "--port", "0"]) as started:
        assert started.first_line.startswith("http://127.0.0.1:")
        assert started.first_line.endswith("/v1.0")
        users = httpx.get(started.first_line + "/users", headers={"Authorization": "Bearer t"}, trust_env=False)
        assert users.status_code == 200
        assert users.json()["value"]
        proc = started.proc
    assert proc.returncode == 0


# ----- v1.0 shape (issue 13, item 6) ----------------------------------------------------------------------------


def test_v1_events_have_no_beta_ids_and_show_transaction_id_only_when_set(graph: httpx.Client) -> None:
    """v1.0 events have no `uid`/`occurrenceId` (beta only); `transactionId` is there only on events created with one
    (learn.microsoft.com/graph/api/resources/event?view=graph-rest-1.0)."""
    plain = graph.post(f"/users/{ALICE}/events", json=event()).json()
    keyed = graph.post(f"/users/{ALICE}/events", json=event(transactionId="oa-tx-1")).json()
    listed = {e["id"]: e for e in graph.get(f"/users/{ALICE}/events").json()["value"]}
    for shown in (plain, keyed, listed[plain["id"]], listed[keyed["id"]]):
        assert "uid" not in shown
        assert "occurrenceId" not in shown
    assert "transactionId" not in plain
    assert "transactionId" not in listed[plain["id"]]
    assert (keyed["transactionId"], listed[keyed["id"]]["transactionId"]) == ("oa-tx-1", "oa-tx-1")
    assert graph.post(f"/users/{ALICE}/events", json=event(uid="x")).status_code == 400  # not a v1.0 property


def test_an_error_inside_a_batch_carries_inner_error(graph: httpx.Client) -> None:
    requests = [
        {"id": "1", "method": "POST", "url": f"/users/{ALICE}/events", "body": event()},  # no Content-Type
        {"id": "2", "method": "GET", "url": f"/users/{ALICE}/events/AAMkAGnotthere"},
        {"id": "3", "method": "GET", "url": f"/users/{ALICE}/events", "dependsOn": ["2"]},
    ]
    answers = {r["id"]: r for r in graph.post("/$batch", json={"requests": requests}).json()["responses"]}
    assert [answers[i]["status"] for i in "123"] == [400, 400, 424]  # no Content-Type; malformed id; dependency
    for answer in answers.values():
        inner = answer["body"]["error"]["innerError"]
        assert inner["request-id"]
        assert inner["date"]


def test_webhook_urls_must_be_https_unless_loopback_http_is_explicitly_allowed(
    graph: httpx.Client, control: GraphControl
) -> None:
    """Graph posts to https endpoints only; a plain http one on loopback is a test convenience behind a flag."""
    with receiver() as hook:
        control.set_options(allow_http_loopback_webhooks=False)
        refused = graph.post("/subscriptions", json=subscription(hook.url))
        assert refused.status_code == 400
        assert "https" in refused.json()["error"]["message"]
        lifecycle = graph.post(
            "/subscriptions", json=subscription("https://hooks.example.com/n", lifecycleNotificationUrl=hook.url)
        )
        assert lifecycle.status_code == 400
        assert "lifecycleNotificationUrl" in lifecycle.json()["error"]["message"]
        assert not hook.validations  # refused before any handshake
        control.set_options(allow_http_loopback_webhooks=True)
        assert graph.post("/subscriptions", json=subscription(hook.url)).status_code == 201
