"""Client writes against the simulator: Add (with externalid upsert), Modify, ModifyOnCondition, Delete."""

from __future__ import annotations

import datetime as dt

import pytest

from sandbox.openair import OpenAirSimulator, SimulatorControl
from shared.openair import OpenAirClient, OpenAirConditionFailed, OpenAirInvalidRequest, ReadSpec


def new_booking(externalid: str = "", **extra: object) -> dict[str, object]:
    return {
        "userid": "100",
        "booking_typeid": "200",
        "startdate": dt.date(2026, 11, 1),
        "enddate": dt.date(2026, 11, 1),
        "starttime": dt.datetime(2026, 11, 1, 1, 30),  # inside New York's repeated hour: a wall-clock value
        "endtime": dt.datetime(2026, 11, 1, 3, 0),
        "hours": 2.5,
        "as_percentage": False,
        "externalid": externalid,
        **extra,
    }


async def test_add_returns_ids_and_stamps_and_reads_back(client: OpenAirClient, control: SimulatorControl) -> None:
    (result,) = await client.add("Booking", [new_booking(notes="from Outlook")])
    assert result.id
    assert result.error is None
    assert result.created is not None
    assert result.created == result.updated
    assert result.created.tzinfo == dt.UTC
    stored = control.get("Booking", result.id)
    assert (stored["starttime"], stored["startdate"], stored["hours"]) == ("2026-11-01 01:30:00", "2026-11-01", "2.5")
    (booking,) = [b for b in await client.read_bookings(user_id="100") if b.id == result.id]
    assert booking.starttime == dt.datetime(2026, 11, 1, 1, 30)
    assert booking.notes == "from Outlook"


async def test_add_with_externalid_lookup_updates_the_one_match(client: OpenAirClient) -> None:
    (first,) = await client.add("Booking", [new_booking("outlook:abc", notes="v1")], lookup="externalid")
    (second,) = await client.add("Booking", [new_booking("outlook:abc", notes="v2")], lookup="externalid")
    assert second.id == first.id
    assert second.updated
    assert first.updated
    assert second.updated > first.updated
    matches = await client.read(ReadSpec(type="Booking", query={"externalid": "outlook:abc"}))
    assert len(matches) == 1
    assert matches[0]["notes"] == "v2"


async def test_add_in_batches_of_1000(client: OpenAirClient, control: SimulatorControl) -> None:
    results = await client.add("Booking", [new_booking(f"bulk:{i}") for i in range(1500)])
    assert len({r.id for r in results}) == 1500
    assert client.requests_made == 2
    assert control.stats()["by_command"] == {"Add Booking": 2}


async def test_modify_moves_updated_and_models_can_be_written(client: OpenAirClient) -> None:
    (booking,) = [b for b in await client.read_bookings() if b.id == "10000"]
    changed = booking.model_copy(update={"notes": "extended", "hours": 16.0})
    (result,) = await client.modify("Booking", [changed])
    assert result.updated
    assert booking.updated
    assert result.updated > booking.updated
    (again,) = [b for b in await client.read_bookings(since=booking.updated) if b.id == "10000"]
    assert (again.notes, again.hours) == ("extended", 16.0)


async def test_custom_fields_are_written_with_suffix(client: OpenAirClient, control: SimulatorControl) -> None:
    (booking_type,) = [t for t in await client.read_booking_types() if t.id == "200"]
    await client.modify("BookingType", [booking_type.model_copy(update={"calendar_export_type": "Do not export"})])
    assert control.get("BookingType", "200")["calendar_export_type"] == "Do not export"


async def test_modify_on_condition_succeeds_then_fails_after_a_ui_change(
    client: OpenAirClient, control: SimulatorControl
) -> None:
    (booking,) = [b for b in await client.read_bookings() if b.id == "10004"]
    assert booking.updated is not None
    result = await client.modify_on_condition("Booking", {"id": "10004", "notes": "merged"}, booking.updated)
    assert result.id == "10004"
    assert result.updated
    assert result.updated > booking.updated
    control.modify("Booking", "10004", {"notes": "edited in the OpenAir UI"})
    with pytest.raises(OpenAirConditionFailed) as caught:
        await client.modify_on_condition("Booking", {"id": "10004", "notes": "stale merge"}, result.updated)
    assert caught.value.code == 1200
    assert "ModifyOnCondition Booking" in str(caught.value)
    assert control.get("Booking", "10004")["notes"] == "edited in the OpenAir UI"


async def test_delete_and_unknown_ids(client: OpenAirClient) -> None:
    (result,) = await client.delete("Booking", ["10007"])
    assert result.id == "10007"
    with pytest.raises(OpenAirInvalidRequest) as caught:
        await client.delete("Booking", ["999999"])
    assert caught.value.code == 601
    assert "Delete Booking" in str(caught.value)


async def test_invalid_field_type_and_method_are_typed(client: OpenAirClient) -> None:
    with pytest.raises(OpenAirInvalidRequest) as field_error:
        await client.add("Booking", [new_booking(colour="red")])
    assert field_error.value.code == 602
    assert "colour" in str(field_error.value)
    with pytest.raises(OpenAirInvalidRequest) as type_error:
        await client.read(ReadSpec(type="Spaceship"))
    assert type_error.value.code == 603
    assert "Read Spaceship" in str(type_error.value)
    with pytest.raises(OpenAirInvalidRequest) as method_error:
        await client.read(ReadSpec(type="Booking", method="sideways"))
    assert method_error.value.code == 603
    with pytest.raises(OpenAirInvalidRequest) as return_error:
        await client.read(ReadSpec(type="Booking", return_fields=["nope"]))
    assert return_error.value.code == 602


async def test_a_failed_command_changes_nothing(client: OpenAirClient, control: SimulatorControl) -> None:
    with pytest.raises(OpenAirInvalidRequest):
        await client.add("Booking", [new_booking("ok"), new_booking("bad", colour="red")])
    assert len(control.records("Booking")) == 20


async def test_notes_with_control_characters_are_written_not_refused(
    client: OpenAirClient, control: SimulatorControl
) -> None:
    """An Outlook subject holding C0 control characters becomes a booking (the request used to be refused as not
    well-formed on every pass), without the characters XML cannot carry."""
    subject = "Budget\x01 review\x1b[31m\x00 \ud83d"
    (result,) = await client.add("Booking", [new_booking(notes=subject)])
    assert result.error is None
    assert result.id
    assert control.get("Booking", result.id)["notes"] == "Budget review[31m "


def test_the_simulator_refuses_a_request_that_is_not_well_formed_as_openair_does(sim: OpenAirSimulator) -> None:
    import httpx

    body = b'<?xml version="1.0" encoding="UTF-8"?>\n<request><Add type="Booking"><Booking><notes>a\x01b</notes>'
    answer = httpx.post(f"{sim.url}/api.pl", content=body + b"</Booking></Add></request>", timeout=10)
    assert answer.status_code == 200
    assert 'status="1"' in answer.text
    assert "not well-formed" in answer.text
