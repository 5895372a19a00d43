"""Through the local function host with Azurite: a poisoned mailbox, the webhook fuzzed over HTTP, the admin API
fuzzed from its OpenAPI description with schemathesis.

Schemathesis (pinned in requirements-dev.txt) runs offline: it reads docs/openapi.json from disk and calls the
local host on its loopback port.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from blueprints import importing as import_functions
from sandbox.host.localhost import LocalHost
from shared.store.importing import SubscriptionRecord
from tests.proof import ledger
from tests.proof.live import LiveTenant, backbone, tenant

ROOT = Path(__file__).resolve().parents[2]
CLIENT_STATE = "proof-client-state-4f1e"
FUNCTION_KEY = "proof-function-key-77a0"  # the administrators' key
WEBHOOK_KEY = "proof-webhook-key-3e51"  # Graph's: a key of the two webhook functions, refused by manage/*
MAX_BODY = 20_000


def fast_host_json() -> dict[str, Any]:
    """host.json with retries at once and three attempts, so a poisoned message takes seconds, not minutes."""
    config: dict[str, Any] = json.loads((ROOT / "host.json").read_text())
    config["extensions"]["queues"].update(visibilityTimeout="00:00:00", maxDequeueCount=3,
                                          maxPollingInterval="00:00:00.200")  # fmt: skip
    return config


@pytest.fixture(scope="module")
def hosted() -> Iterator[tuple[LiveTenant, LocalHost]]:
    extra = {"WEBHOOK_CLIENT_STATE": CLIENT_STATE, "WEBHOOK_FUNCTION_KEY": WEBHOOK_KEY,
             "FUNCTIONS_KEY__graph_notifications__graph": WEBHOOK_KEY,
             "FUNCTIONS_KEY__graph_lifecycle__graph": WEBHOOK_KEY,
             "FUNCTIONS_FUNCTION_KEY": FUNCTION_KEY, "QUEUE_MAX_DEQUEUE_COUNT": "3",
             "WEBHOOK_MAX_BODY_BYTES": str(MAX_BODY), "WEBHOOK_BASE_URL": "http://127.0.0.1:9"}  # fmt: skip
    with backbone(extra=extra) as bb, tenant(bb) as t, pytest.MonkeyPatch.context() as patch:
        patch.setattr(import_functions, "_directory", None)
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
        t.services.store().imports.put_subscription(SubscriptionRecord("sub-known", "u-known", "mbx-known", expires))
        with LocalHost("function_app:app", t.env, timers=False, host_json=fast_host_json()) as host:
            yield t, host


def key() -> dict[str, str]:
    return {"x-functions-key": FUNCTION_KEY}


# ---------------------------------------------------------------- poison


def test_a_mailbox_that_always_fails_is_poisoned_with_its_reason_in_status_and_the_rest_continue(
    hosted: tuple[LiveTenant, LocalHost],
) -> None:
    t, host = hosted
    mailboxes = t.mailboxes
    victim = sorted(mailboxes)[0]
    t.graph.add_fault("status", count=10_000, status=500, mailbox=mailboxes[victim], code="ErrorInternalServerError")
    try:
        host.fire_timer("export_timer")
        host.drain_queues(timeout=90)
    finally:
        t.graph.clear_faults()
    ledger.fault("graph 500 for one mailbox, every attempt", 3)
    others = {u: m for u, m in mailboxes.items() if u != victim}
    assert all(t.graph.events(m) for m in others.values()), "everyone else's events were written"
    assert not [e for e in t.graph.events(mailboxes[victim]) if e.get("singleValueExtendedProperties")]

    status = httpx.get(f"{host.base_url}/api/manage/status", headers=key(), timeout=30).json()
    assert status["healthy"] is False
    poisoned = status["poison"]["export-mailbox-poison"]
    assert [m["message"]["user_id"] for m in poisoned] == [victim]
    (run,) = [r for r in status["recent_runs"] if r["status"] == "poison"]
    assert run["user"] == victim
    assert "500" in run["first_error"] or "InternalServerError" in run["first_error"], run["first_error"]
    ledger.scenario("poison: one mailbox always failing")

    # Fixed: a resync of that user converges it, and nobody else is written again.
    answer = httpx.post(f"{host.base_url}/api/manage/resync", json={"user": victim}, headers=key(), timeout=60)
    assert answer.status_code == 202, answer.text
    host.drain_queues(timeout=60)
    assert t.graph.events(mailboxes[victim])


# ---------------------------------------------------------------- the webhook over HTTP


def _post(host: LocalHost, path: str, body: bytes, content_type: str, params: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{host.base_url}/api/graph/{path}", content=body, timeout=30,
                      params={"code": WEBHOOK_KEY, **params}, headers={"Content-Type": content_type})  # fmt: skip


hostile_text = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "\u202e<b>",
            "&lt;&#x3C;",
            "\x00\x01",
            "A" * 1100,
            '"><svg/onload=alert(1)>',
        ]
    ),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
notification = st.fixed_dictionaries(
    {"subscriptionId": st.sampled_from(["sub-known", "sub-unknown", ""]) | hostile_text,
     "clientState": st.sampled_from(["forged", "", CLIENT_STATE.upper(), CLIENT_STATE[:-1]]) | hostile_text},
    optional={"changeType": st.sampled_from(["created", "updated", "deleted"]) | hostile_text,
              "lifecycleEvent": st.sampled_from(["missed", "subscriptionRemoved", "reauthorizationRequired"]),
              "resource": hostile_text, "resourceData": json_values},
)  # fmt: skip
bodies = st.one_of(
    st.builds(lambda v: json.dumps({"value": v}).encode(), st.lists(notification, max_size=5)),
    st.builds(lambda v: json.dumps(v).encode(), json_values),
    st.binary(max_size=300),
    st.just(b"{" * 5000),
    st.just(json.dumps({"value": [{"subscriptionId": "sub-known", "clientState": "x" * 50}] * 400}).encode()),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["notifications", "lifecycle"]), body=bodies,
       content_type=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain",
                                     "text/html", ""]),
       token=st.none() | hostile_text)  # fmt: skip
def test_the_webhook_never_500s_never_enqueues_a_forgery_never_reflects_markup(
    hosted: tuple[LiveTenant, LocalHost], path: str, body: bytes, content_type: str, token: str | None
) -> None:
    host = hosted[1]
    before = host.invocations.count("import_mailbox")
    params = {"validationToken": token} if token is not None else {}
    answer = _post(host, path, body, content_type, params)
    ledger.fault("hostile webhook request")
    assert answer.status_code < 500, answer.text
    assert answer.headers.get("x-content-type-options") == "nosniff"
    assert answer.headers["content-type"].startswith("text/plain")
    if token is not None and answer.status_code == 200:
        assert answer.text == token  # the token only, as plain text
    # Every clientState above is wrong: nothing may reach the import queue.
    assert host.invocations.count("import_mailbox") == before


# ---------------------------------------------------------------- the admin API from its OpenAPI description


# Schemathesis's pytest plugin (`from_fixture`) does not run under pytest 9 ('Function' has no `_nodeid`), so its
# per-operation Hypothesis strategies are drawn here directly: the same generation, our own loop.
ADMIN = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.json")
OPERATIONS = {f"{op.method.upper()} {op.path}": op for op in (r.ok() for r in ADMIN.get_all_operations())}  # type: ignore[union-attr]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("name", sorted(OPERATIONS))
@settings(max_examples=6 if not ledger.DEEP else 200, deadline=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(data=st.data())
def test_admin_endpoints_fuzzed_from_openapi_never_500_and_always_need_the_key(
    hosted: tuple[LiveTenant, LocalHost], name: str, mode: GenerationMode, data: st.DataObject
) -> None:
    host = hosted[1]
    case = data.draw(OPERATIONS[name].as_strategy(generation_mode=mode))
    if case.query:
        case.query.pop("code", None)  # the key is ours to give or withhold
    with_key = case.call(base_url=host.base_url, headers=key(), timeout=60)
    assert with_key.status_code < 500 or with_key.status_code in (502, 503), (
        f"{name}: {with_key.status_code} {with_key.text[:300]}"
    )
    without = case.call(base_url=host.base_url, headers={"x-functions-key": ""}, timeout=60)
    assert without.status_code == 401, f"{name} answered {without.status_code} without a key"
    ledger.fault("fuzzed admin request", 2)
