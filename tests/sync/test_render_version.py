"""The render version: a change of subject or body format reaches every linked event once, by design, and a deploy
that keeps the version rewrites nothing (Exchange throttles a tenant that rewrites every mailbox at once)."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.domain.events import EventDraft
from shared.kinds import RecordKind
from shared.store.store import RENDERING_SCOPE
from shared.sync import decide, planner
from shared.sync.decide import content_hash
from shared.sync.render import RENDER_VERSION
from tests.sync.world import World

TODAY = dt.datetime.now(dt.UTC).date()


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


DRAFT = EventDraft(
    openair_key="openair:booking:1",
    subject="OA Booking: 8.00 hrs for Northwind Traders : ERP rollout",
    body="Customer: Northwind Traders",
    start=dt.datetime(2026, 12, 1),
    end=dt.datetime(2026, 12, 2),
    time_zone="Europe/Berlin",
    is_all_day=True,
)


def test_version_1_hashes_as_the_links_written_before_render_versions_existed() -> None:
    # The value the release before render versions stored in `Links.Hash` for this draft (sha256 of its JSON).
    assert content_hash(DRAFT, 1) == "d1eb409c4048f41b936f5c0b3bcd6a4f"
    assert content_hash(DRAFT) == content_hash(DRAFT, RENDER_VERSION)


def test_another_version_is_another_hash_of_the_same_event() -> None:
    assert len({content_hash(DRAFT, 1), content_hash(DRAFT, 2), content_hash(DRAFT, 3)}) == 3


async def _exported_world() -> World:
    world = World.build(("u1", "u2"))
    world.booking("b1", "u1", days(3), days(3))
    world.booking("b2", "u2", days(4), days(5))
    world.assignment("a1", "u1")
    world.time_off("r1", "u2", [days(8), days(9)])
    await world.run()
    assert world.calendar.writes == 4
    return world


async def test_an_upgrade_that_keeps_the_version_writes_nothing() -> None:
    world = await _exported_world()
    # A tenant upgraded from the release before render versions: its Rendering cursors do not name one.
    world.store.put_cursors(RENDERING_SCOPE, {"Presentation": planner.rendering_cursors(
        world.store.load_settings()[0], TODAY)["Presentation"]})  # fmt: skip
    before = world.calendar.writes
    plan = await world.run(minutes_later=60 * 24)
    assert plan.counts.get("rerendered_for_settings") is None
    assert plan.users_with_work == []
    assert world.calendar.writes == before


async def test_a_bumped_version_rewrites_every_linked_event_once(monkeypatch: pytest.MonkeyPatch) -> None:
    world = await _exported_world()
    before = world.calendar.writes
    monkeypatch.setattr(decide, "RENDER_VERSION", 2)
    monkeypatch.setattr(planner, "RENDER_VERSION", 2)

    plan = await world.run()
    assert plan.counts["rerendered_for_settings"] == 1
    assert world.calendar.writes == before + 4
    assert sum(report.updated for report in world.reports[-2:]) == 4  # updated in place, none created again
    for user, kind, record in [
        ("u1", RecordKind.BOOKING, "b1"),
        ("u2", RecordKind.BOOKING, "b2"),
        ("u1", RecordKind.TASK_ASSIGNMENT, "a1"),
        ("u2", RecordKind.SCHEDULE_REQUEST, "r1"),
    ]:
        (link,) = [link for link in world.store.links(user).values() if link.key == f"{kind.value}:{record}"]
        assert link.content_hash == content_hash(world.event(user, kind, record).draft, 2)

    again = await world.run()
    assert again.counts.get("rerendered_for_settings") is None
    assert again.users_with_work == []
    assert world.calendar.writes == before + 4
