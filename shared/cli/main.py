"""`python -m shared …`: the administrators' command line, over the same operations as the admin endpoints.

Settings are the app's: the `Values` of local.settings.json (if present, or `--settings FILE`), overridden by the
environment, as Core Tools does. Exit codes: 0 all good; 1 the operation ran and found a failure (a check failed,
a bad CSV line, a mailbox that could not be written, a user in error); 2 the command could not run as asked
(usage, settings, unknown user, unreadable file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shared.admin.resync import ResyncMode, UnknownUser
from shared.admin.status import UnknownRun
from shared.errors import ConfigurationError, SyncError, SyncPaused

OK, FAILURE, USAGE = 0, 1, 2


class UsageError(SyncError):
    """The command cannot run as given; exit 2 with this message."""


def parser() -> argparse.ArgumentParser:
    prog = "openair-sync" if Path(sys.argv[0]).name == "openair-sync" else "python -m shared"
    top = argparse.ArgumentParser(prog=prog, description="Administer the OpenAir ↔ Microsoft 365 sync.")
    top.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    top.add_argument("--settings", type=Path, help="local.settings.json to read (default: the one in the current "
                     "directory, else the checkout's)")  # fmt: skip
    top.add_argument("--verbose", action="store_true", help="log progress (JSON lines on stderr)")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="try every dependency and say what is wrong")
    check.add_argument("--send-test-mail", action="store_true", help="also try Mail.Send by sending a test report")

    status = commands.add_parser("status", help="users, subscriptions, cursors, queues, rejected rows")
    status.add_argument("--user", help="one OpenAir user id")
    status.add_argument("--runs", type=int, default=10, help="recent runs to show (default 10)")

    runs = commands.add_parser("runs", help="run history, newest first, one row per run")
    runs.add_argument("--limit", type=int, default=20)
    runs.add_argument("--run", help="one run id: that run, mailbox by mailbox")

    pause = commands.add_parser("pause", help="stop every write (export, push, import); nothing is lost")
    pause.add_argument("--reason", default="", help="why (shown by status and in the audit trail)")
    commands.add_parser("resume", help="start writing again; the next runs catch up")
    decommission = commands.add_parser("decommission", help="remove every event the product wrote (before azd down)")
    decommission.add_argument("--dry-run", action="store_true", help="count, remove nothing")
    decommission.add_argument("--yes", action="store_true", help="confirm: pause the sync and delete the events")
    audit = commands.add_parser("audit", help="administrative changes made through the product, newest first")
    audit.add_argument("--limit", type=int, default=30)

    mappings = commands.add_parser("mappings", help="user ↔ mailbox mappings").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    refresh = mappings.add_parser("refresh", help="map OpenAir users to mailboxes by email and aliases")
    refresh.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")
    csv_import = mappings.add_parser("import-csv", help="import a mailbox list: email,exchange server (no header)")
    csv_import.add_argument("file", type=Path)
    csv_import.add_argument("--add-new", action="store_true", help="map users without a mailbox")
    csv_import.add_argument("--replace-existing", action="store_true", help="update or re-point mapped users")
    csv_import.add_argument("--dry-run", action="store_true")

    sync = commands.add_parser("sync", help="run a sync now").add_subparsers(
        dest="direction", required=True, metavar="DIRECTION"
    )
    export = sync.add_parser("export", help="OpenAir → Microsoft 365, now (writes inline, with progress)")
    export.add_argument("--user", help="only this OpenAir user (all of their records)")
    export.add_argument("--dry-run", action="store_true", help="what would be created, updated, deleted")

    resync = commands.add_parser("resync", help="repair one user's (or everyone's) events")
    who = resync.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="OpenAir user id")
    who.add_argument("--all", action="store_true", help="every mapped user (those left out are named)")
    resync.add_argument("--mode", choices=[m.value for m in ResyncMode], default=ResyncMode.UPDATE.value)
    resync.add_argument("--dry-run", action="store_true", help="what the real run will write, mailbox by mailbox")
    resync.add_argument("--yes", action="store_true", help="confirm recreate (it deletes and rewrites the events)")

    cutover = commands.add_parser("cutover", help="adopt the Exchange Integration Manager's events (dry run first)")
    cutover.add_argument(
        "action",
        nargs="?",
        choices=["adopt", "remove-stale"],
        default="adopt",
        help="adopt (default), or remove-stale: delete the incumbent's events no record matches",
    )
    who = cutover.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", action="append", help="OpenAir user id (repeat for several)")
    who.add_argument("--all", action="store_true", help="every mapped user")
    cutover.add_argument("--dry-run", action="store_true", help="report what would happen, change nothing")
    cutover.add_argument("--yes", action="store_true", help="confirm the real run (it changes events)")

    commands.add_parser("openapi", help="print the admin API's OpenAPI document")
    return top


def load_environment(path: Path | None, environ: Mapping[str, str]) -> dict[str, str]:
    """local.settings.json `Values`, then the environment on top (it wins, as with Core Tools)."""
    values: dict[str, str] = {}
    # From any directory: the current directory's file, else the one beside the code (the checkout's root).
    here, checkout = Path("local.settings.json"), Path(__file__).resolve().parents[2] / "local.settings.json"
    file = path or (here if here.exists() else checkout)
    if file.exists():
        try:
            document = json.loads(file.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{file} is not readable JSON: {exc}") from None
        raw = document.get("Values", {}) if isinstance(document, dict) else {}
        values = {str(k): str(v) for k, v in raw.items() if v is not None}
    elif path is not None:
        raise UsageError(f"settings file {path} does not exist")
    values.update(environ)
    return {k: v for k, v in values.items() if v != ""}


async def _run(args: argparse.Namespace, env: dict[str, str]) -> int:
    from shared.cli import commands
    from shared.runtime import Services
    from shared.secrets import secret_provider

    services = Services(env, secret_provider(env))
    out = commands.Output(json_mode=args.json)
    try:
        handler = commands.handler_for(args)
        return await handler(services, args, out)
    finally:
        await services.aclose()


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "openapi":
        from shared.admin.openapi import build_document

        print(json.dumps(build_document(), indent=1, ensure_ascii=False))
        return OK
    try:
        env = load_environment(args.settings, os.environ if environ is None else environ)
        from shared.logging_setup import cli_logging

        cli_logging(env, verbose=args.verbose)
        return asyncio.run(_run(args, env))
    except (UsageError, ConfigurationError, UnknownUser, UnknownRun, SyncPaused) as exc:
        return _fail(args, USAGE, str(exc))
    except SyncError as exc:
        return _fail(args, FAILURE, f"{type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        return _fail(args, FAILURE, "interrupted; what was written stays, the rest is still in the outbox")


def _fail(args: Any, code: int, message: str) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"error": message, "exit_code": code}))
    print(f"error: {message}", file=sys.stderr)
    return code
