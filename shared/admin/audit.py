"""The audit trail: every administrative change made through the product — who, what, when, how much.

Kept in the `AuditLog` table (PK `yyyy-mm`, RK newest first, like `Runs`) and shown by `python -m shared audit`
and `GET /api/manage/audit`. Only changes are recorded (pause, resume, refresh, CSV import, resync, export,
decommission, subscription renewal), never reads, and never dry runs. Who:
- over HTTP, the principal App Service authentication signed in (`X-MS-CLIENT-PRINCIPAL-NAME`: with the
  `adminAuthClientId` parameter on, the platform sets it and callers cannot), else "function key": the Functions
  host checks the key but does not tell the function which key it was;
- on the command line, the operating-system user and host name.
Edits made directly in Storage Explorer do not pass through the product and are not in this table; Azure's
storage diagnostic logs record those.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import logging
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.logging_setup import counted
from shared.store.state import AUDIT_LOG
from shared.store.store import SyncStore

log = logging.getLogger(__name__)

AUDIT = AUDIT_LOG
PRINCIPAL_HEADER = "x-ms-client-principal-name"  # App Service authentication (Easy Auth) sets it
FUNCTION_KEY = "function key"


@dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    who: str
    action: str  # pause, resume, mappings-refresh, import-csv, resync-update, …
    detail: str = ""  # what, in words: the user, the mode, the reason
    counts: Mapping[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), "who": self.who,
                "action": self.action, "detail": self.detail, "counts": dict(self.counts)}  # fmt: skip


def http_actor(headers: Mapping[str, str]) -> str:
    """Who sent an admin request: the signed-in principal when App Service authentication is on."""
    lowered = {k.lower(): v for k, v in headers.items()}
    principal = lowered.get(PRINCIPAL_HEADER, "").strip()
    return f"{principal} (signed in)" if principal else FUNCTION_KEY


def cli_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without /etc/passwd entry)
        user = "unknown user"
    return f"{user}@{socket.gethostname()} (command line)"


def record(store: SyncStore, who: str, action: str, detail: str = "", counts: Mapping[str, int] | None = None) -> None:
    """Append one entry. The change is already made: a failure to record it is logged, never raised."""
    now = dt.datetime.now(dt.UTC)
    inverted = 10**13 - int(now.timestamp() * 1000)
    clean = {k: int(v) for k, v in (counts or {}).items() if isinstance(v, int) and not isinstance(v, bool)}
    columns = {"At": now, "Who": who, "Action": action, "Detail": detail[:2000],
               "Counts": json.dumps(clean, sort_keys=True)}  # fmt: skip
    try:
        store.append_audit(now.strftime("%Y-%m"), f"{inverted:013d}-{uuid.uuid4().hex[:8]}", columns)
    except Exception:
        log.exception("audit entry not recorded", extra={"action": action})
    log.info("administrative change", extra=counted(clean, action=action, who=who))


def recent(store: SyncStore, limit: int = 50, *, now: dt.datetime | None = None) -> list[AuditEntry]:
    """Newest first, from this month and the one before."""
    now = now or dt.datetime.now(dt.UTC)
    months = [now.strftime("%Y-%m"), (now.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")]
    found: list[AuditEntry] = []
    for row in store.audit_rows(months):
        c = row.columns
        found.append(AuditEntry(at=c["At"], who=str(c.get("Who", "")), action=str(c.get("Action", "")),
                                detail=str(c.get("Detail", "")),
                                counts=json.loads(c.get("Counts") or "{}")))  # fmt: skip
        if len(found) >= limit:
            return found
    return found
