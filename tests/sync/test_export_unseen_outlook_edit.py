"""Three-way merge, whichever runs first: a person moves an exported event in Outlook, someone edits the booking's
notes in OpenAir. With the import on, the export never writes over an Outlook edit it has not seen: both changes
end up in the booking and in the event. Without the import, OpenAir wins (docs/architecture.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.kinds import RecordKind
from tests.importing.world import ImportWorld

D = dt.date
MOVED_START = dt.datetime(2026, 11, 12, 13, tzinfo=dt.UTC)
MOVED_END = dt.datetime(2026, 11, 12, 15, tzinfo=dt.UTC)


async def _exported_then_edited_on_both_sides(import_on: bool) -> ImportWorld:
    w = ImportWorld.build()
    if not import_on:
        w.world.map_user("u1", Import=False, OpenAirTimeZone="UTC")
    w.world.booking("5", "u1", D(2026, 11, 12), D(2026, 11, 12), starttime=dt.datetime(2026, 11, 12, 9),
                    endtime=dt.datetime(2026, 11, 12, 11), hours=2.0, notes="Agenda: kick-off")  # fmt: skip
    await w.world.run()
    event = w.world.event("u1", RecordKind.BOOKING, "5")
    await w.sync()  # the import has seen the exported event as it was written
    w.calendar.user_edit("mbx-u1", event.id, start=MOVED_START, end=MOVED_END)  # moved in Outlook
    w.world.openair.edit("Booking", "5", notes="Agenda: kick-off, bring the contract")  # edited in OpenAir
    return w


def _event_times(w: ImportWorld) -> tuple[dt.datetime, dt.datetime]:
    draft = w.world.event("u1", RecordKind.BOOKING, "5").draft
    return draft.start, draft.end


@pytest.mark.parametrize("export_first", [True, False])
async def test_both_edits_survive_whichever_runs_first(export_first: bool) -> None:
    w = await _exported_then_edited_on_both_sides(import_on=True)
    if export_first:
        await w.world.run()
        assert _event_times(w) == (dt.datetime(2026, 11, 12, 13), dt.datetime(2026, 11, 12, 15)), "move undone"
        assert w.world.store.outbox("u1"), "the notes edit waits for the import's merge"
    await w.sync()
    await w.world.run()
    await w.world.run()

    booking = w.world.openair.records["Booking"]["5"]
    assert booking.starttime == dt.datetime(2026, 11, 12, 13)  # type: ignore[attr-defined]
    assert booking.notes == "Agenda: kick-off, bring the contract"  # type: ignore[attr-defined]
    assert _event_times(w) == (dt.datetime(2026, 11, 12, 13), dt.datetime(2026, 11, 12, 15))
    assert "bring the contract" in w.world.event("u1", RecordKind.BOOKING, "5").draft.body
    assert w.world.store.outbox("u1") == []


async def test_without_the_import_openair_wins() -> None:
    w = await _exported_then_edited_on_both_sides(import_on=False)
    await w.world.run()
    assert _event_times(w) == (dt.datetime(2026, 11, 12, 9), dt.datetime(2026, 11, 12, 11))
    assert "bring the contract" in w.world.event("u1", RecordKind.BOOKING, "5").draft.body
