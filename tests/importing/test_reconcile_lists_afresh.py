"""The reconciliation's queue messages run a pass that lists the window afresh; a notification's follows the link."""

from __future__ import annotations

from typing import Any

import pytest

import shared.sync.importing.engine
from shared.jobs.contracts import ImportWork, encode
from shared.jobs.importing import run_import_mailbox
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets
from shared.store.store import SyncStore
from shared.sync.importing.report import ImportReport
from twins.tables import MemoryTables


class Counted:
    requests_made = 0


@pytest.mark.parametrize(("reason", "full"), [("reconcile", True), ("notification", False), ("missed", False)])
async def test_only_the_reconciliation_lists_the_window_afresh(
    monkeypatch: pytest.MonkeyPatch, reason: str, full: bool
) -> None:
    """Deleting one occurrence may leave no trace in delta (microsoft-graph-docs PR #4501): only a fresh listing
    of the window, which the reconciliation asks for, can notice it."""
    asked: list[dict[str, Any]] = []

    async def pass_(user_id: str, **kwargs: Any) -> ImportReport:
        asked.append(kwargs)
        return ImportReport(user_id)

    monkeypatch.setattr(shared.sync.importing.engine, "import_mailbox", pass_)
    services = Services({}, EnvironmentSecrets({}), _store=SyncStore(MemoryTables()), _calendar=Counted(),  # type: ignore[arg-type]
                        _openair_client=Counted())  # type: ignore[arg-type]  # fmt: skip
    await run_import_mailbox(services, encode(ImportWork("u1", "mbx-u1", reason)))
    assert [a["full"] for a in asked] == [full]
