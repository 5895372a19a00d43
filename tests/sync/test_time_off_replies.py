"""Approved time off sets the person's automatic replies (AutoRepliesForTimeOff): the next time off's window with
the administrator's templates, never over replies the person set, switched off when the time off goes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from shared.graph.models import AutomaticReplies
from shared.store.admin import parse_settings
from shared.store.tables import Row
from shared.sync.mailbox import export_mailbox
from shared.sync.planner import plan_export
from tests.sync.world import World

TODAY = dt.datetime.now(dt.UTC).date()
MAILBOX = "mbx-u2"  # u2 works in Europe/Berlin


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def world_with_replies() -> World:
    world = World.build(("u2",))
    world.setting("AutoRepliesForTimeOff", True)
    world.setting("AutoReplyInternalMessage", "{name} is away until {last_day}, back {return_day}.")
    world.map_user("u2", OpenAirUserName="Ana Berg")
    return world


async def test_approved_time_off_schedules_the_replies_for_its_days_in_the_users_zone() -> None:
    world = world_with_replies()
    world.time_off("r1", "u2", [days(10), days(11), days(12)])
    await world.run()
    replies = world.calendar.replies[MAILBOX]
    berlin = ZoneInfo("Europe/Berlin")
    assert replies.status == "scheduled"
    assert replies.start == dt.datetime.combine(days(10), dt.time(0), berlin)  # midnight where the person is
    assert replies.end == dt.datetime.combine(days(13), dt.time(0), berlin)
    assert replies.internal_message == f"Ana Berg is away until {days(12)}, back {days(13)}."
    assert "from " + days(10).isoformat() in replies.external_message  # the default template


async def test_a_pending_request_sets_nothing_and_rejection_switches_the_replies_off() -> None:
    world = world_with_replies()
    world.time_off("r1", "u2", [days(10)], status="P")
    await world.run()
    assert MAILBOX not in world.calendar.replies
    world.time_off("r1", "u2", [days(10)], status="A")
    await world.run()
    assert world.calendar.replies[MAILBOX].status == "scheduled"
    world.time_off("r1", "u2", [days(10)], status="R")
    await world.run()
    assert world.calendar.replies[MAILBOX].status == "disabled"


async def test_replies_the_person_set_themselves_are_never_overwritten() -> None:
    world = world_with_replies()
    own = AutomaticReplies(status="alwaysEnabled", internal_message="On parental leave")
    world.calendar.replies[MAILBOX] = own
    world.time_off("r1", "u2", [days(10)])
    await world.run()
    assert world.calendar.replies[MAILBOX] == own
    (report,) = world.reports
    assert "the person's own automatic replies are on" in report.errors[0]


async def test_the_next_time_off_is_scheduled_first_and_the_one_after_once_it_has_passed() -> None:
    world = world_with_replies()
    world.time_off("r1", "u2", [days(20)])
    world.time_off("r2", "u2", [days(5)])
    await world.run()
    first = world.calendar.replies[MAILBOX]
    assert first.start is not None
    assert first.start.astimezone(dt.UTC).date() in (days(4), days(5))
    # r2 is over: the timer sends the worker a message and the worker schedules r1.
    world.openair.delete("Schedulerequest", "r2")
    await world.run()
    second = world.calendar.replies[MAILBOX]
    assert second.start is not None
    assert second.start.astimezone(dt.UTC).date() in (days(19), days(20))


async def test_off_by_default_and_a_missing_permission_is_named() -> None:
    world = World.build(("u2",))
    world.time_off("r1", "u2", [days(10)])
    await world.run()
    assert world.calendar.replies == {}
    denied = world_with_replies()
    denied.calendar.categories_writable = False
    denied.time_off("r1", "u2", [days(10)])
    await denied.run()
    assert "MailboxSettings.ReadWrite" in denied.reports[0].errors[0]


def test_templates_with_unknown_placeholders_are_refused() -> None:
    _, problems = parse_settings([Row("Setting", "AutoReplyExternalMessage", {"Value": "Back on {return_date}"})])
    assert "{return_date}" in problems[0].message
    assert "{return_day}" in problems[0].message


async def test_when_the_replies_end_the_timer_wakes_the_worker_which_schedules_the_next_time_off() -> None:
    world = world_with_replies()
    world.time_off("r1", "u2", [days(20)])
    world.time_off("r2", "u2", [days(5)])
    await world.run()
    later = dt.datetime.combine(days(8), dt.time(12), dt.UTC)  # r2 is over, r1 is ahead
    plan = await plan_export(store=world.store, openair=world.openair, now=later)
    assert plan.users_with_work == ["u2"]
    await export_mailbox("u2", store=world.store, calendar=world.calendar, now=later)
    replies = world.calendar.replies[MAILBOX]
    assert replies.start == dt.datetime.combine(days(20), dt.time(0), ZoneInfo("Europe/Berlin"))
    quiet = await plan_export(store=world.store, openair=world.openair, now=later)
    assert quiet.users_with_work == []
