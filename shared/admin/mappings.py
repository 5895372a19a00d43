"""Refresh mappings — the incumbent's "File > Update": match active OpenAir users to Microsoft 365 mailboxes
by email, including mailbox aliases (proxyAddresses).

Rules an administrator relies on:
- a `Manual` row is never re-pointed (its informational columns are refreshed);
- a mailbox is never mapped to two users: a match already taken is reported as a conflict, not written;
- an admin's edit made while the refresh runs wins (rows are written with their ETag);
- new users get the switches of the `NewUsers*` settings; existing switches are never changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.graph.models import Mailbox
from shared.openair.models import User
from shared.store.admin import MappedBy, UserMapping, parse_user_mapping
from shared.store.backend import EtagMismatch
from shared.store.store import SyncStore


class MailboxDirectory(Protocol):
    async def list_mailboxes(self) -> list[Mailbox]: ...

    async def mailbox_time_zone(self, user_id: str) -> str | None: ...


class UserDirectory(Protocol):
    async def read_active_users(self) -> list[User]: ...


@dataclass
class MappingReport:
    new: list[str] = field(default_factory=list)  # "1080 jane.doe@contoso.com (Email)"
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    unmatched: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    skipped_rows: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "changed": len(self.changed),
            "unchanged": self.unchanged,
            "unmatched": len(self.unmatched),
            "conflicts": len(self.conflicts),
            "skipped_rows": len(self.skipped_rows),
        }


def index_mailboxes(mailboxes: Sequence[Mailbox]) -> dict[str, tuple[Mailbox, MappedBy]]:
    """Address → mailbox. Primary addresses win over aliases when two mailboxes claim one address."""
    index: dict[str, tuple[Mailbox, MappedBy]] = {}
    for mailbox in mailboxes:
        for address in mailbox.addresses():
            primary = address in {mailbox.user_principal_name.lower(), (mailbox.mail or "").lower()}
            kind = MappedBy.EMAIL if primary else MappedBy.ALIAS
            if address not in index or (kind is MappedBy.EMAIL and index[address][1] is MappedBy.ALIAS):
                index[address] = (mailbox, kind)
    return index


async def refresh_mappings(
    store: SyncStore, users: UserDirectory, directory: MailboxDirectory, *, dry_run: bool = False
) -> MappingReport:
    report = MappingReport()
    settings, _ = store.load_settings()
    mailboxes = await directory.list_mailboxes()
    by_address = index_mailboxes(mailboxes)
    rows = {row.row_key: row for row in store.mapping_rows()}
    taken: dict[str, str] = {}  # mailbox address -> user id, from rows that keep theirs
    for user_id, existing in rows.items():
        existing_mapping = parse_user_mapping(existing)
        if isinstance(existing_mapping, UserMapping) and existing_mapping.mailbox:
            taken.setdefault(existing_mapping.mailbox, user_id)

    for user in sorted(await users.read_active_users(), key=lambda u: u.id):
        row = rows.get(user.id)
        email = (user.email or "").strip().lower()
        info: dict[str, Any] = {
            "OpenAirUserName": user.name or "",
            "OpenAirEmail": email,
            "OpenAirTimeZone": user.timezone or "",
            "LastRefresh": dt.datetime.now(dt.UTC),
        }
        parsed = parse_user_mapping(row) if row is not None else None
        if parsed is not None and not isinstance(parsed, UserMapping):
            report.skipped_rows.append(str(parsed))  # a bad row is the admin's to fix; never overwrite it
            continue
        current = parsed
        if current is not None and current.mapped_by is MappedBy.MANUAL and current.mailbox:
            mailbox = by_address.get(current.mailbox, (None, None))[0]
            if mailbox is not None and current.mailbox_id != mailbox.id:
                info["MailboxId"] = mailbox.id
                info["MailboxTimeZone"] = await directory.mailbox_time_zone(mailbox.id) or ""
            _write(store, user.id, info, row, report, dry_run)
            report.unchanged += 1
            continue
        match = by_address.get(email)
        if match is None:
            report.unmatched.append(f"{user.id} {user.name or ''} <{email or 'no email in OpenAir'}>")
            if row is None:
                _write(store, user.id, {**info, "Mailbox": "", "MailboxId": "", "MappedBy": MappedBy.EMAIL.value},
                       None, report, dry_run)  # fmt: skip
            continue
        mailbox, how = match
        address = (mailbox.mail or mailbox.user_principal_name).lower()
        owner = taken.get(address)
        if owner is not None and owner != user.id:
            report.conflicts.append(f"{user.id} <{email}> matches {address}, already mapped to OpenAir user {owner}")
            continue
        taken[address] = user.id
        if current is not None and current.mailbox == address and current.mailbox_id == mailbox.id:
            if current.openair_time_zone != (user.timezone or ""):
                report.changed.append(f"{user.id} time zone {user.timezone}")
            else:
                report.unchanged += 1
            _write(store, user.id, info, row, report, dry_run)
            continue
        zone = await directory.mailbox_time_zone(mailbox.id) or ""
        columns = {**info, "Mailbox": address, "MailboxId": mailbox.id, "MappedBy": how.value,
                   "MailboxTimeZone": zone}  # fmt: skip
        if row is None:
            columns |= {
                "ExportBookings": settings.new_users_export_bookings,
                "ExportTaskAssignments": settings.new_users_export_task_assignments,
                "ExportScheduleRequests": settings.new_users_export_schedule_requests,
                "Import": settings.new_users_import,
            }
            report.new.append(f"{user.id} {address} ({how.value})")
        else:
            report.changed.append(f"{user.id} {address} ({how.value})")
        _write(store, user.id, columns, row, report, dry_run)
    return report


def _write(
    store: SyncStore, user_id: str, columns: dict[str, Any], row: Any, report: MappingReport, dry_run: bool
) -> None:
    if dry_run:
        return
    try:
        store.put_mapping_row(user_id, columns, etag=row.etag if row is not None else None)
    except EtagMismatch:
        report.conflicts.append(f"{user_id}: the row changed while the refresh ran; your edit was kept")
