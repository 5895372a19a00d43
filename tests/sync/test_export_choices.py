"""The administrators' export choices: a category on every event (created in the mailbox's category list), reminders
per record type, and an export window (days back and ahead)."""

from __future__ import annotations

import datetime as dt

from shared.kinds import RecordKind
from shared.store.admin import parse_settings
from shared.store.tables import Row
from tests.sync.world import World

TODAY = dt.datetime.now(dt.UTC).date()


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


async def test_every_exported_event_carries_the_category_and_the_mailbox_gets_it_once() -> None:
    world = World.build(("u1",))
    world.setting("ExportCategory", "OpenAir")
    world.setting("ExportCategoryColor", "DarkGreen")
    world.booking("b1", "u1", days(3), days(3))
    world.time_off("r1", "u1", [days(5)])
    await world.run()
    assert world.event("u1", RecordKind.BOOKING, "b1").draft.categories == ("OpenAir",)
    assert world.event("u1", RecordKind.SCHEDULE_REQUEST, "r1").draft.categories == ("OpenAir",)
    assert world.calendar.categories["mbx-u1"] == {"OpenAir": "preset19"}
    requests = world.calendar.requests
    world.booking("b2", "u1", days(4), days(4))
    await world.run()
    assert world.calendar.requests == requests + 1  # one $batch: the category is already in the list


async def test_a_mailbox_that_refuses_the_category_list_still_gets_its_events_and_a_clear_error() -> None:
    world = World.build(("u1",))
    world.setting("ExportCategory", "OpenAir")
    world.calendar.categories_writable = False
    world.booking("b1", "u1", days(3), days(3))
    await world.run()
    assert world.event("u1", RecordKind.BOOKING, "b1").draft.categories == ("OpenAir",)
    (report,) = world.reports
    assert "MailboxSettings.ReadWrite" in report.errors[0]


async def test_reminders_are_on_only_for_the_record_types_the_administrator_chose() -> None:
    world = World.build(("u1",))
    world.setting("ReminderBookings", True)
    world.booking("b1", "u1", days(3), days(3))
    world.time_off("r1", "u1", [days(5)])
    await world.run()
    assert world.event("u1", RecordKind.BOOKING, "b1").draft.is_reminder_on is True
    assert world.event("u1", RecordKind.SCHEDULE_REQUEST, "r1").draft.is_reminder_on is False


async def test_a_new_category_or_reminder_choice_rolls_out_to_events_already_exported() -> None:
    world = World.build(("u1",))
    world.booking("b1", "u1", days(3), days(3))
    world.booking("b2", "u1", days(4), days(4))
    await world.run()
    assert world.event("u1", RecordKind.BOOKING, "b1").draft.categories == ()
    idle = await world.run()
    assert idle.counts.get("rerendered_for_settings") is None
    world.setting("ExportCategory", "OpenAir")
    plan = await world.run()
    assert plan.counts["rerendered_for_settings"] == 1
    assert {world.event("u1", RecordKind.BOOKING, b).draft.categories for b in ("b1", "b2")} == {("OpenAir",)}
    again = await world.run()
    assert again.counts.get("rerendered_for_settings") is None
    assert again.users_with_work == []


async def test_the_export_window_writes_nothing_beyond_it_and_the_far_edge_is_reached_later() -> None:
    world = World.build(("u1",))
    world.setting("ExportWindowPastDays", 7)
    world.setting("ExportWindowFutureDays", 30)
    world.booking("old", "u1", days(-20), days(-20))
    world.booking("near", "u1", days(3), days(3))
    world.booking("far", "u1", days(60), days(60))
    plan = await world.run()
    assert set(world.events("u1")) == {"openair:booking:near"}
    assert plan.counts["before_export_window"] == 1
    # The window grows: the far booking is written without any change in OpenAir.
    world.setting("ExportWindowFutureDays", 90)
    await world.run()
    assert set(world.events("u1")) == {"openair:booking:near", "openair:booking:far"}


async def test_a_booking_moved_beyond_the_window_follows_on_record_out_of_scope_and_history_is_kept() -> None:
    world = World.build(("u1",))
    world.booking("b1", "u1", days(3), days(3))
    world.booking("b2", "u1", days(-20), days(-20))
    await world.run()
    world.setting("ExportWindowPastDays", 7)
    world.setting("ExportWindowFutureDays", 30)
    world.booking("b1", "u1", days(45), days(45))  # moved out of the window
    world.booking("b2", "u1", days(-20), days(-20), notes="edited long after")  # history
    await world.run()
    assert "openair:booking:b1" not in world.events("u1")  # OnRecordOutOfScope: Remove event (the default)
    assert world.event("u1", RecordKind.BOOKING, "b2").draft.body.find("edited long after") == -1


def test_window_and_colour_values_are_checked() -> None:
    _, problems = parse_settings([Row("Setting", "ExportCategoryColor", {"Value": "Mauve"})])
    assert "preset0 to preset24" in problems[0].message
    settings, problems = parse_settings([Row("Setting", "ExportWindowPastDays", {"Value": ""})])
    assert (settings.export_window_past_days, problems) == (None, ())
    _, problems = parse_settings([Row("Setting", "ExportWindowFutureDays", {"Value": -1})])
    assert "at least 0" in problems[0].message
