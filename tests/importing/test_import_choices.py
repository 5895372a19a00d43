"""The administrators' import choices: filters by category, Show As and subject tag, and availability-only detail,
for everyone (IntegrationSettings) or per user (UserMappings columns of the same names)."""

from __future__ import annotations

import pytest

from shared.domain.mappings import RowProblem, UserMapping
from shared.domain.settings import ImportDetail
from shared.store.admin import USER_MAPPINGS, parse_settings, parse_user_mapping
from shared.store.tables import Row
from tests.importing.world import ImportWorld


async def test_only_events_with_a_listed_category_are_imported_whatever_its_case() -> None:
    w = ImportWorld.build(ImportCategories="OpenAir, Client work")
    w.create(subject="tagged", categories=("openair",))
    w.create(subject="other", categories=("Personal",))
    w.create(subject="none")
    report = await w.sync()
    assert [b.notes for b in w.imported()] == ["tagged"]
    assert report.skipped["filtered: has none of the categories in ImportCategories"] == 2


async def test_the_show_as_list_lets_all_day_free_events_in_when_free_is_listed() -> None:
    # All-day events default to Free in Outlook: "skip free" is blunt, a list says exactly what counts.
    w = ImportWorld.build(SkipFreeEvents=False, ImportShowAs="busy, oof")
    w.create(subject="busy", show_as="busy")
    w.create(subject="away", show_as="oof")
    w.create(subject="maybe", show_as="tentative")
    await w.sync()
    assert sorted(b.notes for b in w.imported()) == ["away", "busy"]


async def test_a_subject_tag_selects_events_and_is_left_out_of_the_notes() -> None:
    w = ImportWorld.build(ImportSubjectTag="#oa")
    w.create(subject="Workshop #OA at Contoso")
    w.create(subject="Lunch")
    await w.sync()
    assert w.one_imported().notes == "Workshop at Contoso"


async def test_an_event_that_stops_matching_is_a_deletion_under_the_outlook_deletion_policy() -> None:
    w = ImportWorld.build(ImportCategories="OpenAir", OnOutlookDeletion="Delete bookings created from Outlook")
    event = w.create(subject="tagged", categories=("OpenAir",))
    await w.sync()
    assert len(w.imported()) == 1
    w.calendar.user_edit(w.mailbox(), event.id, categories=("Personal",))
    report = await w.sync()
    assert w.imported() == []
    assert report.deleted == 1


async def test_under_the_default_policy_an_event_that_stops_matching_keeps_its_booking() -> None:
    w = ImportWorld.build(ImportCategories="OpenAir")
    event = w.create(subject="tagged", categories=("OpenAir",))
    await w.sync()
    w.calendar.user_edit(w.mailbox(), event.id, categories=())
    report = await w.sync()
    assert len(w.imported()) == 1
    assert any("OnOutlookDeletion keeps the booking" in reason for reason in report.skipped)


async def test_availability_only_imports_times_and_show_as_never_subject_or_body() -> None:
    w = ImportWorld.build(ImportDetail="Availability only")
    event = w.create(subject="Salary talk with HR", body="confidential", show_as="busy")
    await w.sync()
    booking = w.one_imported()
    assert booking.notes == "Busy"
    assert "Salary" not in (booking.notes or "")
    w.calendar.user_edit(w.mailbox(), event.id, subject="Renamed secret", show_as="oof")
    await w.sync()
    assert w.one_imported().notes == "Out of office"


async def test_per_user_columns_override_the_settings_and_a_star_turns_a_filter_off() -> None:
    w = ImportWorld.build(users=("u1", "u2", "u3"), ImportCategories="OpenAir")
    w.world.map_user("u2", Import=True, OpenAirTimeZone="UTC", ImportCategories="*", ImportDetail="Availability only")
    w.world.map_user("u3", Import=True, OpenAirTimeZone="UTC", ImportCategories="Billable")
    for user in ("u1", "u2", "u3"):
        w.create(user, subject=f"{user} untagged")
        w.create(user, subject=f"{user} billable", categories=("Billable",))
    for user in ("u1", "u2", "u3"):
        await w.sync(user)
    by_user = sorted((b.userid, b.notes) for b in w.imported())
    assert by_user == [("u2", "Busy"), ("u2", "Busy"), ("u3", "u3 billable")]


def test_bad_filter_values_name_the_column_and_what_is_allowed() -> None:
    settings, problems = parse_settings([Row("Setting", "ImportShowAs", {"Value": "busy, away"})])
    assert settings.import_show_as == ()
    assert "'away'" in problems[0].message
    assert "workingElsewhere" in problems[0].message
    settings, problems = parse_settings([Row("Setting", "ImportDetail", {"Value": "Everything"})])
    assert "'Availability only'" in problems[0].message
    bad = parse_user_mapping(Row("User", "u1", {"Mailbox": "a@b.c", "ImportShowAs": "oof,nope"}))
    assert isinstance(bad, RowProblem)
    assert (bad.table, bad.column) == (USER_MAPPINGS, "ImportShowAs")


@pytest.mark.parametrize(("value", "expected"), [("OOF, Busy", ("oof", "busy")), ("*", ("*",)), ("", None)])
def test_show_as_lists_are_read_in_graphs_spelling(value: str, expected: tuple[str, ...] | None) -> None:
    mapping = parse_user_mapping(Row("User", "u1", {"Mailbox": "a@b.c", "ImportShowAs": value}))
    assert isinstance(mapping, UserMapping)
    assert mapping.import_show_as == expected


def test_the_detail_setting_parses_to_its_enum() -> None:
    settings, problems = parse_settings([Row("Setting", "ImportDetail", {"Value": "Availability only"})])
    assert (settings.import_detail, problems) == (ImportDetail.AVAILABILITY_ONLY, ())


def test_status_shows_the_choices_in_force_and_each_users_import_filter() -> None:
    from shared.admin.status import build_status

    w = ImportWorld.build(users=("u1", "u2"), ImportShowAs="busy,oof", ExportCategory="OpenAir",
                          ReminderScheduleRequests=True, ExportWindowFutureDays=90)  # fmt: skip
    w.world.map_user("u2", Import=True, OpenAirTimeZone="UTC", ImportShowAs="*", ImportDetail="Availability only")
    report = build_status(w.world.store)
    assert "Exported events carry the Outlook category 'OpenAir' (Blue)" in report.choices
    assert "Reminders on for: schedule_request" in report.choices
    assert "Export window: 90 days ahead" in report.choices
    assert "Import: only shown as busy, oof (per-user columns may override)" in report.choices
    filters = {u.user_id: u.import_filter for u in report.users}
    assert filters == {"u1": "only shown as busy, oof", "u2": "all events, availability only"}
