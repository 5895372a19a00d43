"""Refresh mappings: by email and by alias, manual rows untouched, one mailbox per user, admin edits win."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.admin.mappings import refresh_mappings
from shared.graph.models import Mailbox
from shared.openair.models import User
from shared.store.admin import USER_MAPPINGS, USER_PARTITION
from shared.store.store import SyncStore
from shared.store.tables import Row
from twins.tables import MemoryTables


@dataclass
class Directory:
    mailboxes: list[Mailbox]
    users: list[User]
    zone_calls: list[str] = field(default_factory=list)

    async def list_mailboxes(self) -> list[Mailbox]:
        return self.mailboxes

    async def mailbox_time_zone(self, user_id: str) -> str | None:
        self.zone_calls.append(user_id)
        return "Pacific Standard Time"

    async def read_active_users(self) -> list[User]:
        return [u for u in self.users if u.active]


def mailbox(local: str, *aliases: str) -> Mailbox:
    address = f"{local}@contoso.com"
    return Mailbox(id=f"id-{local}", user_principal_name=address, mail=address,
                   proxy_addresses=(f"SMTP:{address}", *(f"smtp:{a}" for a in aliases)))  # fmt: skip


def world() -> tuple[SyncStore, Directory, MemoryTables]:
    directory = Directory(
        mailboxes=[mailbox("jane.doe", "jdoe@london.contoso.com"), mailbox("sam.lee"), mailbox("boardroom")],
        users=[
            User(id="1", name="Doe, Jane", email="JDoe@London.contoso.com", timezone="Europe/London"),
            User(id="2", name="Lee, Sam", email="sam.lee@contoso.com", timezone="America/Los_Angeles"),
            User(id="3", name="Contractor", email="x@contractor.example"),
            User(id="4", name="Gone", email="gone@contoso.com", active=False),
        ],
    )
    tables = MemoryTables()
    return SyncStore(tables), directory, tables


async def test_maps_by_primary_address_and_by_alias_with_new_user_switches() -> None:
    store, directory, _tables = world()
    report = await refresh_mappings(store, directory, directory)
    assert sorted(report.new) == ["1 jane.doe@contoso.com (Alias)", "2 sam.lee@contoso.com (Email)"]
    assert report.unmatched == ["3 Contractor <x@contractor.example>"]
    mappings = store.load_mappings()
    assert mappings.users["1"].mailbox_id == "id-jane.doe"
    assert mappings.users["1"].openair_time_zone == "Europe/London"
    assert mappings.users["1"].mailbox_time_zone == "Pacific Standard Time"
    assert "3" in mappings.unmapped
    assert "4" not in mappings.users  # inactive users are not mapped


async def test_a_second_refresh_changes_nothing_and_asks_graph_for_nothing_more() -> None:
    store, directory, _tables = world()
    await refresh_mappings(store, directory, directory)
    calls = len(directory.zone_calls)
    report = await refresh_mappings(store, directory, directory)
    assert report.new == []
    assert report.changed == []
    assert report.unchanged == 2
    assert len(directory.zone_calls) == calls


async def test_manual_rows_are_never_repointed_and_their_mailbox_is_not_given_to_anyone_else() -> None:
    store, directory, tables = world()
    tables.upsert(USER_MAPPINGS, _row("2", Mailbox="boardroom@contoso.com", MappedBy="Manual",
                                             ExportBookings=False))  # fmt: skip
    tables.upsert(USER_MAPPINGS, _row("3", Mailbox="jane.doe@contoso.com", MappedBy="Manual"))
    report = await refresh_mappings(store, directory, directory)
    mappings = store.load_mappings()
    assert mappings.users["2"].mailbox == "boardroom@contoso.com"
    assert mappings.users["2"].mailbox_id == "id-boardroom"  # resolved for the admin
    assert mappings.users["2"].export_kinds == frozenset()  # the admin's switches are kept
    assert mappings.users["3"].mailbox == "jane.doe@contoso.com"
    assert report.conflicts == [
        "1 <jdoe@london.contoso.com> matches jane.doe@contoso.com, already mapped to OpenAir user 3"
    ]
    assert "1" not in mappings.users


async def test_a_bad_row_is_reported_and_left_alone() -> None:
    store, directory, tables = world()
    tables.upsert(USER_MAPPINGS, _row("1", Mailbox="jane.doe@contoso.com", ExportBookings="yes"))
    report = await refresh_mappings(store, directory, directory)
    assert report.skipped_rows == [
        "UserMappings row '1': column ExportBookings is the string 'yes'; use a Boolean (true or false) — "
        "set the column type to Boolean"
    ]
    row = tables.get(USER_MAPPINGS, USER_PARTITION, "1")
    assert row is not None
    assert row.columns["ExportBookings"] == "yes"


async def test_dry_run_writes_nothing() -> None:
    store, directory, _tables = world()
    report = await refresh_mappings(store, directory, directory, dry_run=True)
    assert len(report.new) == 2
    assert store.mapping_rows() == []


def _row(user_id: str, **columns: object) -> Row:
    return Row(USER_PARTITION, user_id, columns)


async def test_hand_typed_duplicates_and_users_openair_does_not_have_are_reported() -> None:
    store, directory, tables = world()
    await refresh_mappings(store, directory, directory)
    tables.upsert(USER_MAPPINGS, Row(USER_PARTITION, "2", {"Mailbox": "jane.doe@contoso.com",
                                                                   "MappedBy": "Manual"}), merge=True)  # fmt: skip
    tables.upsert(USER_MAPPINGS, Row(USER_PARTITION, "999", {"Mailbox": "", "MappedBy": "Manual"}))
    report = await refresh_mappings(store, directory, directory)
    assert sorted(c.split(":")[0] for c in report.conflicts) == ["1", "2"]
    assert "also mapped" in report.conflicts[0]
    assert report.not_in_openair == [
        "999: OpenAir has no active user 999: fix the RowKey (the OpenAir user id) or delete the row"]  # fmt: skip
    from shared.admin.status import build_status

    unmapped = build_status(store).unmapped
    assert any(u.startswith("999") and "OpenAir has no active user 999" in u for u in unmapped)


async def test_a_mailbox_edited_by_hand_takes_effect_at_the_next_run() -> None:
    import datetime as dt

    from shared.admin.mappings import resolve_edited_mailboxes
    from shared.kinds import RecordKind, openair_event_key
    from tests.sync.world import World

    world = World.build()
    world.booking("b1", "u1", dt.date(2026, 11, 24), dt.date(2026, 11, 24))
    await world.run()
    directory = Directory(mailboxes=[Mailbox(id="mbx-hiro", user_principal_name="hiro@contoso.com",
                                             mail="hiro@contoso.com")], users=[])  # fmt: skip
    assert await resolve_edited_mailboxes(world.store, lambda: directory) == []  # rows resolved before: remembered once
    world.tables.upsert(USER_MAPPINGS, Row(USER_PARTITION, "u1", {"Mailbox": "hiro@contoso.com"}), merge=True)
    assert world.store.load_mappings().users["u1"].mailbox_id == ""  # the old id is not the new mailbox's

    assert await resolve_edited_mailboxes(world.store, lambda: directory) == ["u1: hiro@contoso.com resolved"]
    await world.run()
    assert world.calendar.events("mbx-u1") == []  # moved out of the old mailbox
    (event,) = world.calendar.events("mbx-hiro")
    assert event.openair_key == openair_event_key(RecordKind.BOOKING, "b1")
    world.tables.upsert(USER_MAPPINGS, Row(USER_PARTITION, "u1", {"Mailbox": "typo@contoso.com"}), merge=True)
    assert await resolve_edited_mailboxes(world.store, lambda: directory) == ["u1: typo@contoso.com not found"]
    (row,) = [r for r in world.store.mapping_rows() if r.row_key == "u1"]
    assert "typo@contoso.com is not in Microsoft 365" in row.columns["LastError"]
    assert await resolve_edited_mailboxes(world.store, lambda: directory) == []  # not looked up again every run
