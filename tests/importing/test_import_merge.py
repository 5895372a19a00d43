"""The three-way merge: the matrix field × side × policy, ranges kept valid, and merges through the engine."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.domain.settings import ConflictResolution
from shared.openair.models import Booking
from shared.sync.importing.merge import merge
from tests.importing.world import ImportWorld, at

D = dt.date
BASE = {"start": "2026-11-10T09:00:00", "end": "2026-11-10T11:00:00", "is_all_day": "false", "notes": "Workshop"}
OTHER = {"start": "2026-11-10T08:00:00", "end": "2026-11-10T12:00:00", "is_all_day": "false", "notes": "Review"}
THIRD = {"start": "2026-11-10T08:30:00", "end": "2026-11-10T13:00:00", "is_all_day": "false", "notes": "Retro"}
OA, EX = ConflictResolution.OPENAIR_WINS, ConflictResolution.EXCHANGE_WINS


@pytest.mark.parametrize("name", ["start", "end", "notes"])
@pytest.mark.parametrize("policy", [OA, EX])
@pytest.mark.parametrize("side", ["none", "outlook", "openair", "both-same", "both-different"])
def test_merge_matrix(name: str, policy: ConflictResolution, side: str) -> None:
    outlook, openair = dict(BASE), dict(BASE)
    if side in ("outlook", "both-same", "both-different"):
        outlook[name] = OTHER[name]
    if side in ("openair", "both-same"):
        openair[name] = OTHER[name]
    if side == "both-different":
        openair[name] = THIRD[name]
    result = merge(BASE, outlook, openair, policy)
    expected = {
        "none": BASE[name],
        "outlook": OTHER[name],
        "openair": OTHER[name],
        "both-same": OTHER[name],
        "both-different": THIRD[name] if policy is OA else OTHER[name],
    }[side]
    assert result.values[name] == expected
    assert result.conflicts == ((name,) if side == "both-different" else ())
    for other in ("start", "end", "notes"):
        if other != name:
            assert result.values[other] == BASE[other]


@pytest.mark.parametrize("policy", [OA, EX])
def test_different_fields_changed_on_each_side_are_both_kept(policy: ConflictResolution) -> None:
    outlook = {**BASE, "end": OTHER["end"]}
    openair = {**BASE, "notes": OTHER["notes"]}
    result = merge(BASE, outlook, openair, policy)
    assert (result.values["end"], result.values["notes"]) == (OTHER["end"], OTHER["notes"])
    assert result.conflicts == ()


@pytest.mark.parametrize(("policy", "winner"), [(OA, "openair"), (EX, "outlook")])
def test_a_merge_that_would_end_before_it_starts_resolves_the_range_as_one(
    policy: ConflictResolution, winner: str
) -> None:
    outlook = {**BASE, "start": "2026-11-10T14:00:00", "end": "2026-11-10T15:00:00"}  # moved to the afternoon
    openair = {**BASE, "end": "2026-11-10T10:00:00"}  # shortened
    result = merge(BASE, outlook, openair, policy)
    side = openair if winner == "openair" else outlook
    assert (result.values["start"], result.values["end"]) == (side["start"], side["end"])
    # OpenAir wins: start from Outlook + end from OpenAir would be 14:00–10:00, so the range is OpenAir's whole.
    assert result.conflicts == (("when",) if policy is OA else ("end",))


@pytest.mark.parametrize(("policy", "hours", "notes"), [("OpenAir wins", 4.0, "Edited in OpenAir"),
                                                         ("Exchange wins", 3.0, "Edited in OpenAir")])  # fmt: skip
async def test_engine_merges_an_imported_booking_edited_on_both_sides(policy: str, hours: float, notes: str) -> None:
    w = ImportWorld.build(ConflictResolution=policy)
    event = w.create(subject="Workshop", start=at(10, 9), end=at(10, 11))
    await w.sync()
    booking = w.one_imported()
    # OpenAir: notes and end changed; Outlook: end changed (a conflict) — notes is OpenAir's alone.
    w.world.openair.edit("Booking", booking.id, notes="Edited in OpenAir", endtime=dt.datetime(2026, 11, 10, 13),
                         hours=4.0)  # fmt: skip
    w.calendar.user_edit("mbx-u1", event.id, end=at(10, 12))
    report = await w.sync()
    merged = w.one_imported()
    assert (merged.hours, merged.notes) == (hours, notes)
    assert report.conflicts == 1


async def test_engine_merges_outlook_times_into_an_exported_booking_keeping_openair_fields() -> None:
    w = ImportWorld.build()
    w.world.booking("b1", "u1", D(2026, 11, 23), D(2026, 11, 23), starttime=dt.datetime(2026, 11, 23, 9),
                    endtime=dt.datetime(2026, 11, 23, 17), notes="Keep me")  # fmt: skip
    await w.world.run()
    (event,) = w.calendar.events("mbx-u1")
    w.calendar.user_edit("mbx-u1", event.id, start=at(24, 10), end=at(24, 12))
    report = await w.sync()
    booking = w.world.openair.records["Booking"]["b1"]
    assert isinstance(booking, Booking)
    assert report.updated == 1
    assert (booking.startdate, booking.starttime, booking.hours) == (D(2026, 11, 24), dt.datetime(2026, 11, 24, 10),
                                                                     2.0)  # fmt: skip
    assert booking.notes == "Keep me"  # notes are not imported for exported bookings
    assert w.imported() == []
