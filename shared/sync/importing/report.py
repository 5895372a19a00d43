"""What one import invocation did for one mailbox: counts for the Runs table, errors and alerts for status."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ImportReport:
    user_id: str
    created: int = 0
    updated: int = 0
    deleted: int = 0
    retyped: int = 0
    unchanged: int = 0
    echoes: int = 0
    conflicts: int = 0
    passes: int = 0
    restarted: int = 0  # delta chains restarted after 410/syncStateNotFound
    busy: bool = False  # another worker held the mailbox's lease; it was asked to run again
    covered: bool = False  # a pass that began after the change was notified already read it: nothing was run
    deletions_blocked: int = 0  # removals held back by MaxImportDeletionsPerPass
    skipped: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {k: getattr(self, k) for k in ("created", "updated", "deleted", "retyped", "unchanged", "echoes",
                                             "conflicts", "passes", "restarted", "deletions_blocked")}  # fmt: skip
        out["skipped"] = sum(self.skipped.values())
        return {k: v for k, v in out.items() if v}
