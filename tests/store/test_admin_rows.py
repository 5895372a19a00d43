"""Every admin-editable row parses into a typed object or one clear problem; bad rows never stop the others."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.domain.mappings import MappedBy
from shared.domain.settings import ConflictResolution, ShowAsChoice, WhenRemoved
from shared.kinds import RecordKind
from shared.store.admin import SETTINGS, USER_MAPPINGS, parse_settings, parse_show_as, parse_user_mappings
from shared.store.tables import Row


def mapping(row_key: str, **columns: object) -> Row:
    base: dict[str, object] = {"Mailbox": f"{row_key}@contoso.com", "MailboxId": f"id-{row_key}", "MappedBy": "Email"}
    base.update(columns)
    return Row("User", row_key, base)


def test_a_good_row_becomes_a_typed_mapping() -> None:
    result = parse_user_mappings(
        [mapping("1080", ExportBookings=True, ExportTaskAssignments=False, Import=True, TimeZone="Europe/Berlin")]
    )
    user = result.users["1080"]
    assert user.export_kinds == frozenset({RecordKind.BOOKING})
    assert user.import_events is True
    assert user.mapped_by is MappedBy.EMAIL
    assert user.time_zone == "Europe/Berlin"
    assert result.problems == ()


@pytest.mark.parametrize(
    ("columns", "column", "fragment"),
    [
        ({"ExportBookings": "TRUE"}, "ExportBookings", "the string 'TRUE'; use a Boolean"),
        ({"Import": 1}, "Import", "use a Boolean"),
        ({"MappedBy": "robot"}, "MappedBy", "'Email', 'Alias', 'Manual'"),
        ({"Mailbox": "not-an-address"}, "Mailbox", "email address"),
        ({"TimeZone": "Mars/Olympus"}, "TimeZone", "IANA zone"),
        ({"Mailbox": 42}, "Mailbox", "use text"),
    ],
)
def test_a_bad_cell_skips_that_row_only_with_a_message_naming_table_row_and_column(
    columns: dict[str, object], column: str, fragment: str
) -> None:
    result = parse_user_mappings([mapping("1", **columns), mapping("2", ExportBookings=True)])
    assert list(result.users) == ["2"]
    (problem,) = result.problems
    assert (problem.table, problem.row_key, problem.column) == (USER_MAPPINGS, "1", column)
    assert fragment in str(problem)
    assert str(problem).startswith(f"UserMappings row '1': column {column} ")


def test_a_mailbox_mapped_twice_skips_both_rows_and_names_the_other() -> None:
    rows = [mapping("1", Mailbox="a@contoso.com"), mapping("2", Mailbox="A@contoso.com"), mapping("3")]
    result = parse_user_mappings(rows)
    assert list(result.users) == ["3"]
    assert sorted(p.row_key for p in result.problems) == ["1", "2"]
    assert "also mapped to row(s) '2'" in str(next(p for p in result.problems if p.row_key == "1"))


def test_rows_without_a_mailbox_are_unmapped_not_errors() -> None:
    result = parse_user_mappings([mapping("1", Mailbox="", MailboxId="")])
    assert result.users == {}
    assert "1" in result.unmapped
    assert result.problems == ()


def test_show_as_overrides_accept_exact_spellings_only() -> None:
    rows = [
        Row("BookingType", "7", {"ShowAs": "Set event time as busy"}),
        Row("BookingType", "8", {"ShowAs": "busy"}),
        Row("BookingType", "9", {"ShowAs": "Do not export"}),
    ]
    overrides, problems = parse_show_as(rows)
    assert overrides == {"7": ShowAsChoice.BUSY, "9": ShowAsChoice.DO_NOT_EXPORT}
    assert len(problems) == 1
    assert "'Set event time as free'" in str(problems[0])


def test_settings_parse_with_types_and_defaults() -> None:
    rows = [
        Row("Setting", "ExportAfter", {"Value": "2026-01-31"}),
        Row("Setting", "ExportBookingNotesAsIs", {"Value": True}),
        Row("Setting", "OnRecordDeleted", {"Value": "Keep event"}),
        Row("Setting", "MaxDeletionsPerRun", {"Value": 25}),
        Row("Setting", "ConflictResolution", {"Value": "Exchange wins"}),
        Row("Setting", "SyncEventsAfter", {"Value": dt.datetime(2026, 2, 1, tzinfo=dt.UTC)}),
    ]
    settings, problems = parse_settings(rows)
    assert problems == ()
    assert settings.export_after == dt.date(2026, 1, 31)
    assert settings.export_booking_notes_as_is is True
    assert settings.on_record_deleted is WhenRemoved.KEEP_EVENT
    assert settings.max_deletions_per_run == 25
    assert settings.conflict_resolution is ConflictResolution.EXCHANGE_WINS
    assert settings.sync_events_after == dt.date(2026, 2, 1)
    assert settings.on_user_out_of_scope is WhenRemoved.KEEP_EVENT  # default


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("ExportAfter", "31/01/2026", "YYYY-MM-DD"),
        ("MaxDeletionsPerRun", "25", "whole number"),
        ("MaxDeletionsPerRun", -1, "at least 0"),
        ("ExportBookingNotesAsIs", "yes please", "the string 'yes please'; use a Boolean"),
        ("OnRecordDeleted", "Delete", "'Remove event', 'Keep event'"),
        ("DefaultTimeZone", "Somewhere", "IANA zone"),
        ("ReportWhen", "Sometimes", "'Daily at HH:MM'"),
    ],
)
def test_a_bad_setting_keeps_the_default_and_says_what_is_allowed(name: str, value: object, fragment: str) -> None:
    settings, problems = parse_settings([Row("Setting", name, {"Value": value})])
    (problem,) = problems
    assert (problem.table, problem.row_key, problem.column) == (SETTINGS, name, "Value")
    assert fragment in str(problem)
    assert settings == type(settings)()  # every other value is the default


def test_an_unknown_setting_suggests_the_right_spelling() -> None:
    _, problems = parse_settings([Row("Setting", "exportafter", {"Value": "2026-01-01"})])
    assert "did you mean 'ExportAfter'" in str(problems[0])


def test_storage_explorer_mistakes_that_used_to_pass_are_named() -> None:
    from shared.store.store import SyncStore
    from twins.tables import MemoryTables

    tables = MemoryTables()
    tables.raw_put(USER_MAPPINGS, "User", "1", {"Mailbox": "hiro nakamura@contoso.com", "ExportBookings": True})
    tables.raw_put(USER_MAPPINGS, "Users", "2", {"Mailbox": "sam@contoso.com", "ExportBookings": True})
    tables.raw_put("BookingTypeShowAs", "BookingType", "Consulting", {"ShowAs": "Set event time as busy"})
    tables.raw_put("BookingTypeShowAs", "BookingType", "5", {"Colour": "red"})
    tables.raw_put(SETTINGS, "Settings", "MaxDeletionsPerRun", {"Value": 10})
    store = SyncStore(tables)

    mappings = store.load_mappings()
    problems = [str(p) for p in mappings.problems]
    assert mappings.users == {}
    assert "UserMappings row '1': column Mailbox is 'hiro nakamura@contoso.com'" in problems[0]
    assert "no spaces" in problems[0]
    assert "UserMappings row '2': column PartitionKey is 'Users'; use 'User'" in problems[1]
    show_as, show_problems = store.load_show_as()
    assert show_as == {}
    texts = sorted(str(p) for p in show_problems)
    assert texts[0].startswith("BookingTypeShowAs row '5': column ShowAs is missing; add a String column ShowAs")
    assert "row 'Consulting': column RowKey is 'Consulting', not a booking type id" in texts[1]
    settings, setting_problems = store.load_settings()
    assert settings.max_deletions_per_run == 200  # the misplaced row is not read
    assert "column PartitionKey is 'Settings'; use 'Setting'" in str(setting_problems[0])
