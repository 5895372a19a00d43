"""Status from the tables alone: users with their switches and last results, rejected rows, subscriptions (read
defensively from the import's table), cursors without their long opaque values, runs and alerts."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.admin.resync import UnknownUser
from shared.admin.status import build_status
from shared.domain.runs import RunRecord
from shared.store.admin import SETTINGS, SETTINGS_PARTITION, USER_MAPPINGS, USER_PARTITION
from shared.store.state import CURSORS
from shared.store.store import SyncStore
from twins.tables import MemoryTables

NOW = dt.datetime(2026, 11, 22, 9, tzinfo=dt.UTC)


def test_status_shows_what_needs_an_administrator() -> None:
    tables = MemoryTables()
    tables.raw_put(USER_MAPPINGS, USER_PARTITION, "1", {"Mailbox": "jane@contoso.com", "MailboxId": "m1",
                   "MappedBy": "Email", "ExportBookings": True, "Import": True, "OpenAirUserName": "Doe, Jane",
                   "LastExport": NOW, "LastExportCounts": "created 3", "LastError": "booking:7: update failed with 403",
                   "LastErrorAt": NOW})  # fmt: skip
    tables.raw_put(USER_MAPPINGS, USER_PARTITION, "2", {"Mailbox": "sam@contoso.com", "ExportBookings": "yes"})
    tables.raw_put(USER_MAPPINGS, USER_PARTITION, "3", {"Mailbox": "", "OpenAirEmail": "x@contractor.example",
                                                         "OpenAirUserName": "Contractor"})  # fmt: skip
    tables.raw_put(SETTINGS, SETTINGS_PARTITION, "MaxDeletionsPerRun", {"Value": "many"})
    tables.raw_put("Subscriptions", "Subscription", "sub-1", {"UserId": "1", "Expiration": NOW + dt.timedelta(hours=3)})
    tables.raw_put("Subscriptions", "Subscription", "sub-2", {"UserId": "1"})  # no expiry column: read, not crashed
    tables.raw_put(CURSORS, "OpenAir", "Booking.updated", {"Value": NOW, "Saved": NOW})
    tables.raw_put(CURSORS, "Delta", "1", {"DeltaLink": "https://graph.microsoft.com/v1.0/users/m1/calendarView/"
                                                          "delta?$deltatoken=" + "x" * 80})  # fmt: skip
    store = SyncStore(tables)
    store.record_run(RunRecord(run_id="r1", kind="export-plan", started=NOW, finished=NOW, status="blocked",
                               alerts=("Deletion guard: this run would delete 500 events",)))  # fmt: skip

    report = build_status(store, now=NOW)
    assert [u.user_id for u in report.users] == ["1"]
    jane = report.users[0]
    assert (jane.name, jane.switches, jane.last_export_counts) == ("Doe, Jane", ["bookings", "import"], "created 3")
    assert jane.last_error == "booking:7: update failed with 403"
    assert report.unmapped == ["3 Contractor <x@contractor.example>"]
    assert any("UserMappings row '2': column ExportBookings" in r for r in report.rejected_rows)
    assert any("IntegrationSettings row 'MaxDeletionsPerRun'" in r for r in report.rejected_rows)
    assert [(s["id"], s["state"]) for s in report.subscriptions] == [("sub-1", "expiring"), ("sub-2", "unknown expiry")]
    assert {c["scope"]: c["value"] for c in report.cursors} == {"OpenAir": "2026-11-22 09:00:00 UTC", "Delta": "(set)"}
    assert report.alerts == ["Deletion guard: this run would delete 500 events"]
    assert report.healthy is False
    assert report.state == "failing"
    assert [(r.user_id, r.mailbox) for r in report.rejected_users] == [("2", "sam@contoso.com")]
    assert report.rejected_users[0].problem.startswith("column ExportBookings is the string 'yes'")

    one = build_status(store, user_id="1", now=NOW)
    assert one.users[0].links == 0
    assert {c["scope"] for c in one.cursors} == {"Delta", "OpenAir"}
    with pytest.raises(UnknownUser, match="OpenAir user nobody has no row in UserMappings"):
        build_status(store, user_id="nobody", now=NOW)


def test_status_and_check_say_which_zone_each_user_gets_and_why() -> None:
    from shared.admin.check import Outcome, zone_check

    tables = MemoryTables()

    def mapped(user: str) -> dict[str, object]:
        return {"Mailbox": f"{user}@contoso.com", "MailboxId": f"m{user}", "ExportBookings": True}

    tables.raw_put(USER_MAPPINGS, USER_PARTITION, "1", {**mapped("1"), "OpenAirTimeZone": "-0600",
                                                         "MailboxTimeZone": "Central Standard Time"})  # fmt: skip
    tables.raw_put(USER_MAPPINGS, USER_PARTITION, "2", {**mapped("2"), "OpenAirTimeZone": "-0600"})
    tables.raw_put(USER_MAPPINGS, USER_PARTITION, "3", {**mapped("3"), "OpenAirTimeZone": "+0100",
                                                         "TimeZone": "Europe/Paris"})  # fmt: skip
    store = SyncStore(tables)

    zones = {u.user_id: (u.time_zone, u.time_zone_reason) for u in build_status(store, now=NOW).users}
    assert zones["1"][0] == "America/Chicago"
    assert "mailbox" in zones["1"][1]
    assert "-0600" in zones["1"][1]
    assert zones["2"][0] == "Etc/GMT+6"
    assert zones["2"][1].startswith("WARNING: ")
    assert zones["3"][0] == "Europe/Paris"
    assert "override" in zones["3"][1]

    result = zone_check(store)
    assert result.outcome is Outcome.WARNING
    assert "1 from mailbox" in result.message
    assert "1 from override" in result.message
    assert "2: Etc/GMT+6" in result.message
    tables.raw_put(USER_MAPPINGS, USER_PARTITION, "2", {**mapped("2"), "OpenAirTimeZone": "-0600",
                                                         "TimeZone": "America/Chicago"})  # fmt: skip
    assert zone_check(store).outcome is Outcome.OK
