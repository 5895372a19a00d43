"""The run recorder: one status rule, one poison rule, and every log record of every worker names its run and user."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import pytest

import shared.openair.by_id
import shared.sync.importing.engine
import shared.sync.mailbox
import shared.sync.targeted
from shared.domain.runs import RunRecord, status_of
from shared.errors import BadMessage
from shared.jobs import export, importing, push
from shared.jobs.contracts import ImportWork, RecordWork, encode
from shared.jobs.runs import Run, is_final
from shared.kinds import RecordKind
from shared.logging_setup import configure_logging
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets
from shared.store.store import SyncStore
from shared.sync.importing.report import ImportReport
from shared.sync.mailbox import MailboxReport
from shared.sync.targeted import Outcome, RecordPlan
from tests.logcapture import on_root
from tests.sync.world import World
from twins.tables import MemoryTables

engine_log = logging.getLogger("shared.sync.test-engine")


class Runs:
    def __init__(self) -> None:
        self.rows: list[RunRecord] = []

    def record_run(self, run: RunRecord) -> None:
        self.rows.append(run)


class Counted:  # the clients the import worker counts requests on; the pass itself is the test's
    requests_made = 0


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("shared"):
            self.records.append(record)

    def take(self) -> list[tuple[str, str | None, str | None]]:
        taken = [(r.getMessage(), getattr(r, "sync_run_id", None), getattr(r, "sync_user", None)) for r in self.records]
        self.records.clear()
        return taken


@pytest.fixture
def logged() -> Iterator[Captured]:
    configure_logging({})  # installs the record factory that stamps the context (once per process)
    with on_root(Captured()) as handler:
        yield handler


def test_the_status_rule() -> None:
    assert status_of(problems=False) == "ok"
    assert status_of(problems=True) == "partial"
    assert status_of(problems=True, blocked=True) == "blocked"
    assert status_of(problems=False, blocked=True) == "blocked"


def test_the_poison_rule() -> None:
    assert is_final(BadMessage("never"), attempts=1, max_attempts=5)
    assert not is_final(RuntimeError("may pass"), attempts=4, max_attempts=5)
    assert is_final(RuntimeError("may pass"), attempts=5, max_attempts=5)


async def test_a_failure_is_recorded_only_when_it_is_the_messages_last() -> None:
    runs = Runs()
    body = encode(ImportWork("u7", "mbx-7"))
    for attempt in (1, 2):
        run = Run(runs, "import-mailbox", run_id="imp-1")
        with pytest.raises(RuntimeError):
            async with run.poisoned_when_final(body, attempts=attempt, max_attempts=2, poison_id="poison-1",
                                               what="import"):  # fmt: skip
                raise RuntimeError("throttled")
    (row,) = runs.rows
    assert (row.run_id, row.kind, row.status, row.user_id) == ("poison-1", "import-mailbox", "poison", "u7")
    assert (row.errors, dict(row.counts)) == (("RuntimeError: throttled",), {"attempts": 2})


async def test_a_bad_message_is_recorded_at_its_first_attempt() -> None:
    runs = Runs()
    run = Run(runs, "export-mailbox")
    with pytest.raises(BadMessage):
        async with run.poisoned_when_final(b"{}", attempts=1, max_attempts=5, poison_id="p", what="export"):
            raise BadMessage("not an export message")
    assert [(r.run_id, r.status, r.user_id) for r in runs.rows] == [("p", "poison", "")]


def test_the_same_run_written_again_keeps_its_start_and_id() -> None:
    runs = Runs()
    queued = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
    run = Run(runs, "admin-resync", run_id="op-1", started=queued)
    run.record("queued")
    run.record(status_of(problems=True), errors=["u1: refused"], counts={"users": 2})
    assert [(r.run_id, r.started, r.status) for r in runs.rows] == [("op-1", queued, "queued"), ("op-1", queued,
                                                                                               "partial")]  # fmt: skip


async def test_every_record_the_export_timer_and_worker_log_names_the_run_and_the_user(
    logged: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = shared.sync.mailbox.export_mailbox

    async def export_mailbox(user_id: str, **kwargs: Any) -> MailboxReport:
        engine_log.info("engine at work")  # the real engine logs nothing when all goes well
        return await real(user_id, **kwargs)

    monkeypatch.setattr(shared.sync.mailbox, "export_mailbox", export_mailbox)
    world = World.build(("u1",))
    world.booking("b1", "u1", dt.date(2027, 3, 1), dt.date(2027, 3, 2))
    world.openair.clock += dt.timedelta(minutes=30)
    services = Services({}, EnvironmentSecrets({}), _store=world.store, _openair=world.openair,  # type: ignore[arg-type]
                        _calendar=world.calendar)  # type: ignore[arg-type]  # fmt: skip
    result = await export.run_export_timer(services)
    timer = logged.take()
    assert timer
    assert {run_id for _, run_id, _ in timer} == {result.run.run_id}
    (message,) = result.messages
    await export.run_export_mailbox(services, message)
    assert logged.take() == [("engine at work", result.run.run_id, "u1")]
    assert world.event("u1", RecordKind.BOOKING, "b1")  # written
    mailbox_run = next(r for r in world.store.recent_runs() if r.kind == "export-mailbox")
    assert (mailbox_run.run_id, mailbox_run.user_id, mailbox_run.status) == (result.run.run_id, "u1", "ok")


async def test_every_record_the_import_worker_logs_names_the_run_and_the_user(
    logged: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def import_pass(user_id: str, **_: Any) -> ImportReport:
        engine_log.info("engine at work")
        # `created` is also a LogRecord attribute: the pass's line must still be logged (it raised KeyError once).
        return ImportReport(user_id, created=1)

    monkeypatch.setattr(shared.sync.importing.engine, "import_mailbox", import_pass)
    store = SyncStore(MemoryTables())
    services = Services({}, EnvironmentSecrets({}), _store=store, _calendar=Counted(),  # type: ignore[arg-type]
                        _openair_client=Counted())  # type: ignore[arg-type]  # fmt: skip
    await importing.run_import_mailbox(services, encode(ImportWork("u1", "mbx-u1", "reconcile")))
    (run,) = store.recent_runs()
    done = logged.records[-1]
    assert (done.getMessage(), getattr(done, "created_count", None)) == ("import pass done", 1)
    records = logged.take()
    assert [m for m, _, _ in records] == ["engine at work", "import pass done"]
    assert {(run_id, user) for _, run_id, user in records} == {(run.run_id, "u1")}


async def test_every_record_the_push_worker_logs_after_the_plan_names_the_run_and_the_user(
    logged: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def plan_record(kind: RecordKind, record_id: str, *, run_id: str, **_: Any) -> RecordPlan:
        engine_log.info("planning")
        return RecordPlan(f"{kind.value}:{record_id}", Outcome.NOT_FOUND, "no such booking", run_id, "u1")

    async def read_records(self: object, wanted: object, **_: object) -> list[object]:
        engine_log.info("reading")
        return []  # no other saves of the user's read ahead

    monkeypatch.setattr(shared.sync.targeted, "plan_record", plan_record)
    monkeypatch.setattr(shared.openair.by_id.OpenAirRecords, "read_records", read_records)
    world = World.build(("u1",))
    services = Services({}, EnvironmentSecrets({}), _store=world.store, _openair=world.openair,  # type: ignore[arg-type]
                        _calendar=world.calendar)  # type: ignore[arg-type]  # fmt: skip
    result = await push.run_export_record(services, encode(RecordWork(RecordKind.BOOKING, "12", "u1", 1.0)))
    (run,) = world.store.recent_runs()
    assert (result.outcome, run.status, run.user_id) == ("not found", "ok", "u1")
    records = logged.take()
    assert [m for m, _, _ in records] == ["reading", "planning", "record exported"]
    # The read and the plan come before the pass knows whose records they are: their lines carry the run id.
    assert [(run_id, user) for _, run_id, user in records] == [(run.run_id, None), (run.run_id, None),
                                                               (run.run_id, "u1")]  # fmt: skip
