"""Every log record of an end-to-end run — host, engine, SDKs, admin endpoints — is searched for the secrets
and the event bodies that run used: none may appear."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from sandbox.azurite import ACCOUNT_KEY
from shared.cli.main import main
from shared.logging_setup import log_context
from tests.admin.live import SECRETS, Live, live_world
from tests.logcapture import on_root


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> Iterator[str]:
        formatter = logging.Formatter()
        for record in self.records:
            yield record.getMessage()
            if record.exc_info:
                yield formatter.formatException(record.exc_info)
            yield from (repr(value) for value in vars(record).values())


@pytest.fixture
def captured() -> Iterator[Capture]:
    with on_root(Capture()) as handler:
        yield handler


def test_no_secret_token_or_event_body_is_ever_logged(captured: Capture) -> None:
    with live_world(users=5, mapped=False) as live:
        drive(live)
        bodies = {str(e["body"]["content"]) for m in live.store.load_mappings().users.values()
                  for e in live.graph.events(m.mailbox_id) if len(str(e["body"]["content"])) >= 12}  # fmt: skip
        notes = {str(b["notes"]) for b in live.openair.records("Booking") if len(str(b.get("notes") or "")) >= 12}
        secrets = {**SECRETS, "OPENAIR_PASSWORD": live.env["OPENAIR_PASSWORD"],
                   "OPENAIR_API_KEY": live.env["OPENAIR_API_KEY"], "storage account key": ACCOUNT_KEY}  # fmt: skip
    assert bodies, "the run wrote no event with a body: nothing was tested"
    assert notes
    assert len(captured.records) > 50, "too few records captured: the test would prove nothing"
    text = "\n".join(captured.texts())
    leaked = [name for name, value in secrets.items() if value in text]
    assert leaked == [], f"secrets in logs: {leaked}"
    assert [b for b in bodies if b in text] == [], "event bodies in logs"
    assert [n for n in notes if n in text] == [], "OpenAir notes (event bodies) in logs"
    stamped = [r for r in captured.records if getattr(r, "sync_function", "")]
    assert stamped, "no record carried the function context"


def drive(live: Live) -> None:
    key = live.key
    assert httpx.post(f"{live.url}/mappings/refresh", json={}, headers=key, timeout=60).status_code == 202
    live.host.drain_queues(timeout=90)  # the refresh runs on the operations queue
    live.graph.add_fault("status", status=503, count=2)  # a failure path logs too
    assert httpx.post(f"{live.url}/sync/export", json={}, headers=key, timeout=60).status_code == 202
    live.host.drain_queues(timeout=90)
    booking = next(b for b in live.openair.records("Booking") if b["userid"] in live.store.load_mappings().users)
    live.openair.modify("Booking", booking["id"], {"notes": "Confidential: client merger talks, do not share."})
    live.host.fire_timer("export_timer")
    live.host.drain_queues(timeout=90)
    user = str(booking["userid"])
    assert httpx.post(f"{live.url}/resync", json={"user": user, "mode": "recreate", "confirm": True}, headers=key,
                      timeout=60).status_code == 202  # fmt: skip
    live.host.drain_queues(timeout=90)
    httpx.get(f"{live.url}/status", headers=key, timeout=60)
    httpx.get(f"{live.url}/check", params={"code": live.host.keys.master}, timeout=60)  # a key in the query string
    httpx.post(f"{live.url}/resync", json={"mode": "nope"}, headers=key, timeout=60)
    with log_context(function="test-cli"):
        main(["--verbose", "check"], environ={**live.env, "OPENAIR_PASSWORD": live.env["OPENAIR_PASSWORD"]})
        main(["--verbose", "--json", "resync", "--user", user], environ=live.env)
