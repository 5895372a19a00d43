"""The tables administrators edit in Storage Explorer, parsed row by row into the domain's objects
(`shared/domain/settings.py`, `shared/domain/mappings.py`).

Parse, don't validate later: a row that parses is valid; a row that does not becomes a `RowProblem` with
the table, the row, the column and what is allowed, and is skipped. Everyone else keeps syncing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.domain.mappings import MappedBy, Mappings, RowProblem, UserMapping
from shared.domain.settings import (
    ANY,
    AUTO_REPLY_FIELDS,
    CATEGORY_COLORS,
    DEFAULT_AUTO_REPLY,
    IMPORT_SHOW_AS,
    ConflictResolution,
    ImportDetail,
    IntegrationSettings,
    OutlookDeletion,
    PauseState,
    ShowAsChoice,
    WhenRemoved,
)
from shared.kinds import KINDS, RecordKind
from shared.store.tables import Row

USER_MAPPINGS = "UserMappings"
SHOW_AS = "BookingTypeShowAs"
SETTINGS = "IntegrationSettings"

USER_PARTITION = "User"
SHOW_AS_PARTITION = "BookingType"
SETTINGS_PARTITION = "Setting"


class _BadValue(Exception):
    pass


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        raise _BadValue(f"is the string '{value}'; use a Boolean (true or false) — set the column type to Boolean")
    raise _BadValue(f"is {value!r}; use a Boolean (true or false)")


def _int(value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _BadValue(f"is {value!r}; use a whole number (Int32) of at least {minimum}")
    if value < minimum:
        raise _BadValue(f"is {value}; use a whole number of at least {minimum}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _BadValue(f"is {value!r}; use text (String)")
    return value.strip()


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _BadValue(f"is {value!r}; use a date as YYYY-MM-DD (e.g. 2026-01-31) or a DateTime")


def _enum(value: Any, choices: type[StrEnum]) -> Any:
    allowed = [c.value for c in choices]
    if isinstance(value, str):
        for choice in choices:
            if choice.value == value.strip():
                return choice
    raise _BadValue(f"is {value!r}; use one of: " + ", ".join(f"'{a}'" for a in allowed))


def _names(value: Any) -> tuple[str, ...]:
    """A comma-separated list of names (Outlook categories), trimmed, without empties or repeats."""
    if value is None:
        return ()
    out: list[str] = []
    for name in _text(value).split(","):
        name = name.strip()
        if name and name.casefold() not in {n.casefold() for n in out}:
            out.append(name)
    return tuple(out)


def _show_as_list(value: Any) -> tuple[str, ...]:
    names = _names(value)
    if names == (ANY,):
        return names
    allowed = {v.casefold(): v for v in IMPORT_SHOW_AS}
    bad = [n for n in names if n.casefold() not in allowed]
    if bad:
        raise _BadValue(f"lists '{bad[0]}'; use a comma-separated list of: " + ", ".join(IMPORT_SHOW_AS))
    return tuple(allowed[n.casefold()] for n in names)


def _color(value: Any) -> str:
    text = _text(value)
    for name, preset in CATEGORY_COLORS.items():
        if text.casefold() in (name.casefold(), preset):
            return preset
    raise _BadValue(f"is '{text}'; use a colour name (e.g. Blue, DarkGreen) or a Graph preset (preset0 to preset24)")


def _optional_days(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _int(value)


# ---------------------------------------------------------------- user mappings


IMPORT_SWITCH = "Import"
# The UserMappings switches in words, as `status` and the CSV import say them (the incumbent showed coloured dots;
# letters needed a legend).
SWITCH_WORDS: Mapping[str, str] = {**{spec.switch_column: spec.words for spec in KINDS.values()},
                                   IMPORT_SWITCH: "import"}  # fmt: skip


def new_user_switches(settings: IntegrationSettings) -> dict[str, bool]:
    """The UserMappings switches a user mapped automatically (refresh, CSV import) starts with: the NewUsers*
    settings."""
    switches = {spec.switch_column: settings.new_users_export[kind] for kind, spec in KINDS.items()}
    return {**switches, IMPORT_SWITCH: settings.new_users_import}


# An address as Exchange takes it: one @, a dot in the domain, no whitespace (a pasted "hiro nakamura@..." is not).
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

_SWITCHES = {spec.switch_column: kind for kind, spec in KINDS.items()}


def parse_user_mapping(row: Row) -> UserMapping | RowProblem:
    """A row of UserMappings; columns absent mean 'off' (a switch must be set to true to export)."""
    cols = row.columns
    column = ""
    try:
        column = "RowKey"
        if not row.row_key.strip():
            raise _BadValue("is empty; use the OpenAir user id")
        column = "Mailbox"
        mailbox = _text(cols.get("Mailbox", ""))
        if mailbox and not _ADDRESS.fullmatch(mailbox):
            raise _BadValue(f"is '{mailbox}'; use the mailbox's email address (name@domain, no spaces)")
        column = "MailboxId"
        mailbox_id = _text(cols.get("MailboxId", ""))
        column = "ResolvedMailbox"
        resolved_for = _text(cols.get("ResolvedMailbox", "")).lower()
        if resolved_for and resolved_for != mailbox.lower():
            # The Mailbox was edited by hand since its id was resolved: the id is the old mailbox's. The next
            # export run resolves the new address; until then nothing is written to either mailbox.
            mailbox_id = ""
        column = "MappedBy"
        mapped_by = _enum(cols.get("MappedBy", MappedBy.MANUAL.value), MappedBy)
        kinds = set()
        for column, kind in _SWITCHES.items():
            if cols.get(column) is not None and _bool(cols[column]):
                kinds.add(kind)
        column = "Import"
        import_events = _bool(cols["Import"]) if cols.get("Import") is not None else False
        column = "TimeZone"
        zone = _text(cols.get("TimeZone", "")) or None
        if zone is not None:
            from shared.timezones import resolve_zone

            if resolve_zone(zone) is None:
                raise _BadValue(f"is '{zone}'; use an IANA zone (Europe/Berlin) or a Windows zone name")
        column = "OpenAirUserName"
        name = _text(cols.get("OpenAirUserName", ""))
        column = "OpenAirEmail"
        email = _text(cols.get("OpenAirEmail", ""))
        column = "OpenAirTimeZone"
        openair_zone = _text(cols.get("OpenAirTimeZone", ""))
        column = "MailboxTimeZone"
        mailbox_zone = _text(cols.get("MailboxTimeZone", ""))
        column = "ImportCategories"
        categories = _names(cols.get("ImportCategories")) or None
        column = "ImportShowAs"
        show_as = _show_as_list(cols.get("ImportShowAs")) or None
        column = "ImportSubjectTag"
        subject_tag = _text(cols.get("ImportSubjectTag", "")) or None
        column = "ImportDetail"
        detail_text = _text(cols.get("ImportDetail", ""))
        detail = _enum(detail_text, ImportDetail) if detail_text else None
    except _BadValue as bad:
        return RowProblem(USER_MAPPINGS, row.row_key, column, str(bad))
    return UserMapping(
        openair_user_id=row.row_key.strip(),
        mailbox=mailbox.lower(),
        mailbox_id=mailbox_id,
        mapped_by=mapped_by,
        export_kinds=frozenset(kinds),
        import_events=import_events,
        time_zone=zone,
        name=name,
        email=email,
        openair_time_zone=openair_zone,
        mailbox_time_zone=mailbox_zone,
        import_categories=categories,
        import_show_as=show_as,
        import_subject_tag=subject_tag,
        import_detail=detail,
    )


def parse_user_mappings(rows: Iterable[Row]) -> Mappings:
    parsed: list[UserMapping] = []
    problems: list[RowProblem] = []
    for row in rows:
        result = parse_user_mapping(row)
        (problems if isinstance(result, RowProblem) else parsed).append(result)  # type: ignore[arg-type]
    by_mailbox: dict[str, list[UserMapping]] = {}
    for mapping in parsed:
        if mapping.mailbox:
            by_mailbox.setdefault(mapping.mailbox, []).append(mapping)
    users: dict[str, UserMapping] = {}
    unmapped: dict[str, UserMapping] = {}
    for mapping in parsed:
        if not mapping.mailbox:
            unmapped[mapping.openair_user_id] = mapping
            continue
        twins = by_mailbox[mapping.mailbox]
        if len(twins) > 1:
            # Which of them is right is the admin's call: skip all, name all.
            others = ", ".join(f"'{t.openair_user_id}'" for t in twins if t is not mapping)
            problems.append(
                RowProblem(
                    USER_MAPPINGS,
                    mapping.openair_user_id,
                    "Mailbox",
                    f"'{mapping.mailbox}' is also mapped to row(s) {others}; a mailbox can map to one user only",
                )
            )
            continue
        users[mapping.openair_user_id] = mapping
    return Mappings(users, unmapped, tuple(problems))


# ---------------------------------------------------------------- show-as overrides


def parse_show_as(rows: Iterable[Row]) -> tuple[dict[str, ShowAsChoice], tuple[RowProblem, ...]]:
    """BookingTypeShowAs: RowKey = OpenAir booking type id, column ShowAs."""
    out: dict[str, ShowAsChoice] = {}
    problems: list[RowProblem] = []
    rows_of: dict[str, list[str]] = {}  # "5" and "5 " are one booking type: which row is meant is the admin's call
    for row in rows:
        rows_of.setdefault(row.row_key.strip(), []).append(row.row_key)
        if not row.row_key.strip().isdigit():
            problems.append(RowProblem(SHOW_AS, row.row_key, "RowKey", f"is '{row.row_key}', not a booking type id; "
                                       "use the booking type's id (a number: `check` names it)"))  # fmt: skip
            continue
        if row.columns.get("ShowAs") is None:
            allowed = ", ".join(f"'{c.value}'" for c in ShowAsChoice)
            problems.append(RowProblem(SHOW_AS, row.row_key, "ShowAs", f"is missing; add a String column ShowAs "
                                       f"with one of: {allowed}"))  # fmt: skip
            continue
        try:
            out[row.row_key.strip()] = _enum(row.columns.get("ShowAs"), ShowAsChoice)
        except _BadValue as bad:
            problems.append(RowProblem(SHOW_AS, row.row_key, "ShowAs", str(bad)))
    for key, twins in ((k, v) for k, v in rows_of.items() if len(v) > 1):
        out.pop(key, None)
        problems += [
            RowProblem(SHOW_AS, r, "RowKey", f"is also booking type '{key}' on another row; keep one") for r in twins
        ]
    return out, tuple(problems)


# ---------------------------------------------------------------- integration settings


@dataclass(frozen=True)
class SettingSpec:
    name: str
    parse: Any
    default: Any
    description: str


def _reply_template(value: Any) -> str:
    import string

    text = _text(value)
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as bad:
        raise _BadValue(f"is not a valid template ({bad}); write placeholders as {{first_day}}") from None
    unknown = sorted(names - set(AUTO_REPLY_FIELDS))
    if unknown:
        allowed = ", ".join("{" + n + "}" for n in AUTO_REPLY_FIELDS)
        raise _BadValue(f"uses {{{unknown[0]}}}; the placeholders are {allowed}")
    return text


def _zone(value: Any) -> str:
    from shared.timezones import resolve_zone

    text = _text(value)
    if resolve_zone(text) is None:
        raise _BadValue(f"is '{text}'; use an IANA zone (e.g. Europe/Berlin) or a Windows zone name")
    return text


def _optional_date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _date(value)


def _report_when(value: Any) -> str:
    text = _text(value)
    if text in ("Never", "Each run with errors", "Each run") or _is_daily(text):
        return text
    raise _BadValue(f"is '{text}'; use 'Never', 'Each run', 'Each run with errors' or 'Daily at HH:MM' (UTC)")


def _is_daily(text: str) -> bool:
    if not text.startswith("Daily at "):
        return False
    try:
        dt.time.fromisoformat(text.removeprefix("Daily at "))
    except ValueError:
        return False
    return True


SETTING_SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("ExportAfter", _optional_date, None, "Export only records created or modified after this date"),
    SettingSpec("ExportBookingNotesAsIs", _bool, False, "Event body = booking notes only"),
    SettingSpec("OnRecordDeleted", lambda v: _enum(v, WhenRemoved), WhenRemoved.REMOVE_EVENT,
                "A record deleted in OpenAir: its event is removed or kept"),
    SettingSpec("OnRecordOutOfScope", lambda v: _enum(v, WhenRemoved), WhenRemoved.REMOVE_EVENT,
                "A record that no longer qualifies (Do not export type, zero planned hours)"),
    SettingSpec("OnUserOutOfScope", lambda v: _enum(v, WhenRemoved), WhenRemoved.KEEP_EVENT,
                "A user unmapped, or a record type switched off for them"),
    SettingSpec("MaxDeletionsPerRun", _int, 200, "A run that would delete more events than this deletes none"),
    SettingSpec("MaxImportDeletionsPerPass", _int, 50, "An import pass that would delete more bookings changes none"),
    SettingSpec("WatermarkOverlapMinutes", _int, 10, "Re-read this much before the last watermark"),
    SettingSpec("DefaultTimeZone", _zone, "UTC", "Zone when neither OpenAir nor the mailbox has one"),
    *(SettingSpec(spec.new_users_setting, _bool, True, "Switch for users the refresh maps automatically")
      for spec in KINDS.values()),
    SettingSpec("NewUsersImport", _bool, False, "Switch for users the refresh maps automatically"),
    SettingSpec("ImportEnabled", _bool, False, "Bidirectional sync: Outlook events become bookings"),
    SettingSpec("SyncEventsAfter", _optional_date, None, "Import only events created or modified after this"),
    SettingSpec("ConflictResolution", lambda v: _enum(v, ConflictResolution), ConflictResolution.OPENAIR_WINS,
                "Same field changed on both sides: which side wins"),
    SettingSpec("DefaultBookingTypeId", _text, "", "Booking type of imported bookings (user custom field wins)"),
    SettingSpec("DefaultProjectId", _text, "", "Project of imported bookings (user custom field wins)"),
    SettingSpec("ImportPrivateEvents", _bool, False, "Import private events (time only, no subject or body)"),
    SettingSpec("SkipFreeEvents", _bool, True, "Do not import events shown as free"),
    SettingSpec("OnOutlookDeletion", lambda v: _enum(v, OutlookDeletion), OutlookDeletion.IGNORE,
                "What an event deleted or declined in Outlook does to its booking"),
    SettingSpec("DeletedBookingTypeId", _text, "", "Booking type set by 'Change booking type'"),
    SettingSpec("WindowPastDays", _int, 30, "Import window: days before today"),
    SettingSpec("WindowFutureDays", _int, 180, "Import window: days after today"),
    SettingSpec("ReportRecipients", _text, "", "Comma-separated addresses for run reports"),
    SettingSpec("ReportSender", _text, "", "Mailbox that sends run reports (needs Mail.Send)"),
    SettingSpec("ReportWhen", _report_when, "Never", "'Never', 'Each run', 'Each run with errors', 'Daily at HH:MM'"),
    SettingSpec("ImportCategories", _names, (),
                "Import only events with one of these Outlook categories (comma-separated)"),
    SettingSpec("ImportShowAs", _show_as_list, (),
                "Import only events shown as one of these (free, tentative, busy, oof, workingElsewhere)"),
    SettingSpec("ImportSubjectTag", _text, "",
                "Import only events whose subject contains this tag (left out of the notes)"),
    SettingSpec("ImportDetail", lambda v: _enum(v, ImportDetail), ImportDetail.FULL,
                "'Full' (subject as notes) or 'Availability only' (start, end and Show As; no subject or body)"),
    SettingSpec("ExportCategory", _text, "", "Outlook category put on every exported event (created in each mailbox)"),
    SettingSpec("ExportCategoryColor", _color, "preset7", "Colour of ExportCategory when the product creates it"),
    *(SettingSpec(spec.reminder_setting, _bool, False, f"Exported {spec.plural} have an Outlook reminder")
      for spec in KINDS.values()),
    SettingSpec("ExportWindowPastDays", _optional_days, None, "Write no event that ended more than this many days ago"),
    SettingSpec("ExportWindowFutureDays", _optional_days, None,
                "Write no event that starts more than this many days ahead"),
    SettingSpec("IncumbentEventsInMailboxes", _bool, False,
                "Mailboxes may hold the Exchange Integration Manager's events: a first export adopts them"),
    SettingSpec("Paused", _bool, False, "Stop every write (export, push, import); changes wait and are caught up"),
    SettingSpec("AutoRepliesForTimeOff", _bool, False,
                "Approved time off sets the person's Outlook automatic replies (needs MailboxSettings.ReadWrite)"),
    SettingSpec("AutoReplyInternalMessage", _reply_template, DEFAULT_AUTO_REPLY, "Automatic reply inside the company"),
    SettingSpec("AutoReplyExternalMessage", _reply_template, DEFAULT_AUTO_REPLY, "Automatic reply to outsiders"),
    SettingSpec("ConflictReport", _bool, False,
                "Report bookings on days the person's Outlook shows out of office or fully busy"),
)  # fmt: skip

# The settings kept per record type: setting name -> (IntegrationSettings attribute, kind).
_PER_KIND: Mapping[str, tuple[str, RecordKind]] = {
    **{spec.new_users_setting: ("new_users_export", kind) for kind, spec in KINDS.items()},
    **{spec.reminder_setting: ("reminders", kind) for kind, spec in KINDS.items()},
}
_FIELD_OF = {
    spec.name: "".join("_" + c.lower() if c.isupper() else c for c in spec.name).lstrip("_")
    for spec in SETTING_SPECS
    if spec.name not in _PER_KIND
}


def parse_settings(rows: Iterable[Row]) -> tuple[IntegrationSettings, tuple[RowProblem, ...]]:
    """IntegrationSettings: RowKey = setting name, column Value. A bad value keeps the default and is reported."""
    specs = {spec.name: spec for spec in SETTING_SPECS}
    values: dict[str, Any] = {}
    per_kind: dict[str, dict[RecordKind, Any]] = {}
    extra: dict[str, Any] = {}
    problems: list[RowProblem] = []
    for row in rows:
        spec = specs.get(row.row_key)
        if spec is None:
            near = [n for n in specs if n.lower() == row.row_key.lower()]
            hint = f"; did you mean '{near[0]}'?" if near else "; see the README for the list of settings"
            problems.append(RowProblem(SETTINGS, row.row_key, "RowKey", f"is not a known setting{hint}"))
            extra[row.row_key] = row.columns.get("Value")
            continue
        if "Value" not in row.columns:
            problems.append(RowProblem(SETTINGS, row.row_key, "Value", "is missing; add a Value column"))
            continue
        try:
            value = spec.parse(row.columns["Value"])
        except _BadValue as bad:
            problems.append(RowProblem(SETTINGS, row.row_key, "Value", str(bad)))
            continue
        if spec.name in _PER_KIND:
            attribute, kind = _PER_KIND[spec.name]
            per_kind.setdefault(attribute, {})[kind] = value
        else:
            values[_FIELD_OF[spec.name]] = value
    defaults = IntegrationSettings()
    for attribute, chosen in per_kind.items():
        values[attribute] = {**getattr(defaults, attribute), **chosen}
    return IntegrationSettings(**values, extra=extra), tuple(problems)


PAUSED = "Paused"


def parse_pause(row: Row | None) -> PauseState | None:
    """None when the sync runs. A Value that is not a Boolean does not pause (it is reported as a bad setting)."""
    if row is None or row.columns.get("Value") is not True:
        return None
    since = row.columns.get("PausedAt")
    return PauseState(
        since=since if isinstance(since, dt.datetime) else None,
        by=str(row.columns.get("PausedBy", "") or "Storage Explorer (by hand)"),
        reason=str(row.columns.get("Reason", "") or ""),
    )


def misplaced(table: str, partition: str, rows: Iterable[Row]) -> tuple[list[Row], tuple[RowProblem, ...]]:
    """Split a whole table into its rows under `partition` and a problem for each row under another one (a row
    typed under `Users` instead of `User` would otherwise be silently ignored)."""
    kept: list[Row] = []
    problems: list[RowProblem] = []
    for row in rows:
        if row.partition_key == partition:
            kept.append(row)
        else:
            problems.append(RowProblem(table, row.row_key, "PartitionKey", f"is '{row.partition_key}'; use "
                                       f"'{partition}' (rows under another PartitionKey are not read)"))  # fmt: skip
    return kept, tuple(problems)


def setting_value(settings: IntegrationSettings, name: str) -> Any:
    """The value of the setting named `name` (its row's RowKey), as parsed or defaulted."""
    per_kind = _PER_KIND.get(name)
    if per_kind is not None:
        attribute, kind = per_kind
        return getattr(settings, attribute)[kind]
    return getattr(settings, _FIELD_OF[name])
