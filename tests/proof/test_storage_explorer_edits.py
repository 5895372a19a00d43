"""Storage Explorer edits to every column of every admin table: wrong types, empty values, unknown enums,
duplicate keys. Each bad cell gives one message naming the table, the row, the column and what is allowed; the
row is skipped and nothing else is disturbed. The columns come from the code, not from a list in this test."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from shared.domain.settings import ShowAsChoice
from shared.store.admin import (
    SETTING_SPECS,
    SETTINGS,
    SHOW_AS,
    USER_MAPPINGS,
    parse_settings,
    parse_show_as,
    parse_user_mapping,
    parse_user_mappings,
    setting_value,
)
from shared.store.tables import Row

GOOD = {"Mailbox": "jane@contoso.com", "MailboxId": "m-1", "MappedBy": "Manual", "ExportBookings": True,
        "ExportTaskAssignments": False, "ExportScheduleRequests": True, "Import": False, "TimeZone": "Europe/Berlin",
        "OpenAirUserName": "Jane", "OpenAirEmail": "jane@contoso.com", "OpenAirTimeZone": "UTC",
        "MailboxTimeZone": "UTC"}  # fmt: skip
BAD_VALUES: list[Any] = [
    12345,
    3.5,
    "TRUE",
    "",
    "   ",
    "Sideways",
    None,
    dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    b"\x00",
]


class Recording(Mapping[str, Any]):
    """Columns that remember which names the parser asked for."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.columns, self.read = dict(values), set[str]()

    def __getitem__(self, name: str) -> Any:
        self.read.add(name)
        return self.columns[name]

    def get(self, name: str, default: Any = None) -> Any:
        self.read.add(name)
        return self.columns.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)


def _mapping_columns() -> list[str]:
    recording = Recording(GOOD)
    parse_user_mapping(Row("User", "1", recording))
    return sorted(recording.read)


MAPPING_COLUMNS = _mapping_columns()


def test_the_columns_read_from_user_mappings_are_the_documented_ones() -> None:
    assert set(GOOD) <= set(MAPPING_COLUMNS)


@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
@pytest.mark.parametrize("column", MAPPING_COLUMNS)
def test_every_user_mappings_column_with_a_bad_value(column: str, value: Any) -> None:
    bad = Row("User", "42", {**GOOD, "Mailbox": "bad@contoso.com", column: value})
    other = Row("User", "7", dict(GOOD))
    mappings = parse_user_mappings([other, bad])
    assert mappings.users["7"] == parse_user_mapping(other), "the other row is not disturbed"
    problems = [str(p) for p in mappings.problems]
    if "42" in mappings.users or "42" in mappings.unmapped:
        assert not problems  # a value the column accepts (e.g. an empty optional text)
        return
    (message,) = problems
    assert message.startswith(f"{USER_MAPPINGS} row '42': column {column} ")
    assert "use" in message or "also mapped" in message, message


SETTING_NAMES = [spec.name for spec in SETTING_SPECS]


@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
@pytest.mark.parametrize("name", SETTING_NAMES)
def test_every_setting_with_a_bad_value_keeps_its_default_and_says_what_is_allowed(name: str, value: Any) -> None:
    neighbour = "MaxDeletionsPerRun" if name != "MaxDeletionsPerRun" else "WindowPastDays"
    rows = [Row("Setting", neighbour, {"Value": 7}), Row("Setting", name, {"Value": value})]
    parsed, problems = parse_settings(rows)
    assert setting_value(parsed, neighbour) == 7, "the other setting is not disturbed"
    if not problems:
        return  # an accepted value (an empty optional date or text)
    (problem,) = problems
    default = next(spec.default for spec in SETTING_SPECS if spec.name == name)
    assert setting_value(parsed, name) == default
    assert str(problem).startswith(f"{SETTINGS} row '{name}': column Value ")
    assert "use" in str(problem)


@pytest.mark.parametrize("name", SETTING_NAMES)
def test_every_setting_without_a_value_column_or_with_a_near_miss_name(name: str) -> None:
    _, problems = parse_settings([Row("Setting", name, {"value": 1})])
    assert [str(p) for p in problems] == [f"{SETTINGS} row '{name}': column Value is missing; add a Value column"]
    _, problems = parse_settings([Row("Setting", name.lower(), {"Value": 1})])
    assert f"did you mean '{name}'" in str(problems[0])


@pytest.mark.parametrize("value", [*BAD_VALUES, "set event time as busy", "Busy"], ids=repr)
def test_every_show_as_value_outside_the_choices(value: Any) -> None:
    overrides, problems = parse_show_as([Row("BookingType", "5", {"ShowAs": "Set event time as busy"}),
                                         Row("BookingType", "6", {"ShowAs": value})])  # fmt: skip
    assert overrides == {"5": ShowAsChoice.BUSY}
    (problem,) = problems
    assert str(problem).startswith(f"{SHOW_AS} row '6': column ShowAs ")
    assert all(f"'{c.value}'" in str(problem) for c in ShowAsChoice)


def test_duplicate_show_as_keys_after_trimming_are_refused_not_silently_overwritten() -> None:
    overrides, problems = parse_show_as([Row("BookingType", "5", {"ShowAs": "Set event time as busy"}),
                                         Row("BookingType", "5 ", {"ShowAs": "Do not export"})])  # fmt: skip
    assert "5" not in overrides, "neither row wins: the admin must pick one"
    assert len(problems) == 2
    assert all("also" in str(p) and SHOW_AS in str(p) for p in problems)


def test_a_mailbox_on_two_rows_skips_both_and_names_the_other() -> None:
    mappings = parse_user_mappings([Row("User", "1", dict(GOOD)), Row("User", "2", dict(GOOD)),
                                    Row("User", "3", {**GOOD, "Mailbox": "x@contoso.com"})])  # fmt: skip
    assert set(mappings.users) == {"3"}
    assert sorted(str(p) for p in mappings.problems) == [
        f"{USER_MAPPINGS} row '1': column Mailbox 'jane@contoso.com' is also mapped to row(s) '2'; a mailbox can map "
        "to one user only",
        f"{USER_MAPPINGS} row '2': column Mailbox 'jane@contoso.com' is also mapped to row(s) '1'; a mailbox can map "
        "to one user only",
    ]
