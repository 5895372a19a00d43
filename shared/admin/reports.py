"""Run reports by email — the incumbent's "Send results of each run", through Graph sendMail.

`ReportWhen` (IntegrationSettings) decides:
- `Each run` / `Each run with errors`: a timer (every 5 minutes) mails the runs finished since the last report,
  one mail per tick at most (the export runs every few minutes; one mail per run would bury the recipients).
  Runs that did nothing (an idle export with no error) are not reported. `Each run with errors` mails only when
  one of them has errors. The error count is in the subject, as the incumbent did.
- `Daily at HH:MM` (UTC): one mail a day, covering the last 24 hours, sent on the first tick at or after HH:MM.

Never twice: the `Reports` table holds the last reported run time and one row per daily report sent. Each is
claimed (ETag-conditional write) before the mail goes out and released when sending fails, so two timers can
never both send, and a failed send is tried again on the next tick.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shared.domain.runs import RunRecord
from shared.domain.settings import PauseState
from shared.ports.mailboxes import MailSender
from shared.store.offload import off_loop
from shared.store.store import SyncStore
from shared.store.tables import EtagMismatch

log = logging.getLogger(__name__)

_LAST_RUN = "LastReportedRun"
_WORK_COUNTS = ("created", "updated", "deleted", "recovered", "failed", "outbox_entries", "to_write")


@dataclass(frozen=True)
class ReportSent:
    subject: str
    recipients: list[str]
    runs: int


def recipients(text: str) -> list[str]:
    return [a for a in re.split(r"[,;\s]+", text) if a]


def problems_of(runs: Sequence[RunRecord]) -> dict[str, list[RunRecord]]:
    """Distinct problems → the runs that met them. The same rejected row or failing mailbox is met by every run
    until it is fixed: it is one problem, not one per run. A failed run without a message is its own problem."""
    found: dict[str, list[RunRecord]] = {}
    for run in runs:
        texts = list(run.errors) or ([f"{run.kind} {run.status}"] if run.status in ("failed", "poison") else [])
        for text in dict.fromkeys(texts):
            found.setdefault(text, []).append(run)
    return found


def error_count(runs: Sequence[RunRecord]) -> int:
    """Distinct problems in these runs (what the subject counts)."""
    return len(problems_of(runs))


def eventful(run: RunRecord) -> bool:
    """A run worth a line in a report: it wrote something, failed, or raised an alert."""
    return bool(run.errors or run.alerts or run.status not in ("ok",) or any(run.counts.get(k) for k in _WORK_COUNTS))


def compose(runs: Sequence[RunRecord], *, title: str, paused: PauseState | None = None) -> tuple[str, str]:
    """(subject, plain-text body). Keys, counts and error texts only: never an event's subject or body."""
    from shared.admin.status import run_groups

    problems = problems_of(runs)
    groups = run_groups(list(runs), len(runs) or 1)
    subject = f"OpenAir sync: {len(problems)} error(s) in {len(groups)} run(s)" if problems else \
        f"OpenAir sync: {len(groups)} run(s), no errors"  # fmt: skip
    lines = [title, ""]
    if paused is not None:
        subject = "PAUSED - " + subject
        since = f" since {paused.since:%Y-%m-%d %H:%M} UTC" if paused.since else ""
        lines += [f"PAUSED{since} by {paused.by}{': ' + paused.reason if paused.reason else ''}. Nothing is written "
                  "until an administrator resumes the sync (python -m shared resume).", ""]  # fmt: skip
    alerts = list(dict.fromkeys(alert for run in runs for alert in run.alerts))
    if alerts:
        lines += ["ALERTS", *(f"- {a}" for a in alerts), ""]
    if problems:
        lines.append(f"PROBLEMS ({len(problems)}, each once, with the users and how many runs met it)")
        for text, met in sorted(problems.items(), key=lambda item: -len(item[1])):
            users = sorted({r.user_id for r in met if r.user_id})
            who = f" users {', '.join(users[:10])}{' …' if len(users) > 10 else ''};" if users else ""
            lines.append(f"- {text}\n   {who} {len(met)} run(s), last {max(r.started for r in met):%Y-%m-%d %H:%M} UTC")
        lines.append("")
    lines.append("RUNS (one line per run; `python -m shared runs --run ID` shows its mailboxes)")
    for group in reversed(groups):
        counts = ", ".join(f"{k} {v}" for k, v in sorted(group["counts"].items()) if v)
        who = f" {group['mailboxes']} mailbox(es)" if group["mailboxes"] else ""
        lines.append(f"{group['started']}  {group['kind']}{who}  {group['status']}  {counts}  (run {group['run_id']})")
    lines += ["", "Details: `python -m shared status` or GET /api/manage/status."]
    return subject, "\n".join(lines)


def _claim(store: SyncStore, row_key: str, value: dt.datetime, etag: str | None) -> str | None:
    """Write the report marker only if nobody else did meanwhile; the new ETag, or None when we lost."""
    try:
        return store.put_report_marker(row_key, value, etag=etag)
    except EtagMismatch:
        return None


async def send_due_reports(store: SyncStore, mail: MailSender, now: dt.datetime | None = None) -> ReportSent | None:
    """Send the report `ReportWhen` asks for, if one is due now; None when nothing was sent."""
    now = now or dt.datetime.now(dt.UTC)
    due = await off_loop(_due_report, store, now)  # the table reads and the claim, off the event loop
    if due is None:
        return None
    try:
        return await _send(mail, due.sender, due.recipients, due.runs, due.title, due.paused)
    except Exception:
        await off_loop(due.undo)  # not sent: the next tick tries again
        raise


@dataclass(frozen=True)
class _DueReport:
    """A report claimed for sending (its marker written), and how to give the claim back if sending fails."""

    sender: str
    recipients: str
    runs: list[RunRecord]
    title: str
    paused: PauseState | None
    undo: Callable[[], object]


def _due_report(store: SyncStore, now: dt.datetime) -> _DueReport | None:
    settings, _ = store.load_settings()
    when = settings.report_when
    if when == "Never":
        return None
    if not settings.report_sender or not recipients(settings.report_recipients):
        log.warning("reports are on but ReportSender or ReportRecipients is empty; no report sent")
        return None
    store.ensure_reports_table()
    if when.startswith("Daily at "):
        at = dt.time.fromisoformat(when.removeprefix("Daily at "))
        if now.time() < at:
            return None
        marker = f"Daily-{now:%Y-%m-%d}"
        if store.report_marker(marker) is not None or _claim(store, marker, now, None) is None:
            return None
        runs = [r for r in store.recent_runs(500) if r.started >= now - dt.timedelta(days=1)]
        title = f"Runs of the 24 hours before {now:%Y-%m-%d %H:%M} UTC"
        return _DueReport(settings.report_sender, settings.report_recipients, runs, title, store.pause_state(),
                          lambda: store.delete_report_marker(marker))  # fmt: skip
    cursor = store.report_marker(_LAST_RUN)
    stored, cursor_etag = cursor if cursor is not None else (None, None)
    since: dt.datetime = stored if isinstance(stored, dt.datetime) else now - dt.timedelta(hours=1)
    runs = [r for r in store.recent_runs(500) if r.finished > since and eventful(r)]
    latest = max((r.finished for r in runs), default=None)
    if latest is None:
        return None
    if when == "Each run with errors" and not error_count(runs):
        _claim(store, _LAST_RUN, latest, cursor_etag)
        return None
    etag = _claim(store, _LAST_RUN, latest, cursor_etag)
    if etag is None:
        return None  # another instance is reporting these runs
    return _DueReport(settings.report_sender, settings.report_recipients, runs,
                      f"Runs since {since:%Y-%m-%d %H:%M} UTC", store.pause_state(),
                      lambda: store.put_report_marker(_LAST_RUN, since, etag=etag))  # fmt: skip


async def _send(
    mail: MailSender, sender: str, to_text: str, runs: Sequence[RunRecord], title: str, paused: PauseState | None
) -> ReportSent:
    subject, body = compose(runs, title=title, paused=paused)
    to = recipients(to_text)
    await mail.send_mail(sender, to, subject, body)
    log.info("run report sent", extra={"runs": len(runs), "recipients": len(to)})
    return ReportSent(subject, to, len(runs))


async def send_test_report(store: SyncStore, mail: MailSender) -> ReportSent:
    """A report of the last day's runs, now, whatever ReportWhen says (check --send-test-mail)."""
    now = dt.datetime.now(dt.UTC)
    (settings, _), recent, paused = await off_loop(lambda: (store.load_settings(), store.recent_runs(100),
                                                            store.pause_state()))  # fmt: skip
    runs = [r for r in recent if r.started >= now - dt.timedelta(days=1)]
    return await _send(mail, settings.report_sender, settings.report_recipients, runs,
                       "Test report (check --send-test-mail): the runs of the last 24 hours", paused)  # fmt: skip
