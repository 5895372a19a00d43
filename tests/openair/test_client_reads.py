"""Client reads against the simulator over real HTTP: paging, batching, incremental and deleted passes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest

from sandbox.openair import OpenAirSimulator, SimulatorControl
from sandbox.openair.service import Answer
from shared.kinds import RecordKind
from shared.openair import OpenAirClient, ReadSpec
from shared.openair.models import Booking, BookingType, User
from tests.openair.conftest import COMPANY_ZONE, ClientFactory, company

BIG = company(bookings=2500, users=5)


@pytest.mark.parametrize("sim", [BIG], indirect=True)
async def test_2500_bookings_take_three_pages(client: OpenAirClient, control: SimulatorControl) -> None:
    bookings = await client.read_bookings()
    assert len(bookings) == 2500
    assert len({b.id for b in bookings}) == 2500
    assert client.requests_made == 3
    assert control.stats()["by_command"] == {"Read Booking": 3}


@pytest.mark.parametrize("sim", [BIG], indirect=True)
async def test_read_many_rerequests_only_full_pages(client: OpenAirClient, control: SimulatorControl) -> None:
    batch = await client.read_types([Booking, User, BookingType])
    assert (len(batch.of(Booking)), len(batch.of(User)), len(batch.of(BookingType))) == (2500, 5, 2)
    assert client.requests_made == 3  # round 1 reads all three types; rounds 2-3 only bookings
    assert control.stats()["by_command"] == {"Read Booking": 3, "Read User": 1, "Read BookingType": 1}


async def test_small_pages_and_exact_multiple_end_with_an_empty_page(client: OpenAirClient) -> None:
    rows = await client.read(ReadSpec(type="Booking", page_size=5))  # 20 bookings: 4 full pages, then 601
    assert len(rows) == 20
    assert client.requests_made == 5


async def test_incremental_read_returns_only_records_changed_after_the_watermark(
    client: OpenAirClient, control: SimulatorControl
) -> None:
    everything = await client.read_bookings()
    watermark = max(b.updated for b in everything if b.updated)
    control.modify("Booking", "10003", {"notes": "moved by a resource manager"})
    added = control.create("Booking", {"userid": "100", "startdate": "2026-05-01", "enddate": "2026-05-01"})
    changed = await client.read_bookings(since=watermark)
    assert sorted(b.id for b in changed) == sorted(["10003", added["id"]])
    assert all(b.updated and b.updated > watermark for b in changed)
    # Nothing changed since the newest of those: the next incremental read is empty (601 on the wire).
    assert await client.read_bookings(since=max(b.updated for b in changed if b.updated)) == []


async def test_created_and_updated_come_back_as_utc_from_the_company_zone(
    client: OpenAirClient, control: SimulatorControl
) -> None:
    (user,) = await client.read_users(user_id="100")
    # Seeded at 2026-03-01 09:00 New York time (EST, UTC-5).
    assert user.updated == dt.datetime(2026, 3, 1, 14, 0, tzinfo=dt.UTC)
    assert control.get("User", "100")["updated"] == "2026-03-01 09:00:00"
    assert user.email == "u0@contoso.com"


async def test_deleted_pass_reports_deletions_after_the_watermark(
    client: OpenAirClient, control: SimulatorControl
) -> None:
    before = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    control.delete("Booking", "10001")
    await client.delete("Booking", ["10002"])
    gone = await client.read_bookings(since=before, deleted=True)
    assert sorted(g.id for g in gone) == ["10001", "10002"]
    assert all(g.type == "Booking" and g.updated and g.updated > before for g in gone)
    remaining = await client.read_bookings()
    assert {"10001", "10002"}.isdisjoint(b.id for b in remaining)
    assert len(remaining) == 18
    both = await client.read(ReadSpec(type="Booking", deleted=True, include_nondeleted=True))
    assert len(both) == 20


async def test_batch_with_deletions_reads_both_passes_in_one_request(
    client: OpenAirClient, control: SimulatorControl
) -> None:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    control.modify("Booking", "10005", {"hours": "4.00"})
    control.delete("Booking", "10006")
    batch = await client.read_types([Booking, User], since=since, deleted=True)
    assert [b.id for b in batch.of(Booking)] == ["10005"]
    assert batch.of(User) == []
    assert [d.id for d in batch.deleted(Booking)] == ["10006"]
    assert client.requests_made == 1


async def test_user_filter_and_return_fields(client: OpenAirClient) -> None:
    mine = await client.read_bookings(user_id="101")
    assert mine
    assert all(b.userid == "101" for b in mine)
    rows = await client.read(ReadSpec(type="Booking", return_fields=["updated"], page_size=1000))
    assert rows
    assert all(set(r) == {"id", "updated"} for r in rows)


async def test_custom_fields_are_read_with_enable_custom(client: OpenAirClient) -> None:
    types = await client.read_booking_types()
    assert {t.calendar_export_type for t in types} == {"Set event time as busy"}
    rows = await client.read(ReadSpec(type="BookingType", enable_custom=False))
    assert all("calendar_export_type__c" not in r for r in rows)


@pytest.mark.parametrize("empty_status", [601, 0])
async def test_empty_reads_are_empty_lists_whichever_status(
    sim_factory: Callable[..., OpenAirSimulator], empty_status: int
) -> None:
    other = sim_factory(company(bookings=0), empty_read_status=empty_status)
    client = ClientFactory(other.url)()
    try:
        assert await client.read_bookings() == []
    finally:
        await client.aclose()


async def test_token_login(make_client: ClientFactory) -> None:
    client = make_client(secret_values={"OPENAIR_ACCESS_TOKEN": "demo-access-token", "OPENAIR_PASSWORD": ""})
    me = await client.whoami()
    assert me.nickname == "admin"


async def test_company_zone_setting_is_respected(make_client: ClientFactory, control: SimulatorControl) -> None:
    utc_client = make_client(OPENAIR_COMPANY_TIMEZONE="UTC")
    # OpenAir's stamps carry an empty <timezone/>: the setting decides, so a wrong one reads 09:00 New York as UTC.
    (user,) = await utc_client.read_users(user_id="100")
    assert user.updated == dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    # An offset on the value, where one is sent, wins over the setting.
    control.configure(instant_offsets=True)
    (user,) = await utc_client.read_users(user_id="100")
    assert user.updated == dt.datetime(2026, 3, 1, 14, 0, tzinfo=dt.UTC)


async def test_a_token_login_sees_bookings_created_after_the_token_was_issued(
    make_client: ClientFactory, control: SimulatorControl
) -> None:
    """Oracle, "Filter Set Cache Refresh": token reads miss objects created after the token was issued unless a
    Read sends clear_filter_cache="1". The client sends it, once per request, under token auth only."""
    client = make_client(secret_values={"OPENAIR_ACCESS_TOKEN": "demo-access-token"})
    watermark = max(b.updated for b in await client.read_bookings() if b.updated)
    added = control.create("Booking", {"userid": "100", "startdate": "2026-05-01", "enddate": "2026-05-01"})
    assert [b.id for b in await client.read_bookings(since=watermark)] == [added["id"]]
    assert [b.id for b in await client.read_bookings(user_id="100") if b.id == added["id"]] == [added["id"]]


async def test_password_logins_send_no_filter_cache_refresh(client: OpenAirClient, sim: OpenAirSimulator) -> None:
    sent: list[bytes] = []
    handle = sim.service.handle

    def spy(body: bytes) -> Answer:
        sent.append(body)
        return handle(body)

    sim.service.handle = spy  # type: ignore[method-assign]
    await client.read_bookings()
    assert sent
    assert not any(b"clear_filter_cache" in body for body in sent)


@pytest.mark.parametrize("form", ["raw", "reference"])
async def test_a_control_character_in_one_notes_field_does_not_stop_the_tenants_read(
    client: OpenAirClient, control: SimulatorControl, form: str
) -> None:
    """XML 1.0 allows no vertical tab or escape, raw or as `&#11;`: the response is repaired, the read goes on,
    and the record is named for the administrator."""
    from shared.openair.source import OpenAirSource

    control.configure(invalid_characters=form)
    bad = control.create("Booking", {"userid": "100", "startdate": "2026-05-01", "enddate": "2026-05-01",
                                     "notes": "Agenda\x0bsee\x1b[1m attached"})  # fmt: skip
    changes = await OpenAirSource(client).read_changes({})
    assert len(changes.of(RecordKind.BOOKING)) == 21
    (repaired,) = [b for b in changes.of_model(Booking) if b.id == bad["id"]]
    assert repaired.notes == "Agenda\ufffdsee\ufffd[1m attached"
    assert [b.notes for b in changes.of_model(Booking) if b.id == "10000"] == ["booking 0"]
    (notice,) = changes.notices
    assert f"Booking {bad['id']} (notes)" in notice
    assert "correct the text in OpenAir" in notice
    assert client.requests_made == 1  # repaired at once, not retried


@pytest.mark.parametrize(
    ("setting", "effect"),
    [("UTC", "missed for good"), ("America/Los_Angeles", "updated in the future"), ("America/New_York", None)],
)
async def test_a_wrong_company_zone_is_reported_by_the_read_that_suffers_from_it(
    make_client: ClientFactory, control: SimulatorControl, setting: str, effect: str | None
) -> None:
    """created/updated carry an empty <timezone/>: OPENAIR_COMPANY_TIMEZONE decides how they read. OpenAir's own
    clock (Time, in the same request as the reads) shows a wrong setting."""
    from shared.openair.clock import utc_offset_text
    from shared.openair.source import OpenAirSource

    client = make_client(OPENAIR_COMPANY_TIMEZONE=setting)
    source = OpenAirSource(client)
    first = await source.read_changes({})
    control.modify("Booking", "10003", {"notes": "moved"})
    # Less a minute, as the planner's overlap does: stamps have whole seconds, our clock does not.
    second = await source.read_changes({k: v - dt.timedelta(minutes=1) for k, v in first.watermarks.items()})
    assert client.requests_made == 2  # the clock rides along with the reads
    zone_notices = [n for n in (*first.notices, *second.notices) if "OPENAIR_COMPANY_TIMEZONE" in n]
    if effect is None:
        assert zone_notices == []
        assert [b.id for b in second.of(RecordKind.BOOKING)] == ["10003"]
        return
    assert zone_notices
    assert all(f"OPENAIR_COMPANY_TIMEZONE is {setting}" in n and effect in n for n in zone_notices)
    new_york = dt.datetime.now(ZoneInfo(COMPANY_ZONE)).utcoffset()
    assert f"reads {utc_offset_text(new_york or dt.timedelta())}" in zone_notices[0]


async def test_requests_left_today_come_from_a_ratelimit_read(
    make_client: ClientFactory, control: SimulatorControl
) -> None:
    client = make_client()
    assert await client.requests_left_today() is None  # no daily limit configured
    control.configure(rate_per_day=100)
    assert await client.requests_left_today() == 98  # the reads count, this one included


async def test_a_deletion_watermark_older_than_openair_keeps_deletions_asks_for_a_reconcile(
    client: OpenAirClient, sim: OpenAirSimulator, control: SimulatorControl
) -> None:
    """Deleted records are purged after 180 days (Oracle, "Data Deletion"): after a longer pause the source sends
    no deleted="1" read it cannot trust and names the kinds to reconcile; the per-user read of every live record
    (the reconcile's) no longer holds the deleted booking."""
    from shared.kinds import KIND_OF_TYPE
    from shared.openair.source import OpenAirSource

    sent: list[bytes] = []
    handle = sim.service.handle

    def spy(body: bytes) -> Answer:
        sent.append(body)
        return handle(body)

    sim.service.handle = spy  # type: ignore[method-assign]
    source = OpenAirSource(client)
    first = await source.read_changes({})
    control.delete("Booking", "10000")
    assert control.age_deletions(190) == 1
    sent.clear()
    paused = {k: v - dt.timedelta(days=200) for k, v in {**first.watermarks, **first.deletion_watermarks}.items()}
    changes = await source.read_changes(paused)
    assert changes.reconcile == frozenset(KIND_OF_TYPE.values())
    assert changes.deletions == ()
    assert not any(b'deleted="1"' in body for body in sent)
    assert set(changes.deletion_watermarks) == {f"{name}.deleted" for name in KIND_OF_TYPE}
    live = await source.read_user_records(["100"], {RecordKind.BOOKING}, None)
    ids = {b.id for b in live.of(RecordKind.BOOKING)}
    assert "10000" not in ids
    assert "10003" in ids  # user 100's other bookings, however old

    recent = {k: v - dt.timedelta(days=10) for k, v in {**first.watermarks, **first.deletion_watermarks}.items()}
    sent.clear()
    trusted = await source.read_changes(recent)
    assert trusted.reconcile == frozenset()
    assert any(b'deleted="1"' in body for body in sent)
    assert trusted.deletions == ()  # purged: OpenAir no longer says it was deleted
