"""Run reports by email: error count in the subject, one mail per batch of runs, a daily report never twice."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from shared.admin.reports import send_due_reports
from shared.domain.runs import RunRecord
from shared.store.admin import SETTINGS, SETTINGS_PARTITION
from shared.store.store import SyncStore
from twins.tables import MemoryTables

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass
class Outbox:
    sent: list[tuple[str, list[str], str, str]] = field(default_factory=list)
    fail: bool = False

    async def send_mail(self, sender_user_id: str, to: list[str], subject: str, body_text: str) -> None:
        if self.fail:
            raise RuntimeError("Graph is down")
        self.sent.append((sender_user_id, to, subject, body_text))


def store(when: str) -> SyncStore:
    tables = MemoryTables()
    for name, value in (("ReportWhen", when), ("ReportSender", "ops@contoso.com"),
                        ("ReportRecipients", "a@contoso.com; b@contoso.com")):  # fmt: skip
        tables.raw_put(SETTINGS, SETTINGS_PARTITION, name, {"Value": value})
    return SyncStore(tables)


def run(minutes_ago: int, *, errors: tuple[str, ...] = (), created: int = 1) -> RunRecord:
    started = NOW - dt.timedelta(minutes=minutes_ago)
    return RunRecord(run_id=f"r{minutes_ago}", kind="export-mailbox", started=started,
                     finished=started + dt.timedelta(seconds=2), status="partial" if errors else "ok",
                     counts={"created": created}, errors=errors, user_id="1080")  # fmt: skip


async def test_each_run_reports_new_runs_once_with_the_error_count_in_the_subject() -> None:
    db, mail = store("Each run"), Outbox()
    db.record_run(run(5, errors=("booking:1: create failed with 403 ErrorAccessDenied",)))
    db.record_run(run(4))
    db.record_run(run(3, created=0))  # an idle run: not reported
    sent = await send_due_reports(db, mail, NOW)
    assert sent is not None
    (sender, to, subject, body) = mail.sent[0]
    assert (sender, to) == ("ops@contoso.com", ["a@contoso.com", "b@contoso.com"])
    assert subject == "OpenAir sync: 1 error(s) in 2 run(s)"
    assert "403 ErrorAccessDenied" in body
    assert await send_due_reports(db, mail, NOW) is None  # nothing new
    db.record_run(run(1))
    await send_due_reports(db, mail, NOW + dt.timedelta(minutes=5))
    assert mail.sent[-1][2] == "OpenAir sync: 1 run(s), no errors"


async def test_each_run_with_errors_stays_quiet_without_errors() -> None:
    db, mail = store("Each run with errors"), Outbox()
    db.record_run(run(5))
    assert await send_due_reports(db, mail, NOW) is None
    db.record_run(run(1, errors=("x",)))
    await send_due_reports(db, mail, NOW)
    assert [m[2] for m in mail.sent] == ["OpenAir sync: 1 error(s) in 1 run(s)"]


async def test_daily_is_sent_once_a_day_after_its_time_and_retried_when_sending_failed() -> None:
    db, mail = store("Daily at 08:00"), Outbox()
    db.record_run(run(30))
    day = NOW.replace(hour=7, minute=55)
    assert await send_due_reports(db, mail, day) is None  # before 08:00
    mail.fail = True
    with pytest.raises(RuntimeError):
        await send_due_reports(db, mail, day.replace(hour=8, minute=0))
    mail.fail = False
    assert await send_due_reports(db, mail, day.replace(hour=8, minute=5)) is not None  # the claim was released
    assert await send_due_reports(db, mail, day.replace(hour=8, minute=10)) is None
    assert await send_due_reports(db, mail, day.replace(hour=23)) is None
    assert len(mail.sent) == 1
    assert await send_due_reports(db, mail, day.replace(hour=8) + dt.timedelta(days=1)) is not None


async def test_never_and_missing_addresses_send_nothing() -> None:
    mail = Outbox()
    assert await send_due_reports(store("Never"), mail, NOW) is None
    db = SyncStore(MemoryTables())
    db.put_setting("ReportWhen", "Each run")
    db.record_run(run(1))
    assert await send_due_reports(db, mail, NOW) is None
    assert mail.sent == []


async def test_the_subject_counts_distinct_problems_and_the_body_groups_them_by_problem_and_user() -> None:
    db, mail = store("Each run"), Outbox()
    rejected = tuple(f"UserMappings row '{n}': column ExportBookings is the string 'yes'" for n in range(15))
    for minute in range(40, 10, -1):  # thirty runs meet the same fifteen rejected rows
        db.record_run(run(minute, errors=rejected))
    db.record_run(run(9, errors=("booking:7: update failed with 403 ErrorAccessDenied",)))
    await send_due_reports(db, mail, NOW)
    (_, _, subject, body) = mail.sent[0]
    assert subject == "OpenAir sync: 16 error(s) in 31 run(s)"
    assert body.count("UserMappings row '3'") == 1  # once, not once per run
    assert "users 1080; 30 run(s)" in body


async def test_a_paused_sync_says_so_in_the_report() -> None:
    db, mail = store("Each run"), Outbox()
    db.record_run(run(5))
    db.set_paused(True, by="ops@contoso.com (signed in)", reason="cutover", now=NOW)
    await send_due_reports(db, mail, NOW)
    (_, _, subject, body) = mail.sent[0]
    assert subject.startswith("PAUSED - OpenAir sync")
    assert "PAUSED since" in body
    assert "cutover" in body
