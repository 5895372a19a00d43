"""Import a mailbox list from CSV — the incumbent's "Manually edit Exchange users > Import from file".

The file has two columns and no header: `email,exchange server`. In a Graph world there is no Exchange server to
connect to, so the second column is kept as the informational `ExchangeServer` column of the mapping row (useful
during a migration from on-premises Exchange, ignored by the sync). An optional third column names the OpenAir
user (their id, or their OpenAir email): the way to map a person whose mailbox is not their OpenAir email. A
header line (`email,...`) is skipped with a warning.

Each email is matched to the OpenAir user named in the third column, else to the OpenAir user whose email it is
(the `OpenAirEmail` column the refresh writes) or to the row already mapped to it, and the rules are the
incumbent's:
- "add new": map users that have no mailbox yet to the mailbox on the line;
- "replace existing": update the row already mapped to that mailbox (its Exchange server), and re-point a user
  mapped to another mailbox;
- both: both. A mapping written from the CSV is an administrator's choice: `MappedBy` = `Manual`, so later
  refreshes never re-point it (they still resolve its mailbox id).
Every bad line is reported with its line number, in line order; every good line is applied. A user mapped for the
first time gets the `NewUsers*` switches, as a refresh gives them, and the answer says what they sync.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.admin.mappings import index_mailboxes
from shared.domain.mappings import MappedBy, UserMapping
from shared.errors import SyncError
from shared.ports.mailboxes import MailboxDirectory
from shared.store.admin import SWITCH_WORDS, new_user_switches, parse_user_mapping
from shared.store.offload import off_loop
from shared.store.store import SyncStore
from shared.store.tables import EtagMismatch, Row

# Pragmatic, not RFC 5322: one @, no spaces, a dot in the domain. What Exchange accepts as a primary SMTP address.
_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")
MAX_FILE_BYTES = 5 * 1024 * 1024


class CsvImportError(SyncError, ValueError):
    """The request itself is unusable (no mode chosen, not text, empty): nothing was applied."""


class CsvTooLarge(CsvImportError):
    """The file is over MAX_FILE_BYTES (HTTP 413)."""


@dataclass(frozen=True)
class MailboxLine:
    line: int
    email: str
    exchange_server: str
    openair_user: str = ""  # third column: an OpenAir user id or an OpenAir email


@dataclass
class CsvImportReport:
    added: list[str] = field(default_factory=list)  # "line 3: 1080 → jane.doe@contoso.com"
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    not_applied: list[str] = field(default_factory=list)  # good lines the chosen mode does not cover
    problems: list[str] = field(default_factory=list)  # bad lines, with line numbers
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "replaced": len(self.replaced),
            "unchanged": len(self.unchanged),
            "not_applied": len(self.not_applied),
            "problems": len(self.problems),
            "warnings": len(self.warnings),
        }


def decode(data: bytes) -> str:
    """UTF-8 with or without a BOM (Excel writes one); anything else is refused with the fix."""
    if len(data) > MAX_FILE_BYTES:
        raise CsvTooLarge(f"the file is {len(data)} bytes; the limit is {MAX_FILE_BYTES} bytes: split it")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvImportError(
            f"the file is not UTF-8 text (byte {exc.start}); save it as 'CSV UTF-8 (Comma delimited)'"
        ) from None
    if not text.strip():
        raise CsvImportError("the file is empty; one line per mailbox: email,exchange server[,OpenAir user]")
    return text


def _is_header(values: Sequence[str]) -> bool:
    return "@" not in values[0] and values[0].strip().lower().replace(" ", "") in {
        "email",
        "e-mail",
        "mailbox",
        "emailaddress",
        "address",
    }


def parse_mailbox_csv(text: str, warnings: list[str] | None = None) -> tuple[list[MailboxLine], list[str]]:
    """Good lines and one problem per bad line. Blank lines are skipped; a repeated email keeps its first line;
    a header line is skipped (said in `warnings`)."""
    text = text.removeprefix("\ufeff")
    lines: list[MailboxLine] = []
    problems: list[str] = []
    first_seen: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    try:
        for fields in reader:
            number = reader.line_num
            values = [value.strip() for value in fields]
            if not any(values):
                continue
            if not lines and not problems and _is_header(values):
                if warnings is not None:
                    warnings.append(f"line {number}: a header line ({','.join(values)}); skipped")
                continue
            if len(values) not in (2, 3):
                problems.append(
                    f"line {number}: {len(values)} column(s); use two or three: email,exchange server[,OpenAir user "
                    "id or email] (quote a value that contains a comma)"
                )
                continue
            email, server = values[0].lower(), values[1]
            who = values[2].lower() if len(values) == 3 else ""
            if not _EMAIL.match(email):
                hint = " — the file has no header row; remove it" if number == 1 and "@" not in email else ""
                problems.append(f"line {number}: '{values[0]}' is not an email address{hint}")
                continue
            if email in first_seen:
                problems.append(f"line {number}: {email} is already on line {first_seen[email]}; this line is ignored")
                continue
            first_seen[email] = number
            lines.append(MailboxLine(number, email, server, who))
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: {exc} (check the quotes); the lines after it were not read")
    return lines, problems


async def import_mailbox_csv(
    store: SyncStore,
    text: str,
    *,
    add_new: bool,
    replace_existing: bool,
    directory: MailboxDirectory | None = None,
    dry_run: bool = False,
) -> CsvImportReport:
    """Apply a mailbox list to UserMappings. With `directory`, mailbox ids and zones are resolved right away."""
    if not (add_new or replace_existing):
        raise CsvImportError("choose what to do: add new (map users without a mailbox), replace existing, or both")
    report = CsvImportReport()
    lines, report.problems = parse_mailbox_csv(text, report.warnings)
    (settings, _), mapping_rows = await off_loop(lambda: (store.load_settings(), store.mapping_rows()))
    switches = new_user_switches(settings)
    rows = {row.row_key: row for row in mapping_rows}
    parsed: dict[str, UserMapping] = {}
    for user_id, row in rows.items():
        mapping = parse_user_mapping(row)
        if isinstance(mapping, UserMapping):
            parsed[user_id] = mapping
    by_mailbox = {m.mailbox: uid for uid, m in parsed.items() if m.mailbox}
    by_openair_email = {m.email.lower(): uid for uid, m in parsed.items() if m.email}
    resolved = index_mailboxes(await directory.list_mailboxes()) if directory is not None and lines else {}

    for item in lines:
        where = f"line {item.line}"
        owner = by_mailbox.get(item.email)
        named = _named_user(item.openair_user, rows, by_openair_email)
        if item.openair_user and named is None:
            report.problems.append(f"{where}: '{item.openair_user}' (third column) is not an OpenAir user id or "
                                   "OpenAir email in UserMappings; run `mappings refresh` first")  # fmt: skip
            continue
        if named is not None and named not in parsed:
            report.problems.append(f"{where}: the UserMappings row of OpenAir user {named} is rejected; fix it first")
            continue
        if owner is not None and named is not None and owner != named:
            report.problems.append(f"{where}: {item.email} is already mapped to OpenAir user {owner}, not {named}; "
                                   "unmap it there first (a mailbox maps to one user)")  # fmt: skip
            continue
        if owner is not None:
            if not replace_existing:
                report.not_applied.append(
                    f"{where}: {item.email} is already mapped to {owner} (replace existing is off)"
                )
            elif rows[owner].columns.get("ExchangeServer", "") == item.exchange_server:
                report.unchanged.append(f"{where}: {owner} → {item.email}")
            else:
                if await off_loop(_put, store, owner, {"ExchangeServer": item.exchange_server}, rows[owner], report,
                                  dry_run):  # fmt: skip
                    report.replaced.append(
                        f"{where}: {owner} → {item.email} (Exchange server '{item.exchange_server}')"
                    )
            continue
        target = named or by_openair_email.get(item.email)
        if target is None:
            report.problems.append(
                f"{where}: no OpenAir user has the email {item.email}; run `mappings refresh` first, or map the "
                "user by hand in the UserMappings table"
            )
            continue
        current = parsed[target]
        if current.mailbox and not replace_existing:
            report.not_applied.append(
                f"{where}: {target} is mapped to {current.mailbox} already (replace existing is off)"
            )
            continue
        if not current.mailbox and not add_new:
            report.not_applied.append(f"{where}: {target} has no mailbox yet (add new is off)")
            continue
        columns: dict[str, Any] = {
            "Mailbox": item.email,
            "MailboxId": "",
            "MailboxTimeZone": "",
            "MappedBy": MappedBy.MANUAL.value,
            "ExchangeServer": item.exchange_server,
        }
        found = resolved.get(item.email)
        if found is not None and directory is not None:
            columns["MailboxId"] = found[0].id
            columns["ResolvedMailbox"] = item.email
            columns["MailboxTimeZone"] = await directory.mailbox_time_zone(found[0].id) or ""
        elif directory is not None:
            report.warnings.append(
                f"{where}: {item.email} is not a Microsoft 365 mailbox (yet); the user syncs once `mappings refresh` "
                "finds it"
            )
        switched_on = ""
        if not current.mailbox:
            # First mapping: the NewUsers* switches, as a refresh gives them; a switch the admin already set stays.
            given = {k: v for k, v in switches.items() if k not in rows[target].columns}
            columns |= given
            on = [name for name, value in {**{k: rows[target].columns.get(k) for k in switches},
                                           **given}.items() if value is True]  # fmt: skip
            switched_on = f" (syncs: {', '.join(SWITCH_WORDS[n] for n in on)})" if on else \
                " (syncs nothing: every switch is off; set them in UserMappings or the NewUsers* settings)"  # fmt: skip
        if not await off_loop(_put, store, target, columns, rows[target], report, dry_run):
            continue
        by_mailbox[item.email] = target
        if current.mailbox:
            by_mailbox.pop(current.mailbox, None)
            report.replaced.append(f"{where}: {target} {current.mailbox} → {item.email}")
        else:
            report.added.append(f"{where}: {target} → {item.email}{switched_on}")
    report.problems.sort(key=_line_number)
    return report


def _line_number(message: str) -> int:
    found = re.match(r"line (\d+):", message)
    return int(found.group(1)) if found else 1 << 30


def _named_user(who: str, rows: dict[str, Row], by_openair_email: dict[str, str]) -> str | None:
    """The third column: an OpenAir user id (the RowKey) or an OpenAir email."""
    if not who:
        return None
    if who in rows:
        return who
    return by_openair_email.get(who)


def _put(
    store: SyncStore, user_id: str, columns: dict[str, Any], row: Row, report: CsvImportReport, dry_run: bool
) -> bool:
    if dry_run:
        return True
    try:
        store.put_mapping_row(user_id, columns, etag=row.etag)
    except EtagMismatch:
        report.problems.append(f"{user_id}: the row changed while the import ran; your edit was kept, re-run")
        return False
    return True


def lines_of(report: CsvImportReport) -> Sequence[str]:
    """Everything the report says, in reading order (CLI and logs)."""
    everything = [*report.added, *report.replaced, *report.unchanged, *report.not_applied, *report.warnings,
                  *report.problems]  # fmt: skip
    return sorted(everything, key=_line_number)
