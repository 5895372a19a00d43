"""An exported booking moved in Outlook twice before the export writes it again: each move is merged into the
booking against the times both sides last held, not the times last exported. The second move here puts the event
back at its exported time; merged against the exported times it looked like no change at all and was lost (the
import state machine's shrunk example: two concurrent edits, the import running first each time). Any other second
move looked like a conflict with OpenAir, which only held the first move, and under the default policy (OpenAir
wins) was lost as well."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.kinds import RecordKind
from shared.openair.models import Booking
from tests.importing.world import ImportWorld

UTC = dt.UTC
EXPORTED = (dt.datetime(2026, 11, 12, 9), dt.datetime(2026, 11, 12, 11))


def _booking(w: ImportWorld, booking_id: str) -> Booking:
    booking = w.world.openair.records["Booking"][booking_id]
    assert isinstance(booking, Booking)
    return booking


def _outlook_moves(w: ImportWorld, booking_id: str, hours: int) -> None:
    event = w.world.event("u1", RecordKind.BOOKING, booking_id)
    shift = dt.timedelta(hours=hours)
    start, end = event.draft.start + shift, event.draft.end + shift
    w.calendar.user_edit("mbx-u1", event.id, start=start.replace(tzinfo=UTC), end=end.replace(tzinfo=UTC))


async def _settle(w: ImportWorld) -> None:
    """The state machine's teardown: export, import, export, import; the last pass has nothing left to do."""
    await w.world.run()
    await w.sync()
    await w.world.run()
    report = await w.sync()
    assert report.created == report.updated == report.deleted == 0, "a second clean pass still had work"


async def test_the_state_machines_shrunk_example() -> None:
    """openair_books(day=3, hour=7); concurrent_edits_then_a_pass(hours=1, export_first=False);
    concurrent_edits_then_a_pass(hours=-1, export_first=False); teardown — with the bookings it drew."""
    w = ImportWorld.build(OnOutlookDeletion="Delete bookings created from Outlook", ConflictResolution="Exchange wins")
    w.world.booking("91", "u1", dt.date(2026, 11, 3), dt.date(2026, 11, 3), starttime=dt.datetime(2026, 11, 3, 7),
                    endtime=dt.datetime(2026, 11, 3, 9), hours=2.0, notes="Planned")  # fmt: skip
    w.world.booking("92", "u1", dt.date(2026, 11, 12), dt.date(2026, 11, 12), starttime=EXPORTED[0],
                    endtime=EXPORTED[1], hours=2.0, notes="Planned")  # fmt: skip
    await w.world.run()
    await w.sync()
    for hours in (1, -1):  # both sides edit, then the import runs first
        _outlook_moves(w, "92", hours)
        w.world.openair.edit("Booking", "92", notes="Edited on both sides")
        await w.sync()
    booking = _booking(w, "92")
    assert (booking.starttime, booking.endtime) == EXPORTED, "the move back was merged as no change"

    await _settle(w)
    booking = _booking(w, "92")
    assert (booking.starttime, booking.endtime) == EXPORTED, "an Outlook move was lost"
    assert booking.notes == "Edited on both sides", "an OpenAir notes edit was lost"
    draft = w.world.event("u1", RecordKind.BOOKING, "92").draft
    assert (draft.start, draft.end) == EXPORTED
    assert "Notes: Edited on both sides" in draft.body
    untouched = _booking(w, "91")
    assert (untouched.starttime, untouched.endtime, untouched.notes) == (
        dt.datetime(2026, 11, 3, 7), dt.datetime(2026, 11, 3, 9), "Planned")  # fmt: skip


@pytest.mark.parametrize("openair_edits", [False, True])
@pytest.mark.parametrize("moves", [(1, -1), (2, -1, -1), (-3, 1)])
async def test_every_outlook_move_is_kept_when_the_export_has_not_run_between(
    openair_edits: bool, moves: tuple[int, ...]
) -> None:
    w = ImportWorld.build()
    w.world.booking("5", "u1", dt.date(2026, 11, 12), dt.date(2026, 11, 12), starttime=EXPORTED[0],
                    endtime=EXPORTED[1], hours=2.0, notes="Agenda")  # fmt: skip
    await w.world.run()
    await w.sync()
    for n, hours in enumerate(moves):
        _outlook_moves(w, "5", hours)
        if openair_edits:
            w.world.openair.edit("Booking", "5", notes=f"Agenda {n}")
        await w.sync()
    shift = dt.timedelta(hours=sum(moves))
    expected = (EXPORTED[0] + shift, EXPORTED[1] + shift)
    assert (_booking(w, "5").starttime, _booking(w, "5").endtime) == expected

    await _settle(w)
    booking = _booking(w, "5")
    assert (booking.starttime, booking.endtime) == expected
    assert booking.notes == (f"Agenda {len(moves) - 1}" if openair_edits else "Agenda")
    draft = w.world.event("u1", RecordKind.BOOKING, "5").draft
    assert (draft.start, draft.end) == expected
