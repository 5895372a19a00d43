"""Hostile queue messages (JSON nested absurdly deep) are poisoned and recorded by both workers (shared/jobs/export.py,
shared/jobs/importing.py), never a RecursionError that skips the record."""

from __future__ import annotations

import pytest

from shared.errors import BadMessage
from shared.jobs.importing import run_import_mailbox
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets
from shared.store.store import SyncStore
from twins.tables import MemoryTables


async def test_a_deeply_nested_message_is_recorded_as_poison() -> None:
    store = SyncStore(MemoryTables())
    services = Services({}, EnvironmentSecrets({}), _store=store)
    with pytest.raises(BadMessage):
        await run_import_mailbox(services, b'{"user_id":' + b"[" * 100_000, dequeue_count=1)
    (run,) = store.recent_runs()
    assert (run.kind, run.status, run.user_id) == ("import-mailbox", "poison", "")


async def test_a_deeply_nested_export_message_is_recorded_as_poison_too() -> None:
    from shared.jobs.export import run_export_mailbox

    store = SyncStore(MemoryTables())
    services = Services({}, EnvironmentSecrets({}), _store=store)
    with pytest.raises(BadMessage):
        await run_export_mailbox(services, b'{"user_id":' + b"[" * 100_000, dequeue_count=1)
    (run,) = store.recent_runs()
    assert (run.kind, run.status, run.user_id) == ("export-mailbox", "poison", "")
