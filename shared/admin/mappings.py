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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.domain.mappings import MappedBy, UserMapping
from shared.graph.models import Mailbox
from shared.ports.mailboxes import MailboxDirectory
from shared.ports.openair import UserDirectory
from shared.store.admin import USER_MAPPINGS, new_user_switches, parse_user_mapping, parse_user_mappings
from shared.store.offload import off_loop
from shared.store.store import SyncStore
from shared.store.tables import EtagMismatch


@dataclass
class MappingReport:
    new: list[str] = field(default_factory=list)  # "1080 jane.doe@contoso.com (Email)"
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    unmatched: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    skipped_rows: list[str] = field(default_factory=list)
    not_in_openair: list[str] = field(default_factory=list)  # rows whose RowKey is no active OpenAir user

    def counts(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "changed": len(self.changed),
            "unchanged": self.unchanged,
            "unmatched": len(self.unmatched),
            "conflicts": len(self.conflicts),
            "skipped_rows": len(self.skipped_rows),
            "not_in_openair": len(self.not_in_openair),
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
    (settings, _), mapping_rows = await off_loop(lambda: (store.load_settings(), store.mapping_rows()))
    mailboxes = await directory.list_mailboxes()
    by_address = index_mailboxes(mailboxes)
    rows = {row.row_key: row for row in mapping_rows}
    taken: dict[str, str] = {}  # mailbox address -> user id, from rows that keep theirs
    for user_id, existing in rows.items():
        existing_mapping = parse_user_mapping(existing)
        if isinstance(existing_mapping, UserMapping) and existing_mapping.mailbox:
            taken.setdefault(existing_mapping.mailbox, user_id)
    # Two rows typed with one mailbox: both are skipped by every run until one is fixed; say so here too.
    for problem in parse_user_mappings(rows.values()).problems:
        if problem.table == USER_MAPPINGS and problem.column == "Mailbox" and "also mapped" in problem.message:
            report.conflicts.append(f"{problem.row_key}: Mailbox {problem.message}")

    active = sorted(await users.read_active_users(), key=lambda u: u.id)
    known = {user.id for user in active}
    for user_id, stray in sorted(rows.items()):
        if user_id not in known:
            message = f"OpenAir has no active user {user_id}: fix the RowKey (the OpenAir user id) or delete the row"
            report.not_in_openair.append(f"{user_id}: {message}")
            if not dry_run and stray.columns.get("LastError") != message:
                await off_loop(store.write_mapping_status, user_id, LastError=message,
                               LastErrorAt=dt.datetime.now(dt.UTC))  # fmt: skip

    for user in active:
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
            if mailbox is None:
                report.unmatched.append(f"{user.id} {user.name or ''}: mailbox {current.mailbox} (typed by hand) "
                                        "is not in Microsoft 365")  # fmt: skip
            elif current.mailbox_id != mailbox.id:
                info["MailboxId"] = mailbox.id
                info["MailboxTimeZone"] = await directory.mailbox_time_zone(mailbox.id) or ""
            info["ResolvedMailbox"] = current.mailbox if mailbox is not None else ""
            await off_loop(_write, store, user.id, info, row, report, dry_run)
            report.unchanged += 1
            continue
        match = by_address.get(email)
        if match is None:
            report.unmatched.append(f"{user.id} {user.name or ''} <{email or 'no email in OpenAir'}>")
            if row is None:
                unmatched = {**info, "Mailbox": "", "MailboxId": "", "MappedBy": MappedBy.EMAIL.value}
                await off_loop(_write, store, user.id, unmatched, None, report, dry_run)
            continue
        mailbox, how = match
        address = (mailbox.mail or mailbox.user_principal_name).lower()
        owner = taken.get(address)
        if owner is not None and owner != user.id:
            report.conflicts.append(f"{user.id} <{email}> matches {address}, already mapped to OpenAir user {owner}")
            continue
        taken[address] = user.id
        if current is not None and current.mailbox == address and current.mailbox_id == mailbox.id:
            info["ResolvedMailbox"] = address
            if current.openair_time_zone != (user.timezone or ""):
                report.changed.append(f"{user.id} time zone {user.timezone}")
            else:
                report.unchanged += 1
            await off_loop(_write, store, user.id, info, row, report, dry_run)
            continue
        zone = await directory.mailbox_time_zone(mailbox.id) or ""
        columns = {**info, "Mailbox": address, "MailboxId": mailbox.id, "ResolvedMailbox": address,
                   "MappedBy": how.value, "MailboxTimeZone": zone}  # fmt: skip
        if row is None:
            columns |= new_user_switches(settings)
            report.new.append(f"{user.id} {address} ({how.value})")
        else:
            report.changed.append(f"{user.id} {address} ({how.value})")
        await off_loop(_write, store, user.id, columns, row, report, dry_run)
    return report


async def resolve_edited_mailboxes(store: SyncStore, directory: Callable[[], MailboxDirectory]) -> list[str]:
    """Rows whose Mailbox was typed or changed by hand since its id was resolved: find the new mailbox now, so a
    hand edit takes effect at the next export run (the planner then moves the events to it). One directory listing,
    only when such a row exists; an address Microsoft 365 does not know is recorded (LastError) and not looked up
    again until the Mailbox changes. Returns what it did, one line per row."""
    pending = await off_loop(_edited_rows, store)
    if not pending:
        return []
    graph = directory()  # only now: a run with nothing edited needs no Graph client
    by_address = index_mailboxes(await graph.list_mailboxes())
    done: list[str] = []
    now = dt.datetime.now(dt.UTC)
    for mapping, row in pending:
        found = by_address.get(mapping.mailbox)
        columns: dict[str, Any] = {"ResolvedMailbox": mapping.mailbox}
        if found is None:
            problem = f"mailbox {mapping.mailbox} is not in Microsoft 365; check the Mailbox column"
            columns |= {"MailboxId": "", "LastErrorAt": now, "LastError": problem}
            done.append(f"{mapping.openair_user_id}: {mapping.mailbox} not found")
        else:
            columns |= {"MailboxId": found[0].id,
                        "MailboxTimeZone": await graph.mailbox_time_zone(found[0].id) or ""}  # fmt: skip
            done.append(f"{mapping.openair_user_id}: {mapping.mailbox} resolved")
        try:
            await off_loop(store.put_mapping_row, mapping.openair_user_id, columns, etag=row.etag)
        except EtagMismatch:
            continue  # edited again meanwhile: the next run looks at the new value
    return done


def _edited_rows(store: SyncStore) -> list[tuple[UserMapping, Any]]:
    """The rows whose Mailbox awaits resolving (table calls: run off the event loop)."""
    pending: list[tuple[UserMapping, Any]] = []
    for row in store.mapping_rows():
        mapping = parse_user_mapping(row)
        if isinstance(mapping, UserMapping) and mapping.mailbox_id and "ResolvedMailbox" not in row.columns:
            # A row resolved before this column existed: remember which address its id belongs to, once.
            store.write_mapping_status(mapping.openair_user_id, ResolvedMailbox=mapping.mailbox)
            continue
        resolved_for = str(row.columns.get("ResolvedMailbox", "") or "").lower()
        if isinstance(mapping, UserMapping) and mapping.mailbox and not mapping.mailbox_id \
                and resolved_for != mapping.mailbox:  # fmt: skip
            pending.append((mapping, row))
    return pending


def _write(
    store: SyncStore, user_id: str, columns: dict[str, Any], row: Any, report: MappingReport, dry_run: bool
) -> None:
    if dry_run:
        return
    try:
        store.put_mapping_row(user_id, columns, etag=row.etag if row is not None else None)
    except EtagMismatch:
        report.conflicts.append(f"{user_id}: the row changed while the refresh ran; your edit was kept")
