"""`OpenAirRecords` (the push path's reads) against the simulator: the same `Reference` as the tenant-wide read,
in as few requests as the record's ids allow: one per save once the user's references are known."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from sandbox.openair import OpenAirSimulator, SimulatorControl
from sandbox.sample import build
from shared.kinds import KIND_OF_TYPE, RecordKind
from shared.openair import OpenAirClient
from shared.openair.by_id import OpenAirRecords, UserReferences
from shared.openair.changes import ChangeSet, Reference
from shared.openair.models import Booking
from shared.openair.source import OpenAirSource
from tests.openair.conftest import ClientFactory

DATA = build(dt.date(2026, 11, 23), users=4)["openair"]


def records_of(type_name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = DATA["records"][type_name]
    return rows


def user_of(record: dict[str, Any]) -> str:
    return str(record.get("userid") or "")


def samples() -> list[tuple[RecordKind, dict[str, Any]]]:
    bookings = records_of("Booking")
    with_project = next(b for b in bookings if b.get("projectid") and b.get("customerid"))
    with_task = next((b for b in bookings if b.get("project_taskid")), with_project)
    return [
        (RecordKind.BOOKING, with_project),
        (RecordKind.BOOKING, with_task),
        (RecordKind.TASK_ASSIGNMENT, records_of("Projecttaskassign")[0]),
        (RecordKind.SCHEDULE_REQUEST, records_of("Schedulerequest")[0]),
    ]


async def read(records: OpenAirRecords, kind: RecordKind, record: dict[str, Any]) -> tuple[ChangeSet, Reference]:
    changes = await records.read_record(kind, str(record["id"]))
    return changes, await records.read_reference(changes)


@pytest.fixture
def sample_sim(sim_factory: Callable[..., OpenAirSimulator]) -> OpenAirSimulator:
    return sim_factory(DATA)


@pytest.mark.parametrize("case", range(4))
async def test_a_pushed_record_and_its_reference_as_the_tenant_wide_read_has_them(
    sample_sim: OpenAirSimulator, case: int
) -> None:
    kind, record = samples()[case]
    factory = ClientFactory(sample_sim.url)
    async with factory() as client:
        changes, reference = await read(
            OpenAirRecords(OpenAirSource(client), UserReferences(), user_hint=user_of(record)), kind, record
        )
        assert len(changes) == 1
        assert reference == await OpenAirSource(client).read_reference(changes)


@pytest.mark.parametrize("case", range(4))
async def test_one_openair_request_per_save_once_the_users_references_are_known(
    sample_sim: OpenAirSimulator, case: int
) -> None:
    kind, record = samples()[case]
    control = SimulatorControl(sample_sim.url)
    known = UserReferences()
    factory = ClientFactory(sample_sim.url)
    async with factory() as client:
        await read(
            OpenAirRecords(OpenAirSource(client), known, user_hint=user_of(record)), kind, record
        )  # the user's first save
        first = control.stats()["requests"]
        # The record (with the small tables); then each link of the chain not known yet: task, project, customer.
        assert first <= 4
        control.reset()
        before = client.requests_made
        changes, reference = await read(
            OpenAirRecords(OpenAirSource(client), known, user_hint=user_of(record)), kind, record
        )  # saved again
        assert client.requests_made - before == 1
        assert control.stats()["requests"] == 1
        assert reference == await OpenAirSource(client).read_reference(changes)


def form_hints(record: dict[str, Any]) -> dict[str, list[str]]:
    """What the form script sends as `refers_to`: the ids the saved record itself names."""
    fields = {"Projecttask": ("project_taskid", "projecttaskid"), "Project": ("projectid",)}
    fields["Customer"] = ("customerid",)
    return {t: [str(record[f])] for t, names in fields.items() for f in names if record.get(f)}


@pytest.mark.parametrize("case", range(4))
async def test_a_users_first_save_is_one_request_with_what_the_form_said_it_refers_to(
    sample_sim: OpenAirSimulator, case: int
) -> None:
    """A booking names its task, project and customer; a task assignment only its task, whose project (and that
    project's customer) are one more request each, the first time."""
    kind, record = samples()[case]
    factory = ClientFactory(sample_sim.url)
    async with factory() as client, factory() as other:
        records = OpenAirRecords(OpenAirSource(client), UserReferences(), user_hint=user_of(record))
        await records.read_records([(kind, str(record["id"]))], hints=form_hints(record))
        changes = await records.read_record(kind, str(record["id"]))
        assert await records.read_reference(changes) == await OpenAirSource(other).read_reference(changes)
        assert client.requests_made == (3 if kind is RecordKind.TASK_ASSIGNMENT else 1)


async def test_several_saves_are_one_request_and_what_they_refer_to_one_more_per_link(
    sample_sim: OpenAirSimulator,
) -> None:
    """Ten records of one user read together: one request for all of them; the references none of them was known
    to name are read for all of them at once (at most one request per link of task -> project -> customer)."""
    user = user_of(next(b for b in records_of("Booking") if b.get("projectid")))
    bookings = [b for b in records_of("Booking") if b.get("projectid") and user_of(b) == user][:10]
    assert len(bookings) > 2
    factory = ClientFactory(sample_sim.url)
    async with factory() as client, factory() as other:
        records = OpenAirRecords(OpenAirSource(client), UserReferences(), user_hint=user)
        await records.read_records([(RecordKind.BOOKING, str(b["id"])) for b in bookings])
        assert client.requests_made == 1
        for booking in bookings:
            changes = await records.read_record(RecordKind.BOOKING, str(booking["id"]))
            assert [b.id for b in changes.of(RecordKind.BOOKING)] == [str(booking["id"])]
            assert await records.read_reference(changes) == await OpenAirSource(other).read_reference(changes)
        assert client.requests_made <= 1 + 3


async def test_a_save_that_moves_the_booking_to_another_project_reads_that_project(
    sample_sim: OpenAirSimulator,
) -> None:
    bookings = [b for b in records_of("Booking") if b.get("projectid")]
    first = bookings[0]
    other = next(p for p in records_of("Project") if p["id"] != first["projectid"])
    control = SimulatorControl(sample_sim.url)
    known = UserReferences()
    factory = ClientFactory(sample_sim.url)
    async with factory() as client:
        records = OpenAirRecords(OpenAirSource(client), known, user_hint=user_of(first))
        await read(records, RecordKind.BOOKING, first)
        await client.modify("Booking", [{"id": first["id"], "projectid": other["id"]}])
        changes, reference = await read(
            OpenAirRecords(OpenAirSource(client), known, user_hint=user_of(first)), RecordKind.BOOKING, first
        )
        assert changes.of_model(Booking)[0].projectid == other["id"]
        assert other["id"] in reference.projects
        assert reference == await OpenAirSource(client).read_reference(changes)
    assert control.stats()["requests"] >= 1


def test_the_sample_has_every_exported_type() -> None:
    assert all(records_of(name) for name in KIND_OF_TYPE)


__all__ = ["OpenAirClient"]
