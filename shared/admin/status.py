"""`status`: what an administrator looks at first — per user, per table, per queue — from the tables alone.

Cheap by design (the Links table is read only for a single user): the per-user counts are the ones the mailbox
worker writes in the mapping row after each run. Tables owned by the import (`Subscriptions`, delta cursors) are
read defensively, by name: missing tables or columns read as "none".
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from shared.admin.queues import QueueInspector, QueueMessageView
from shared.admin.resync import UnknownUser
from shared.domain.mappings import RowProblem, UserMapping
from shared.domain.runs import RunRecord
from shared.domain.settings import CATEGORY_COLORS, IntegrationSettings
from shared.errors import SyncError
from shared.kinds import KINDS, RecordKind
from shared.store.admin import USER_MAPPINGS, parse_user_mapping
from shared.store.state import CURSORS
from shared.store.store import SyncStore
from shared.sync.importing.rules import describe_filter, import_filter
from shared.sync.render import presentation
from shared.sync.zones import choose_zone

SUBSCRIPTIONS_TABLE = "Subscriptions"  # written by the import (shared/store/importing.py)
SUBSCRIPTION_WARNING = dt.timedelta(hours=24)


@dataclass
class UserStatus:
    user_id: str
    name: str
    mailbox: str
    mapped_by: str
    resolved: bool  # the mailbox id is known: the user can sync
    switches: list[str]
    time_zone: str  # the IANA zone events are rendered in
    time_zone_reason: str  # where it comes from (override, OpenAir, mailbox, default) and any warning
    last_export: str
    last_export_counts: str
    last_import: str
    last_error: str
    last_error_at: str
    pending_writes: int = 0
    links: int | None = None  # only for a one-user status
    skipped_records: list[str] = field(default_factory=list)  # records that cannot be exported, and why
    import_filter: str = ""  # what of this user's Outlook is imported (users with import on)
    conflicts: str = ""  # ConflictReport: bookings on days Outlook shows out of office or fully busy


@dataclass
class RejectedUser:
    """A UserMappings row that is skipped until fixed: who, and what to fix."""

    user_id: str
    mailbox: str
    problem: str


@dataclass
class StatusReport:
    generated: str
    paused: dict[str, str] | None = None  # since, by, reason: nothing is written while set
    users: list[UserStatus] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    rejected_users: list[RejectedUser] = field(default_factory=list)
    rejected_rows: list[str] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    cursors: list[dict[str, str]] = field(default_factory=list)
    queues: dict[str, int | None] = field(default_factory=dict)
    poison: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    recent_runs: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what status itself could not read
    choices: list[str] = field(default_factory=list)  # the administrators' export and import choices in force

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def state(self) -> str:
        """`paused` (nothing is written); `failing` (poisoned messages, alerts, users in error); `warnings` (rows
        rejected by validation: those users do not sync, everyone else does); else `healthy`."""
        if self.paused is not None:
            return "paused"
        if any(self.poison.values()) or self.alerts or any(u.last_error or u.skipped_records for u in self.users):
            return "failing"
        if self.rejected_rows:
            return "warnings"
        return "healthy"

    @property
    def healthy(self) -> bool:
        """Not paused, no rejected row, no poisoned message, no error on any user, no alert in the recent runs."""
        return self.state == "healthy"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)


def _short(value: Any) -> str:
    """Cursor values: times in full; links and tokens only as 'set' (a delta link is a long opaque URL)."""
    text = _text(value)
    return "(set)" if len(text) > 48 else text


def run_json(run: RunRecord) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "kind": run.kind,
        "started": _text(run.started),
        "seconds": round((run.finished - run.started).total_seconds(), 1),
        "status": run.status,
        "user": run.user_id,
        "counts": dict(run.counts),
        "errors": len(run.errors),
        "first_error": run.errors[0] if run.errors else "",
        "alerts": list(run.alerts),
    }


def build_status(
    store: SyncStore,
    *,
    inspector: QueueInspector | None = None,
    user_id: str | None = None,
    runs: int = 20,
    now: dt.datetime | None = None,
) -> StatusReport:
    """The whole picture, or one user's (`user_id`, with their link count and pending writes)."""
    now = now or dt.datetime.now(dt.UTC)
    report = StatusReport(generated=_text(now))
    pause = store.pause_state()
    if pause is not None:
        report.paused = {"since": _text(pause.since), "by": pause.by, "reason": pause.reason}
    rows = [r for r in store.mapping_rows() if user_id is None or r.row_key == user_id]
    if user_id is not None and not rows:
        raise UnknownUser(f"OpenAir user {user_id} has no row in UserMappings (status lists every user without --user)")
    mappings = store.load_mappings()
    settings, setting_problems = store.load_settings()
    report.choices = describe_choices(settings)
    _, show_as_problems = store.load_show_as()
    report.rejected_rows = [str(p) for p in (*mappings.problems, *setting_problems, *show_as_problems)
                            if user_id is None or p.row_key == user_id]  # fmt: skip
    pending = {u: len(store.outbox(u)) for u in store.outbox_users()}
    rejected = {p.row_key: p for p in mappings.problems if p.table == USER_MAPPINGS}
    for row in rows:
        parsed = parse_user_mapping(row)
        if isinstance(parsed, RowProblem) or row.row_key in rejected:
            problem = parsed if isinstance(parsed, RowProblem) else rejected[row.row_key]
            mailbox = str(row.columns.get("Mailbox", "") or "")
            report.rejected_users.append(
                RejectedUser(row.row_key, mailbox, f"column {problem.column} {problem.message}")
            )
            continue
        if not parsed.mailbox:
            why = _text(row.columns.get("LastError"))  # e.g. no such OpenAir user (mappings refresh says so)
            who = f"{parsed.openair_user_id} {parsed.name} <{parsed.email or 'no email'}>".strip()
            report.unmapped.append(f"{who}: {why}" if why else who)
            continue
        user = _user(parsed, row.columns, pending.get(parsed.openair_user_id, 0), settings)
        if parsed.import_events:
            user.import_filter = describe_filter(import_filter(settings, parsed))
        user.conflicts = _text(row.columns.get("Conflicts")) if settings.conflict_report else ""
        report.users.append(user)
    if user_id is not None:
        for user in report.users:
            user.links = len(store.links(user.user_id))
    for sub in store.table_rows(SUBSCRIPTIONS_TABLE):
        if user_id is not None and str(sub.columns.get("UserId", "")) != user_id:
            continue
        expires = sub.columns.get("Expiration")
        state = "unknown expiry"
        if isinstance(expires, dt.datetime):
            state = "expired" if expires <= now else ("expiring" if expires - now < SUBSCRIPTION_WARNING else "active")
        report.subscriptions.append({"id": sub.row_key, "user": str(sub.columns.get("UserId", "")),
                                     "expires": _text(expires), "state": state})  # fmt: skip
    for cursor in store.table_rows(CURSORS):
        if user_id is not None and cursor.partition_key != "OpenAir" and cursor.row_key != user_id:
            continue
        value = cursor.columns.get("Value", cursor.columns.get("DeltaLink"))
        report.cursors.append({"scope": cursor.partition_key, "name": cursor.row_key, "value": _short(value),
                               "saved": _text(cursor.columns.get("Saved"))})  # fmt: skip
    history = store.recent_runs(max(500, runs * 25))
    mine = [r for r in history if user_id is None or r.user_id in ("", user_id)]
    groups = run_groups(mine, runs)
    report.recent_runs = [{k: v for k, v in g.items() if k != "per_mailbox"} for g in groups]
    report.alerts = [a for g in groups for a in g["alerts"]]
    if inspector is not None:
        _queues(report, inspector, user_id)
    return report


def describe_choices(settings: IntegrationSettings) -> list[str]:
    """The export and import choices that differ from the defaults, one line each."""
    lines = []
    if settings.export_category:
        colour = next((n for n, p in CATEGORY_COLORS.items() if p == settings.export_category_color), "")
        lines.append(f"Exported events carry the Outlook category '{settings.export_category}' "
                     f"({colour or settings.export_category_color})")  # fmt: skip
    reminded = [kind.value for kind in RecordKind if presentation(kind, settings).is_reminder_on]
    if reminded:
        lines.append("Reminders on for: " + ", ".join(reminded))
    past, future = settings.export_window_past_days, settings.export_window_future_days
    if past is not None or future is not None:
        lines.append("Export window: " + ", ".join(
            text for text in (f"{past} days back" if past is not None else "", f"{future} days ahead"
                              if future is not None else "") if text))  # fmt: skip
    everyone = describe_filter(import_filter(settings))
    if settings.conflict_report:
        lines.append("Conflict report on: bookings on days Outlook shows out of office or fully busy are listed")
    if settings.import_enabled and everyone != "all events":
        lines.append(f"Import: {everyone} (per-user columns may override)")
    return lines


def _user(mapping: UserMapping, columns: Any, pending: int, settings: IntegrationSettings) -> UserStatus:
    zone = choose_zone(mapping, settings)
    switches = [KINDS[k].words for k in sorted(mapping.export_kinds)] + (["import"] if mapping.import_events else [])
    return UserStatus(
        user_id=mapping.openair_user_id,
        name=mapping.name,
        mailbox=mapping.mailbox,
        mapped_by=mapping.mapped_by.value,
        resolved=bool(mapping.mailbox_id),
        switches=switches,
        time_zone=zone.zone,
        time_zone_reason=("WARNING: " if zone.fixed_offset else "") + zone.reason,
        last_export=_text(columns.get("LastExport")),
        last_export_counts=_text(columns.get("LastExportCounts")),
        last_import=_text(columns.get("LastImport")),
        last_error=_text(columns.get("LastError")),
        last_error_at=_text(columns.get("LastErrorAt")),
        pending_writes=pending,
        skipped_records=_skipped(columns.get("SkippedRecords")),
    )


def _skipped(value: Any) -> list[str]:
    """The mapping row's `SkippedRecords` (written by the export planner): one line per record."""
    try:
        known = json.loads(value or "{}")
    except (ValueError, TypeError):
        return [str(value)]
    return [str(message) for _, message in sorted(known.items())] if isinstance(known, dict) else [str(value)]


def _queues(report: StatusReport, inspector: QueueInspector, user_id: str | None) -> None:
    from azure.core.exceptions import AzureError

    try:
        names = inspector.queue_names()
        report.queues = {n: inspector.message_count(n) for n in names if not n.endswith("-poison")}
        for name, messages in inspector.poison_queues(names).items():
            report.poison[name] = [_message(m) for m in messages if user_id is None or _user_of(m) == user_id]
    except AzureError as exc:
        report.problems.append(f"Queue storage could not be read: {type(exc).__name__}: {exc}")


def _message(message: QueueMessageView) -> dict[str, Any]:
    return {"inserted": message.inserted, "dequeue_count": message.dequeue_count, "message": message.content}


def _user_of(message: QueueMessageView) -> str:
    return str(message.content.get("user_id", "")) if isinstance(message.content, dict) else ""


# ---------------------------------------------------------------- runs, one row per run

_STATUS_RANK = {"ok": 0, "paused": 1, "partial": 2, "blocked": 3, "failed": 4, "poison": 5}


def run_groups(runs: list[RunRecord], limit: int) -> list[dict[str, Any]]:
    """One row per run, newest first: an export run's plan and its mailbox workers share a run id, and are
    added up (counts summed, errors counted, the worst status); `mailboxes` is the drill-down."""
    groups: dict[str, list[RunRecord]] = {}
    for run in runs:
        groups.setdefault(run.run_id, []).append(run)
    rows: list[dict[str, Any]] = []
    for run_id, members in groups.items():
        first = min(members, key=lambda r: r.started)
        workers = [r for r in members if r.user_id and r is not first] if len(members) > 1 else []
        counts: dict[str, int] = {}
        for member in members:
            for name, value in member.counts.items():
                counts[name] = counts.get(name, 0) + int(value)
        worst = max((m.status for m in members), key=lambda s: _STATUS_RANK.get(s, 2))
        errors = [e for m in members for e in m.errors]
        rows.append({
            "run_id": run_id,
            "kind": first.kind,
            "started": _text(first.started),
            "seconds": round((max(m.finished for m in members) - first.started).total_seconds(), 1),
            "status": worst,
            "user": first.user_id if len(members) == 1 else "",
            "mailboxes": len({m.user_id for m in members if m.user_id}),
            "counts": counts,
            "errors": len(errors),
            "first_error": errors[0] if errors else "",
            "alerts": [a for m in members for a in m.alerts],
            "per_mailbox": [run_json(m) for m in sorted(workers, key=lambda r: r.user_id)],
        })  # fmt: skip
    rows.sort(key=lambda row: row["started"], reverse=True)
    return rows[:limit]


def runs_of(store: SyncStore, limit: int, *, run_id: str | None = None, scan: int = 5000) -> list[dict[str, Any]]:
    """The last `limit` runs (reading at most `scan` Runs rows), or the one run `run_id` with its mailboxes."""
    records = store.recent_runs(scan)
    if run_id is not None:
        found = run_groups([r for r in records if r.run_id == run_id], 1)
        if not found:
            raise UnknownRun(f"run {run_id} is not among the last {scan} Runs rows (`runs` lists run ids)")
        return found
    return run_groups(records, limit)


class UnknownRun(SyncError, LookupError):
    """A run id that is not in the Runs table."""
