"""`check` tells the truth about a deployment: each probe is bounded, and it says whether Graph access is scoped.

Exchange RBAC for Applications refuses mailboxes outside the app's management scope with 403 ErrorAccessDenied;
the Graph simulator's `access_scope` option does the same, so `check` is tried against scoped and unscoped access.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from shared.admin import check
from shared.cli.main import main
from tests.admin.live import Live, live_world


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    with live_world(users=4) as world:
        yield world


def run_check(environ: dict[str, str], capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, str]]:
    main(["--json", "check"], environ=environ)
    return {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}


def mailboxes(live: Live) -> list[str]:
    return sorted(m.mailbox_id for m in live.store.load_mappings().users.values() if m.mailbox_id)


def test_access_that_reaches_a_mailbox_outside_the_group_is_reported_unscoped(
    live: Live, capsys: pytest.CaptureFixture[str]
) -> None:
    live.graph.set_options(access_scope=None)
    outside = mailboxes(live)[-1]
    checks = run_check({**live.env, "CHECK_UNSCOPED_MAILBOX": outside}, capsys)
    assert checks["Graph: access scope"]["outcome"] == "warning"
    assert f"not scoped: mailbox {outside}" in checks["Graph: access scope"]["message"]
    assert "Exchange RBAC for Applications" in checks["Graph: access scope"]["message"]


def test_access_scoped_with_exchange_rbac_is_reported_scoped(live: Live, capsys: pytest.CaptureFixture[str]) -> None:
    *inside, outside = mailboxes(live)
    live.graph.set_options(access_scope=inside)
    try:
        checks = run_check({**live.env, "CHECK_UNSCOPED_MAILBOX": outside}, capsys)
    finally:
        live.graph.set_options(access_scope=None)
    assert checks["Graph: access scope"]["outcome"] == "ok", checks["Graph: access scope"]
    assert checks["Graph: mailbox calendar"]["outcome"] == "ok"  # a mapped mailbox inside the scope still works


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback port that accepts connections and never answers (a host behind a black-holing firewall)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def test_an_unanswering_service_fails_its_probe_at_the_bound_with_what_to_check(
    live: Live, silent_server: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(check, "PROBE_SECONDS", 1.0)  # 15 s in production; the rule, not the number, is tested
    checks = run_check({**live.env, "OPENAIR_BASE_URL": silent_server}, capsys)
    assert checks["OpenAir API"]["outcome"] == "failed"
    assert checks["OpenAir API"]["message"] == "no answer within 1 s; check OPENAIR_BASE_URL and that OpenAir is " \
        "reachable from the app"  # fmt: skip
    assert checks["Table storage"]["outcome"] == "ok"  # the other probes still ran
