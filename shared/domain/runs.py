"""One run of a job (export plan, a mailbox's export or import, a resync…), as the run history keeps it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    kind: str  # export-plan, export-mailbox, import-mailbox, resync, …
    started: dt.datetime
    finished: dt.datetime
    status: str  # ok, partial, failed, blocked
    counts: Mapping[str, int] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()
    user_id: str = ""


def status_of(*, problems: bool, blocked: bool = False) -> str:
    """The status of a run that ended, the one rule of every run: `blocked` when a guard stopped its writes (the
    deletion budget, an import alert), `partial` when some of its work failed or was left out, `ok` otherwise."""
    return "blocked" if blocked else ("partial" if problems else "ok")
