"""The command line's commands: run an operation, show it to a person (rich) or to a script (`--json`)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.admin import operations
from shared.admin.check import Outcome, failed, run_checks
from shared.admin.csv_import import CsvImportError, lines_of
from shared.admin.cutover import CutoverAction
from shared.admin.operations import MailboxOutcome
from shared.admin.resync import ResyncMode
from shared.admin.status import StatusReport
from shared.cli.main import FAILURE, OK, UsageError
from shared.runtime import Services
from shared.store.offload import off_loop

_MARK = {Outcome.OK: "[green]ok[/]", Outcome.WARNING: "[yellow]warning[/]", Outcome.FAILED: "[red]FAILED[/]",
         Outcome.SKIPPED: "[dim]skipped[/]"}  # fmt: skip


_STATE = {"healthy": "[green]Healthy[/]",
          "warnings": "[yellow]Warnings[/]: rows rejected (see above); everyone else syncs",
          "failing": "[red]Needs attention[/] (see above)",
          "paused": "[bold red]PAUSED[/]: nothing is written until `resume`"}  # fmt: skip


class Output:
    """Where results go: JSON on stdout for scripts, tables for people; progress always on stderr."""

    def __init__(self, *, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.console = Console(highlight=False, soft_wrap=False, width=160)
        self.errors = Console(stderr=True, highlight=False)

    def data(self, value: Any) -> None:
        print(json.dumps(value, default=str, indent=1, ensure_ascii=False))

    def say(self, text: str = "") -> None:
        if not self.json_mode:
            self.console.print(text)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if self.json_mode:
            return
        if not rows:
            self.console.print(f"[bold]{title}:[/] none")
            return
        table = Table(title=title, title_justify="left", show_lines=False)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(str(v) for v in row))
        self.console.print(table)


Command = Callable[[Services, argparse.Namespace, Output], Awaitable[int]]


async def check(services: Services, args: argparse.Namespace, out: Output) -> int:
    results = await run_checks(services, send_test_mail=args.send_test_mail)
    if out.json_mode:
        out.data({"ok": not failed(results), "checks": [asdict(r) for r in results]})
    out.table("Checks", ["Check", "Result", "Details"], [(r.name, _MARK[r.outcome], r.message) for r in results])
    return FAILURE if failed(results) else OK


def _paused_banner(report: StatusReport, out: Output) -> None:
    if report.paused is not None:
        reason = f": {report.paused['reason']}" if report.paused["reason"] else ""
        out.say(f"[bold red]PAUSED[/] since {report.paused['since'] or '?'} by {report.paused['by']}{reason}. "
                "Nothing is written to mailboxes or OpenAir; notifications are kept. Undo: `resume`.")  # fmt: skip


def show_status(report: StatusReport, out: Output) -> None:
    _paused_banner(report, out)
    out.table(
        f"Users ({len(report.users)} mapped, {len(report.unmapped)} without a mailbox, "
        f"{len(report.rejected_users)} rejected)",
        ["User", "Name", "Mailbox", "By", "Syncs", "Last export", "Counts", "Pending", "Last error"],
        [(u.user_id, u.name, u.mailbox + ("" if u.resolved else " (unresolved)"), u.mapped_by,
          ", ".join(u.switches) or "nothing", u.last_export[:16] or "never", u.last_export_counts,
          u.pending_writes, u.last_error) for u in report.users],
    )  # fmt: skip
    if report.rejected_users:
        out.table("Users not syncing: their UserMappings row is rejected (fix it in Storage Explorer)",
                  ["User", "Mailbox", "Problem"],
                  [(r.user_id, r.mailbox, r.problem) for r in report.rejected_users])  # fmt: skip
    out.table("Time zones (events are rendered in these)", ["User", "Zone", "Why"],
              [(u.user_id, u.time_zone, u.time_zone_reason) for u in report.users])  # fmt: skip
    if report.unmapped:
        out.say("[bold]Without a mailbox:[/] " + "; ".join(report.unmapped[:20])
                + (f" … and {len(report.unmapped) - 20} more" if len(report.unmapped) > 20 else ""))  # fmt: skip
    if report.rejected_rows:
        out.table("Rows rejected by validation (skipped until fixed)", ["Problem"], [[r] for r in report.rejected_rows])
    skipped = [(u.user_id, line) for u in report.users for line in u.skipped_records]
    if skipped:
        out.table("Records not exported (skipped until fixed in OpenAir)", ["User", "Record"], skipped)
    for choice in report.choices:
        out.say(f"[bold]Choice:[/] {choice}")
    conflicted = [u for u in report.users if u.conflicts]
    if conflicted:
        out.table("Conflicts (ConflictReport)", ["User", "Bookings on days Outlook shows them away or fully busy"],
                  [(u.user_id, u.conflicts) for u in conflicted])  # fmt: skip
    importing = [u for u in report.users if u.import_filter and u.import_filter != "all events"]
    if importing:
        out.table("Import filters", ["User", "Imports"], [(u.user_id, u.import_filter) for u in importing])
    out.table("Subscriptions", ["Id", "User", "Expires", "State"],
              [(s["id"], s["user"], s["expires"], s["state"]) for s in report.subscriptions])  # fmt: skip
    out.table("Cursors", ["Scope", "Name", "Value", "Saved"],
              [(c["scope"], c["name"], c["value"], c["saved"]) for c in report.cursors])  # fmt: skip
    out.table("Queues", ["Queue", "Messages"],
              [(q, "-" if n is None else n) for q, n in report.queues.items()]
              + [(q, f"[red]{len(m)} poisoned[/]" if m else "0") for q, m in report.poison.items()])  # fmt: skip
    for queue, messages in report.poison.items():
        for message in messages:
            out.say(
                f"  [red]{queue}[/] {message['inserted']} attempts {message['dequeue_count']}: {message['message']}"
            )
    _runs_table(report.recent_runs, out)
    for alert in report.alerts:
        out.say(f"[bold red]ALERT[/] {alert}")
    for problem in report.problems:
        out.say(f"[yellow]{problem}[/]")
    out.say(_STATE[report.state])


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(counts.items()) if v)


def _runs_table(runs: Sequence[dict[str, Any]], out: Output, title: str = "Recent runs") -> None:
    out.table(title, ["Started", "Run", "Kind", "Mailboxes", "Status", "Seconds", "Counts", "Errors"],
              [(r["started"], r["run_id"], r["kind"], r.get("mailboxes") or r["user"] or "-", r["status"],
                r["seconds"], _counts(r["counts"]),
                f"{r['errors']}: {r['first_error']}" if r["errors"] else "0") for r in runs])  # fmt: skip


async def status(services: Services, args: argparse.Namespace, out: Output) -> int:
    report = await off_loop(operations.status, services, user_id=args.user, runs=args.runs)
    if out.json_mode:
        out.data({"healthy": report.healthy, "state": report.state, **report.as_json()})
    show_status(report, out)
    return OK if report.healthy else FAILURE


async def runs(services: Services, args: argparse.Namespace, out: Output) -> int:
    from shared.admin.status import runs_of

    found = await off_loop(runs_of, services.store(), args.limit, run_id=args.run)
    if out.json_mode:
        out.data({"runs": found})
    _runs_table(found, out)
    if args.run:
        out.table("Mailboxes", ["User", "Started", "Status", "Seconds", "Counts", "Errors"],
                  [(m["user"], m["started"], m["status"], m["seconds"], _counts(m["counts"]),
                    m["first_error"] or m["errors"]) for m in found[0]["per_mailbox"]])  # fmt: skip
    else:
        out.say("A run's mailboxes: `runs --run RUN_ID`.")
    return OK


async def pause(services: Services, args: argparse.Namespace, out: Output) -> int:
    from shared.admin.audit import cli_actor

    outcome = await off_loop(operations.pause, services, actor=cli_actor(), reason=args.reason.strip())
    if out.json_mode:
        out.data({"paused": True, "changed": not outcome.was_paused})
    out.say("[bold red]PAUSED[/]" + (" (it already was)" if outcome.was_paused else "")
            + ": nothing is written to mailboxes or OpenAir until `resume`; notifications are still accepted, "
              "and what changes meanwhile is caught up after it.")  # fmt: skip
    return OK


async def resume(services: Services, args: argparse.Namespace, out: Output) -> int:
    from shared.admin.audit import cli_actor
    from shared.jobs.importing import run_import_mailbox

    outcome = await off_loop(operations.resume, services, actor=cli_actor())
    if out.json_mode:
        out.data({"paused": False, "changed": outcome.was_paused, "import_passes": len(outcome.import_passes)})
    if not outcome.was_paused:
        out.say("The sync was not paused.")
        return OK
    out.say("Resumed: the next export run (EXPORT_SCHEDULE) reads everything changed meanwhile and writes what "
            "waited.")  # fmt: skip
    for message in outcome.import_passes:  # the CLI has no queue binding: it runs the passes itself
        await run_import_mailbox(services, message)
    if outcome.import_passes:
        out.say(f"Import: {len(outcome.import_passes)} mailbox(es) caught up.")
    return OK


async def decommission(services: Services, args: argparse.Namespace, out: Output) -> int:
    from shared.admin.audit import cli_actor

    if not args.dry_run and not args.yes:
        raise UsageError("decommission pauses the sync and deletes every event the product wrote in every "
                         "mailbox; add --yes to confirm, or --dry-run to see how many")  # fmt: skip
    report = await operations.decommission(services, dry_run=args.dry_run, actor=cli_actor())
    counts = report.counts()
    if out.json_mode:
        out.data({"dry_run": args.dry_run, "complete": report.complete, "counts": counts,
                  "mailboxes": [asdict(m) for m in report.mailboxes]})  # fmt: skip
    said = f"Dry run: would remove {counts['events']}" if args.dry_run else f"Removed {counts['events_removed']}"
    out.say(f"{said} event(s) from {counts['mailboxes']} mailbox(es) and {counts['subscriptions']} "
            f"subscription(s); {counts['outlook_events_kept']} event(s) imported from Outlook stay "
            "(they are the people's own).")  # fmt: skip
    out.table("Mailboxes", ["User", "Events", "Removed", "Errors"],
              [(m.user_id, m.events, m.removed, "; ".join(m.errors[:3])) for m in report.mailboxes])  # fmt: skip
    if not args.dry_run:
        done = "The sync is paused and import is off. Next: `azd down` (see the README, Uninstall)."
        out.say(done if report.complete else "[red]Some mailboxes refused; run decommission again once fixed.[/]")
    return OK if args.dry_run or report.complete else FAILURE


async def audit_trail(services: Services, args: argparse.Namespace, out: Output) -> int:
    from shared.admin.audit import recent

    entries = [e.as_json() for e in await off_loop(recent, services.store(), args.limit)]
    if out.json_mode:
        out.data({"entries": entries})
    out.table("Administrative changes (newest first)", ["When", "Who", "What", "Detail", "Counts"],
              [(e["at"], e["who"], e["action"], e["detail"], _counts(e["counts"])) for e in entries])  # fmt: skip
    return OK


async def mappings_refresh(services: Services, args: argparse.Namespace, out: Output) -> int:
    from shared.admin.audit import cli_actor

    report = await operations.refresh(services, dry_run=args.dry_run, actor=cli_actor())
    if out.json_mode:
        out.data({"dry_run": args.dry_run, "counts": report.counts(), **asdict(report)})
    counts = report.counts()
    out.say(("[bold]Dry run:[/] nothing written. " if args.dry_run else "")
            + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items()))  # fmt: skip
    for title, lines in (("New", report.new), ("Changed", report.changed), ("Unmatched", report.unmatched),
                         ("Conflicts", report.conflicts), ("Rejected rows", report.skipped_rows),
                         ("Not in OpenAir", report.not_in_openair)):  # fmt: skip
        if lines:
            out.table(title, [title], [[line] for line in lines])
    return FAILURE if report.conflicts or report.skipped_rows else OK


async def mappings_import_csv(services: Services, args: argparse.Namespace, out: Output) -> int:
    if not (args.add_new or args.replace_existing):
        raise UsageError("choose --add-new, --replace-existing, or both (as in the incumbent's import dialog)")
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    from shared.admin.audit import cli_actor

    try:
        report = await operations.import_csv(services, data, add_new=args.add_new, actor=cli_actor(),
                                             replace_existing=args.replace_existing, dry_run=args.dry_run)  # fmt: skip
    except CsvImportError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    if out.json_mode:
        out.data({"dry_run": args.dry_run, "counts": report.counts(), **asdict(report)})
    out.say(("[bold]Dry run:[/] nothing written. " if args.dry_run else "")
            + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in report.counts().items()))  # fmt: skip
    for line in lines_of(report):
        out.say(f"  {line}")
    return FAILURE if report.problems else OK


async def _apply(services: Services, messages: list[str], out: Output) -> list[MailboxOutcome]:
    """Write the planned work now, with a progress bar on stderr when a person is watching."""
    if not messages:
        return []
    live = out.errors.is_terminal and not out.json_mode
    columns = (TextColumn("writing mailboxes"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out.errors, transient=True, disable=not live) as bar:
        task = bar.add_task("mailboxes", total=len(messages))
        outcomes = await operations.apply_outbox(services, messages, progress=lambda _: bar.advance(task))
    if not live:
        out.errors.print(f"wrote {len(outcomes)} mailbox(es)") if not out.json_mode else None
    return outcomes


def _mailbox_rows(outcomes: Sequence[MailboxOutcome]) -> list[tuple[Any, ...]]:
    return [(o.user_id, o.status, ", ".join(f"{k} {v}" for k, v in o.counts.items() if v) or "-",
             "; ".join(o.errors[:2])) for o in outcomes]  # fmt: skip


def _preview_table(preview: Sequence[dict[str, Any]], out: Output) -> None:
    """A dry run's answer: per mailbox, what the real run will create, update and delete."""
    total = {k: sum(int(str(p[k])) for p in preview) for k in ("create", "update", "delete")}
    out.say(f"The real run will write {len(preview)} mailbox(es): {total['create']} create(s), "
            f"{total['update']} update(s), {total['delete']} delete(s).")  # fmt: skip
    out.table("Writes by mailbox", ["User", "Create", "Update", "Delete", "Records"],
              [(p["user"], p["create"], p["update"], p["delete"],
                " ".join(k for keys in dict(p["records"]).values() for k in keys[:8]))
               for p in preview])  # fmt: skip


async def sync_export(services: Services, args: argparse.Namespace, out: Output) -> int:
    from shared.admin.audit import cli_actor

    outcome = await operations.export(services, user=args.user, dry_run=args.dry_run, actor=cli_actor())
    outcomes = [] if args.dry_run else await _apply(services, outcome.messages, out)
    if out.json_mode:
        out.data({**asdict(outcome), "messages": len(outcome.messages), "mailboxes": [asdict(o) for o in outcomes]})
    out.say(f"Run {outcome.run_id}: {outcome.status}" + (" (dry run: nothing written)" if args.dry_run else ""))
    if args.dry_run:
        _preview_table(outcome.preview, out)
    else:
        out.say("  " + _counts(outcome.counts))
        out.table("Mailboxes", ["User", "Status", "Counts", "Errors"], _mailbox_rows(outcomes))
    for line in [*outcome.alerts, *outcome.problems]:
        out.say(f"[yellow]{line}[/]")
    bad = outcome.status not in ("ok",) or any(o.status != "ok" for o in outcomes)
    return FAILURE if bad else OK


async def resync(services: Services, args: argparse.Namespace, out: Output) -> int:
    from shared.admin.audit import cli_actor

    mode = ResyncMode(args.mode)
    if mode is ResyncMode.RECREATE and not args.yes and not args.dry_run:
        who = f"user {args.user}'s" if args.user else "every mapped user's"
        raise UsageError(f"recreate deletes {who} events written by the product and writes them again; add --yes "
                         "to confirm, or --dry-run to see how many")  # fmt: skip
    report = await operations.resync(services, user=args.user, mode=mode, dry_run=args.dry_run, actor=cli_actor())
    messages = operations.queue_messages(report.plan)
    outcomes = [] if args.dry_run else await _apply(services, messages, out)
    if out.json_mode:
        out.data({"run_id": report.run_id, "mode": mode.value, "dry_run": args.dry_run, "users": report.users,
                  "skipped": report.skipped, "counts": report.counts(), "writes": report.preview(),
                  "errors": report.delete_failures, "mailboxes": [asdict(o) for o in outcomes]})  # fmt: skip
    out.say(f"Resync ({mode.value}) of {len(report.users)} user(s), run {report.run_id}"
            + (" — dry run, nothing written" if args.dry_run else ""))  # fmt: skip
    out.say("  " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report.counts().items()))
    if args.dry_run:
        _preview_table(report.preview(), out)
    out.table("Mailboxes", ["User", "Status", "Counts", "Errors"], _mailbox_rows(outcomes))
    if report.skipped:
        out.table("Left out", ["User", "Why"], sorted(report.skipped.items()))
    for line in report.delete_failures:
        out.say(f"[red]{line}[/]")
    return FAILURE if report.delete_failures or any(o.status != "ok" for o in outcomes) else OK


async def cutover(services: Services, args: argparse.Namespace, out: Output) -> int:
    action = CutoverAction(args.action)
    if not args.dry_run and not args.yes:
        raise UsageError(f"a real {action.value} run changes events in mailboxes; run it with --dry-run first, "
                         "review, then again with --yes")  # fmt: skip
    report = await operations.cutover(services, users=None if args.all else args.user, action=action,
                                      dry_run=args.dry_run)  # fmt: skip
    messages = operations.queue_messages(report.plan)
    outcomes = [] if args.dry_run else await _apply(services, messages, out)
    if out.json_mode:
        out.data({"run_id": report.run_id, "action": action.value, "dry_run": args.dry_run, "users": report.users,
                  "counts": report.counts(), "ambiguous": report.ambiguous(), "stale": report.stale(),
                  "errors": report.errors(), "mailboxes": [asdict(o) for o in outcomes]})  # fmt: skip
    out.say(f"Cutover ({action.value}) of {len(report.users)} user(s), run {report.run_id}"
            + (" — dry run, nothing written" if args.dry_run else ""))  # fmt: skip
    out.say("  " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report.counts().items()))
    out.table("Ambiguous: never touched; their records wait", ["Event"], [(line,) for line in report.ambiguous()])
    out.table("Stale: no current record (remove-stale deletes them)", ["Event"], [(line,) for line in report.stale()])
    out.table("Mailboxes", ["User", "Status", "Counts", "Errors"], _mailbox_rows(outcomes))
    for line in report.errors():
        out.say(f"[red]{line}[/]")
    return FAILURE if report.errors() or any(o.status != "ok" for o in outcomes) else OK


def handler_for(args: argparse.Namespace) -> Command:
    if args.command == "mappings":
        return mappings_refresh if args.action == "refresh" else mappings_import_csv
    if args.command == "sync":
        return sync_export
    table: dict[str, Command] = {"check": check, "status": status, "runs": runs, "resync": resync, "cutover": cutover,
                                 "pause": pause, "resume": resume, "audit": audit_trail,
                                 "decommission": decommission}  # fmt: skip
    return table[args.command]
