"""Cutover through the engine: the admin operation (dry run, adopt, remove stale) and the first-export switch,
on in-memory twins. Proves: no record ever has two events, no event of a person's is touched, cost is one
calendar read per mailbox."""

from __future__ import annotations

import datetime as dt

from shared.admin.cutover import CutoverAction, cutover
from shared.domain.links import LinkState
from shared.graph.models import Attendee, GraphEvent
from shared.sync.mailbox import export_mailbox
from tests.sync.world import World
from twins.graph_delta import MemoryMailboxes

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
SUBJECT = "OA Booking: 8.00 hrs for Northwind Traders : ERP rollout"
BODY = "Customer: Northwind Traders\nProject: ERP rollout\nDuration: 11/24/2026 to 11/24/2026, 8.00 hrs\nNotes:"


def day(n: int) -> dt.datetime:
    return dt.datetime(2026, 11, n, tzinfo=dt.UTC)


def incumbent(cal: MemoryMailboxes, event_id: str, subject: str, first: int, last: int, **extra: object) -> None:
    """An all-day event as the Exchange Integration Manager left it: no property of ours, its own body."""
    values: dict[str, object] = {"subject": subject, "body": BODY, "start": day(first), "end": day(last + 1),
                                 "is_all_day": True, "show_as": "free"}  # fmt: skip
    values.update(extra)
    cal.user_create("mbx-u1", id=event_id, **values)


def tenant() -> tuple[World, MemoryMailboxes]:
    """u1: four bookings. The mailbox: two exact incumbent events, one moved by hand, one stale, a person's own."""
    world = World.build(users=("u1",))
    cal = MemoryMailboxes()
    world.calendar = cal
    world.booking("1", "u1", dt.date(2026, 11, 24), dt.date(2026, 11, 24))
    world.booking("2", "u1", dt.date(2026, 12, 1), dt.date(2026, 12, 1))  # a near-duplicate of 1, a week later
    world.booking("3", "u1", dt.date(2026, 11, 26), dt.date(2026, 11, 26))  # its event was moved a day by hand
    world.booking("4", "u1", dt.date(2026, 11, 27), dt.date(2026, 11, 27), hours=4.0)  # new since the incumbent
    incumbent(cal, "inc-1", SUBJECT, 24, 24)
    incumbent(cal, "inc-2", SUBJECT, 1, 1, start=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
              end=dt.datetime(2026, 12, 2, tzinfo=dt.UTC))  # fmt: skip
    incumbent(cal, "inc-moved", SUBJECT, 25, 25)
    incumbent(cal, "inc-stale", "OA Booking: 40.00 hrs for Fabrikam : Data migration", 23, 27)
    cal.user_create("mbx-u1", id="own-oa", subject="OA Booking review with the resource managers",
                    start=day(24) + dt.timedelta(hours=15), end=day(24) + dt.timedelta(hours=16),
                    attendees=[Attendee(email="rm@contoso.com")])  # fmt: skip
    # Booking 3's record has hours 8 on 11/26; the moved event sits on 11/25: same names, other dates.
    return world, cal


def events_by_key(cal: MemoryMailboxes) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for stored in cal.events("mbx-u1"):
        if stored.openair_key:
            found.setdefault(stored.openair_key, []).append(stored.id)
    return found


def own_events(cal: MemoryMailboxes) -> dict[str, GraphEvent]:
    return dict(cal.own.get("mbx-u1", {}))


async def apply_all(world: World) -> None:
    for user in world.store.outbox_users():
        world.reports.append(await export_mailbox(user, store=world.store, calendar=world.calendar))


async def test_dry_run_reports_what_the_real_run_does_and_changes_nothing() -> None:
    world, cal = tenant()
    before = own_events(cal)
    report = await cutover(world.store, world.openair, cal, users={"u1": "mbx-u1"}, dry_run=True, now=NOW)
    counts = report.counts()
    assert counts["adopted"] == 2
    assert counts["ambiguous"] == 1
    assert counts["stale"] == 1
    assert counts["held_records"] == 1
    assert counts["to_create"] == 1
    assert counts["foreign_untouched"] == 1
    assert "dates 2026-11-25 in Outlook, 2026-11-26 in OpenAir" in report.ambiguous()[0]
    assert "Fabrikam" in report.stale()[0]
    assert world.store.links("u1") == {}
    assert world.store.outbox_users() == set()
    assert own_events(cal) == before
    assert cal.writes == 0
    assert world.store.recent_runs() == []

    real = await cutover(world.store, world.openair, cal, users={"u1": "mbx-u1"}, dry_run=False, now=NOW)
    assert {k: v for k, v in real.counts().items() if k != "mailboxes_with_work"} == counts


async def test_adopting_updates_in_place_creates_only_the_rest_and_touches_nothing_else() -> None:
    world, cal = tenant()
    untouched = {i: e for i, e in own_events(cal).items() if i in ("own-oa", "inc-moved", "inc-stale")}
    reads_before = cal.requests
    report = await cutover(world.store, world.openair, cal, users={"u1": "mbx-u1"}, dry_run=False, now=NOW)
    assert cal.requests - reads_before == 1  # one calendarView read for the mailbox
    assert report.plan is not None
    assert report.plan.users_with_work == ["u1"]
    links = world.store.links("u1")
    assert links["booking:1"].event_id == "inc-1"
    assert links["booking:2"].event_id == "inc-2"
    assert links["booking:3"].state is LinkState.HELD

    writes_before = cal.requests
    await apply_all(world)
    assert cal.requests - writes_before == 1  # three writes (2 updates in place, 1 create) in one $batch
    by_key = events_by_key(cal)
    assert by_key == {"openair:booking:1": ["inc-1"], "openair:booking:2": ["inc-2"], "openair:booking:4": [by_key[
        "openair:booking:4"][0]]}  # fmt: skip
    adopted = cal.mailboxes["mbx-u1"]["inc-1"]
    assert adopted.draft.subject == SUBJECT
    assert adopted.draft.body.startswith("Customer: Northwind Traders\nProject: ERP rollout\nDuration: 2026-11-24")
    assert own_events(cal) == untouched  # the moved, the stale and the person's own: exactly as they were
    assert world.store.outbox_users() == set()

    again = await cutover(world.store, world.openair, cal, users={"u1": "mbx-u1"}, dry_run=True, now=NOW)
    assert again.counts()["adopted"] == 0
    assert again.counts()["ambiguous"] == 1
    assert again.counts()["stale"] == 1


async def test_remove_stale_deletes_only_the_stale_and_a_settled_hold_is_released() -> None:
    world, cal = tenant()
    await cutover(world.store, world.openair, cal, users={"u1": "mbx-u1"}, dry_run=False, now=NOW)
    await apply_all(world)
    removal = await cutover(world.store, world.openair, cal, users={"u1": "mbx-u1"},
                            action=CutoverAction.REMOVE_STALE, dry_run=False, now=NOW)  # fmt: skip
    assert removal.counts()["stale_removed"] == 1
    assert set(own_events(cal)) == {"own-oa", "inc-moved"}

    cal.user_delete("mbx-u1", "inc-moved")  # the person deletes the event they had moved
    settled = await cutover(world.store, world.openair, cal, users={"u1": "mbx-u1"}, dry_run=False, now=NOW)
    assert settled.counts()["held_records"] == 0
    assert "booking:3" not in world.store.links("u1")  # the hold is released: written like any other record
    await apply_all(world)
    assert all(len(ids) == 1 for ids in events_by_key(cal).values())
    assert set(events_by_key(cal)) == {f"openair:booking:{n}" for n in (1, 2, 3, 4)}


async def test_first_export_adopts_when_the_switch_says_so() -> None:
    world, cal = tenant()
    world.setting("IncumbentEventsInMailboxes", True)
    before = own_events(cal)
    reads = cal.requests
    await world.run()
    by_key = events_by_key(cal)
    assert by_key["openair:booking:1"] == ["inc-1"]
    assert by_key["openair:booking:2"] == ["inc-2"]
    assert "openair:booking:3" not in by_key  # held: its incumbent event was moved by hand
    assert len(by_key["openair:booking:4"]) == 1
    assert {i: e for i, e in own_events(cal).items()} == {i: before[i] for i in ("own-oa", "inc-moved", "inc-stale")}
    assert cal.requests - reads == 2  # one calendarView read + one $batch
    (run,) = [r for r in world.store.recent_runs() if r.kind == "cutover-first-export"]
    assert run.counts["adopted"] == 2
    assert "dates 2026-11-25 in Outlook" in run.errors[0]

    await world.run()  # later runs never read the calendar again
    assert len([r for r in world.store.recent_runs() if r.kind == "cutover-first-export"]) == 1


async def test_without_the_switch_the_first_export_writes_second_copies() -> None:
    """The control: what the cutover prevents."""
    world, cal = tenant()
    await world.run()
    assert "inc-1" in own_events(cal)
    assert len(events_by_key(cal)) == 4


async def test_a_held_record_deleted_in_openair_forgets_its_hold_and_deletes_nothing() -> None:
    world, cal = tenant()
    world.setting("IncumbentEventsInMailboxes", True)
    await world.run()
    assert world.store.links("u1")["booking:3"].state is LinkState.HELD
    world.openair.delete("Booking", "3")
    await world.run()
    assert "booking:3" not in world.store.links("u1")
    assert "inc-moved" in own_events(cal)  # the ambiguous event it was held for: still there, untouched
