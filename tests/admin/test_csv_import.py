"""Mailbox list import from CSV: the incumbent's two columns, every bad line reported, every good line applied."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shared.admin.csv_import import CsvImportError, decode, import_mailbox_csv, parse_mailbox_csv
from shared.graph.models import Mailbox
from shared.store.admin import USER_MAPPINGS, USER_PARTITION
from shared.store.store import SyncStore
from twins.tables import MemoryTables


@dataclass
class Directory:
    mailboxes: list[Mailbox]

    async def list_mailboxes(self) -> list[Mailbox]:
        return self.mailboxes

    async def mailbox_time_zone(self, user_id: str) -> str | None:
        return "W. Europe Standard Time"


def store_with_users() -> SyncStore:
    tables = MemoryTables()
    # What a refresh leaves: OpenAir identity columns, with or without a mailbox.
    tables.raw_put(USER_MAPPINGS, USER_PARTITION, "1", {"OpenAirEmail": "jadmin@example.com", "Mailbox": "",
                                                         "MappedBy": "Email"})  # fmt: skip
    tables.raw_put(USER_MAPPINGS, USER_PARTITION, "2", {"OpenAirEmail": "admin@example.com",
                                                         "Mailbox": "old@example.com", "MailboxId": "id-old",
                                                         "MappedBy": "Alias", "ExportBookings": True})  # fmt: skip
    tables.raw_put(USER_MAPPINGS, USER_PARTITION, "3", {"OpenAirEmail": "mcollins@example.com",
                                                         "Mailbox": "mcollins@example.com", "MappedBy": "Email",
                                                         "ExchangeServer": "corp-exch-1"})  # fmt: skip
    return SyncStore(tables)


def test_the_incumbents_example_parses() -> None:
    text = (
        "jadmin@example.com,corp-exch-win2012-1\n"
        "admin@example.com,corp-exch-win2012-1\n"
        "mcollins@example.com,corp-exch-win2012-2\n"
    )
    lines, problems = parse_mailbox_csv(text)
    assert problems == []
    assert [(line.line, line.email, line.exchange_server) for line in lines] == [
        (1, "jadmin@example.com", "corp-exch-win2012-1"),
        (2, "admin@example.com", "corp-exch-win2012-1"),
        (3, "mcollins@example.com", "corp-exch-win2012-2"),
    ]


def test_bom_blank_lines_quotes_spaces_and_case() -> None:
    data = '\ufeff"Jane.Doe@Contoso.com", "exch, building 2"\r\n\r\n   \r\n,\r\nsam.lee@contoso.com,\r\n'.encode()
    lines, problems = parse_mailbox_csv(decode(data))
    assert problems == []
    assert [(line.line, line.email, line.exchange_server) for line in lines] == [
        (1, "jane.doe@contoso.com", "exch, building 2"),
        (5, "sam.lee@contoso.com", ""),
    ]


def test_bad_lines_are_reported_by_number_and_the_rest_kept() -> None:
    text = (
        "email,exchange server\n"  # a header row
        "ok@contoso.com,exch1\n"
        "not-an-email,exch1\n"
        "two@at@contoso.com,exch1\n"
        "three,columns,here@contoso.com\n"
        "OK@contoso.com,exch2\n"  # duplicate, other case
        "just-one-column@contoso.com\n"
        "last@contoso.com,exch3\n"
    )
    warnings: list[str] = []
    lines, problems = parse_mailbox_csv(text, warnings)
    assert [line.email for line in lines] == ["ok@contoso.com", "last@contoso.com"]
    assert warnings == ["line 1: a header line (email,exchange server); skipped"]
    assert problems == [
        "line 3: 'not-an-email' is not an email address",
        "line 4: 'two@at@contoso.com' is not an email address",
        "line 5: 'three' is not an email address",
        "line 6: ok@contoso.com is already on line 2; this line is ignored",
        "line 7: 1 column(s); use two or three: email,exchange server[,OpenAir user id or email] (quote a value "
        "that contains a comma)",
    ]


def test_an_unclosed_quote_is_reported_not_raised() -> None:
    lines, problems = parse_mailbox_csv('a@contoso.com,x\n"b@contoso.com,unclosed\n')
    assert [line.email for line in lines] == ["a@contoso.com"]
    assert len(problems) == 1
    assert problems[0].startswith("line ")


def test_not_utf8_or_no_mode_is_refused_whole() -> None:
    with pytest.raises(CsvImportError, match="CSV UTF-8"):
        decode("café@contoso.com,x".encode("latin-1"))


async def test_choosing_neither_mode_is_an_error() -> None:
    with pytest.raises(CsvImportError, match="add new"):
        await import_mailbox_csv(store_with_users(), "a@b.com,x", add_new=False, replace_existing=False)


async def test_add_new_maps_users_without_a_mailbox_only() -> None:
    store = store_with_users()
    directory = Directory([Mailbox(id="id-jadmin", user_principal_name="jadmin@example.com")])
    text = "jadmin@example.com,exch1\nadmin@example.com,exch1\nmcollins@example.com,exch9\nnobody@example.com,x\n"
    report = await import_mailbox_csv(store, text, add_new=True, replace_existing=False, directory=directory)
    assert report.added == ["line 1: 1 → jadmin@example.com (syncs: bookings, task assignments, time off)"]
    assert report.not_applied == [
        "line 2: 2 is mapped to old@example.com already (replace existing is off)",
        "line 3: mcollins@example.com is already mapped to 3 (replace existing is off)",
    ]
    assert report.problems == [
        "line 4: no OpenAir user has the email nobody@example.com; run `mappings refresh` first, or map the user by "
        "hand in the UserMappings table"
    ]
    mapping = store.load_mappings().users["1"]
    assert (mapping.mailbox, mapping.mailbox_id, mapping.mapped_by.value) == (
        "jadmin@example.com",
        "id-jadmin",
        "Manual",
    )
    assert mapping.mailbox_time_zone == "W. Europe Standard Time"
    assert store.load_mappings().users["2"].mailbox == "old@example.com"


async def test_replace_existing_repoints_and_updates_the_server_but_adds_nobody() -> None:
    store = store_with_users()
    text = "jadmin@example.com,exch1\nadmin@example.com,exch1\nmcollins@example.com,exch9\n"
    report = await import_mailbox_csv(store, text, add_new=False, replace_existing=True, directory=Directory([]))
    assert report.replaced == [
        "line 2: 2 old@example.com → admin@example.com",
        "line 3: 3 → mcollins@example.com (Exchange server 'exch9')",
    ]
    assert report.not_applied == ["line 1: 1 has no mailbox yet (add new is off)"]
    assert report.warnings == [
        "line 2: admin@example.com is not a Microsoft 365 mailbox (yet); the user syncs once `mappings refresh` "
        "finds it"
    ]
    users = store.load_mappings()
    assert users.users["2"].mailbox == "admin@example.com"
    assert users.users["2"].mailbox_id == ""  # the old mailbox's id is never kept for a new address
    assert users.users["2"].export_kinds  # switches untouched
    row = store.mapping_row("3")
    assert row is not None
    assert row.columns["ExchangeServer"] == "exch9"
    assert "1" in users.unmapped


async def test_both_modes_and_dry_run() -> None:
    store = store_with_users()
    text = "jadmin@example.com,exch1\nadmin@example.com,exch1\n"
    report = await import_mailbox_csv(store, text, add_new=True, replace_existing=True, dry_run=True)
    assert report.counts()["added"] == 1
    assert report.counts()["replaced"] == 1
    assert store.load_mappings().users["2"].mailbox == "old@example.com"
    assert "1" in store.load_mappings().unmapped
    report = await import_mailbox_csv(store, text, add_new=True, replace_existing=True)
    assert store.load_mappings().users["1"].mailbox == "jadmin@example.com"
    assert store.load_mappings().users["2"].mailbox == "admin@example.com"


async def test_a_third_column_maps_a_person_whose_mailbox_is_not_their_openair_email() -> None:
    store = store_with_users()
    store.put_setting("NewUsersExportTaskAssignments", False)
    store.put_setting("NewUsersExportScheduleRequests", False)
    directory = Directory([Mailbox(id="id-jd", user_principal_name="jane.d@contoso.com")])
    text = "zz@contoso.com,x,999\njane.d@contoso.com,exch1,jadmin@example.com\nbad,x\n"
    report = await import_mailbox_csv(store, text, add_new=True, replace_existing=False, directory=directory)
    assert report.added == ["line 2: 1 → jane.d@contoso.com (syncs: bookings)"]
    assert report.problems == [  # in line order
        "line 1: '999' (third column) is not an OpenAir user id or OpenAir email in UserMappings; run `mappings "
        "refresh` first",
        "line 3: 'bad' is not an email address",
    ]
    mapping = store.load_mappings().users["1"]
    assert (mapping.mailbox, mapping.mailbox_id) == ("jane.d@contoso.com", "id-jd")
    assert {k.value for k in mapping.export_kinds} == {"booking"}
    store.put_setting("NewUsersExportBookings", False)
    again = await import_mailbox_csv(store, "x@contoso.com,e,1\n", add_new=True, replace_existing=True)
    assert again.replaced == ["line 1: 1 jane.d@contoso.com → x@contoso.com"]  # switches kept on re-pointing


def test_empty_and_oversized_files_get_their_own_answers() -> None:
    from shared.admin.csv_import import MAX_FILE_BYTES, CsvTooLarge

    with pytest.raises(CsvImportError, match="the file is empty"):
        decode(b"\xef\xbb\xbf \r\n")
    with pytest.raises(CsvTooLarge, match="the limit is"):
        decode(b"a" * (MAX_FILE_BYTES + 1))
