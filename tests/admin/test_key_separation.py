"""The keys outsiders hold open only their own routes, proved through the local host (issue: key separation).

Graph holds the key in every subscription's notification and lifecycle URL; OpenAir's form script holds the push
key. Both are checked as Azure issues them: per-function keys (a key set on both Graph functions, another on the
push function) and host keys (what `azd provision` creates, since function keys cannot exist before the code).
Either way neither opens a `manage/*` route nor the other's route, and the administrators' host key still works.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

import function_app
from sandbox.host.loader import functions_of
from shared.cli.main import main
from shared.jobs.importing import endpoints
from shared.runtime import services
from tests.admin.live import Live, live_world

GRAPH_KEY = "graph-key-3c9e1a7b5d2f4e60"
PUSH_KEY = "push-key-8b1d4f6a2c9e7031"
ADMIN_KEY = "hostkey-a8c3e1f0d2b94c57"  # FUNCTIONS_HOST_KEY in tests/admin/live.py: the host `default` key


def _manage_routes() -> list[tuple[str, str]]:
    """Every admin route the app declares (a new one is covered the day it lands), with one of its methods."""
    routes = []
    for function in functions_of(function_app.app):
        trigger = function.get_trigger()
        route = str(getattr(trigger, "route", "") or "")
        if trigger is not None and trigger.get_binding_name() == "httpTrigger" and route.startswith("manage/"):
            methods = sorted(str(getattr(m, "value", m)) for m in getattr(trigger, "methods", None) or ["GET"])
            routes.append((methods[0], route.removeprefix("manage/")))
    return sorted(routes)


MANAGE = _manage_routes()
APP_KEYS = {"WEBHOOK_FUNCTION_KEY": GRAPH_KEY, "OPENAIR_PUSH_KEY": PUSH_KEY, "OPENAIR_PUSH_SECRET": "push-secret"}
PER_FUNCTION = {
    "FUNCTIONS_KEY__graph_notifications__graph": GRAPH_KEY,
    "FUNCTIONS_KEY__graph_lifecycle__graph": GRAPH_KEY,
    "FUNCTIONS_KEY__openair_changed__openair": PUSH_KEY,
}
AS_HOST_KEYS = {"FUNCTIONS_HOST_KEY__graph-webhook": GRAPH_KEY, "FUNCTIONS_HOST_KEY__openair-push": PUSH_KEY}


@pytest.fixture(scope="module", params=["per-function keys", "host keys"])
def live(request: pytest.FixtureRequest) -> Iterator[Live]:
    keys = PER_FUNCTION if request.param == "per-function keys" else AS_HOST_KEYS
    with live_world(users=2, extra={**APP_KEYS, **keys, "WEBHOOK_BASE_URL": "http://127.0.0.1:9"}) as world:
        yield world


def call(live: Live, method: str, route: str, key: str, content: bytes = b"") -> httpx.Response:
    url = f"{live.host.base_url}/api/{route}"
    return httpx.request(method, url, params={"code": key}, content=content, timeout=60)


def validation(live: Live, route: str, key: str) -> httpx.Response:
    url = f"{live.host.base_url}/api/{route}"
    return httpx.post(url, params={"code": key, "validationToken": "token-1"}, timeout=60)


def test_the_subscription_urls_carry_one_key_that_opens_both_graph_routes(live: Live) -> None:
    urls = endpoints(services())
    for url in (urls.notification_url, urls.lifecycle_url):
        assert url.endswith(f"?code={GRAPH_KEY}")
        path = url.removeprefix("http://127.0.0.1:9")
        answered = httpx.post(f"{live.host.base_url}{path}&validationToken=token-1", timeout=60)  # URL as Graph has it
        assert (answered.status_code, answered.text) == (200, "token-1"), path


@pytest.mark.parametrize(("method", "route"), MANAGE)
def test_the_outsiders_keys_open_no_admin_route(live: Live, method: str, route: str) -> None:
    for key in (GRAPH_KEY, PUSH_KEY):
        assert call(live, method, f"manage/{route}", key).status_code == 401, (key, route)


def test_each_outsider_key_opens_only_its_own_routes(live: Live) -> None:
    assert validation(live, "graph/notifications", PUSH_KEY).status_code == 401
    assert validation(live, "graph/lifecycle", PUSH_KEY).status_code == 401
    graph_on_push = call(live, "POST", "openair/changed", GRAPH_KEY, content=b"{}")
    assert graph_on_push.status_code == 401
    push = call(live, "POST", "openair/changed", PUSH_KEY, content=b"{}")
    assert push.status_code == 401  # let in by the key, then refused for the missing signature
    assert "X-OpenAir-Signature" in push.json()["error"]


def test_the_administrators_host_key_opens_the_admin_api_but_not_the_outsiders_routes(live: Live) -> None:
    assert call(live, "GET", "manage/status", ADMIN_KEY).status_code == 200
    assert validation(live, "graph/notifications", ADMIN_KEY).status_code == 401
    assert call(live, "POST", "openair/changed", ADMIN_KEY, content=b"{}").status_code == 401


def test_check_finds_both_graph_routes_open_to_the_key_and_the_admin_api_closed(
    live: Live, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--json", "check"], environ={**live.env, "WEBHOOK_BASE_URL": live.host.base_url})
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["Webhook URL"]["outcome"] == "ok", checks["Webhook URL"]
    assert "/api/graph/lifecycle" in checks["Webhook URL"]["message"]
