"""A whole mailbox that is not there (licence removed, user deleted) answers a mailbox-level 404 on every request,
batch items included; the gateway tells it from an event-level 404 (ErrorItemNotFound), which means "this one
event is gone". Shapes: MailboxNotEnabledForRESTAPI (iyear/E5SubBot#39), ResourceNotFound for the same mailbox
(microsoft-graph-docs-contrib#4340), ErrorInvalidUser for a deleted user (microsoft-graph-docs-contrib#5460)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from sandbox.graph.control import ControlError
from shared.domain.events import CreateEvent, DeleteEvent, UpdateEvent
from shared.graph.errors import GraphNotFound, MailboxUnavailable
from shared.graph.gateway import CalendarGateway
from tests.graph.conftest import SIM_TOKEN
from tests.graph.test_sim_events import draft

WINDOW = (dt.datetime(2027, 3, 1, tzinfo=dt.UTC), dt.datetime(2027, 4, 1, tzinfo=dt.UTC))


def _raw(sim: Any, method: str, path: str) -> httpx.Response:
    with httpx.Client(trust_env=False) as http:
        return http.request(method, sim.url + path, headers={"Authorization": f"Bearer {SIM_TOKEN}"})


@pytest.mark.parametrize(
    ("state", "code", "answer"),
    [
        ("unlicensed", None, "MailboxNotEnabledForRESTAPI"),
        ("unlicensed", "ResourceNotFound", "ResourceNotFound"),
        ("deleted", None, "ErrorInvalidUser"),
    ],
)
async def test_a_mailbox_taken_away_answers_mailbox_level_404_and_keeps_its_events(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any], state: str, code: str | None, answer: str
) -> None:
    user = sample_graph["users"][0]["id"]
    (created,) = await sim_gateway.apply(user, [CreateEvent(draft=draft("openair:booking:7"), transaction_id="tx-7")])
    assert created.event_id
    control = sim.control_client

    control.set_mailbox_state(user, state, code=code)

    results = await sim_gateway.apply(user, [
        UpdateEvent(event_id=created.event_id, draft=draft("openair:booking:7", subject="moved")),
        DeleteEvent(event_id=created.event_id),
        CreateEvent(draft=draft("openair:booking:8"), transaction_id="tx-8"),
    ])  # fmt: skip
    assert [(r.status, r.error_code) for r in results] == [(404, answer)] * 3
    assert all(r.mailbox_unavailable for r in results)
    assert not any(r.event_gone or r.done for r in results)
    with pytest.raises(MailboxUnavailable, match="licence"):
        await sim_gateway.get_event(user, created.event_id)
    with pytest.raises(MailboxUnavailable):
        await sim_gateway.find_events_by_key(user, "openair:booking:7")
    with pytest.raises(MailboxUnavailable):
        await sim_gateway.delta(user, *WINDOW, None)
    assert _raw(sim, "GET", f"/users/{user}/events").json()["error"]["code"] == answer
    directory = _raw(sim, "GET", f"/users/{user}")
    listed = {m.id for m in await sim_gateway.list_mailboxes()}
    if state == "deleted":  # a deleted user leaves the directory too
        assert directory.status_code == 404
        assert user not in listed
    else:  # an unlicensed user is still in the directory; only the mailbox is gone
        assert directory.status_code == 200
        assert user in listed

    control.set_mailbox_state(user, "active")
    back = await sim_gateway.get_event(user, created.event_id)
    assert back is not None
    assert back.subject == draft("openair:booking:7").subject  # nothing was written while it was away


async def test_event_level_404_is_gone_not_mailbox_level(
    sim: Any, sim_gateway: CalendarGateway, sample_graph: dict[str, Any]
) -> None:
    user = sample_graph["users"][0]["id"]
    (created,) = await sim_gateway.apply(user, [CreateEvent(draft=draft("openair:booking:9"), transaction_id="tx-9")])
    assert created.event_id
    sim.control_client.delete_event(user, created.event_id)

    (deleted,) = await sim_gateway.apply(user, [DeleteEvent(event_id=created.event_id)])
    assert (deleted.status, deleted.error_code) == (404, "ErrorItemNotFound")
    assert deleted.event_gone
    assert deleted.done
    assert not deleted.mailbox_unavailable
    assert await sim_gateway.get_event(user, created.event_id) is None


def test_an_unlicensed_mailbox_refuses_subscriptions(sim: Any, sample_graph: dict[str, Any]) -> None:
    user = sample_graph["users"][0]["id"]
    sim.control_client.set_mailbox_state(user, "unlicensed")
    body = {
        "changeType": "created,updated,deleted",
        "notificationUrl": "https://127.0.0.1:9/api/graph/notifications",
        "resource": f"users/{user}/events",
        "expirationDateTime": (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat(),
        "clientState": "s",
    }
    with httpx.Client(trust_env=False) as http:
        answer = http.post(sim.url + "/subscriptions", json=body, headers={"Authorization": f"Bearer {SIM_TOKEN}"})
    assert answer.status_code == 404
    assert "REST API is not yet supported for this mailbox" in answer.json()["error"]["message"]


def test_the_control_api_refuses_unknown_states(sim: Any, sample_graph: dict[str, Any]) -> None:
    with pytest.raises(ControlError, match="mailbox state"):
        sim.control_client.set_mailbox_state(sample_graph["users"][0]["id"], "archived")


def test_mailbox_unavailable_is_a_not_found() -> None:
    # Callers that treat "not found" generally (a subscription already gone) keep working.
    assert issubclass(MailboxUnavailable, GraphNotFound)
