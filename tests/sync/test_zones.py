"""Which zone a user's events are rendered in: an OpenAir offset (`-0600`, as OpenAir serves it) never wins over a
zone that knows daylight saving, and every choice says why."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from shared.domain.mappings import MappedBy, UserMapping
from shared.domain.settings import IntegrationSettings
from shared.kinds import RecordKind
from shared.sync.zones import ZoneSource, choose_zone
from tests.sync.world import World


def mapping(openair: str = "", mailbox: str = "", override: str | None = None) -> UserMapping:
    return UserMapping(openair_user_id="u1", mailbox="u1@contoso.com", mailbox_id="mbx-u1", mapped_by=MappedBy.EMAIL,
                       export_kinds=frozenset({RecordKind.BOOKING}), import_events=False, time_zone=override,
                       openair_time_zone=openair, mailbox_time_zone=mailbox)  # fmt: skip


async def test_a_chicago_users_july_booking_at_nine_lands_at_fourteen_utc_despite_openairs_offset() -> None:
    world = World.build(("u1",))
    world.map_user("u1", OpenAirTimeZone="-0600", MailboxTimeZone="Central Standard Time")
    world.booking("b1", "u1", dt.date(2027, 7, 6), dt.date(2027, 7, 6), starttime=dt.datetime(2027, 7, 6, 9),
                  endtime=dt.datetime(2027, 7, 6, 10), hours=1.0)  # fmt: skip
    await world.run()
    draft = world.event("u1", RecordKind.BOOKING, "b1").draft
    assert draft.time_zone == "America/Chicago"
    start = draft.start.replace(tzinfo=ZoneInfo(draft.time_zone)).astimezone(dt.UTC)
    assert start == dt.datetime(2027, 7, 6, 14, tzinfo=dt.UTC)


def test_an_override_wins_over_everything() -> None:
    choice = choose_zone(mapping("-0600", "Central Standard Time", "Europe/Berlin"), IntegrationSettings())
    assert (choice.zone, choice.source) == ("Europe/Berlin", ZoneSource.OVERRIDE)
    assert "override" in choice.reason


def test_a_named_openair_zone_wins_over_the_mailbox() -> None:
    choice = choose_zone(mapping("America/Denver", "Central Standard Time"), IntegrationSettings())
    assert (choice.zone, choice.source, choice.fixed_offset) == ("America/Denver", ZoneSource.OPENAIR, False)


def test_an_offset_gives_way_to_the_mailbox_zone_and_says_so() -> None:
    choice = choose_zone(mapping("-0600", "Central Standard Time"), IntegrationSettings())
    assert (choice.zone, choice.source, choice.fixed_offset) == ("America/Chicago", ZoneSource.MAILBOX, False)
    assert "-0600" in choice.reason
    assert "daylight saving" in choice.reason
    # The same under OpenAir's summer offset: either reading of the offset agrees with the mailbox.
    assert choose_zone(mapping("-0500", "Central Standard Time"), IntegrationSettings()).zone == "America/Chicago"


def test_an_offset_that_is_never_the_mailbox_zones_is_pointed_out() -> None:
    choice = choose_zone(mapping("-0600", "W. Europe Standard Time"), IntegrationSettings())
    assert choice.zone == "Europe/Berlin"
    assert "check the user's time zone in OpenAir" in choice.reason


def test_a_default_zone_with_the_same_offset_is_preferred_to_the_bare_offset() -> None:
    settings = IntegrationSettings(default_time_zone="America/Chicago")
    choice = choose_zone(mapping("-0600"), settings)
    assert (choice.zone, choice.source, choice.fixed_offset) == ("America/Chicago", ZoneSource.DEFAULT, False)
    # A default elsewhere does not fit the offset: the offset is used, with a warning.
    choice = choose_zone(mapping("-0600"), IntegrationSettings(default_time_zone="Europe/Berlin"))
    assert (choice.zone, choice.fixed_offset) == ("Etc/GMT+6", True)
    assert "set TimeZone in UserMappings" in choice.reason


def test_a_fixed_mailbox_zone_does_not_beat_openairs_offset_and_nothing_at_all_is_the_default() -> None:
    assert choose_zone(mapping("-0600", "UTC"), IntegrationSettings()).zone == "Etc/GMT+6"
    choice = choose_zone(mapping(), IntegrationSettings(default_time_zone="Europe/London"))
    assert (choice.zone, choice.source) == ("Europe/London", ZoneSource.DEFAULT)


async def test_an_offset_change_under_a_mailbox_zone_moves_nothing() -> None:
    from shared.openair.models import User

    world = World.build(("u1",))
    world.map_user("u1", OpenAirTimeZone="-0600", MailboxTimeZone="Central Standard Time")
    world.openair.put(User(id="u1", name="One", timezone="-0600"))
    world.booking("b1", "u1", dt.date(2027, 7, 6), dt.date(2027, 7, 6))
    await world.run()
    world.openair.edit("User", "u1", timezone="-0500")
    plan = await world.run()
    assert plan.counts.get("users_backfilled") == 0
    assert world.event("u1", RecordKind.BOOKING, "b1").draft.time_zone == "America/Chicago"
