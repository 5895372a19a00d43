"""OpenAir purges deleted records 180 days after their deletion (Oracle online help, "Data Deletion",
section_1521018146): after a longer pause a `deleted="1"` read cannot tell what was deleted, so the export
reconciles its links against a full read of the live records instead of trusting it."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.openair.changes import DELETED_RETENTION, DELETED_RETENTION_MARGIN, deletions_trusted
from shared.store.store import CURSOR_SCOPE
from tests.sync.world import World
from twins.openair import OpenAirUnavailable

D = dt.date


async def paused_world() -> World:
    """Exported b1, b2 (u1), a1, r1 (u2); then b1 and a1 were deleted 190 days ago, and the last run was 200 days
    ago: OpenAir has purged both deletions."""
    world = World.build()
    world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 25))
    world.booking("b2", "u1", D(2026, 11, 26), D(2026, 11, 26))
    world.assignment("a1", "u2")
    world.time_off("r1", "u2", [D(2026, 12, 24), D(2026, 12, 28)])
    await world.run()
    assert len(world.events("u1")) == 2
    assert len(world.events("u2")) == 2
    world.openair.delete("Booking", "b1")
    world.openair.delete("Projecttaskassign", "a1")
    for gone in world.openair.deleted.values():
        for record_id, (when, user) in list(gone.items()):
            gone[record_id] = (when - dt.timedelta(days=190), user)
    cursors = world.store.cursors(CURSOR_SCOPE)
    world.store.put_cursors(
        CURSOR_SCOPE, {k: v - dt.timedelta(days=200) for k, v in cursors.items() if isinstance(v, dt.datetime)}
    )
    return world


def deletion_cursors(world: World) -> dict[str, object]:
    return {k: v for k, v in world.store.cursors(CURSOR_SCOPE).items() if k.endswith(".deleted")}


async def test_the_twin_purges_deletions_older_than_180_days() -> None:
    world = await paused_world()
    since = {"Booking.deleted": world.openair.clock - dt.timedelta(days=10)}
    assert (await world.openair.read_changes(since)).deletions == ()
    assert world.openair.deleted["Booking"] == {}


async def test_deletions_purged_by_openair_are_found_by_a_full_reconcile() -> None:
    world = await paused_world()
    plan = await world.run()
    assert set(world.events("u1")) == {"openair:booking:b2"}  # b1 removed, the live b2 untouched
    assert set(world.events("u2")) == {"openair:schedule_request:r1"}
    assert plan.counts["deletions_reconciled"] == 2
    assert world.calendar.writes == 4 + 2  # the first run's creates, then the two removals only
    # The deletion watermarks moved to now: the next run trusts deleted="1" again, in one request.
    assert all(v >= world.openair.clock - dt.timedelta(hours=1) for v in deletion_cursors(world).values())  # type: ignore[operator]
    requests = world.openair.requests_made
    plan = await world.run()
    assert "deletions_reconciled" not in plan.counts
    assert world.openair.requests_made == requests + 1


async def test_a_failed_reconcile_read_deletes_nothing_and_is_retried() -> None:
    world = await paused_world()
    before = deletion_cursors(world)
    world.openair.fail_user_reads = 1
    with pytest.raises(OpenAirUnavailable):
        await world.run()
    assert len(world.events("u1")) == 2
    assert len(world.events("u2")) == 2
    assert deletion_cursors(world) == before
    await world.run()
    assert set(world.events("u1")) == {"openair:booking:b2"}


async def test_reconciled_deletions_follow_on_record_deleted_and_the_deletion_guard() -> None:
    world = await paused_world()
    world.setting("MaxDeletionsPerRun", 1)
    plan = await world.run()
    assert plan.deletions_blocked
    assert len(world.events("u1")) == 2
    assert len(world.events("u2")) == 2
    world.setting("MaxDeletionsPerRun", 10)
    world.setting("OnRecordDeleted", "Keep event")
    await world.run()  # the watermark stayed old: reconciled again, and kept per the setting
    assert len(world.events("u1")) == 2
    world.setting("OnRecordDeleted", "Remove event")
    world.openair.put(world.openair.records["Booking"]["b2"])  # a change, to show the run went on normally
    await world.run()
    assert len(world.events("u1")) == 2  # the watermark moved: the kept events are not revisited


def test_a_deletion_watermark_is_trusted_until_the_retention_less_a_margin() -> None:
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    edge = DELETED_RETENTION - DELETED_RETENTION_MARGIN
    assert deletions_trusted(now - edge + dt.timedelta(seconds=1), now)
    assert not deletions_trusted(now - edge, now)
    assert not deletions_trusted(now - dt.timedelta(days=181), now)
