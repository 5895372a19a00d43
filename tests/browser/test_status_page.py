"""The status page in a real browser: headless Chromium (Debian's `chromium`) driven by playwright-core, against
the local stack — Azurite, both simulators and `function_app.py` on the local host — as an administrator uses it.

The browser steps are in `status_page.mjs`; this module starts the stack, makes the state the page must show (an
export run, a row rejected by validation, a 500-user tenant), hands the script what the product's own data says
it must find, and checks its measurements. Screenshots go to `test-output/` (git-ignored).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.core.exceptions import ResourceExistsError

import shared.runtime
from sandbox.azurite import azurite
from sandbox.graph import GraphSimulator
from sandbox.graph.control import GraphControl
from sandbox.host.localhost import LocalHost
from sandbox.offline import map_users, product_settings
from sandbox.openair import OpenAirSimulator, SimulatorControl
from sandbox.processes import ROOT
from sandbox.sample import build
from shared.admin.status import build_status
from shared.runtime import Services, table_backend
from shared.secrets import EnvironmentSecrets
from shared.settings import StorageSettings, load
from shared.store.admin import USER_MAPPINGS, USER_PARTITION
from shared.store.store import SyncStore
from shared.store.tables import BatchOp, Row, TableBackend

ANCHOR = dt.date(2027, 3, 1)
SCRIPT = Path(__file__).with_name("status_page.mjs")
OUTPUT = ROOT / "test-output"
PAGE = "/api/manage/status-page"
# The rejected row an administrator might type in Storage Explorer: a switch as the text "yes please".
BAD_ROW = Row(USER_PARTITION, "9999", {"Mailbox": "late.joiner@contoso.com", "ExportBookings": "yes please"})
MAX_PAGE_BYTES = 50_000  # the whole page, stylesheet and script included, uncompressed (about 40 KB today)


def chromium() -> str:
    """The system's Chromium; `make test` installs Debian's package when it is missing (it never downloads one)."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Chromium is not installed: run `make test` (as root it installs Debian's chromium package) "
                    "or `apt-get install -y chromium`, or set CHROMIUM to a Chromium executable")  # fmt: skip
    return path


@dataclass
class Stack:
    host: LocalHost
    store: SyncStore
    tables: TableBackend  # the storage account as an administrator edits it (Storage Explorer)

    @property
    def key(self) -> str:
        # The host key opens every function-level route, as the admin key does on Azure.
        return self.host.keys.host

    @property
    def page_url(self) -> str:
        return self.host.base_url + PAGE


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    data = build(ANCHOR, users=12)
    # Graph takes only https webhook URLs; this host speaks plain http on loopback, as the import tests allow.
    openair, graph = OpenAirSimulator(data["openair"]), GraphSimulator(data["graph"], allow_http_loopback_webhooks=True)
    try:
        with azurite() as storage, pytest.MonkeyPatch.context() as patch:
            env = product_settings(
                storage.connection_string,
                openair.start(),
                graph.start(),
                WEBHOOK_CLIENT_STATE=secrets.token_urlsafe(32),
            )
            for name, value in env.items():
                patch.setenv(name, value)
            patch.setattr(shared.runtime, "_services", None)
            asyncio.run(map_users(env))
            store = Services(env, EnvironmentSecrets(env)).store()
            tables = table_backend(load(StorageSettings, env))
            with LocalHost("function_app:app", env, timers=False) as host:
                host.fire_timer("export_timer")
                host.drain_queues(timeout=90)
                tables.upsert(USER_MAPPINGS, BAD_ROW)
                # Import on for one user, so renewing subscriptions from the page subscribes their mailbox; Graph
                # reaches the webhook on this host (as the demo does it).
                patch.setenv("WEBHOOK_BASE_URL", host.base_url)
                patch.setenv("WEBHOOK_FUNCTION_KEY", host.keys.function)
                store.put_setting("ImportEnabled", True)
                users = sorted(store.load_mappings().users)
                store.write_mapping_status(users[-1], Import=True)
                fire_the_deletion_guard(host, store, SimulatorControl(env["OPENAIR_BASE_URL"]), users[-2])
                poison(env, users[-2])
                yield Stack(host, store, tables)
    finally:
        openair.stop()
        graph.stop()


def fire_the_deletion_guard(host: LocalHost, store: SyncStore, openair: SimulatorControl, user: str) -> None:
    """Two of the user's bookings deleted in OpenAir while MaxDeletionsPerRun is 1: the export deletes nothing."""
    store.put_setting("MaxDeletionsPerRun", 1)
    exported = sorted(key.removeprefix("booking:") for key in store.links(user) if key.startswith("booking:"))
    assert len(exported) >= 2
    for booking_id in exported[:2]:
        openair.delete("Booking", booking_id)
    host.fire_timer("export_timer")
    host.drain_queues(timeout=90)


def poison(env: dict[str, str], user: str) -> None:
    """A mailbox message that failed every delivery, as the host leaves it on the poison queue."""
    from azure.storage.queue import QueueClient

    with QueueClient.from_connection_string(env["AzureWebJobsStorage"], "export-mailbox-poison") as queue:
        with contextlib.suppress(ResourceExistsError):
            queue.create_queue()
        queue.send_message(json.dumps({"user_id": user, "mailbox_id": f"mailbox-of-{user}", "run_id": "run-x"}))


def drive(stack: Stack, scenario: str, expect: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node.js is needed for the browser tests"
    OUTPUT.mkdir(exist_ok=True)
    env = {**os.environ, "PAGE_URL": stack.page_url, "ADMIN_KEY": stack.key, "CHROMIUM": chromium(),
           "SCREENSHOT_DIR": str(OUTPUT), "SCENARIO": scenario, "EXPECT": json.dumps(expect),
           "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}  # fmt: skip
    done = subprocess.run([node, str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"browser check failed:\n{done.stderr[-4000:]}"
    measured: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    (OUTPUT / f"status-page-{scenario}.json").write_text(json.dumps(measured, indent=1), encoding="utf-8")
    return measured


def test_the_page_needs_the_admin_key_and_is_one_small_self_contained_document(stack: Stack) -> None:
    assert httpx.get(stack.page_url, timeout=30).status_code == 401
    assert httpx.get(stack.page_url, params={"code": "not-the-key"}, timeout=30).status_code == 401
    webhook_key = stack.host.keys.function  # WEBHOOK_FUNCTION_KEY here: in Graph's URLs, so it opens no admin route
    assert httpx.get(stack.page_url, params={"code": webhook_key}, timeout=30).status_code == 401
    answer = httpx.get(stack.page_url, headers={"x-functions-key": stack.key, "Accept-Encoding": "identity"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert len(answer.content) < MAX_PAGE_BYTES
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "http://" not in answer.text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in answer.text
    zipped = httpx.get(stack.page_url, headers={"x-functions-key": stack.key, "Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.text == answer.text


def test_an_administrator_sees_the_sample_tenant_and_previews_a_resync(stack: Stack) -> None:
    status = build_status(stack.store)
    users = sorted(status.users, key=lambda u: u.user_id)
    assert users
    rejected = next(r for r in status.rejected_rows if "'9999'" in r)
    target = users[0]  # not the user whose export the deletion guard stopped
    assert target.last_export
    assert status.alerts, "the deletion guard fired"
    # Someone deletes one of the target's events in Outlook: the preview must say the resync writes it again.
    mailbox = stack.store.load_mappings().users[target.user_id].mailbox_id
    with GraphControl(os.environ["GRAPH_BASE_URL"]) as graph:
        events = graph.events(mailbox)
        graph.delete_event(mailbox, events[0]["id"])
    measured = drive(stack, "sample", {"users": [u.name for u in users], "rejected": "yes please",
                                       "resync": {"id": target.user_id, "name": target.name},
                                       "state": status.state, "alert": status.alerts[0][:60],
                                       "poisoned": users[-2].user_id,
                                       "rejected_user": BAD_ROW.row_key})  # fmt: skip
    assert "yes please" in rejected
    assert status.state == "failing"  # an alert and a poisoned message (a rejected row alone is a warning)
    assert [u.user_id for u in status.rejected_users] == [BAD_ROW.row_key]
    assert (OUTPUT / "status-page.png").stat().st_size > 10_000
    assert measured["load_ms"] < 15_000, measured  # generous: the machine running the tests may be busy
    # One page request, then the status and the runs (and the sign-in probe): nothing else, nothing from elsewhere.
    assert measured["requests"][0] == PAGE
    assert {"/api/manage/status", "/api/manage/runs"} <= set(measured["requests"])
    assert "Would create 1, update 0 and delete 0 events" in measured["preview"], measured["preview"]
    assert re.search(r"deleted in outlook\s+1\b", measured["preview"]), measured["preview"]
    # Confirmed, the resync put the event back (the writes went through the queue to the mailbox worker).
    stack.host.drain_queues(timeout=90)
    with GraphControl(os.environ["GRAPH_BASE_URL"]) as graph:
        assert len(graph.events(mailbox)) == len(events)
    assert re.search(r"created\s+1\b", measured["renew"]), measured["renew"]  # the importing mailbox subscribed
    # The confirmed resync was recorded where `status` and `runs` read it.
    kinds = {r.kind for r in stack.store.recent_runs(50)}
    assert kinds & {"resync", "export-mailbox"}


def test_a_laptop_with_500_users(stack: Stack) -> None:
    """Five hundred mapping rows as Storage Explorer would hold them: listed, filtered and sorted in the browser."""
    now = dt.datetime.now(dt.UTC)
    rows = [Row(USER_PARTITION, f"7{n:04d}", {
        "Mailbox": f"person{n:04d}@contoso.com", "MailboxId": f"m-{n}", "MappedBy": "Email",
        "ExportBookings": True, "ExportTaskAssignments": n % 2 == 0, "ExportScheduleRequests": True,
        "Import": False, "OpenAirUserName": f"Person {n:04d}", "OpenAirEmail": f"person{n:04d}@contoso.com",
        "LastExport": now - dt.timedelta(minutes=n), "LastExportCounts": f"created {n % 7}",
    }) for n in range(500)]  # fmt: skip
    for first in range(0, len(rows), 100):  # one partition: transactions of at most 100 rows
        stack.tables.submit(USER_MAPPINGS, [BatchOp("upsert", row) for row in rows[first : first + 100]])
    mapped = len(build_status(stack.store).users)
    assert mapped >= 500
    measured = drive(stack, "tenant", {"users_count": mapped, "filter": "person 0123", "filtered": 1,
                                       "latest_export": "Person 0000"})  # fmt: skip
    # Generous bounds: the machine running the tests may be busy; the figures themselves are in test-output/.
    assert measured["load_ms"] < 15_000, measured
    assert measured["filter_ms"] < 3_000, measured
    assert measured["sort_ms"] < 3_000, measured
