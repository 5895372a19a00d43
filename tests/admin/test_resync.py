"""Resync: update writes only what drifted (in OpenAir's rendering or in Outlook); recreate deletes and rewrites
only the product's own events; neither touches anything else."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from shared.admin.resync import ResyncMode, UnknownUser, resync
from shared.domain.events import CreateEvent, EventDraft
from shared.graph.models import DeltaResult, GraphEvent
from shared.kinds import RecordKind
from shared.sync.mailbox import MailboxReport, export_mailbox
from tests.sync.world import World
from twins.graph import MemoryCalendar

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


@dataclass
class DeltaCalendar(MemoryCalendar):
    """The in-memory calendar plus a calendarView/delta answer (ids and change keys are what resync compares)."""

    delta_calls: int = 0

    async def delta(
        self, mailbox_id: str, start: dt.datetime, end: dt.datetime, delta_link: str | None, page_size: int = 100
    ) -> DeltaResult:
        self.delta_calls += 1
        events = tuple(GraphEvent(id=e.id, change_key=e.change_key) for e in self.events(mailbox_id))
        return DeltaResult(events=events, removed_ids=(), delta_link="https://graph/delta?$deltatoken=x")


def cal(world: World) -> DeltaCalendar:
    assert isinstance(world.calendar, DeltaCalendar)
    return world.calendar


async def exported_world() -> World:
    world = World.build()
    world.calendar = DeltaCalendar()
    for n in range(1, 4):
        world.booking(f"b{n}", "u1", dt.date(2026, 11, 23 + n), dt.date(2026, 11, 23 + n))
    world.booking("b9", "u2", dt.date(2026, 11, 24), dt.date(2026, 11, 25))
    await world.run()
    assert len(world.calendar.events("mbx-u1")) == 3
    return world


async def apply(world: World, users: list[str]) -> None:
    for user in users:
        world.reports.append(await export_mailbox(user, store=world.store, calendar=world.calendar))


async def test_update_of_an_untouched_mailbox_writes_nothing() -> None:
    world = await exported_world()
    writes = world.calendar.writes
    report = await resync(world.store, world.openair, cal(world), user_ids=["u1"], mode=ResyncMode.UPDATE, now=NOW)
    assert report.counts()["unchanged"] == 3
    assert report.users_with_work == []
    assert world.calendar.writes == writes
    assert cal(world).delta_calls == 1  # one delta pass for the one user


async def test_update_rewrites_events_edited_or_deleted_in_outlook_and_nothing_else() -> None:
    world = await exported_world()
    calendar = cal(world)
    b1 = world.event("u1", RecordKind.BOOKING, "b1")
    b2 = world.event("u1", RecordKind.BOOKING, "b2")
    b3 = world.event("u1", RecordKind.BOOKING, "b3")
    b1.draft = b1.draft.model_copy(update={"subject": "moved by a person"})
    b1.change_key = "ck-99"
    calendar.user_edit_delete("mbx-u1", b2.id)
    writes = calendar.writes

    report = await resync(world.store, world.openair, calendar, user_ids=["u1"], mode=ResyncMode.UPDATE, now=NOW)
    assert (report.edited_in_outlook, report.deleted_in_outlook) == (1, 1)
    assert report.users_with_work == ["u1"]
    await apply(world, report.users_with_work)

    assert world.event("u1", RecordKind.BOOKING, "b1").draft.subject.startswith("OA Booking")
    assert world.event("u1", RecordKind.BOOKING, "b2").id != b2.id  # written again
    assert world.event("u1", RecordKind.BOOKING, "b3").change_key == b3.change_key  # untouched
    assert calendar.writes - writes == 3  # update b1, update b2 (404), create b2
    assert world.store.recent_runs(5)[0].kind == "resync-update"


async def test_recreate_deletes_and_rewrites_only_our_events() -> None:
    world = await exported_world()
    calendar = cal(world)
    before = {e.id for e in calendar.events("mbx-u1")}
    # A person's own event carrying no link, and a copy of one of ours: neither is ours to delete.
    own = EventDraft(openair_key="", subject="Dentist", body="private", start=dt.datetime(2026, 11, 25, 9),
                     end=dt.datetime(2026, 11, 25, 10), time_zone="America/New_York", is_all_day=False)  # fmt: skip
    await calendar.apply("mbx-u1", [CreateEvent(draft=own, transaction_id="person-1")])
    copy_id = calendar.user_copy("mbx-u1", world.event("u1", RecordKind.BOOKING, "b1").id)
    theirs = {e.id for e in calendar.events("mbx-u1")} - before

    report = await resync(world.store, world.openair, calendar, user_ids=["u1"], mode=ResyncMode.RECREATE, now=NOW)
    assert report.events_deleted == 3
    assert {e.id for e in calendar.events("mbx-u1")} == theirs
    await apply(world, report.users_with_work)

    ids = {e.id for e in calendar.events("mbx-u1")}
    assert theirs <= ids  # the person's event and the copy survive
    assert copy_id in ids
    ours = [e for e in calendar.events("mbx-u1") if e.id not in theirs]
    assert len(ours) == 3
    assert not ({e.id for e in ours} & before)  # all new events
    assert len(calendar.events("mbx-u2")) == 1  # the other user untouched
    links = world.store.links("u1")
    assert {link.generation for link in links.values()} == {1}


async def test_recreate_dry_run_changes_nothing() -> None:
    world = await exported_world()
    writes = world.calendar.writes
    report = await resync(world.store, world.openair, cal(world), user_ids=None, mode=ResyncMode.RECREATE,
                          now=NOW, dry_run=True)  # fmt: skip
    assert report.events_deleted == 4
    assert world.calendar.writes == writes
    assert world.store.outbox_users() == set()


async def test_unknown_or_unmapped_users_are_refused_with_the_fix() -> None:
    world = await exported_world()
    with pytest.raises(UnknownUser, match="no row in UserMappings"):
        await resync(world.store, world.openair, cal(world), user_ids=["nobody"], mode=ResyncMode.UPDATE)
    world.map_user("u3", Mailbox="", MailboxId="")
    with pytest.raises(UnknownUser, match="has no mailbox yet"):
        await resync(world.store, world.openair, cal(world), user_ids=["u3"], mode=ResyncMode.UPDATE)
    world.map_user("u4", ExportBookings="yes")
    with pytest.raises(UnknownUser, match="ExportBookings"):
        await resync(world.store, world.openair, cal(world), user_ids=["u4"], mode=ResyncMode.UPDATE)


def _written(reports: list[MailboxReport]) -> dict[str, int]:
    return {r.user_id: r.created + r.updated + r.deleted for r in reports if r.created + r.updated + r.deleted}


@pytest.mark.parametrize("mode", [ResyncMode.UPDATE, ResyncMode.RECREATE])
async def test_a_dry_run_says_exactly_what_the_real_run_writes(mode: ResyncMode) -> None:
    world = await exported_world()
    calendar = cal(world)
    edited = world.event("u1", RecordKind.BOOKING, "b1")
    edited.draft = edited.draft.model_copy(update={"subject": "moved by a person"})
    edited.change_key = "ck-99"
    calendar.user_edit_delete("mbx-u1", world.event("u1", RecordKind.BOOKING, "b2").id)
    world.booking("b4", "u2", dt.date(2026, 11, 27), dt.date(2026, 11, 27))  # new in OpenAir, not yet exported
    writes = calendar.writes

    dry = await resync(world.store, world.openair, calendar, user_ids=None, mode=mode, now=NOW, dry_run=True)
    assert calendar.writes == writes
    assert world.store.outbox_users() == set()
    predicted = {p.user_id: (sorted(p.create), sorted(p.update), sorted(p.delete)) for p in dry.writes}
    if mode is ResyncMode.UPDATE:
        assert predicted == {"u1": (["booking:b2"], ["booking:b1"], []), "u2": (["booking:b4"], [], [])}
    else:
        assert predicted["u1"] == (["booking:b1", "booking:b2", "booking:b3"], [], [])

    real = await resync(world.store, world.openair, calendar, user_ids=None, mode=mode, now=NOW)
    assert {p.user_id: (sorted(p.create), sorted(p.update), sorted(p.delete)) for p in real.writes} == predicted
    before = len(world.reports)
    await apply(world, real.users_with_work)
    done = world.reports[before:]
    assert _written(done) == {u: len(c) + len(up) + len(d) for u, (c, up, d) in predicted.items()}
    assert (dry.counts()["to_write"], dry.events_deleted) == (real.counts()["to_write"], real.events_deleted)
