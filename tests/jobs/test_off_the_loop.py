"""No table call on the event loop (shared/store/offload.py): the timer, the queue workers and the admin routes run
here over an in-memory Table Storage that refuses any call made on a running loop's thread."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import shared.sync.importing.engine
from shared.admin import endpoints
from shared.jobs.contracts import ExportWork, ImportWork, encode
from shared.jobs.export import run_export_mailbox, run_export_timer
from shared.jobs.importing import run_import_mailbox
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets
from shared.store.store import SyncStore
from shared.sync.importing.report import ImportReport
from tests.sync.world import World


class Counted:
    requests_made = 0


def services_over(world: World) -> Services:
    """The app's services over the world's twins; its tables refuse calls on the event loop's thread."""
    world.tables.off_loop_only = True
    return Services({}, EnvironmentSecrets({}), _store=SyncStore(world.tables), _openair=world.openair,  # type: ignore[arg-type]
                    _calendar=world.calendar)  # type: ignore[arg-type]  # fmt: skip


async def test_the_export_timer_and_its_mailbox_workers_make_no_table_call_on_the_loop() -> None:
    world = World.build()
    world.booking("b1", "u1", dt.date(2026, 11, 23), dt.date(2026, 11, 25))
    services = services_over(world)
    result = await run_export_timer(services)
    assert len(result.messages) == 1
    for message in result.messages:
        await run_export_mailbox(services, message)
    assert len(world.calendar.events("mbx-u1")) == 1
    assert world.tables.calls_on_loop == []


async def test_a_paused_sync_and_a_poisoned_message_are_recorded_off_the_loop() -> None:
    world = World.build()
    services = services_over(world)
    answer = await endpoints.handle(endpoints.pause, services, endpoints.Request(body=b'{"reason": "test"}'))
    assert answer.status == 200
    assert (await run_export_timer(services)).messages == []  # paused: nothing planned
    await run_export_mailbox(services, encode(ExportWork(user_id="u1", mailbox_id="mbx-u1", run_id="r1")))
    answer = await endpoints.handle(endpoints.resume, services, endpoints.Request())
    assert answer.status == 200
    with pytest.raises(Exception, match="export"):
        await run_export_mailbox(services, b"not an export message", dequeue_count=5)
    assert world.tables.calls_on_loop == []


async def test_the_import_worker_makes_no_table_call_on_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    async def pass_(user_id: str, **_: Any) -> ImportReport:
        return ImportReport(user_id)

    monkeypatch.setattr(shared.sync.importing.engine, "import_mailbox", pass_)  # the engine: tests/importing
    world = World.build()
    services = services_over(world)
    services._calendar = Counted()  # type: ignore[assignment]
    services._openair_client = Counted()  # type: ignore[assignment]
    await run_import_mailbox(services, encode(ImportWork("u1", "mbx-u1", "notification")))
    assert world.tables.calls_on_loop == []


@pytest.mark.parametrize(
    ("handler", "request_"),
    [
        (endpoints.runs, endpoints.Request()),
        (endpoints.audit_trail, endpoints.Request()),
        (endpoints.operation, endpoints.Request(query={"id": "op-none"})),
        (endpoints.export, endpoints.Request(body=b'{"user": "u1", "dry_run": true}')),
        (endpoints.export, endpoints.Request(body=b"{}")),  # the whole tenant: recorded as queued
        (endpoints.resync, endpoints.Request(body=b'{"user": "u1", "dry_run": true}')),
    ],
)
async def test_the_admin_routes_make_no_table_call_on_the_loop(handler: Any, request_: endpoints.Request) -> None:
    world = World.build()
    world.booking("b1", "u1", dt.date(2026, 11, 23), dt.date(2026, 11, 25))
    answer = await endpoints.handle(handler, services_over(world), request_)
    assert answer.status < 500, answer.body
    assert world.tables.calls_on_loop == []
